package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/acrtrust/docker-acrtrust/internal/adaptive"
	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/trust"
)

type migrateOptions struct {
	images          []string
	allTags         bool
	key             cmdutil.NotationKeyOptions
	signatureFormat string
	dryRun          bool
	format          string
	includeUnsigned bool
	emitPolicy      string
	notationDir     string
	parallel        int
	// limiter bounds the digests signed at once, fewer while the registry
	// throttles (issue 20); set by runMigrate.
	limiter *adaptive.Limiter
}

// The status of a tag in a migration (the Status of `migrate --format json`).
const (
	MigrateSigned   = "signed"         // signed with Notation in this run
	MigrateSkipped  = "already-signed" // the digest has a Notation signature by this key: nothing to do
	MigratePlanned  = "would-sign"     // --dry-run: would be signed
	MigrateUnsigned = "unsigned"       // refused: content trust did not sign it
	MigrateDrifted  = "drifted"        // refused: the registry serves another digest than the signed one
	migrateMissing  = "missing"        // refused: signed, but not in the registry
	migrateFailed   = "failed"         // signing or pushing the signature failed
)

// MigrateReport is the output of `migrate --format json` (schema in
// docs/reference/acrtrust_migrate.md).
type MigrateReport struct {
	DryRun          bool
	SignatureFormat string
	Key             string // the key file, or plugin and key ID
	Certificate     string // SHA-256 thumbprint of the signing certificate
	Repositories    []migrateRepoReport
	Summary         MigrateSummary
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

type MigrateSummary struct {
	Signed, AlreadySigned, WouldSign, Refused, Failed int
}

func NewCommand(d *cmdutil.Deps) *cobra.Command {
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
finds plugins: NOTATION_DIR/plugins/NAME/notation-NAME. Without either, it is
the default key of notation's own NOTATION_DIR/signingkeys.json (set by
"notation key add --default"), as for every command that signs.`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runMigrate(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.allTags, "all-tags", "a", false, "Migrate every tag of each repository")
	cmdutil.AddNotationKeyFlags(flags, &opts.key)
	flags.StringVar(&opts.signatureFormat, "signature-format", notationbridge.FormatJWS, `Signature envelope format: "jws" or "cose"`)
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Print what would be signed, and sign and write nothing")
	flags.BoolVar(&opts.includeUnsigned, "include-unsigned", false, "Also sign tags that content trust did not sign (the registry's digest), and say so in the report")
	flags.StringVar(&opts.emitPolicy, "emit-policy", "", "Write the Notation trust policy and trust store that verify what was migrated into this directory")
	flags.IntVar(&opts.parallel, "parallel", 8, "Number of digests signed at the same time")
	cmdutil.AddFormatFlag(cmd, &opts.format, cmdutil.JSONOnly(`Format output: "json" for the machine report (schema in the reference page)`))
	cmd.PersistentFlags().StringVar(&opts.notationDir, "notation-dir", "", "Notation's configuration directory: plugins, trust store (default notation's own, $XDG_CONFIG_HOME/notation)")
	cmd.AddCommand(newMigrateCertCommand(d, &opts.notationDir))
	showOperandsInUsage(cmd)
	return cmd
}

// Docker's usage template shows a command that has subcommands as
// "CMD [OPTIONS] COMMAND", which for migrate (which takes images, and has
// one helper group, cert) hides what it is run with.
const (
	dockerGroupUsage    = `{{- if .HasSubCommands}}  {{ .CommandPath}}{{- if .HasAvailableFlags}} [OPTIONS]{{end}} COMMAND{{end}}`
	operandsAndCommands = `{{- if .HasSubCommands}}  {{.UseLine}}` + "\n" + `        {{ .CommandPath}} COMMAND{{end}}` // under "Usage:  "
)

// showOperandsInUsage makes cmd's help show its own usage line, then
// "CMD COMMAND" for its subcommands, under whichever usage template
// it runs (docker's when it runs as a plugin; its subcommands keep theirs).
func showOperandsInUsage(cmd *cobra.Command) {
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		help := c.Root().HelpFunc()
		if c == cmd {
			tmpl := c.UsageTemplate()
			c.SetUsageTemplate(strings.Replace(tmpl, dockerGroupUsage, operandsAndCommands, 1))
			defer c.SetUsageTemplate("")
		}
		help(c, args)
	})
}

// parseMigrateRefs reads the images to migrate: each with a tag, or each
// without one with --all-tags.
func parseMigrateRefs(opts migrateOptions) ([]trust.Ref, error) {
	refs := make([]trust.Ref, 0, len(opts.images))
	for _, image := range opts.images {
		ref, err := trust.ParseRef(image)
		if err != nil {
			return nil, cmdutil.UsageError{Err: err}
		}
		switch {
		case ref.Digest != "":
			return nil, cmdutil.UsageError{Err: fmt.Errorf("%s: %w", image, trust.ErrDigestReference)}
		case ref.Tag != "" && opts.allTags:
			return nil, cmdutil.UsageError{Err: fmt.Errorf("%s: a tag can't be used with --all-tags/-a", image)}
		case ref.Tag == "" && !opts.allTags:
			return nil, cmdutil.UsageError{Err: fmt.Errorf("no tag specified for %s: name a tag, or migrate every tag with --all-tags", image)}
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// summarize counts the tags of the repositories by outcome.
func summarize(repos []migrateRepoReport) MigrateSummary {
	var sum MigrateSummary
	for _, rep := range repos {
		if rep.Error != "" {
			sum.Failed++
		}
		for _, t := range rep.Tags {
			switch t.Status {
			case MigrateSigned:
				sum.Signed++
			case MigrateSkipped:
				sum.AlreadySigned++
			case MigratePlanned:
				sum.WouldSign++
			case migrateFailed:
				sum.Failed++
			default:
				sum.Refused++
			}
		}
	}
	return sum
}

func runMigrate(ctx context.Context, d *cmdutil.Deps, opts migrateOptions) error {
	if _, err := notationbridge.MediaType(opts.signatureFormat); err != nil {
		return cmdutil.UsageError{Err: err}
	}
	if opts.parallel < 1 {
		return cmdutil.UsageError{Err: errors.New("--parallel must be at least 1")}
	}
	refs, err := parseMigrateRefs(opts)
	if err != nil {
		return err
	}
	if d.ORAS == nil {
		return errors.New("migrate needs the registry client of docker acrtrust")
	}
	signer, err := d.NotationSigner(ctx, opts.key, opts.notationDir)
	if err != nil {
		return err
	}
	if opts.emitPolicy != "" {
		// Before any network work: a policy that already trusts another
		// certificate for one of these repositories is left as it is, and
		// nothing is signed that it would not verify (issue 21).
		all := make([]string, len(refs))
		for i, ref := range refs {
			all[i] = ref.Name.Name()
		}
		if err := notationbridge.CheckPolicy(opts.emitPolicy, notationbridge.PolicyOptions{Scopes: all, Chain: signer.Chain}); err != nil {
			return d.Explained(err)
		}
	}
	d.Parallel = opts.parallel
	ctx, opts.limiter = d.Adaptive(ctx, opts.parallel)
	defer d.ReportThrottling(opts.limiter, "the digests signed")
	jsonOut := cmdutil.IsJSONFormat(opts.format)
	report := MigrateReport{
		DryRun:          opts.dryRun,
		SignatureFormat: opts.signatureFormat,
		Key:             signer.Key,
		Certificate:     signer.Thumbprint(),
		Repositories:    []migrateRepoReport{},
	}
	var scopes []string
	for i, ref := range refs {
		rep := migrateRepository(ctx, d, ref, opts.images[i], signer, opts, !jsonOut)
		report.Repositories = append(report.Repositories, rep)
		if rep.Error == "" {
			scopes = append(scopes, ref.Name.Name())
		}
		if ctx.Err() != nil {
			break
		}
	}
	report.Summary = summarize(report.Repositories)
	if opts.emitPolicy != "" && !opts.dryRun && len(scopes) > 0 {
		path, err := notationbridge.WritePolicy(opts.emitPolicy, notationbridge.PolicyOptions{Scopes: scopes, Chain: signer.Chain})
		if err != nil {
			return d.Explained(err)
		}
		report.Policy = path
	}
	if jsonOut {
		if err := cmdutil.WriteJSON(d.CLI.Out(), report); err != nil {
			return err
		}
	} else {
		printMigrateSummary(d, report)
	}
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("migration interrupted: run the same command again to resume (signed digests are skipped): %w", err)
	}
	if report.Summary.Refused > 0 || report.Summary.Failed > 0 {
		return cli.StatusError{StatusCode: cmdutil.ExitFailure, Status: "migration incomplete:\n  " + strings.Join(migrateFailures(report), "\n  ")}
	}
	return nil
}

// migrateRepository verifies ref's tags through content trust and the
// registry, then signs each verified digest once.
func migrateRepository(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, image string, signer *notationbridge.Signer, opts migrateOptions, progress bool) migrateRepoReport {
	rep := migrateRepoReport{Name: image, Repository: ref.Name.Name(), Tags: []migrateTagReport{}}
	plan, err := migratePlan(ctx, d, ref, &rep, opts.includeUnsigned)
	if err != nil {
		rep.Error = explain.Message(err)
		if progress {
			_, _ = fmt.Fprintf(d.CLI.Err(), "%s: %s\n", safetext.Escape(image), safetext.EscapeText(rep.Error))
		}
		return rep
	}
	if progress {
		for _, t := range rep.Tags {
			if t.Status != "" {
				_, _ = fmt.Fprintf(d.CLI.Err(), "Refused: %s:%s: %s\n", ref.Familiar(), safetext.Escape(t.Tag), safetext.Escape(refusalReason(t)))
			}
		}
		dry := ""
		if opts.dryRun {
			dry = ", dry run"
		}
		_, _ = fmt.Fprintf(d.CLI.Out(), "Migrating %s to Notation (%s%s): %d digests\n", ref.Familiar(), opts.signatureFormat, dry, len(plan))
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
		_, _ = fmt.Fprintln(d.CLI.Out(), safetext.EscapeText(line))
	}
	for range min(opts.parallel, len(plan)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				migratePaced(ctx, d, ref, signer, it, opts, finish)
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
