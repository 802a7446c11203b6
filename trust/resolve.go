package trust

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/opencontainers/go-digest"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"
)

// ReleasesRole is the delegation that signers added with `signer add` sign into.
const ReleasesRole data.RoleName = "targets/releases"

// Target is a signed tag: what a tag resolves to.
type Target struct {
	Name   string
	Digest digest.Digest
	Size   int64
	// Role is the role that signed it (targets or targets/releases); empty for a target about to be signed.
	Role data.RoleName
}

// NotaryTarget converts t to notary's target form (sha256 hash and length).
func (t Target) NotaryTarget() (*client.Target, error) {
	if err := t.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("signing %q: invalid digest %q: %w", t.Name, t.Digest, err)
	}
	if t.Digest.Algorithm() != digest.SHA256 {
		return nil, fmt.Errorf("signing %q: digest %s is not sha256", t.Name, t.Digest)
	}
	h, err := hex.DecodeString(t.Digest.Encoded())
	if err != nil {
		return nil, fmt.Errorf("signing %q: %w", t.Name, err)
	}
	return &client.Target{Name: t.Name, Hashes: data.Hashes{"sha256": h}, Length: t.Size}, nil
}

func targetFromNotary(t client.Target, role data.RoleName) (Target, error) {
	h, ok := t.Hashes["sha256"]
	if !ok {
		return Target{}, fmt.Errorf("reading target %q: no sha256 hash", t.Name)
	}
	return Target{
		Name:   t.Name,
		Digest: digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h)),
		Size:   t.Length,
		Role:   role,
	}, nil
}

// trustedRole reports whether role may decide what a tag pulls to: only
// targets and targets/releases, as in Docker.
func trustedRole(role data.RoleName) bool {
	return role == data.CanonicalTargetsRole || role == ReleasesRole
}

// Resolve returns the verified target of tag: notary downloads and verifies
// the TUF chain, then targets/releases wins over targets.
func Resolve(_ context.Context, repo Repository, tag string) (Target, error) {
	t, err := repo.GetTargetByName(tag, ReleasesRole, data.CanonicalTargetsRole)
	if err != nil {
		return Target{}, Classify(repo.GetGUN(), err)
	}
	if !trustedRole(t.Role) {
		return Target{}, &Error{Kind: KindNotSigned, GUN: repo.GetGUN(), Message: fmt.Sprintf("No trust data for %s", tag)}
	}
	return targetFromNotary(t.Target, t.Role)
}

// ResolveAll returns every signed tag of the repository, sorted by name,
// each once (targets/releases wins over targets).
func ResolveAll(_ context.Context, repo Repository) ([]Target, error) {
	tgts, err := repo.ListTargets(ReleasesRole, data.CanonicalTargetsRole)
	if err != nil {
		return nil, Classify(repo.GetGUN(), err)
	}
	var out []Target
	for _, t := range tgts {
		if !trustedRole(t.Role) {
			continue
		}
		tt, err := targetFromNotary(t.Target, t.Role)
		if err != nil {
			continue
		}
		out = append(out, tt)
	}
	if len(out) == 0 {
		return nil, &Error{Kind: KindNotSigned, GUN: repo.GetGUN(), Message: fmt.Sprintf("No trusted tags for %s", repo.GetGUN())}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
