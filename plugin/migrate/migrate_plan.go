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
	signed, err := signedTargets(ctx, d, repo, ref)
	if err != nil {
		return nil, err
	}
	p := &migratePlanner{ref: ref, rep: rep, includeUnsigned: includeUnsigned,
		signed: map[string]trust.Target{}, signers: map[string][]string{}, byDigest: map[digest.Digest]*migratePlanItem{}}
	if len(signed) > 0 {
		if err := p.readProvenance(ctx, d, repo); err != nil {
			return nil, err
		}
	}
	// The registry's tags: every one with --all-tags, else the one asked for.
	tags, err := d.RegistryTags(ctx, ref)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, tag := range tags {
		seen[tag] = true
	}
	for _, t := range signed {
		p.signed[t.Name] = t
		if !seen[t.Name] {
			tags = append(tags, t.Name) // signed, not in the registry: missing
		}
	}
	sort.Strings(tags)
	for _, tag := range tags {
		if err := p.add(ctx, d, tag); err != nil {
			return nil, err
		}
	}
	return p.plan, nil
}

// signedTargets is what the trust data signs: ref's tag, or every tag when
// ref names none; nothing when the tag or the repository is not signed.
func signedTargets(ctx context.Context, d *cmdutil.Deps, repo trust.Repository, ref trust.Ref) ([]trust.Target, error) {
	var signed []trust.Target
	var err error
	if ref.Tag != "" {
		var t trust.Target
		if t, err = trust.Resolve(ctx, repo, ref.Tag); err == nil {
			signed = []trust.Target{t}
		}
	} else {
		signed, err = trust.ResolveAll(ctx, repo)
	}
	switch trust.KindOf(err) {
	case trust.KindUnknown:
		if err != nil {
			return nil, d.Fail(trust.OpTrustRead, ref, err)
		}
		return signed, nil
	case trust.KindNotSigned, trust.KindNoTrustData:
		return nil, nil
	}
	return nil, d.Fail(trust.OpTrustRead, ref, err)
}

// migratePlanner builds one repository's plan, tag by tag.
type migratePlanner struct {
	ref             trust.Ref
	rep             *migrateRepoReport
	includeUnsigned bool
	signed          map[string]trust.Target // by tag
	signers         map[string][]string     // by tag
	prov            notationbridge.Provenance
	byDigest        map[digest.Digest]*migratePlanItem
	plan            []*migratePlanItem
}

// readProvenance reads what the provenance of a signed tag records: the
// root keys, the targets version and each tag's signers.
func (p *migratePlanner) readProvenance(ctx context.Context, d *cmdutil.Deps, repo trust.Repository) error {
	var err error
	if p.prov.RootKeyIDs, err = trust.RootKeyIDs(repo); err != nil {
		return d.Fail(trust.OpTrustRead, p.ref, err)
	}
	if p.prov.TargetsVersion, err = trust.CachedVersion(d.TrustDir(), p.ref.GUN(), data.CanonicalTargetsRole); err != nil {
		return d.Fail(trust.OpTrustRead, p.ref, err)
	}
	st, err := trust.SignedTags(ctx, repo, p.ref.Tag)
	if err != nil {
		return d.Fail(trust.OpTrustRead, p.ref, err)
	}
	for _, s := range st {
		p.signers[s.Tag] = s.Signers
	}
	return nil
}

// add reports tag and, unless it is refused, adds its digest to the plan.
func (p *migratePlanner) add(ctx context.Context, d *cmdutil.Deps, tag string) error {
	t, isSigned := p.signed[tag]
	tr := migrateTagReport{Tag: tag, Signers: []string{}}
	desc, err := d.RegistryDescriptor(ctx, p.ref, tag)
	switch {
	case err != nil && trust.IsNotFound(err):
		tr.Digest = t.Digest.String()
		tr.Status = MigrateUnsigned
		if isSigned {
			tr.Status = migrateMissing
		}
		p.rep.Tags = append(p.rep.Tags, tr)
		return nil
	case err != nil:
		return err
	}
	if !isSigned {
		tr.Digest = desc.Digest.String()
		if !p.includeUnsigned {
			tr.Status = MigrateUnsigned
			p.rep.Tags = append(p.rep.Tags, tr)
			return nil
		}
		tr.Unsigned = true
	} else {
		tr.Digest = t.Digest.String()
		tr.Role = t.Role.String()
		tr.Signers = append(tr.Signers, p.signers[tag]...)
		if desc.Digest != t.Digest {
			tr.Status = MigrateDrifted
			tr.RegistryDigest = desc.Digest.String()
			p.rep.Tags = append(p.rep.Tags, tr)
			return nil
		}
	}
	p.rep.Tags = append(p.rep.Tags, tr)
	it, ok := p.byDigest[desc.Digest]
	if !ok {
		it = &migratePlanItem{desc: desc, prov: notationbridge.Provenance{Repository: p.ref.GUN().String(), Unsigned: true}}
		p.byDigest[desc.Digest] = it
		p.plan = append(p.plan, it)
	}
	it.tags = append(it.tags, len(p.rep.Tags)-1)
	it.prov.Tags = append(it.prov.Tags, tag)
	if isSigned {
		// One signed tag makes the digest's provenance content trust's;
		// unsigned tags at the same digest are still listed.
		it.prov.Unsigned = false
		it.prov.Roles = append(it.prov.Roles, tr.Role)
		it.prov.Signers = append(it.prov.Signers, tr.Signers...)
		it.prov.RootKeyIDs = p.prov.RootKeyIDs
		it.prov.TargetsVersion = p.prov.TargetsVersion
	}
	return nil
}

// migrateDigest signs one digest unless this key already did.
// migratePaced signs it once the limiter lets it (fewer digests at once
// while the registry throttles, issue 20) and calls finish with the
// outcome; not when interrupted before it started, which is reported as
// such afterwards.
func migratePaced(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, signer *notationbridge.Signer, it *migratePlanItem, opts migrateOptions,
	finish func(*migratePlanItem, string, error)) {
	if opts.limiter.Acquire(ctx) != nil {
		return
	}
	defer opts.limiter.Release()
	status, err := migrateDigest(ctx, d, ref, signer, it, opts)
	finish(it, status, err)
}

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
