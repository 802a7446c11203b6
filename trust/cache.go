package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
)

// metadataDir is where notary's file-cached repository keeps the verified
// metadata of gun: <trustDir>/tuf/<gun>/metadata (client.NewFileCachedRepository).
func metadataDir(trustDir string, gun data.GUN) string {
	return filepath.Join(CacheDir(trustDir, gun), "metadata")
}

// CacheDir is where this machine caches gun's trust data
// (<trustDir>/tuf/<gun>): removing it forgets the root it trusted.
func CacheDir(trustDir string, gun data.GUN) string {
	return filepath.Join(trustDir, "tuf", filepath.FromSlash(gun.String()))
}

// RootInfo is what a root.json says about the repository's root of trust.
type RootInfo struct {
	// KeyIDs are the root role's key IDs (certificate key IDs), sorted: the
	// IDs that pins name and `inspect` shows under Root.
	KeyIDs  []string
	Version int
	Expires time.Time
}

// ParseRoot reads the root role's key IDs, version and expiry from a
// root.json document. It does not verify signatures: callers use it to name
// what a server presented, or what notary already verified.
func ParseRoot(b []byte) (RootInfo, error) {
	var s data.Signed
	if err := json.Unmarshal(b, &s); err != nil {
		return RootInfo{}, fmt.Errorf("reading root metadata: %w", err)
	}
	root, err := data.RootFromSigned(&s)
	if err != nil {
		return RootInfo{}, fmt.Errorf("reading root metadata: %w", err)
	}
	r, ok := root.Signed.Roles[data.CanonicalRootRole]
	if !ok {
		return RootInfo{}, errors.New("reading root metadata: no root role")
	}
	return RootInfo{KeyIDs: sortedCopy(r.KeyIDs), Version: root.Signed.Version, Expires: root.Signed.Expires}, nil
}

// RootSigningKeyIDs returns the IDs of the private keys that can sign gun's
// cached root.json: the canonical IDs of its root certificates' public
// keys, the names of those keys' files in the key store.
func RootSigningKeyIDs(trustDir string, gun data.GUN) ([]string, error) {
	raw, err := CachedRoot(trustDir, gun)
	if err != nil {
		return nil, fmt.Errorf("reading the cached root of %q: %w", gun, err)
	}
	var s data.Signed
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("reading the cached root of %q: %w", gun, err)
	}
	root, err := data.RootFromSigned(&s)
	if err != nil {
		return nil, fmt.Errorf("reading the cached root of %q: %w", gun, err)
	}
	var ids []string
	for _, id := range root.Signed.Roles[data.CanonicalRootRole].KeyIDs {
		pub, ok := root.Signed.Keys[id]
		if !ok {
			continue
		}
		canonical, err := utils.CanonicalKeyID(pub)
		if err != nil {
			continue
		}
		ids = append(ids, canonical)
	}
	return sortedCopy(ids), nil
}

// CachedRoot returns the raw root.json that notary verified and cached for
// gun, or an error satisfying errors.Is(err, fs.ErrNotExist) if none.
func CachedRoot(trustDir string, gun data.GUN) ([]byte, error) {
	return os.ReadFile(filepath.Join(metadataDir(trustDir, gun), data.CanonicalRootRole.String()+".json"))
}

// CacheAge is what the cache says about the freshness of gun's trust data.
type CacheAge struct {
	// Fetched is when the cached timestamp was last written (downloaded).
	Fetched time.Time
	// Expires is the cached timestamp's expiry.
	Expires time.Time
}

