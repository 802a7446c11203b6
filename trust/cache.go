package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// metadataDir is where notary's file-cached repository keeps the verified
// metadata of gun: <trustDir>/tuf/<gun>/metadata (client.NewFileCachedRepository).
func metadataDir(trustDir string, gun data.GUN) string {
	return filepath.Join(trustDir, "tuf", filepath.FromSlash(gun.String()), "metadata")
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
