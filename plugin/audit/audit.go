package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
)

// defaultAuditParallel is how many repositories audit reads at once: enough
// to hide the round trips to the registry and trust server, few enough that
// a registry does not throttle one client.
const defaultAuditParallel = 8

type AuditOptions struct {
	Targets        []string // REGISTRY[/PREFIX]
	reposFile      string
	Format         string
	html           string
	failOn         string
	ExpiringWithin string
	Parallel       int
	// notation audits Notation signatures; notationDir holds the trust
	// policy that verifies them ("" counts them only).
	notation    bool
	notationDir string
}

// AuditRepo is one repository in the audit report: an element of
// Repositories in `audit --format json` (schema in docs/audit.md). Fields
// are only ever added.
type AuditRepo struct {
	// Name is the repository with its registry (the GUN): REGISTRY/REPOSITORY.
	Name string
	// TrustData is false when the repository has no trust data.
	TrustData bool
	// Counts of Tags by status.
	Signed, Unsigned, Drifted, Missing int
	// Tags are every registry tag and every signed tag, sorted by tag.
	Tags []AuditTag
	// Notation counts the tags by Notation status; absent with
	// --notation=false.
	Notation *NotationCounts `json:",omitempty"`
	// Expiries are those of root, targets and each delegation, earliest first.
	Expiries []cmdutil.ExpiringRole
	// EarliestExpiry is the first of Expiries; absent without trust data.
	EarliestExpiry *cmdutil.ExpiringRole `json:",omitempty"`
	// Expiring is true when EarliestExpiry is within --expiring-within.
	Expiring bool
	// Pinned is the pin that covers the repository in the pins file
	// ("REGISTRY/REPO", "PREFIX*" or a CA prefix); "" when it is not pinned.
	Pinned string
	// Error says why the repository could not be audited.
	Error string `json:",omitempty"`
}

// AuditSummary is the whole run: Summary in `audit --format json`.
type AuditSummary struct {
	// Repositories audited, and Listed (more than Repositories when the run
	// was interrupted).
	Repositories, Listed int
	// WithTrustData counts repositories that have trust data.
	WithTrustData int
	// Tag counts over every repository.
	SignedTags, UnsignedTags, DriftedTags, MissingTags int
	// Notation counts the tags of every repository by Notation status;
	// absent with --notation=false.
	Notation *NotationCounts `json:",omitempty"`
	// NotationVerified is true when the Notation signatures were verified
	// against a trust policy (--notation-dir), not only counted.
	NotationVerified bool
	// Errors counts repositories that could not be audited.
	Errors int
	// Expiring counts repositories whose metadata expires within the window.
	Expiring int
	// EarliestExpiry is the first expiry in the registry.
	EarliestExpiry *repoExpiry `json:",omitempty"`
	// Refresh is the command that re-signs what expires within the window.
	Refresh string `json:",omitempty"`
	// Violations are the --fail-on rules the registry breaks.
	Violations []string
	// Complete is false when the run was interrupted.
	Complete bool
}

// repoExpiry is one role's expiry in one repository.
type repoExpiry struct {
	Repository string
	Role       string
	Expires    time.Time
}

