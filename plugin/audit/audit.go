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

	"github.com/acrtrust/docker-acrtrust/trust"
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
	Tags []trust.TagReport
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

Output: a summary table, --format json (one document), and --html FILE (one
self-contained page: a sortable table per repository and an expiry timeline).
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
			// Ctrl-C ends cmd.Context() (explainErrors); what was audited
			// is still reported.
			return RunAudit(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.reposFile, "repos", "", `Audit the repositories listed in this file (one per line, "-" for stdin) instead of the catalog`)
	flags.StringVar(&opts.html, "html", "", "Also write the report as one self-contained HTML page to this file")
	flags.StringVar(&opts.failOn, "fail-on", "", `Exit 1 when the registry breaks any of these rules: unsigned, drift, missing, expiring=DURATION (comma-separated, e.g. "unsigned,drift,expiring=30d")`)
	flags.StringVar(&opts.ExpiringWithin, "expiring-within", "30d", `Report trust metadata expiring within this duration ("720h", "30d")`)
	flags.IntVar(&opts.Parallel, "parallel", defaultAuditParallel, "Audit this many repositories at once")
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

func RunAudit(ctx context.Context, d *cmdutil.Deps, opts AuditOptions) error {
	window, err := cmdutil.ParseDuration("--expiring-within", opts.ExpiringWithin)
	if err != nil {
		return err
	}
	policy, err := parseFailOn(opts.failOn, window)
	if err != nil {
		return err
	}
	if opts.Parallel < 1 {
		return cmdutil.UsageError{Err: fmt.Errorf("invalid --parallel %d: want at least 1", opts.Parallel)}
	}
	var targets []auditTarget
	for _, a := range opts.Targets {
		t, err := parseAuditTarget(a)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	if opts.reposFile != "" && len(targets) > 1 {
		return cmdutil.UsageError{Err: errors.New("with --repos, give at most one REGISTRY (for names without one)")}
	}

	now := time.Now()
	var sinks []auditSink
	var jsonSink *auditJSON
	if cmdutil.IsJSONFormat(opts.Format) {
		jsonSink = newAuditJSON(d.CLI.Out(), opts, now)
		sinks = append(sinks, jsonSink)
	}
	var htmlFile *os.File
	var htmlSink *auditHTML
	if opts.html != "" {
		if htmlFile, err = os.Create(opts.html); err != nil {
			return fmt.Errorf("creating the HTML report: %w", err)
		}
		defer htmlFile.Close()
		htmlSink = newAuditHTML(htmlFile, opts, now, window)
		sinks = append(sinks, htmlSink)
	}
	table := &auditTable{}
	sinks = append(sinks, table)

	// Listing runs beside the audit: the first repositories are read while
	// later catalog pages are still coming.
	names := make(chan string)
	var (
		listErr error
		listed  int
		listMu  sync.Mutex
	)
	listCtx, cancelList := context.WithCancel(ctx)
	defer cancelList()
	go func() {
		defer close(names)
		err := listRepositories(listCtx, d, opts, targets, func(name string) bool {
			listMu.Lock()
			listed++
			listMu.Unlock()
			select {
			case names <- name:
				return true
			case <-listCtx.Done():
				return false
			}
		})
		listMu.Lock()
		listErr = err
		listMu.Unlock()
	}()
	countListed := func() int {
		listMu.Lock()
		defer listMu.Unlock()
		return listed
	}

	progress := newProgress(d.CLI.Err(), d.CLI.Err().IsTerminal())
	sum := AuditSummary{}
	var expiringNames []string
	emit := func(r AuditRepo) error {
		sum.Repositories++
		sum.SignedTags += r.Signed
		sum.UnsignedTags += r.Unsigned
		sum.DriftedTags += r.Drifted
		sum.MissingTags += r.Missing
		if r.TrustData {
			sum.WithTrustData++
		}
		if r.Error != "" {
			sum.Errors++
		}
		if r.Expiring {
			sum.Expiring++
			expiringNames = append(expiringNames, r.Name)
		}
		if e := r.EarliestExpiry; e != nil && (sum.EarliestExpiry == nil || e.Expires.Before(sum.EarliestExpiry.Expires)) {
			sum.EarliestExpiry = &repoExpiry{Repository: r.Name, Role: e.Role, Expires: e.Expires}
		}
		for _, s := range sinks {
			if err := s.repository(r); err != nil {
				return err
			}
		}
		progress.update(sum.Repositories, countListed())
		return nil
	}
	trustDir := d.TrustDir()
	emitErr := auditAll(ctx, opts.Parallel, names, func(ctx context.Context, name string) (AuditRepo, bool) {
		return auditOne(ctx, d, name, trustDir, now, window)
	}, emit)
	cancelList()
	for range names { // let the lister finish
	}
	progress.done()
	if emitErr != nil {
		return emitErr
	}
	listMu.Lock()
	sum.Listed = listed
	err = listErr
	listMu.Unlock()
	interrupted := ctx.Err() != nil
	// A listing that failed part way still gets a well-formed report of
	// what was audited, marked incomplete, then its error.
	listFailed := err != nil && !interrupted
	sum.Complete = !interrupted && !listFailed
	if len(expiringNames) > 0 {
		sort.Strings(expiringNames)
		sum.Refresh = "docker acrtrust refresh --expiring-within " + opts.ExpiringWithin + " " + strings.Join(expiringNames, " ")
	}
	violations := policyViolations(policy, table.rows, now)
	sum.Violations = violations
	if sum.Violations == nil {
		sum.Violations = []string{}
	}

	for _, s := range sinks {
		if err := s.finish(sum); err != nil {
			return err
		}
	}
	if opts.html != "" {
		if err := htmlFile.Close(); err != nil {
			return fmt.Errorf("writing the HTML report: %w", err)
		}
	}
	if jsonSink == nil && (sum.Repositories > 0 || !listFailed) {
		if err := table.write(d.CLI.Out(), sum, window, opts.ExpiringWithin); err != nil {
			return err
		}
	}
	if listFailed {
		return err
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
