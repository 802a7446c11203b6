package trust

import (
	"context"
	"encoding/hex"
	"errors"
	"sort"
	"strings"

	"github.com/fvbommel/sortorder"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"
)

// SignedTag is a tag signed into a role that decides what it pulls to
// (targets or targets/releases), with the delegations that signed the same
// tag and digest.
type SignedTag struct {
	Tag string
	// Digest is the lowercase hex of the signed sha256 hash, without the
	// "sha256:" prefix (what `docker trust inspect` shows).
	Digest string
	// Signers are the names of the delegations (targets/<name>, shown as
	// <name>) that signed the same tag and digest, sorted. Empty means the
	// tag was signed only into targets or targets/releases: by the
	// repository admin.
	Signers []string
}

// Signer is a delegation other than targets/releases: someone added with
// `signer add` (or `docker trust signer add`), or a nested delegation.
type Signer struct {
	// Name is the delegation name without "targets/".
	Name string
	// KeyIDs are the canonical IDs of the signer's public keys, sorted.
	KeyIDs []string
}

// RepoInfo is what `inspect` shows about a repository's trust data.
type RepoInfo struct {
	// SignedTags are sorted by tag in natural order ("v2" before "v10").
	// Empty, not nil, when nothing is signed.
	SignedTags []SignedTag
	// Signers are sorted by name. Empty, not nil, when there are none.
	Signers []Signer
	// RootKeyIDs and RepositoryKeyIDs are the key IDs of the root and
	// targets (repository) roles, sorted.
	RootKeyIDs       []string
	RepositoryKeyIDs []string
}

// Inspect gathers the signed tags (only tag when it is not empty), signers
// and administrative keys of repo, after notary has downloaded and
// verified its trust data. A tag that is not signed gives an empty
// SignedTags, not an error; a repository without trust data is a classified
// *Error of KindNoTrustData.
func Inspect(ctx context.Context, repo Repository, tag string) (RepoInfo, error) {
	gun := repo.GetGUN()
	info := RepoInfo{Signers: []Signer{}}
	var err error
	if info.SignedTags, err = SignedTags(ctx, repo, tag); err != nil {
		return RepoInfo{}, err
	}

	roles, err := repo.ListRoles()
	if err != nil {
		return RepoInfo{}, Classify(gun, err)
	}
	for _, r := range roles {
		switch r.Name {
		case data.CanonicalRootRole:
			info.RootKeyIDs = sortedCopy(r.KeyIDs)
		case data.CanonicalTargetsRole:
			info.RepositoryKeyIDs = sortedCopy(r.KeyIDs)
		}
	}

	delegations, err := repo.GetDelegationRoles()
	if err != nil {
		return RepoInfo{}, Classify(gun, err)
	}
	for _, d := range delegations {
		if d.Name == ReleasesRole {
			continue
		}
		info.Signers = append(info.Signers, Signer{Name: signerName(d.Name), KeyIDs: sortedCopy(d.KeyIDs)})
	}
	sort.Slice(info.Signers, func(i, j int) bool { return info.Signers[i].Name < info.Signers[j].Name })
	return info, nil
}

// SignedTags returns the signed tags of repo (only tag when it is not
// empty), as Inspect does, with one read of the trust data. A tag that is
// not signed gives an empty list, not an error.
func SignedTags(_ context.Context, repo Repository, tag string) ([]SignedTag, error) {
	all, err := repo.GetAllTargetMetadataByName(tag)
	var noTarget client.ErrNoSuchTarget
	if err != nil && !errors.As(err, &noTarget) {
		return nil, Classify(repo.GetGUN(), err)
	}
	return signedTags(all), nil
}

// signedTags groups the targets found in every role by tag and digest and
// keeps the pairs signed into targets or targets/releases, as Docker's
// matchReleasedSignatures did: only those are pulled, and the delegations
// that signed the same pair are their signers.
func signedTags(all []client.TargetSignedStruct) []SignedTag {
	type key struct{ tag, digest string }
	signers := map[key]map[string]bool{}
	for _, t := range all {
		if trustedRole(t.Role.Name) {
			k := key{t.Target.Name, hex.EncodeToString(t.Target.Hashes["sha256"])}
			if signers[k] == nil {
				signers[k] = map[string]bool{}
			}
		}
	}
	for _, t := range all {
		k := key{t.Target.Name, hex.EncodeToString(t.Target.Hashes["sha256"])}
		if s, ok := signers[k]; ok && !trustedRole(t.Role.Name) {
			s[signerName(t.Role.Name)] = true
		}
	}
	out := make([]SignedTag, 0, len(signers))
	for k, s := range signers {
		names := make([]string, 0, len(s))
		for n := range s {
			names = append(names, n)
		}
		sort.Strings(names)
		out = append(out, SignedTag{Tag: k.tag, Digest: k.digest, Signers: names})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Tag != out[j].Tag {
			return sortorder.NaturalLess(out[i].Tag, out[j].Tag)
		}
		return out[i].Digest < out[j].Digest
	})
	return out
}

// signerName is a delegation's name as users give it: targets/alice is
// "alice" (and a nested targets/team/alice "team/alice", as Docker showed it).
func signerName(role data.RoleName) string {
	return strings.TrimPrefix(role.String(), data.CanonicalTargetsRole.String()+"/")
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}
