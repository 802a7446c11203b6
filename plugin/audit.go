package plugin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/theupdateframework/notary/tuf/data"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// defaultAuditParallel is how many repositories audit reads at once: enough
// to hide the round trips to the registry and trust server, few enough that
// a registry does not throttle one client.
const defaultAuditParallel = 8

type auditOptions struct {
	targets        []string // REGISTRY[/PREFIX]
	reposFile      string
	format         string
	html           string
	failOn         string
	expiringWithin string
	parallel       int
}

// auditRepo is one repository in the audit report: an element of
// Repositories in `audit --format json` (schema in docs/audit.md). Fields
// are only ever added.
type auditRepo struct {
	// Name is the repository with its registry (the GUN): REGISTRY/REPOSITORY.
	Name string
	// TrustData is false when the repository has no trust data.
	TrustData bool
	// Counts of Tags by status.
	Signed, Unsigned, Drifted, Missing int
	// Tags are every registry tag and every signed tag, sorted by tag.
	Tags []trust.TagReport
	// Expiries are those of root, targets and each delegation, earliest first.
	Expiries []expiringRole
	// EarliestExpiry is the first of Expiries; absent without trust data.
	EarliestExpiry *expiringRole `json:",omitempty"`
	// Expiring is true when EarliestExpiry is within --expiring-within.
	Expiring bool
	// Pinned is the pin that covers the repository in the pins file
	// ("REGISTRY/REPO", "PREFIX*" or a CA prefix); "" when it is not pinned.
	Pinned string
	// Error says why the repository could not be audited.
	Error string `json:",omitempty"`
}

// auditSummary is the whole run: Summary in `audit --format json`.
type auditSummary struct {
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

func newAuditCommand(d *deps) *cobra.Command {
	var opts auditOptions
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
			opts.targets = args
			// Ctrl-C ends cmd.Context() (explainErrors); what was audited
			// is still reported.
			return runAudit(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.reposFile, "repos", "", `Audit the repositories listed in this file (one per line, "-" for stdin) instead of the catalog`)
	flags.StringVar(&opts.html, "html", "", "Also write the report as one self-contained HTML page to this file")
	flags.StringVar(&opts.failOn, "fail-on", "", `Exit 1 when the registry breaks any of these rules: unsigned, drift, missing, expiring=DURATION (comma-separated, e.g. "unsigned,drift,expiring=30d")`)
	flags.StringVar(&opts.expiringWithin, "expiring-within", "30d", `Report trust metadata expiring within this duration ("720h", "30d")`)
	flags.IntVar(&opts.parallel, "parallel", defaultAuditParallel, "Audit this many repositories at once")
	flags.StringVar(&opts.format, "format", "", `Format output: "json" for one JSON document`)
	return cmd
}

// failPolicy is a parsed --fail-on.
type failPolicy struct {
	unsigned, drift, missing bool
	expiring                 time.Duration // 0: not a rule
	expiringText             string        // as given
	rules                    []string      // as given, for messages
}

func parseFailOn(s string, defaultWindow time.Duration) (failPolicy, error) {
	var p failPolicy
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, val, hasVal := strings.Cut(f, "=")
		switch {
		case name == "unsigned" && !hasVal:
			p.unsigned = true
		case (name == "drift" || name == "drifted") && !hasVal:
			p.drift = true
		case name == "missing" && !hasVal:
			p.missing = true
		case name == "expiring":
			p.expiring, p.expiringText = defaultWindow, "--expiring-within"
			if hasVal {
				p.expiringText = val
				w, err := parseDuration("--fail-on expiring", val)
				if err != nil {
					return p, err
				}
				p.expiring = w
			}
			if p.expiring == 0 {
				p.expiring = time.Nanosecond // expired already
			}
		default:
			return p, usageError{fmt.Errorf("invalid --fail-on rule %q: use unsigned, drift, missing or expiring=DURATION", f)}
		}
		p.rules = append(p.rules, f)
	}
	return p, nil
}

