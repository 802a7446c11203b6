package trust

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/theupdateframework/notary/tuf/data"
)

// TagStatus is how a registry tag stands against the trust data.
type TagStatus string

// The statuses verify reports.
const (
	// StatusSigned: signed, and the registry serves the signed digest.
	StatusSigned TagStatus = "signed"
	// StatusDrifted: signed, but the registry serves another digest (pushed without signing).
	StatusDrifted TagStatus = "drifted"
	// StatusUnsigned: in the registry, not in the trust data.
	StatusUnsigned TagStatus = "unsigned"
	// StatusMissing: signed, but the tag is no longer in the registry.
	StatusMissing TagStatus = "missing"
)

// TagReport is one tag's verification result.
type TagReport struct {
	Tag            string
	Status         TagStatus
	SignedDigest   digest.Digest `json:",omitempty"`
	RegistryDigest digest.Digest `json:",omitempty"`
}

// Compare compares what the registry serves (tag -> digest) with the
// signed targets, and returns one report per tag of either, sorted by tag.
func Compare(registry map[string]digest.Digest, signed []Target) []TagReport {
	signedBy := make(map[string]digest.Digest, len(signed))
	for _, t := range signed {
		signedBy[t.Name] = t.Digest
	}
	var out []TagReport
	for tag, served := range registry {
		r := TagReport{Tag: tag, RegistryDigest: served, Status: StatusUnsigned}
		if s, ok := signedBy[tag]; ok {
			r.SignedDigest = s
			r.Status = StatusDrifted
			if s == served {
				r.Status = StatusSigned
			}
		}
		out = append(out, r)
	}
	for tag, s := range signedBy {
		if _, ok := registry[tag]; !ok {
			out = append(out, TagReport{Tag: tag, Status: StatusMissing, SignedDigest: s})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out
}

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
	var out []RoleExpiry
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
		role := data.RoleName(strings.TrimSuffix(filepath.ToSlash(rel), ".json"))
		if role == data.CanonicalSnapshotRole || role == data.CanonicalTimestampRole {
			return nil
		}
		var meta struct {
			Signed struct {
				Expires time.Time `json:"expires"`
			} `json:"signed"`
		}
		if err := readCachedJSON(path, &meta); err != nil {
			return err
		}
		out = append(out, RoleExpiry{Role: role, Expires: meta.Signed.Expires})
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading cached trust metadata of %q: %w", gun, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out, nil
}