// CachedTimestamp reports when the cached timestamp of gun was fetched and
// when it expires. An error satisfying errors.Is(err, fs.ErrNotExist) means
// nothing is cached.
func CachedTimestamp(trustDir string, gun data.GUN) (CacheAge, error) {
	path := filepath.Join(metadataDir(trustDir, gun), data.CanonicalTimestampRole.String()+".json")
	st, err := os.Stat(path)
	if err != nil {
		return CacheAge{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return CacheAge{}, err
	}
	var meta struct {
		Signed struct {
			Expires time.Time `json:"expires"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return CacheAge{}, fmt.Errorf("reading cached timestamp %q: %w", path, err)
	}
	return CacheAge{Fetched: st.ModTime(), Expires: meta.Signed.Expires}, nil
}

// isNotExist is errors.Is(err, fs.ErrNotExist).
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// RoleExpiry is when a role's metadata expires.
type RoleExpiry struct {
	Role    data.RoleName
	Expires time.Time
}

// CachedExpiries reads the expiry of root, targets and every delegation from
// the verified metadata cache of gun under trustDir (<trustDir>/tuf/<gun>/
// metadata), sorted by date. Snapshot and timestamp are left out: on ACR the
// server manages and renews them. Call it after the repository was read, so
// the cache is current.
func CachedExpiries(trustDir string, gun data.GUN) ([]RoleExpiry, error) {
	dir := metadataDir(trustDir, gun)
	roles, err := cachedRoleNames(dir)
	if err != nil {
		return nil, fmt.Errorf("reading cached trust metadata of %q: %w", gun, err)
	}
	var out []RoleExpiry
	for _, role := range roles {
		if role == data.CanonicalSnapshotRole || role == data.CanonicalTimestampRole {
			continue
		}
		var meta signedExpiry
		switch err := readCachedJSON(filepath.Join(dir, filepath.FromSlash(role.String())+".json"), &meta); {
		case isNotExist(err):
			continue // gone since it was listed
		case err != nil:
			return nil, fmt.Errorf("reading cached trust metadata of %q: %w", gun, err)
		}
		out = append(out, RoleExpiry{Role: role, Expires: meta.Signed.Expires})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out, nil
}

// signedExpiry is the part of a TUF metadata document that says when it
// expires.
type signedExpiry struct {
	Signed struct {
		Expires time.Time `json:"expires"`
	} `json:"signed"`
}

// cachedRoleNames lists the roles whose metadata is cached in dir
// (<role>.json, delegations in sub-folders), in path order. A dir that does
// not exist holds none.
func cachedRoleNames(dir string) ([]data.RoleName, error) {
	var out []data.RoleName
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		out = append(out, data.RoleName(strings.TrimSuffix(filepath.ToSlash(rel), ".json")))
		return nil
	})
	if isNotExist(err) {
		err = nil
	}
	return out, err
}

// CachedRole is one role of a repository's cached trust data and the keys
// it lists.
type CachedRole struct {
	Role data.RoleName
	Keys []CachedKey
}

// CachedKey is a key that a role lists.
type CachedKey struct {
	// ID is the key's ID as the metadata lists it: what signatures name,
	// and for a root key its certificate's ID (what inspect shows under
	// Root and what pins name).
	ID string
	// Canonical is the ID of the matching private key, the name of its
	// file in the key store; empty when the metadata holds no usable public
	// key for ID.
	Canonical string
}

// CachedTrust is what the metadata cache holds about one repository's
// roles and keys. It is what this machine last saw and verified, not
// verified anew.
type CachedTrust struct {
	GUN data.GUN
	// HasRoot is true when a root.json is cached: as far as this machine
	// knows, the repository has trust data.
	HasRoot bool
	// Roles are the base roles root.json lists (root, targets, snapshot,
	// timestamp, in that order), then the delegations targets.json lists,
	// in its order.
	Roles []CachedRole
}

// Role returns the cached role called name, and whether there is one.
func (c CachedTrust) Role(name data.RoleName) (CachedRole, bool) {
	for _, r := range c.Roles {
		if r.Role == name {
			return r, true
		}
	}
	return CachedRole{}, false
}

// ReadCache reads the roles and keys of gun's cached root.json and
// targets.json. Files that are not cached are not an error. It reads both
// files even when one is malformed, and returns what it could read with the
// first error.
func ReadCache(trustDir string, gun data.GUN) (CachedTrust, error) {
	c := CachedTrust{GUN: gun}
	dir := metadataDir(trustDir, gun)
	var firstErr error
	var root struct {
		Signed struct {
			Keys  data.Keys `json:"keys"`
			Roles map[data.RoleName]struct {
				KeyIDs []string `json:"keyids"`
			} `json:"roles"`
		} `json:"signed"`
	}
	switch err := readCachedJSON(filepath.Join(dir, "root.json"), &root); {
	case isNotExist(err):
	case err != nil:
		c.HasRoot, firstErr = true, err
	default:
		c.HasRoot = true
		for _, role := range data.BaseRoles {
			if r, ok := root.Signed.Roles[role]; ok {
				c.Roles = append(c.Roles, cachedRole(role, r.KeyIDs, root.Signed.Keys))
			}
		}
	}
	var targets struct {
		Signed struct {
			Delegations struct {
				Keys  data.Keys `json:"keys"`
				Roles []struct {
					Name   data.RoleName `json:"name"`
					KeyIDs []string      `json:"keyids"`
				} `json:"roles"`
			} `json:"delegations"`
		} `json:"signed"`
	}
	switch err := readCachedJSON(filepath.Join(dir, "targets.json"), &targets); {
	case isNotExist(err):
	case err != nil:
		if firstErr == nil {
			firstErr = err
		}
	default:
		for _, r := range targets.Signed.Delegations.Roles {
			c.Roles = append(c.Roles, cachedRole(r.Name, r.KeyIDs, targets.Signed.Delegations.Keys))
		}
	}
	return c, firstErr
}

func cachedRole(name data.RoleName, ids []string, keys data.Keys) CachedRole {
	r := CachedRole{Role: name}
	for _, id := range ids {
		k := CachedKey{ID: id}
		if pub, ok := keys[id]; ok {
			if canonical, err := utils.CanonicalKeyID(pub); err == nil {
				k.Canonical = canonical
			}
		}
		r.Keys = append(r.Keys, k)
	}
	return r
}

// CachedRepositories lists the repositories that have metadata cached
// under trustDir (<trustDir>/tuf/<gun>/metadata), in path order. The cache
// folder may be a symbolic link (a trust directory moved elsewhere).
func CachedRepositories(trustDir string) []data.GUN {
	tufDir := filepath.Join(trustDir, "tuf")
	if r, err := filepath.EvalSymlinks(tufDir); err == nil {
		tufDir = r
	}
	var out []data.GUN
	_ = filepath.WalkDir(tufDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || d.Name() != "metadata" {
			return nil
		}
		rel, err := filepath.Rel(tufDir, filepath.Dir(path))
		if err != nil || rel == "." {
			return fs.SkipDir
		}
		out = append(out, data.GUN(filepath.ToSlash(rel)))
		return fs.SkipDir
	})
	return out
}

// maxMetadataRead bounds a cached metadata file read.
const maxMetadataRead = 32 << 20

// readCachedJSON decodes the cached metadata file at path into v. An error
// satisfying errors.Is(err, fs.ErrNotExist) means it is not cached.
func readCachedJSON(path string, v any) error {
	b, err := capped.ReadFile(path, maxMetadataRead)
	if capped.IsTooLarge(err) {
		return fmt.Errorf("reading cached metadata %q: %w", path, err)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading cached metadata %q: %w", path, err)
	}
	return nil
}
