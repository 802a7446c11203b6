package trust

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/theupdateframework/notary/tuf/data"
)

// CachedVersion returns the version of role's metadata that notary verified
// and cached for gun (after Resolve or ResolveAll has read it).
func CachedVersion(trustDir string, gun data.GUN, role data.RoleName) (int, error) {
	b, err := os.ReadFile(filepath.Join(metadataDir(trustDir, gun), role.String()+".json"))
	if err != nil {
		return 0, fmt.Errorf("reading the cached %s metadata of %q: %w", role, gun, err)
	}
	var s struct {
		Signed struct {
			Version int `json:"version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return 0, fmt.Errorf("reading the cached %s metadata of %q: %w", role, gun, err)
	}
	return s.Signed.Version, nil
}

// RootKeyIDs returns the key IDs of repo's root role, sorted: what
// `inspect` shows under Root and what pins name.
func RootKeyIDs(repo Repository) ([]string, error) {
	roles, err := repo.ListRoles()
	if err != nil {
		return nil, Classify(repo.GetGUN(), err)
	}
	for _, r := range roles {
		if r.Name == data.CanonicalRootRole {
			return sortedCopy(r.KeyIDs), nil
		}
	}
	return nil, fmt.Errorf("reading the root of %q: no root role", repo.GetGUN())
}
