package keystore

import (
	"encoding/json"
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
	// SignsFor lists the repositories and roles whose cached trust data
	// (<trustDir>/tuf/<gun>/metadata) names this key. It is what this
	// machine last saw, not verified anew.
	SignsFor []Signing
	// Problem is set when the file is not a usable key file.
	Problem string
}

// Signing is one repository role a key signs for.
type Signing struct {
	Repository string
	Role       string
	// KeyID is the ID under which the repository's trust data lists the
	// key. For a root key it is the ID of the repository's root
	// certificate (notary lists root keys as X.509 certificates, one per
	// repository), which is what inspect shows under Root and what trust
	// pins name; it differs from the key file's ID. For keys listed as
	// plain public keys it is the key's own ID.
	KeyID string
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
	signs := signingRoles(resolveDir(MetadataDir(trustDir)))
	for i := range keys {
		keys[i].SignsFor = signs[keys[i].ID]
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

// signingRoles maps canonical key IDs (the IDs of the key files) to the
// repository roles that cached trust data lists them for: root and
// targets keys from root.json, signer keys from targets.json delegations.
func signingRoles(tufDir string) map[string][]Signing {
	out := map[string][]Signing{}
	_ = filepath.WalkDir(tufDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || d.Name() != "metadata" {
			return nil
		}
		rel, err := filepath.Rel(tufDir, filepath.Dir(path))
		if err != nil || rel == "." {
			return fs.SkipDir
		}
		gun := filepath.ToSlash(rel)
		add := func(keys data.Keys, role string, ids []string) {
			for _, id := range ids {
				k, ok := keys[id]
				if !ok {
					continue
				}
				if cid, err := utils.CanonicalKeyID(k); err == nil {
					out[cid] = append(out[cid], Signing{Repository: gun, Role: role, KeyID: id})
				}
			}
		}
		var root struct {
			Signed struct {
				Keys  data.Keys `json:"keys"`
				Roles map[string]struct {
					KeyIDs []string `json:"keyids"`
				} `json:"roles"`
			} `json:"signed"`
		}
		if readJSON(filepath.Join(path, "root.json"), &root) == nil {
			for _, role := range []data.RoleName{data.CanonicalRootRole, data.CanonicalTargetsRole, data.CanonicalSnapshotRole, data.CanonicalTimestampRole} {
				if r, ok := root.Signed.Roles[role.String()]; ok {
					add(root.Signed.Keys, role.String(), r.KeyIDs)
				}
			}
		}
		var targets struct {
			Signed struct {
				Delegations struct {
					Keys  data.Keys `json:"keys"`
					Roles []struct {
						Name   string   `json:"name"`
						KeyIDs []string `json:"keyids"`
					} `json:"roles"`
				} `json:"delegations"`
			} `json:"signed"`
		}
		if readJSON(filepath.Join(path, "targets.json"), &targets) == nil {
			for _, r := range targets.Signed.Delegations.Roles {
				add(targets.Signed.Delegations.Keys, r.Name, r.KeyIDs)
			}
		}
		return fs.SkipDir
	})
	return out
}

// resolveDir follows dir if it is a symbolic link (a key store moved
// elsewhere), since filepath.WalkDir does not follow its root.
func resolveDir(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return dir
}

// maxMetadataRead bounds a cached metadata file read for listing.
const maxMetadataRead = 32 << 20

func readJSON(path string, v any) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() > maxMetadataRead {
		return fmt.Errorf("%s is too large", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
