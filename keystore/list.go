package keystore

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// Key is a private key file in the store, as List reports it.
type Key struct {
	// ID is the key ID (the file name without ".key").
	ID string
	// Role is the role header: "root", "targets", or a signer name.
	Role string
	// Repository is the gun header: set for repository keys (targets),
	// empty for root and signer keys, which serve every repository.
	Repository string
	// File is the key file's path.
	File string
	// Encrypted is false for a key stored without a passphrase.
	Encrypted bool
	// Problem is set when the file is not a usable key file.
	Problem string
}

// List returns the keys in trustDir's key store (<trustDir>/private,
// including keys in notary's legacy sub-folders), sorted root first, then
// repository keys, then signer keys. It only reads: unlike notary's store,
// it neither creates folders nor migrates old layouts.
func List(trustDir string) ([]Key, error) {
	dir := resolveDir(PrivateDir(trustDir))
	var keys []Key
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), keyExt) {
			return nil
		}
		keys = append(keys, readKeyFile(path, d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing keys in %q: %w", dir, err)
	}
	sortKeys(keys)
	return keys, nil
}

// sortKeys orders keys root first, then repository keys, then signer keys.
func sortKeys(keys []Key) {
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if ra, rb := roleRank(a.Role), roleRank(b.Role); ra != rb {
			return ra < rb
		}
		if a.Role != b.Role {
			return a.Role < b.Role
		}
		if a.Repository != b.Repository {
			return a.Repository < b.Repository
		}
		return a.ID < b.ID
	})
}

func roleRank(role string) int {
	switch data.RoleName(role) {
	case data.CanonicalRootRole:
		return 0
	case data.CanonicalTargetsRole:
		return 1
	case data.CanonicalSnapshotRole:
		return 2
	case data.CanonicalTimestampRole:
		return 3
	}
	return 4
}

func readKeyFile(path string, d fs.DirEntry) Key {
	k := Key{ID: strings.TrimSuffix(d.Name(), keyExt), File: path}
	if d.Type()&fs.ModeSymlink != 0 || !d.Type().IsRegular() {
		k.Problem = "not a regular file"
		return k
	}
	fi, err := d.Info()
	if err != nil {
		k.Problem = err.Error()
		return k
	}
	b, err := os.ReadFile(path)
	if err != nil {
		k.Problem = err.Error()
		return k
	}
	role, gun, err := utils.ExtractPrivateKeyAttributes(b)
	if err != nil {
		k.Problem = "not a private key: " + err.Error()
		return k
	}
	k.Role, k.Repository = role.String(), gun.String()
	if block, _ := pem.Decode(b); block != nil {
		k.Encrypted = isEncrypted(block)
	}
	// Legacy layout (notary before 0.4): <id>_<role>.key in sub-folders.
	if i := strings.LastIndexByte(k.ID, '_'); i > 0 && k.Role == "" {
		k.ID, k.Role = k.ID[:i], k.ID[i+1:]
	}
	switch {
	case checkPrivateMode(path, fi) != nil:
		k.Problem = fmt.Sprintf("readable or writable by others (mode %v)", fi.Mode().Perm())
	case !k.Encrypted:
		k.Problem = "stored without a passphrase"
	}
	return k
}

// resolveDir follows dir if it is a symbolic link (a key store moved
// elsewhere), since filepath.WalkDir does not follow its root.
func resolveDir(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return dir
}