func NewCommand(d *cmdutil.Deps) *cobra.Command {
	var opts AuditOptions
	cmd := &cobra.Command{
		Use:   "audit [OPTIONS] REGISTRY[/PREFIX] [REGISTRY[/PREFIX]...]",
		Short: "Report signed, unsigned and drifted tags and expiring trust data of a whole registry",
		Long: `List the repositories of a registry through its catalog API (or from --repos)
and, for each, compare every tag with its trust data: signed, unsigned, drifted
(the registry serves another digest than the signed one) or missing (signed,
the image is gone). Report the expiry of root, targets and each delegation.

A PREFIX keeps the repositories at or under that path: "team" matches "team"
and "team/app", not "teamwork"; "team/app*" matches "team/app" and
"team/app2".

Each tag's Notation status is reported too (--notation=false skips it):
whether the digest the registry serves has a Notation signature, whether the
trust policy accepts it (with --notation-dir), and whether the digest content
trust signed is covered; with totals per repository and for the registry.

Output: a summary table, --format json (one document), and --html FILE (one
self-contained page: a sortable table per repository, an expiry timeline and
how far each repository has moved to Notation).
--fail-on makes the exit code 1 when the registry breaks a policy, for
pipelines. Repositories that cannot be read always make it 1.

audit only reads: it never writes trust data, nor the local trust cache (it
reads the cache, so a root seen before still guards). On ACR, listing the catalog
needs the AcrPull role (or "Container Registry Repository Catalog Lister" on
registries with ABAC repository permissions); repository-scoped tokens cannot
list it: give the names with --repos instead.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && opts.reposFile == "" {
				return errors.New(`"docker acrtrust audit" requires at least 1 argument, or --repos`)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Targets = args
			// Ctrl-C ends cmd.Context() (explain.Commands); what was audited
			// is still reported.
			return RunAudit(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.reposFile, "repos", "", `Audit the repositories listed in this file (one per line, "-" for stdin) instead of the catalog`)
	flags.StringVar(&opts.html, "html", "", "Also write the report as one self-contained HTML page to this file")
	flags.StringVar(&opts.failOn, "fail-on", "", `Exit 1 when the registry breaks any of these rules: unsigned, drift, missing, expiring=DURATION, notation-missing, notation-invalid (comma-separated, e.g. "unsigned,drift,expiring=30d")`)
	flags.StringVar(&opts.ExpiringWithin, "expiring-within", "30d", `Report trust metadata expiring within this duration ("720h", "30d")`)
	flags.IntVar(&opts.Parallel, "parallel", defaultAuditParallel, "Audit this many repositories at once")
	flags.BoolVar(&opts.notation, "notation", true, "Report each tag's Notation status (one referrers lookup per digest); --notation=false skips it")
	flags.StringVar(&opts.notationDir, "notation-dir", "", "Verify Notation signatures against the trust policy and trust store in this directory (notation's layout); without it they are counted, not verified")
	cmdutil.AddFormatFlag(cmd, &opts.Format, cmdutil.JSONOnly(`Format output: "json" for one JSON document`))
	return cmd
}

// auditTarget is one REGISTRY[/PREFIX] argument.
type auditTarget struct {
	host   string
	prefix string // "" for the whole registry
	plain  bool   // prefix ended in "*": plain string prefix
}

func parseAuditTarget(s string) (auditTarget, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	host, prefix, _ := strings.Cut(s, "/")
	if host == "" {
		return auditTarget{}, cmdutil.UsageError{Err: fmt.Errorf("invalid registry %q: want REGISTRY[/PREFIX], e.g. myregistry.azurecr.io/team", s)}
	}
	t := auditTarget{host: host}
	if p, ok := strings.CutSuffix(prefix, "*"); ok {
		t.prefix, t.plain = p, true
	} else {
		t.prefix = strings.TrimSuffix(prefix, "/")
	}
	return t, nil
}

func (t auditTarget) matches(repo string) bool {
	switch {
	case t.prefix == "":
		return true
	case t.plain:
		return strings.HasPrefix(repo, t.prefix)
	}
	return repo == t.prefix || strings.HasPrefix(repo, t.prefix+"/")
}

// RunAudit audits every repository opts names and reports them as opts
// asks (table, JSON, HTML); it fails when a repository could not be
// audited or a --fail-on rule is broken.
func RunAudit(ctx context.Context, d *cmdutil.Deps, opts AuditOptions) error {
	window, err := cmdutil.ParseDuration("--expiring-within", opts.ExpiringWithin)
	if err != nil {
		return err
	}
	run := &auditRun{d: d, opts: opts, now: time.Now(), window: window}
	if run.policy, err = parseFailOn(opts.failOn, window); err != nil {
		return err
	}
	if run.notation, err = newNotationAudit(opts, run.policy); err != nil {
		return err
	}
	if run.notation != nil {
		run.sum.Notation = &NotationCounts{}
		run.sum.NotationVerified = run.notation.v != nil
	}
	targets, err := parseAuditTargets(opts)
	if err != nil {
		return err
	}
	if err := run.openOutputs(); err != nil {
		return err
	}
	defer run.closeOutputs()

	// Fewer repositories at once while the registry throttles (issue 20).
	d.Parallel = opts.Parallel
	ctx, lim := d.Adaptive(ctx, opts.Parallel)
	// Listing runs beside the audit: the first repositories are read while
	// later catalog pages are still coming.
	list := startListing(ctx, d, opts, targets)
	defer list.cancel()
	progress := newProgress(d.CLI.Err(), d.CLI.Err().IsTerminal())
	trustDir := d.TrustDir()
	emitErr := auditAll(ctx, opts.Parallel, list.names, func(ctx context.Context, name string) (AuditRepo, bool) {
		if lim.Acquire(ctx) != nil {
			return AuditRepo{}, false // interrupted
		}
		defer lim.Release()
		return auditOne(ctx, d, name, trustDir, run.now, window, run.notation)
	}, func(r AuditRepo) error {
		run.add(r)
		for _, s := range run.sinks {
			if err := s.repository(r); err != nil {
				return err
			}
		}
		progress.update(run.sum.Repositories, list.count())
		return nil
	})
	listed, listErr := list.stop()
	progress.done()
	d.ReportThrottling(lim, "the repositories audited")
	if emitErr != nil {
		return emitErr
	}
	run.sum.Listed = listed
	return run.finish(ctx, listErr)
}

// parseAuditTargets checks the options that name what to audit.
func parseAuditTargets(opts AuditOptions) ([]auditTarget, error) {
	if opts.Parallel < 1 {
		return nil, cmdutil.UsageError{Err: fmt.Errorf("invalid --parallel %d: want at least 1", opts.Parallel)}
	}
	var targets []auditTarget
	for _, a := range opts.Targets {
		t, err := parseAuditTarget(a)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	if opts.reposFile != "" && len(targets) > 1 {
		return nil, cmdutil.UsageError{Err: errors.New("with --repos, give at most one REGISTRY (for names without one)")}
	}
	return targets, nil
}

// auditRun is one audit: its options, its outputs, and the summary so far.
type auditRun struct {
	d      *cmdutil.Deps
	opts   AuditOptions
	now    time.Time
	window time.Duration
	policy failPolicy
	// notation is nil with --notation=false.
	notation *notationAudit

	sinks    []auditSink
	json     *auditJSON // nil without --format json
	table    *auditTable
	htmlFile *os.File // nil without --html

	sum           AuditSummary
	expiringNames []string
}

// openOutputs creates the sinks the options ask for; the table is always
// kept, for --fail-on.
func (run *auditRun) openOutputs() error {
	if cmdutil.IsJSONFormat(run.opts.Format) {
		run.json = newAuditJSON(run.d.CLI.Out(), run.opts, run.now)
		run.sinks = append(run.sinks, run.json)
	}
	if run.opts.html != "" {
		f, err := os.Create(run.opts.html)
		if err != nil {
			return fmt.Errorf("creating the HTML report: %w", err)
		}
		run.htmlFile = f
		run.sinks = append(run.sinks, newAuditHTML(f, run.opts, run.now, run.window))
	}
	run.table = &auditTable{}
	run.sinks = append(run.sinks, run.table)
	return nil
}

func (run *auditRun) closeOutputs() {
	if run.htmlFile != nil {
		_ = run.htmlFile.Close()
	}
}

// add counts r in the summary.
func (run *auditRun) add(r AuditRepo) {
	sum := &run.sum
	sum.Repositories++
	sum.SignedTags += r.Signed
	sum.UnsignedTags += r.Unsigned
	sum.DriftedTags += r.Drifted
	sum.MissingTags += r.Missing
	if r.TrustData {
		sum.WithTrustData++
	}
	if sum.Notation != nil && r.Notation != nil {
		sum.Notation.add(*r.Notation)
	}
	if r.Error != "" {
		sum.Errors++
	}
	if r.Expiring {
		sum.Expiring++
		run.expiringNames = append(run.expiringNames, r.Name)
	}
	if e := r.EarliestExpiry; e != nil && (sum.EarliestExpiry == nil || e.Expires.Before(sum.EarliestExpiry.Expires)) {
		sum.EarliestExpiry = &repoExpiry{Repository: r.Name, Role: e.Role, Expires: e.Expires}
	}
}

// finish completes the reports and says whether the audit failed. A
// listing that failed part way (listErr) still gets a well-formed report of
// what was audited, marked incomplete, then its error.
func (run *auditRun) finish(ctx context.Context, listErr error) error {
	sum := &run.sum
	interrupted := ctx.Err() != nil
	listFailed := listErr != nil && !interrupted
	sum.Complete = !interrupted && !listFailed
	if len(run.expiringNames) > 0 {
		sort.Strings(run.expiringNames)
		sum.Refresh = "docker acrtrust refresh --expiring-within " + run.opts.ExpiringWithin + " " + strings.Join(run.expiringNames, " ")
	}
	violations := policyViolations(run.policy, run.table.rows, run.now)
	sum.Violations = violations
	if sum.Violations == nil {
		sum.Violations = []string{}
	}
	if err := run.writeReports(listFailed); err != nil {
		return err
	}
	if listFailed {
		return listErr
	}
	if interrupted {
		return cli.StatusError{StatusCode: cmdutil.ExitInterrupted, Status: fmt.Sprintf("interrupted: audited %d of %d repositories listed so far; the report above covers those", sum.Repositories, sum.Listed)}
	}
	var fails []string
	if sum.Errors > 0 {
		fails = append(fails, fmt.Sprintf("%d repositories could not be audited", sum.Errors))
	}
	fails = append(fails, violations...)
	if len(fails) > 0 {
		return cli.StatusError{StatusCode: cmdutil.ExitFailure, Status: "audit failed:\n  " + strings.Join(fails, "\n  ")}
	}
	return nil
}

// writeReports finishes every sink, then prints the table unless JSON went
// to stdout (or nothing was audited because the listing failed).
func (run *auditRun) writeReports(listFailed bool) error {
	for _, s := range run.sinks {
		if err := s.finish(run.sum); err != nil {
			return err
		}
	}
	if run.htmlFile != nil {
		err := run.htmlFile.Close()
		run.htmlFile = nil
		if err != nil {
			return fmt.Errorf("writing the HTML report: %w", err)
		}
	}
	if run.json == nil && (run.sum.Repositories > 0 || !listFailed) {
		return run.table.write(run.d.CLI.Out(), run.sum, run.window, run.opts.ExpiringWithin)
	}
	return nil
}

// auditListing lists the repositories to audit in the background.
type auditListing struct {
	names  chan string
	cancel context.CancelFunc

	mu     sync.Mutex
	listed int
	err    error
}

func startListing(ctx context.Context, d *cmdutil.Deps, opts AuditOptions, targets []auditTarget) *auditListing {
	l := &auditListing{names: make(chan string)}
	listCtx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	go func() {
		defer close(l.names)
		err := listRepositories(listCtx, d, opts, targets, func(name string) bool {
			l.mu.Lock()
			l.listed++
			l.mu.Unlock()
			select {
			case l.names <- name:
				return true
			case <-listCtx.Done():
				return false
			}
		})
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
	}()
	return l
}

// count is how many repositories were listed so far.
func (l *auditListing) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.listed
}

// stop ends the listing, waits for it, and returns how many repositories
// it listed and why it ended early, if it did.
func (l *auditListing) stop() (int, error) {
	l.cancel()
	for range l.names { // let the lister finish
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.listed, l.err
}
