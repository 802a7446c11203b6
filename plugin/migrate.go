package plugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/docker/cli/cli"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"github.com/theupdateframework/notary/tuf/data"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// orasRepositories reaches a repository through oras-go with the project's
// auth and TLS (trust.Registry), for notation-go.
type orasRepositories interface {
	WithRepository(ref trust.Ref, fn func(*remote.Repository) error) error
}

type migrateOptions struct {
	images          []string
	allTags         bool
	key             notationKeyOptions
	signatureFormat string
	dryRun          bool
	format          string
	includeUnsigned bool
	emitPolicy      string
	notationDir     string
	parallel        int
}

// The status of a tag in a migration (the Status of `migrate --format json`).
const (
	migrateSigned   = "signed"         // signed with Notation in this run
	migrateSkipped  = "already-signed" // the digest has a Notation signature by this key: nothing to do
	migratePlanned  = "would-sign"     // --dry-run: would be signed
	migrateUnsigned = "unsigned"       // refused: content trust did not sign it
	migrateDrifted  = "drifted"        // refused: the registry serves another digest than the signed one
	migrateMissing  = "missing"        // refused: signed, but not in the registry
	migrateFailed   = "failed"         // signing or pushing the signature failed
)

// migrateReport is the output of `migrate --format json` (schema in
// docs/reference/acrtrust_migrate.md).
type migrateReport struct {
	DryRun          bool
	SignatureFormat string
	Key             string // the key file, or plugin and key ID
	Certificate     string // SHA-256 thumbprint of the signing certificate
	Repositories    []migrateRepoReport
	Summary         migrateSummary
	Policy          string `json:",omitempty"` // the trust policy written by --emit-policy
}

type migrateRepoReport struct {
	Name       string // the argument as typed
	Repository string // REGISTRY/REPOSITORY
	Tags       []migrateTagReport
	Error      string `json:",omitempty"`
}

type migrateTagReport struct {
	Tag    string
	Digest string // what was (or would be) signed; for a drifted tag, the digest content trust signed
	Status string
	// RegistryDigest is what the registry serves, when it is not Digest.
	RegistryDigest string `json:",omitempty"`
	// Unsigned is true when content trust did not sign the tag and
	// --include-unsigned signed it anyway.
	Unsigned bool   `json:",omitempty"`
	Role     string `json:",omitempty"`
	Signers  []string
	Error    string `json:",omitempty"`
}

type migrateSummary struct {
	Signed, AlreadySigned, WouldSign, Refused, Failed int
}