// parseDuration is parseDays with the flag's name in its error.
func parseDuration(flag, s string) (time.Duration, error) {
	w, err := parseDays(s)
	if err != nil {
		return 0, usageError{fmt.Errorf("invalid %s %q: use a duration such as 720h or 30d", flag, s)}
	}
	return w, nil
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
		return auditTarget{}, usageError{fmt.Errorf("invalid registry %q: want REGISTRY[/PREFIX], e.g. myregistry.azurecr.io/team", s)}
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

// auditResult is one repository's outcome, in listing order.
type auditResult struct {
	index int
	repo  auditRepo
	skip  bool // interrupted before it was audited
}

func runAudit(ctx context.Context, d *deps, opts auditOptions) error {
	window, err := parseDuration("--expiring-within", opts.expiringWithin)
	if err != nil {
		return err
	}
	policy, err := parseFailOn(opts.failOn, window)
	if err != nil {
		return err
	}
	if opts.format != "" && !isJSONFormat(opts.format) {
		return usageError{fmt.Errorf(`invalid --format %q: audit writes a table, or "json"`, opts.format)}
	}
	if opts.parallel < 1 {
		return usageError{fmt.Errorf("invalid --parallel %d: want at least 1", opts.parallel)}
	}
	var targets []auditTarget
	for _, a := range opts.targets {
		t, err := parseAuditTarget(a)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	if opts.reposFile != "" && len(targets) > 1 {
		return usageError{errors.New("with --repos, give at most one REGISTRY (for names without one)")}
	}

	now := time.Now()
	var sinks []auditSink
	var jsonSink *auditJSON
	if isJSONFormat(opts.format) {
		jsonSink = newAuditJSON(d.cli.Out(), opts, now)
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

	progress := newProgress(d.cli.Err(), d.cli.Err().IsTerminal())
	sum := auditSummary{}
	var expiringNames []string
	emit := func(r auditRepo) error {
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
	trustDir := filepath.Join(d.configDir, "trust")
	emitErr := auditAll(ctx, opts.parallel, names, func(ctx context.Context, name string) (auditRepo, bool) {
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
		sum.Refresh = "docker acrtrust refresh --expiring-within " + opts.expiringWithin + " " + strings.Join(expiringNames, " ")
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
		if err := table.write(d.cli.Out(), sum, window, opts.expiringWithin); err != nil {
			return err
		}
	}
	if listFailed {
		return err
	}
	if interrupted {
		return cli.StatusError{StatusCode: exitInterrupted, Status: fmt.Sprintf("interrupted: audited %d of %d repositories listed so far; the report above covers those", sum.Repositories, sum.Listed)}
	}
	var fails []string
	if sum.Errors > 0 {
		fails = append(fails, fmt.Sprintf("%d repositories could not be audited", sum.Errors))
	}
	fails = append(fails, violations...)
	if len(fails) > 0 {
		return cli.StatusError{StatusCode: exitFailure, Status: "audit failed:\n  " + strings.Join(fails, "\n  ")}
	}
	return nil
}

// auditAll audits every name from names, parallel at a time, and calls emit
// with each result in the order the names came, from one goroutine. At
// most 4*parallel results wait for an earlier one, so memory does not grow
// with the registry.
func auditAll(ctx context.Context, parallel int, names <-chan string, one func(context.Context, string) (auditRepo, bool), emit func(auditRepo) error) error {
	window := make(chan struct{}, 4*parallel)
	work := make(chan auditResult)
	results := make(chan auditResult)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range work {
				name := w.repo.Name
				if ctx.Err() != nil {
					w.skip = true
				} else {
					var ok bool
					w.repo, ok = one(ctx, name)
					w.skip = !ok
				}
				results <- w
			}
		}()
	}
	go func() {
		defer func() {
			close(work)
			wg.Wait()
			close(results)
		}()
		i := 0
		for name := range names {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case work <- auditResult{index: i, repo: auditRepo{Name: name}}:
			case <-ctx.Done():
				<-window
				return
			}
			i++
		}
	}()
	pending := map[int]auditResult{}
	next := 0
	var emitErr error
	for r := range results {
		pending[r.index] = r
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-window
			if !p.skip && emitErr == nil {
				emitErr = emit(p.repo)
			}
		}
	}
	return emitErr
}

// auditOne audits one repository. ok is false when the run was interrupted
// before it finished (the repository is then left out of the report).
func auditOne(ctx context.Context, d *deps, name, trustDir string, now time.Time, window time.Duration) (auditRepo, bool) {
	r := auditRepo{Name: name, Tags: []trust.TagReport{}, Expiries: []expiringRole{}}
	if pin, ok := d.pins.Lookup(data.GUN(name)); ok {
		r.Pinned = pin.Pattern
	}
	fail := func(err error) (auditRepo, bool) {
		if ctx.Err() != nil {
			return r, false
		}
		r.Error = d.userError(err).Error()
		return r, true
	}
	ref, err := trust.ParseRef(name)
	if err != nil {
		return fail(err)
	}
	// Read-only: the local cache is read (what was verified before), never
	// written, and no key is opened. Check gets the same context, for the
	// expiries of what was read.
	roCtx := trust.ReadOnly(ctx)
	repo, err := d.openRepo(roCtx, ref, false)
	if err != nil {
		return fail(trust.WithOp(trust.OpTrustRead, ref, connectionError(err)))
	}
	rc, err := trust.Check(roCtx, repo, d.registry, ref, trustDir)
	if err != nil {
		return fail(err)
	}
	r.TrustData = rc.TrustData
	if rc.Tags != nil {
		r.Tags = rc.Tags
	}
	for _, t := range r.Tags {
		switch t.Status {
		case trust.StatusSigned:
			r.Signed++
		case trust.StatusUnsigned:
			r.Unsigned++
		case trust.StatusDrifted:
			r.Drifted++
		case trust.StatusMissing:
			r.Missing++
		}
	}
	for _, e := range rc.Expiries {
		r.Expiries = append(r.Expiries, expiringRole{Role: e.Role.String(), Expires: e.Expires})
	}
	if len(r.Expiries) > 0 {
		first := r.Expiries[0]
		r.EarliestExpiry = &first
		r.Expiring = first.Expires.Before(now.Add(window))
	}
	return r, true
}

// catalogLister lists a registry's repositories; *trust.Registry does.
type catalogLister interface {
	Repositories(ctx context.Context, host string, fn func(page []string) error) error
}

// catalog returns the registry client as a catalog lister, sharing its
// connections and tokens when it can.
func (d *deps) catalog() catalogLister {
	if c, ok := d.registry.(catalogLister); ok {
		return c
	}
	return trust.NewRegistry(d.network, d.audit)
}

// listRepositories calls add with every repository to audit, as
// REGISTRY/REPOSITORY, until add returns false.
func listRepositories(ctx context.Context, d *deps, opts auditOptions, targets []auditTarget, add func(string) bool) error {
	if opts.reposFile != "" {
		return readReposFile(d, opts.reposFile, targets, add)
	}
	for _, t := range targets {
		stop := errors.New("stop")
		err := d.catalog().Repositories(ctx, t.host, func(page []string) error {
			for _, repo := range page {
				if t.matches(repo) && !add(t.host+"/"+repo) {
					return stop
				}
			}
			return nil
		})
		if errors.Is(err, stop) || ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, trust.ErrCatalogDenied) {
			return cli.StatusError{StatusCode: exitFailure, Status: err.Error() + "\n" + catalogRemedy(t.host)}
		}
		if err != nil {
			ref, _ := trust.ParseRef(t.host + "/catalog")
			return trust.WithOp(trust.OpRegistryRead, ref, err)
		}
	}
	return nil
}

