package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/acrtrust/docker-acrtrust/internal/keyid"
)

// Kept is a copy of key files taken before an operation that notary may
// leave half done: notary's key rotation deletes the old key from the store
// while it stages the change, before the publish that can still fail.
type Kept struct {
	trustDir string
	files    map[string][]byte // key ID -> file content
}

// Keep copies the key files of ids that exist in trustDir's store.
func Keep(trustDir string, ids []string) (*Kept, error) {
	k := &Kept{trustDir: trustDir, files: map[string][]byte{}}
	for _, id := range ids {
		b, err := os.ReadFile(KeyFile(trustDir, id))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading key %s: %w", keyid.Short(id), err)
		}
		k.files[id] = b
	}
	return k, nil
}

// Restore puts back, 0600 in the private folder, every kept key file that
// is gone, and returns the IDs it put back.
func (k *Kept) Restore() ([]string, error) {
	if err := CheckWritable(k.trustDir); err != nil {
		return nil, err
	}
	var back []string
	var errs []error
	for id, b := range k.files {
		path := KeyFile(k.trustDir, id)
		if _, err := os.Lstat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := ensurePrivateDir(PrivateDir(k.trustDir)); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := writeFileAtomic(path, b); err != nil {
			errs = append(errs, fmt.Errorf("putting back key %s: %w", keyid.Short(id), err))
			continue
		}
		back = append(back, id)
	}
	return back, errors.Join(errs...)
}