func newMigrateCommand(d *deps) *cobra.Command {
	var opts migrateOptions
	cmd := &cobra.Command{
		Use:   "migrate [OPTIONS] NAME[:TAG] [NAME[:TAG]...]",
		Short: "Sign what content trust verified with Notation, before content trust goes",
		Long: `For each signed tag, verify it through content trust (pins honoured, fail
closed), check that the registry still serves the signed digest, then sign
exactly that digest with Notation and push the signature as an OCI referrer
(the Referrers API where the registry has it, else the referrers tag schema).
The signature's user metadata records the content trust provenance: the
tag, the role (targets or targets/releases, with signer names), the root key
ID and the targets version (keys in docs/migrate-to-notation.md).

A digest that already has an intact Notation signature by the same key and
certificate is skipped, so a migration can be run again, or resumed after
an interruption. A tag
that content trust does not verify is refused: unsigned (unless
--include-unsigned), drifted (the registry serves another digest than the
signed one), or missing from the registry. Exit code 0 only when nothing was
refused and nothing failed.

The key is a key and certificate chain in files (--key, --cert; for a
first try: "docker acrtrust migrate cert generate-test NAME"), or a key in a
Notation plugin (--plugin, --id, --plugin-config), found where notation
finds plugins: NOTATION_DIR/plugins/NAME/notation-NAME.`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runMigrate(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.allTags, "all-tags", "a", false, "Migrate every tag of each repository")
	addNotationKeyFlags(flags, &opts.key)
	flags.StringVar(&opts.signatureFormat, "signature-format", notationbridge.FormatJWS, `Signature envelope format: "jws" or "cose"`)
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Print what would be signed, and sign and write nothing")
	flags.BoolVar(&opts.includeUnsigned, "include-unsigned", false, "Also sign tags that content trust did not sign (the registry's digest), and say so in the report")
	flags.StringVar(&opts.emitPolicy, "emit-policy", "", "Write the Notation trust policy and trust store that verify what was migrated into this directory")
	flags.IntVar(&opts.parallel, "parallel", 8, "Number of digests signed at the same time")
	flags.StringVar(&opts.format, "format", "", `Format output: "json" for the machine report (schema in the reference page)`)
	cmd.PersistentFlags().StringVar(&opts.notationDir, "notation-dir", "", "Notation's configuration directory: plugins, trust store (default notation's own, $XDG_CONFIG_HOME/notation)")
	cmd.AddCommand(newMigrateCertCommand(d, &opts.notationDir))
	return cmd
}

// migratePlanItem is one digest of a repository to sign, with every tag
// content trust signed at it.
type migratePlanItem struct {
	desc ocispec.Descriptor
	prov notationbridge.Provenance
	tags []int // indexes into the repository report's Tags
}

func runMigrate(ctx context.Context, d *deps, opts migrateOptions) error {
	if opts.format != "" && !isJSONFormat(opts.format) {
		return usageError{fmt.Errorf("invalid --format %q: migrate writes \"json\" only", opts.format)}
	}
	if _, err := notationbridge.MediaType(opts.signatureFormat); err != nil {
		return usageError{err}
	}
	if opts.parallel < 1 {
		return usageError{errors.New("--parallel must be at least 1")}
	}
	refs := make([]trust.Ref, 0, len(opts.images))
	for _, image := range opts.images {
		ref, err := trust.ParseRef(image)
		if err != nil {
			return usageError{err}
		}
		switch {
		case ref.Digest != "":
			return usageError{fmt.Errorf("%s: %w", image, trust.ErrDigestReference)}
		case ref.Tag != "" && opts.allTags:
			return usageError{fmt.Errorf("%s: a tag can't be used with --all-tags/-a", image)}
		case ref.Tag == "" && !opts.allTags:
			return usageError{fmt.Errorf("no tag specified for %s: name a tag, or migrate every tag with --all-tags", image)}
		}
		refs = append(refs, ref)
	}
	if d.oras == nil {
		return errors.New("migrate needs the registry client of docker acrtrust")
	}
	signer, err := d.notationSigner(ctx, opts.key, opts.notationDir)
	if err != nil {
		return err
	}
	jsonOut := isJSONFormat(opts.format)
	report := migrateReport{
		DryRun:          opts.dryRun,
		SignatureFormat: opts.signatureFormat,
		Key:             signer.Key,
		Certificate:     signer.Thumbprint(),
		Repositories:    []migrateRepoReport{},
	}
	var scopes []string
	for i, ref := range refs {
		rep := d.migrateRepository(ctx, ref, opts.images[i], signer, opts, !jsonOut)
		report.Repositories = append(report.Repositories, rep)
		if rep.Error == "" {
			scopes = append(scopes, ref.Name.Name())
		}
		if ctx.Err() != nil {
			break
		}
	}
	for _, rep := range report.Repositories {
		if rep.Error != "" {
			report.Summary.Failed++
		}
		for _, t := range rep.Tags {
			switch t.Status {
			case migrateSigned:
				report.Summary.Signed++
			case migrateSkipped:
				report.Summary.AlreadySigned++
			case migratePlanned:
				report.Summary.WouldSign++
			case migrateFailed:
				report.Summary.Failed++
			default:
				report.Summary.Refused++
			}
		}
	}
	if opts.emitPolicy != "" && !opts.dryRun && len(scopes) > 0 {
		path, err := notationbridge.WritePolicy(opts.emitPolicy, notationbridge.PolicyOptions{Scopes: scopes, Chain: signer.Chain})
		if err != nil {
			return err
		}
		report.Policy = path
	}
	if jsonOut {
		if err := writeJSON(d.cli.Out(), report); err != nil {
			return err
		}
	} else {
		printMigrateSummary(d, report)
	}
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("migration interrupted: run the same command again to resume (signed digests are skipped): %w", err)
	}
	if report.Summary.Refused > 0 || report.Summary.Failed > 0 {
		return cli.StatusError{StatusCode: exitFailure, Status: "migration incomplete:\n  " + strings.Join(migrateFailures(report), "\n  ")}
	}
	return nil
}