// catalogRemedy says which role lists a registry's repositories.
func catalogRemedy(host string) string {
	scope := "--scope $(az acr show --name <registry> --query id --output tsv)"
	if acr := acrRegistryName(host); acr != "" {
		scope = fmt.Sprintf("--scope $(az acr show --name %s --query id --output tsv)", acr)
	}
	return "Listing the repositories needs the catalog permission: on ACR the AcrPull role\n" +
		"  az role assignment create --role AcrPull --assignee <user, group or service principal ID> " + scope + "\n" +
		"or, on registries with ABAC repository permissions, \"Container Registry Repository Catalog Lister\".\n" +
		"Repository-scoped tokens can never list the catalog: name the repositories with --repos FILE instead."
}

// readReposFile reads one repository per line; blank lines and lines
// starting with # are skipped. Names without a registry take the one
// REGISTRY argument's.
func readReposFile(d *deps, file string, targets []auditTarget, add func(string) bool) error {
	var in io.Reader
	if file == "-" {
		in = d.cli.In()
	} else {
		f, err := os.Open(file)
		if err != nil {
			return usageError{fmt.Errorf("reading --repos: %w", err)}
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name := s
		if first, _, _ := strings.Cut(s, "/"); !strings.ContainsAny(first, ".:") && first != "localhost" {
			if len(targets) != 1 {
				return usageError{fmt.Errorf("--repos line %d: %q names no registry: write REGISTRY/REPOSITORY, or give the REGISTRY as an argument", line, s)}
			}
			name = targets[0].host + "/" + strings.TrimPrefix(s, "/")
		}
		if _, err := trust.ParseRef(name); err != nil {
			return usageError{fmt.Errorf("--repos line %d: %w", line, err)}
		}
		if !add(name) {
			return nil
		}
	}
	return sc.Err()
}

// policyViolations says which --fail-on rules the audited repositories break.
func policyViolations(p failPolicy, rows []auditRow, now time.Time) []string {
	var out []string
	count := func(rule string, n func(auditRow) int) {
		tags, repos := 0, 0
		for _, r := range rows {
			if k := n(r); k > 0 {
				tags += k
				repos++
			}
		}
		if tags > 0 {
			out = append(out, fmt.Sprintf("%s: %d tags in %d repositories", rule, tags, repos))
		}
	}
	if p.unsigned {
		count("unsigned", func(r auditRow) int { return r.Unsigned })
	}
	if p.drift {
		count("drift", func(r auditRow) int { return r.Drifted })
	}
	if p.missing {
		count("missing", func(r auditRow) int { return r.Missing })
	}
	if p.expiring > 0 {
		limit := now.Add(p.expiring)
		var names []string
		for _, r := range rows {
			if r.Earliest != nil && r.Earliest.Expires.Before(limit) {
				names = append(names, r.Name)
			}
		}
		if len(names) > 0 {
			out = append(out, fmt.Sprintf("expiring within %s: %d repositories (%s)", p.expiringText, len(names), strings.Join(firstN(names, 5), ", ")))
		}
	}
	return out
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), fmt.Sprintf("and %d more", len(s)-n))
}
