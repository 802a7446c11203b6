package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/theupdateframework/notary"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
)

// Permissions of everything keystore writes: private keys are readable by
// their owner only, in folders only the owner can list or enter.
const (
	DirPerm  os.FileMode = 0o700
	FilePerm os.FileMode = 0o600
)

// keyExt is the extension of key files: <keyID>.key.
const keyExt = "." + notary.KeyExtension

// PrivateDir is where the private keys live: <trustDir>/private.
func PrivateDir(trustDir string) string { return filepath.Join(trustDir, notary.PrivDir) }

// MetadataDir is the TUF metadata cache: <trustDir>/tuf.
func MetadataDir(trustDir string) string { return filepath.Join(trustDir, "tuf") }

// KeyFile is the file of the key with id in trustDir.
func KeyFile(trustDir, id string) string { return filepath.Join(PrivateDir(trustDir), id+keyExt) }

// ErrTooOpen is matched (errors.Is) by a *PermissionError.
var ErrTooOpen = errors.New("file readable or writable by others")

// PermissionError says that a private key file may be read or written by
// users other than its owner. The message is Docker's.
type PermissionError struct{ Path string }

func (e *PermissionError) Error() string {
	return fmt.Sprintf("private key file %s must not be readable or writable by others", e.Path)
}

// Is makes errors.Is(err, ErrTooOpen) true.
func (e *PermissionError) Is(target error) bool { return target == ErrTooOpen }

// checkPrivateMode refuses a private key file that group or others can
// read or write, as Docker's key load did. Windows has no such bits.
func checkPrivateMode(path string, fi fs.FileInfo) error {
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return &PermissionError{Path: path}
	}
	return nil
}

// maxKeyFileSize bounds what is read as a private key file. Real ones are
// under 4 KiB (an RSA 4096 key in PEM is about 3.3 KiB).
const maxKeyFileSize = 64 << 10

// ReadPrivateKeyFile reads a private key file given by the user after
// checking that only its owner can read and write it.
func ReadPrivateKeyFile(path string) ([]byte, error) {
	// Opened non-blocking: a FIFO that no one writes to is refused
	// (*capped.NotRegularError) instead of hanging the command.
	f, fi, err := capped.OpenRegular(path)
	var notRegular *capped.NotRegularError
	if errors.As(err, &notRegular) {
		return nil, fmt.Errorf("reading private key file: %w", err)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkPrivateMode(path, fi); err != nil {
		return nil, err
	}
	b, err := capped.ReadAll(f, maxKeyFileSize)
	switch {
	case capped.IsTooLarge(err):
		return nil, fmt.Errorf("reading private key file %q: %w, not a key", path, err)
	case err != nil:
		return nil, fmt.Errorf("reading private key file %q: %w", path, err)
	}
	return b, nil
}

// ensurePrivateDir creates dir (and its parents) for private data and
// makes sure dir itself is 0700, tightening a looser existing folder.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return fmt.Errorf("creating folder %q: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("creating folder %q: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("creating folder %q: not a folder", dir)
	}
	if fi.Mode().Perm() != DirPerm {
		if err := os.Chmod(dir, DirPerm); err != nil {
			return fmt.Errorf("restricting folder %q to its owner: %w", dir, err)
		}
	}
	return nil
}

// writeFileAtomic writes data to path with mode FilePerm: into a temporary
// file in the same folder, synced, then renamed over path, so that a
// reader (or a crash) sees the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := stageFile(filepath.Dir(path), data)
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}

// stageFile writes data to a new temporary file in dir with mode FilePerm
// and returns its name; the caller renames or removes it.
func stageFile(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".acrtrust-*.tmp")
	if err != nil {
		return "", err
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		_ = f.Close()
		_ = os.Remove(name)
		return "", err
	}
	// CreateTemp already uses 0600; Chmod makes it independent of that detail.
	if err := f.Chmod(FilePerm); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(name)
		return "", err
	}
	return name, nil
}