// migrateRepository verifies ref's tags through content trust and the
// registry, then signs each verified digest once.
func (d *deps) migrateRepository(ctx context.Context, ref trust.Ref, image string, signer *notationbridge.Signer, opts migrateOptions, progress bool) migrateRepoReport {
	rep := migrateRepoReport{Name: image, Repository: ref.Name.Name(), Tags: []migrateTagReport{}}
	plan, err := d.migratePlan(ctx, ref, &rep, opts.includeUnsigned)
	if err != nil {
		rep.Error = d.userError(err).Error()
		if progress {
			_, _ = fmt.Fprintf(d.cli.Err(), "%s: %s\n", image, rep.Error)
		}
		return rep
	}
	if progress {
		for _, t := range rep.Tags {
			if t.Status != "" {
				_, _ = fmt.Fprintf(d.cli.Err(), "Refused: %s:%s: %s\n", ref.Familiar(), t.Tag, refusalReason(t))
			}
		}
		dry := ""
		if opts.dryRun {
			dry = ", dry run"
		}
		_, _ = fmt.Fprintf(d.cli.Out(), "Migrating %s to Notation (%s%s): %d digests\n", ref.Familiar(), opts.signatureFormat, dry, len(plan))
	}

	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
		work = make(chan *migratePlanItem)
	)
	finish := func(it *migratePlanItem, status string, err error) {
		mu.Lock()
		defer mu.Unlock()
		done++
		for _, i := range it.tags {
			rep.Tags[i].Status = status
			if err != nil {
				rep.Tags[i].Error = err.Error()
			}
		}
		if !progress {
			return
		}
		var tags []string
		for _, i := range it.tags {
			tags = append(tags, rep.Tags[i].Tag)
		}
		line := fmt.Sprintf("(%d of %d) %s@%s (%s): %s", done, len(plan), ref.Familiar(), it.desc.Digest, strings.Join(tags, ", "), status)
		if err != nil {
			line += ": " + err.Error()
		}
		_, _ = fmt.Fprintln(d.cli.Out(), line)
	}
	for range min(opts.parallel, len(plan)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				status, err := d.migrateDigest(ctx, ref, signer, it, opts)
				finish(it, status, err)
			}
		}()
	}
	for _, it := range plan {
		if ctx.Err() != nil {
			break
		}
		work <- it
	}
	close(work)
	wg.Wait()
	// What an interruption left undone is reported as failed, so that the
	// summary and the exit code say to run again.
	for i := range rep.Tags {
		if rep.Tags[i].Status == "" {
			rep.Tags[i].Status = migrateFailed
			rep.Tags[i].Error = "interrupted before it was signed"
		}
	}
	return rep
}

