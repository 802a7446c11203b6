package trust

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// RegistryReader is what Check needs from a registry; *Registry has it.
type RegistryReader interface {
	Resolve(ctx context.Context, ref Ref) (ocispec.Descriptor, error)
	Tags(ctx context.Context, ref Ref) ([]string, error)
}

// RepoCheck is how the tags a registry serves stand against the trust
// data of their repository.
type RepoCheck struct {
	// TrustData is false when the repository has no trust data, or none
	// that signs a tag: then every tag is unsigned.
	TrustData bool
	// Tags are sorted by tag: every registry tag, and every signed tag that
	// the registry no longer serves (StatusMissing).
	Tags []TagReport
	// Expiries are those of root, targets and each delegation, earliest
	// first. Empty without trust data.
	Expiries []RoleExpiry
}

// Check compares the registry's tags of ref's repository (only ref.Tag
// when it is set) with the verified trust data in repo, and reads the
// expiry of its metadata from the cache under trustDir. It only reads.
// verify and audit both stand on it. Errors are marked with the operation
// that failed (WithOp).
//
// When repo was opened with a ReadOnly context, pass that context: the
// expiries come from what the repository read, in memory.
func Check(ctx context.Context, repo Repository, reg RegistryReader, ref Ref, trustDir string) (RepoCheck, error) {
	var rc RepoCheck
	defer forgetReadOnly(ctx, ref.GUN())
	signed, err := ResolveAll(ctx, repo)
	switch KindOf(err) {
	case KindUnknown:
		if err != nil {
			return rc, WithOp(OpTrustRead, ref, err)
		}
		rc.TrustData = true
	case KindNoTrustData, KindNotSigned:
		signed = nil // every registry tag is unsigned
	default:
		return rc, WithOp(OpTrustRead, ref, err)
	}
	var served map[string]digest.Digest
	if td, ok := reg.(TagDigester); ok && ref.Tag == "" {
		if served, err = td.TagDigests(ctx, ref); err != nil {
			return rc, WithOp(OpRegistryRead, ref, err)
		}
	} else if served, err = tagDigests(ctx, reg, ref); err != nil {
		return rc, WithOp(OpRegistryRead, ref, err)
	}
	if ref.Tag == "" {
		// The referrers tag schema keeps Notation signatures (and other
		// referrers) under sha256-<hex> tags on registries without the
		// Referrers API: they are no images of the repository.
		for tag := range served {
			if IsReferrersTag(tag) {
				delete(served, tag)
			}
		}
	}
	if ref.Tag != "" {
		signed = onlyTag(signed, ref.Tag)
	}
	rc.Tags = Compare(served, signed)
	if rc.TrustData {
		exp, inMemory, err := readOnlyExpiries(ctx, ref.GUN())
		if !inMemory {
			exp, err = CachedExpiries(trustDir, ref.GUN())
		}
		if err != nil {
			return rc, err
		}
		rc.Expiries = exp
	}
	return rc, nil
}

// tagDigests lists ref's tags (only ref.Tag when set) and resolves each.
func tagDigests(ctx context.Context, reg RegistryReader, ref Ref) (map[string]digest.Digest, error) {
	tags := []string{ref.Tag}
	if ref.Tag == "" {
		var err error
		if tags, err = reg.Tags(ctx, ref); err != nil {
			return nil, err
		}
	}
	served := make(map[string]digest.Digest, len(tags))
	for _, tag := range tags {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		desc, err := reg.Resolve(ctx, ref.WithTag(tag))
		if err != nil {
			if IsNotFound(err) {
				// Listed a moment ago and deleted since, or the one tag
				// asked for is not in the registry: missing, if signed.
				continue
			}
			return nil, err
		}
		served[tag] = desc.Digest
	}
	return served, nil
}

// referrersTag is a tag of the OCI referrers tag schema (distribution-spec
// 1.1): sha256-<hex of the subject's digest>.
var referrersTag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256-[0-9a-f]{64}$`) }) // compiled on first use, not at start-up

// IsReferrersTag reports whether tag is one of the referrers tag schema.
func IsReferrersTag(tag string) bool { return referrersTag().MatchString(tag) }

// Expiring returns the expiries in exp before now+window.
func Expiring(exp []RoleExpiry, now time.Time, window time.Duration) []RoleExpiry {
	limit := now.Add(window)
	var out []RoleExpiry
	for _, e := range exp {
		if e.Expires.Before(limit) {
			out = append(out, e)
		}
	}
	return out
}

func onlyTag(ts []Target, tag string) []Target {
	for _, t := range ts {
		if t.Name == tag {
			return []Target{t}
		}
	}
	return nil
}
