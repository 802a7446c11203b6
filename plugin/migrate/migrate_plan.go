package migrate

import (
	"context"
	"fmt"
	"sort"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/theupdateframework/notary/tuf/data"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// What migrate signs: each tag verified through content trust and the
// registry, then its digest signed with Notation.

// migratePlanItem is one digest of a repository to sign, with every tag
// content trust signed at it.
type migratePlanItem struct {
	desc ocispec.Descriptor
	prov notationbridge.Provenance
	tags []int // indexes into the repository report's Tags
}

// migratePlan fills rep.Tags with every tag looked at (refused ones with
// their status, the rest with an empty status) and returns the digests to
// sign.
func migratePlan(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, rep *migrateRepoReport, includeUnsigned bool) ([]*migratePlanItem, error) {
	repo, err := cmdutil.OpenTrust(ctx, d, ref, false)
	if err != nil {
		return nil, err
	}
	var signed []trust.Target
	if ref.Tag != "" {
		t, err := trust.Resolve(ctx, repo, ref.Tag)
		switch trust.KindOf(err) {
		case trust.KindUnknown:
			if err != nil {
				return nil, d.Fail(trust.OpTrustRead, ref, err)
			}
			signed = []trust.Target{t}
		case trust.KindNotSigned, trust.KindNoTrustData:
		default:
			return nil, d.Fail(trust.OpTrustRead, ref, err)
		}
	} else {
		signed, err = trust.ResolveAll(ctx, repo)
		switch trust.KindOf(err) {
		case trust.KindUnknown:
			if err != nil {
				return nil, d.Fail(trust.OpTrustRead, ref, err)
			}
		case trust.KindNotSigned, trust.KindNoTrustData:
			signed = nil
		default:
			return nil, d.Fail(trust.OpTrustRead, ref, err)
		}
	}

	var prov notationbridge.Provenance
	signers := map[string][]string{}
	if len(signed) > 0 {
		if prov.RootKeyIDs, err = trust.RootKeyIDs(repo); err != nil {
			return nil, d.Fail(trust.OpTrustRead, ref, err)
		}
		if prov.TargetsVersion, err = trust.CachedVersion(d.TrustDir(), ref.GUN(), data.CanonicalTargetsRole); err != nil {
			return nil, d.Fail(trust.OpTrustRead, ref, err)
		}
		st, err := trust.SignedTags(ctx, repo, ref.Tag)
		if err != nil {
			return nil, d.Fail(trust.OpTrustRead, ref, err)
		}
		for _, s := range st {
			signers[s.Tag] = s.Signers
		}
	}

	// The registry's tags: every one with --all-tags, else the one asked for.
	tags, err := d.RegistryTags(ctx, ref)
	if err != nil {
		return nil, err
	}
	signedByTag := map[string]trust.Target{}
	for _, t := range signed {
		signedByTag[t.Name] = t
	}
	seen := map[string]bool{}
	for _, tag := range tags {
		seen[tag] = true
	}
	for _, t := range signed {
		if !seen[t.Name] {
			tags = append(tags, t.Name) // signed, not in the registry: missing
		}
	}
	sort.Strings(tags)

	byDigest := map[digest.Digest]*migratePlanItem{}
	var plan []*migratePlanItem
	for _, tag := range tags {
		t, isSigned := signedByTag[tag]
		tr := migrateTagReport{Tag: tag, Signers: []string{}}
		desc, err := d.Registry.Resolve(ctx, ref.WithTag(tag))
		switch {
		case err != nil && trust.IsNotFound(err):
			tr.Digest = t.Digest.String()
			if isSigned {
				tr.Status = migrateMissing
			} else {
				tr.Status = MigrateUnsigned
			}
			rep.Tags = append(rep.Tags, tr)
			continue
		case err != nil:
			return nil, d.Fail(trust.OpRegistryRead, ref, err)
		}
		if !isSigned {
			tr.Digest = desc.Digest.String()
			if !includeUnsigned {
				tr.Status = MigrateUnsigned
				rep.Tags = append(rep.Tags, tr)
				continue
			}
			tr.Unsigned = true
		} else {
			tr.Digest = t.Digest.String()
			tr.Role = t.Role.String()
			tr.Signers = append(tr.Signers, signers[tag]...)
			if desc.Digest != t.Digest {
				tr.Status = MigrateDrifted
				tr.RegistryDigest = desc.Digest.String()
				rep.Tags = append(rep.Tags, tr)
				continue
			}
		}
		rep.Tags = append(rep.Tags, tr)
		it, ok := byDigest[desc.Digest]
		if !ok {
			it = &migratePlanItem{desc: desc, prov: notationbridge.Provenance{Repository: ref.GUN().String(), Unsigned: true}}
			byDigest[desc.Digest] = it
			plan = append(plan, it)
		}
		it.tags = append(it.tags, len(rep.Tags)-1)
		it.prov.Tags = append(it.prov.Tags, tag)
		if isSigned {
			// One signed tag makes the digest's provenance content trust's;
			// unsigned tags at the same digest are still listed.
			it.prov.Unsigned = false
			it.prov.Roles = append(it.prov.Roles, tr.Role)
			it.prov.Signers = append(it.prov.Signers, tr.Signers...)
			it.prov.RootKeyIDs = prov.RootKeyIDs
			it.prov.TargetsVersion = prov.TargetsVersion
		}
	}
	return plan, nil
}

// migrateDigest signs one digest unless this key already did.
func migrateDigest(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, signer *notationbridge.Signer, it *migratePlanItem, opts migrateOptions) (string, error) {
	status := MigratePlanned
	err := d.ORAS.WithRepository(ref, func(r *remote.Repository) error {
		repo := notationbridge.NewRepository(r)
		already, err := notationbridge.SignedBy(ctx, repo, it.desc, signer)
		if err != nil {
			return err
		}
		switch {
		case already:
			status = MigrateSkipped
		case opts.dryRun:
			status = MigratePlanned
		default:
			if err := notationbridge.Sign(ctx, signer, repo, it.desc, notationbridge.SignOptions{
				Format:       opts.signatureFormat,
				Provenance:   it.prov,
				SigningAgent: "docker-acrtrust migrate",
				PluginConfig: opts.key.Config(),
			}); err != nil {
				return err
			}
			status = MigrateSigned
		}
		return nil
	})
	if err != nil {
		return migrateFailed, err
	}
	return status, nil
}

func refusalReason(t migrateTagReport) string {
	switch t.Status {
	case MigrateUnsigned:
		return "content trust did not sign it (--include-unsigned signs the registry's digest anyway)"
	case MigrateDrifted:
		return fmt.Sprintf("drifted: content trust signed %s, the registry serves %s; sign the tag again (docker acrtrust sign) or push the signed image back", t.Digest, t.RegistryDigest)
	case migrateMissing:
		return fmt.Sprintf("signed (%s) but not in the registry", t.Digest)
	}
	return t.Status
}