// migratePlan fills rep.Tags with every tag looked at (refused ones with
// their status, the rest with an empty status) and returns the digests to
// sign.
func (d *deps) migratePlan(ctx context.Context, ref trust.Ref, rep *migrateRepoReport, includeUnsigned bool) ([]*migratePlanItem, error) {
	repo, err := d.openRepo(ctx, ref, false)
	if err != nil {
		return nil, trust.WithOp(trust.OpTrustRead, ref, fmt.Errorf("error establishing connection to trust repository: %w", err))
	}
	var signed []trust.Target
	if ref.Tag != "" {
		t, err := trust.Resolve(ctx, repo, ref.Tag)
		switch trust.KindOf(err) {
		case trust.KindUnknown:
			if err != nil {
				return nil, trust.WithOp(trust.OpTrustRead, ref, err)
			}
			signed = []trust.Target{t}
		case trust.KindNotSigned, trust.KindNoTrustData:
		default:
			return nil, trust.WithOp(trust.OpTrustRead, ref, err)
		}
	} else {
		signed, err = trust.ResolveAll(ctx, repo)
		switch trust.KindOf(err) {
		case trust.KindUnknown:
			if err != nil {
				return nil, trust.WithOp(trust.OpTrustRead, ref, err)
			}
		case trust.KindNotSigned, trust.KindNoTrustData:
			signed = nil
		default:
			return nil, trust.WithOp(trust.OpTrustRead, ref, err)
		}
	}

	var prov notationbridge.Provenance
	signers := map[string][]string{}
	if len(signed) > 0 {
		if prov.RootKeyIDs, err = trust.RootKeyIDs(repo); err != nil {
			return nil, trust.WithOp(trust.OpTrustRead, ref, err)
		}
		if prov.TargetsVersion, err = trust.CachedVersion(d.trustDir(), ref.GUN(), data.CanonicalTargetsRole); err != nil {
			return nil, trust.WithOp(trust.OpTrustRead, ref, err)
		}
		st, err := trust.SignedTags(ctx, repo, ref.Tag)
		if err != nil {
			return nil, trust.WithOp(trust.OpTrustRead, ref, err)
		}
		for _, s := range st {
			signers[s.Tag] = s.Signers
		}
	}

	// The registry's tags: every one with --all-tags, else the one asked for.
	tags := []string{ref.Tag}
	if ref.Tag == "" {
		if tags, err = d.registry.Tags(ctx, ref); err != nil {
			return nil, trust.WithOp(trust.OpRegistryRead, ref, err)
		}
		tags = withoutReferrersTags(tags)
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
		desc, err := d.registry.Resolve(ctx, ref.WithTag(tag))
		switch {
		case err != nil && trust.IsNotFound(err):
			tr.Digest = t.Digest.String()
			if isSigned {
				tr.Status = migrateMissing
			} else {
				tr.Status = migrateUnsigned
			}
			rep.Tags = append(rep.Tags, tr)
			continue
		case err != nil:
			return nil, trust.WithOp(trust.OpRegistryRead, ref, err)
		}
		if !isSigned {
			tr.Digest = desc.Digest.String()
			if !includeUnsigned {
				tr.Status = migrateUnsigned
				rep.Tags = append(rep.Tags, tr)
				continue
			}
			tr.Unsigned = true
		} else {
			tr.Digest = t.Digest.String()
			tr.Role = t.Role.String()
			tr.Signers = append(tr.Signers, signers[tag]...)
			if desc.Digest != t.Digest {
				tr.Status = migrateDrifted
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
func (d *deps) migrateDigest(ctx context.Context, ref trust.Ref, signer *notationbridge.Signer, it *migratePlanItem, opts migrateOptions) (string, error) {
	status := migratePlanned
	err := d.oras.WithRepository(ref, func(r *remote.Repository) error {
		repo := notationbridge.NewRepository(r)
		already, err := notationbridge.SignedBy(ctx, repo, it.desc, signer)
		if err != nil {
			return err
		}
		switch {
		case already:
			status = migrateSkipped
		case opts.dryRun:
			status = migratePlanned
		default:
			if err := notationbridge.Sign(ctx, signer, repo, it.desc, notationbridge.SignOptions{
				Format:       opts.signatureFormat,
				Provenance:   it.prov,
				SigningAgent: "docker-acrtrust migrate",
				PluginConfig: opts.key.config(),
			}); err != nil {
				return err
			}
			status = migrateSigned
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
	case migrateUnsigned:
		return "content trust did not sign it (--include-unsigned signs the registry's digest anyway)"
	case migrateDrifted:
		return fmt.Sprintf("drifted: content trust signed %s, the registry serves %s; sign the tag again (docker acrtrust sign) or push the signed image back", t.Digest, t.RegistryDigest)
	case migrateMissing:
		return fmt.Sprintf("signed (%s) but not in the registry", t.Digest)
	}
	return t.Status
}

func migrateFailures(r migrateReport) []string {
	var out []string
	for _, rep := range r.Repositories {
		if rep.Error != "" {
			out = append(out, rep.Name+": "+migrateFirstLine(rep.Error))
			continue
		}
		for _, t := range rep.Tags {
			switch t.Status {
			case migrateSigned, migrateSkipped, migratePlanned:
			case migrateFailed:
				out = append(out, fmt.Sprintf("%s:%s: failed: %s", rep.Repository, t.Tag, t.Error))
			default:
				out = append(out, fmt.Sprintf("%s:%s: %s", rep.Repository, t.Tag, t.Status))
			}
		}
	}
	return out
}

func migrateFirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func printMigrateSummary(d *deps, r migrateReport) {
	s := r.Summary
	out := d.cli.Out()
	if r.DryRun {
		_, _ = fmt.Fprintf(out, "Dry run: %d tags would be signed, %d already signed, %d refused; nothing was written\n", s.WouldSign, s.AlreadySigned, s.Refused)
	} else {
		_, _ = fmt.Fprintf(out, "Summary: %d tags signed, %d already signed, %d refused, %d failed\n", s.Signed, s.AlreadySigned, s.Refused, s.Failed)
	}
	for _, rep := range r.Repositories {
		for _, t := range rep.Tags {
			if t.Unsigned && (t.Status == migrateSigned || t.Status == migratePlanned) {
				_, _ = fmt.Fprintf(d.cli.Err(), "WARNING: %s:%s was not signed with content trust; its Notation signature records %s=true (--include-unsigned)\n",
					rep.Repository, t.Tag, notationbridge.MetaUnsigned)
			}
		}
	}
	if r.Policy != "" {
		_, _ = fmt.Fprintf(out, "Trust policy written: %s\n", r.Policy)
	}
}
