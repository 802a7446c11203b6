package plugin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/audit"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// auditSandbox seeds every category audit reports: signed, unsigned,
// drifted, missing, targets and a delegation expiring soon, a repository
// without trust data, and 120 more repositories so that the catalog comes
// in two pages.
func auditSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb := cmdtest.StartSandbox(t)
	now := time.Now()
	ctx := context.Background()
	assert.NilError(t, sb.Seed(ctx, []sandbox.SeedRepo{
		{Name: "team/ok", Signed: []string{"v1", "v2"}},
		{Name: "team/mixed", Signed: []string{"v1"}, Unsigned: []string{"dev"}, Drifted: []string{"v2"}, Missing: []string{"old"}},
		{Name: "team/expiring", Signed: []string{"v1"}, TargetsExpire: now.Add(10 * 24 * time.Hour)},
		{Name: "team/delegated", Signed: []string{"v1"}, ReleasesExpire: now.Add(5 * 24 * time.Hour)},
		{Name: "other/plain", Unsigned: []string{"latest"}},
	}, 2))
	_, err := sb.SeedMany(ctx, "bulk/r", 120, 2)
	assert.NilError(t, err)
	return sb
}

type auditDoc struct {
	Registries   []string
	Repositories []audit.AuditRepo
	Summary      audit.AuditSummary
}

func runAuditJSON(t *testing.T, d *cmdutil.Deps, cli *cmdtest.FakeCLI, args ...string) (auditDoc, error) {
	t.Helper()
	err := runCommand(t, d, append([]string{"audit", "--format", "json"}, args...)...)
	var doc auditDoc
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &doc), cli.OutBuf.String())
	return doc, err
}

func repoByName(t *testing.T, doc auditDoc, name string) audit.AuditRepo {
	t.Helper()
	for _, r := range doc.Repositories {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("%s not in the report", name)
	return audit.AuditRepo{}
}

func statuses(r audit.AuditRepo) map[string]trust.TagStatus {
	out := map[string]trust.TagStatus{}
	for _, tg := range r.Tags {
		out[tg.Tag] = tg.Status
	}
	return out
}

func TestAudit(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := auditSandbox(t)
	host := sb.Host()

	t.Run("json reports every category", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		doc, err := runAuditJSON(t, d, cli, host+"/team")
		assert.NilError(t, err)
		assert.Equal(t, len(doc.Repositories), 4)
		// Listing order: the catalog's, sorted.
		assert.DeepEqual(t, []string{doc.Repositories[0].Name, doc.Repositories[3].Name}, []string{host + "/team/delegated", host + "/team/ok"})

		mixed := repoByName(t, doc, host+"/team/mixed")
		assert.DeepEqual(t, statuses(mixed), map[string]trust.TagStatus{
			"v1": trust.StatusSigned, "dev": trust.StatusUnsigned, "v2": trust.StatusDrifted, "old": trust.StatusMissing,
		})
		assert.Check(t, is.Equal(mixed.Signed, 1))
		assert.Check(t, is.Equal(mixed.Drifted, 1))
		for _, tg := range mixed.Tags {
			if tg.Tag == "v2" {
				assert.Check(t, tg.SignedDigest != "" && tg.RegistryDigest != "" && tg.SignedDigest != tg.RegistryDigest)
			}
		}
		assert.Check(t, !mixed.Expiring)

		exp := repoByName(t, doc, host+"/team/expiring")
		assert.Assert(t, exp.EarliestExpiry != nil)
		assert.Check(t, is.Equal(exp.EarliestExpiry.Role, "targets"))
		assert.Check(t, time.Until(exp.EarliestExpiry.Expires) < 11*24*time.Hour)
		assert.Check(t, exp.Expiring)
		roles := []string{}
		for _, e := range exp.Expiries {
			roles = append(roles, e.Role)
		}
		assert.DeepEqual(t, roles, []string{"targets", "root"})

		del := repoByName(t, doc, host+"/team/delegated")
		assert.Check(t, is.Equal(del.EarliestExpiry.Role, "targets/releases"))
		assert.Check(t, is.Len(del.Expiries, 3))
		assert.Check(t, del.Expiring)

		ok := repoByName(t, doc, host+"/team/ok")
		assert.Check(t, is.Equal(ok.Signed, 2))
		assert.Check(t, !ok.Expiring)
		assert.Check(t, time.Until(ok.EarliestExpiry.Expires) > 2*365*24*time.Hour)

		s := doc.Summary
		assert.Check(t, is.Equal(s.Repositories, 4))
		assert.Check(t, is.Equal(s.Listed, 4))
		assert.Check(t, s.Complete)
		assert.Check(t, is.Equal(s.SignedTags, 5))
		assert.Check(t, is.Equal(s.UnsignedTags, 1))
		assert.Check(t, is.Equal(s.DriftedTags, 1))
		assert.Check(t, is.Equal(s.MissingTags, 1))
		assert.Check(t, is.Equal(s.Expiring, 2))
		assert.Check(t, is.Equal(s.EarliestExpiry.Repository, host+"/team/delegated"))
		assert.Check(t, is.Equal(s.Refresh, "docker acrtrust refresh --expiring-within 30d "+host+"/team/delegated "+host+"/team/expiring"))
		assert.Check(t, is.Len(s.Violations, 0))
	})

	t.Run("table, refresh hint, read-only, quiet stderr", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		sb.ResetStats()
		assert.NilError(t, runCommand(t, d, "audit", host+"/team", host+"/other"))
		out := cli.OutBuf.String()
		assert.Check(t, is.Regexp(`(?m)^REPOSITORY +PINNED +SIGNED +UNSIGNED +DRIFTED +MISSING +EARLIEST EXPIRY +NOTATION +COVERS DCT +NOTE$`, out))
		assert.Check(t, is.Regexp(`(?m)^`+regexp.QuoteMeta(host)+`/team/mixed +no +1 +1 +1 +1 +\d{4}-\d\d-\d\d \(targets\) +0/3 +0/3 *$`, out))
		assert.Check(t, is.Regexp(`(?m)^`+regexp.QuoteMeta(host)+`/team/expiring +no +1 +0 +0 +0 +\d{4}-\d\d-\d\d \(targets\) +0/1 +0/1 +expiring$`, out))
		assert.Check(t, is.Regexp(`(?m)^`+regexp.QuoteMeta(host)+`/other/plain +no +0 +1 +0 +0 +- +0/1 +0/0 +no trust data$`, out))
		assert.Check(t, is.Contains(out, "5 repositories (4 with trust data): 5 signed, 2 unsigned, 1 drifted, 1 missing tags"))
		assert.Check(t, is.Contains(out, "docker acrtrust refresh --expiring-within 30d "+host+"/team/delegated "+host+"/team/expiring\n"))
		assert.Check(t, is.Equal(cli.ErrBuf.String(), ""), "no progress bar off a terminal")
		assert.Check(t, is.Equal(sb.Stats().Publishes, 0), "audit never writes trust data")
	})

	t.Run("the whole registry, catalog in pages", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		doc, err := runAuditJSON(t, d, cli, "--parallel", "3", host)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(doc.Summary.Repositories, 125))
		assert.Check(t, is.Equal(repoByName(t, doc, host+"/bulk/r0119").Signed, 2))
	})

	t.Run("fail-on", func(t *testing.T) {
		for _, tc := range []struct {
			name, target, failOn string
			want                 []string // violations; none means exit 0
		}{
			{name: "unsigned", target: "/team", failOn: "unsigned", want: []string{"unsigned: 1 tags in 1 repositories"}},
			{name: "drift and missing", target: "/team", failOn: "drift,missing", want: []string{"drift: 1 tags in 1 repositories", "missing: 1 tags in 1 repositories"}},
			{name: "expiring within 30 days", target: "/team", failOn: "expiring=30d", want: []string{"expiring within 30d: 2 repositories (" + host + "/team/delegated, " + host + "/team/expiring)"}},
			{name: "expiring within 7 days", target: "/team", failOn: "expiring=7d", want: []string{"expiring within 7d: 1 repositories (" + host + "/team/delegated)"}},
			{name: "expiring within a day", target: "/team", failOn: "expiring=1d"},
			{name: "a clean repository passes all", target: "/team/ok", failOn: "unsigned,drift,missing,expiring=30d"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
				doc, err := runAuditJSON(t, d, cli, "--fail-on", tc.failOn, host+tc.target)
				if len(tc.want) == 0 {
					assert.NilError(t, err)
					assert.Check(t, is.Len(doc.Summary.Violations, 0))
					return
				}
				assert.Equal(t, exitCode(t, err), 1)
				assert.DeepEqual(t, doc.Summary.Violations, tc.want)
				for _, w := range tc.want {
					assert.Check(t, is.Contains(err.Error(), w))
				}
				// The table and the error name each violation once between
				// them, not once on stdout and again on stderr (issue 17).
				d, cli, _ = cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
				err = runCommand(t, d, "audit", "--fail-on", tc.failOn, host+tc.target)
				assert.Equal(t, exitCode(t, err), 1)
				for _, w := range tc.want {
					all := cli.OutBuf.String() + cli.ErrBuf.String() + err.Error()
					assert.Check(t, is.Equal(strings.Count(all, w), 1), "%q in:\n%s", w, all)
				}
			})
		}
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "audit", "--fail-on", "unsigned,whatever", host)
		assert.Equal(t, exitCode(t, err), 125)
		assert.ErrorContains(t, err, `invalid --fail-on rule "whatever"`)
	})

	t.Run("html page", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		file := filepath.Join(t.TempDir(), "audit.html")
		assert.NilError(t, runCommand(t, d, "audit", "--html", file, host+"/team", host+"/other"))
		b, err := os.ReadFile(file)
		assert.NilError(t, err)
		page := string(b)
		assert.Check(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
		assert.Check(t, strings.HasSuffix(page, "</html>\n"))
		// Self-contained: nothing is fetched.
		assert.Check(t, !regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).MatchString(page), "external asset")
		assert.Check(t, !strings.Contains(page, "<link"))
		for _, repo := range []string{"team/ok", "team/mixed", "team/expiring", "team/delegated", "other/plain"} {
			name := host + "/" + repo
			assert.Check(t, is.Equal(strings.Count(page, `data-repository="`+name+`"`), 2), "a section and an overview row for %s", name)
		}
		// The expiry data: each role's date, in the timeline and the tables.
		js := jsonAudit(t, sb, host+"/team")
		for _, r := range js.Repositories {
			for _, e := range r.Expiries {
				iso := e.Expires.UTC().Format(time.RFC3339)
				assert.Check(t, is.Contains(page, `datetime="`+iso+`"`), "%s %s", r.Name, e.Role)
			}
		}
		soon := repoByName(t, js, host+"/team/delegated").EarliestExpiry.Expires.UTC().Format("2006-01")
		assert.Check(t, is.Regexp(`class="bar (soon|expired)" data-month="`+soon+`"`, page))
		assert.Check(t, is.Contains(page, `<td class="drifted">drifted</td>`))
		assert.Check(t, is.Contains(page, `<td class="missing">missing</td>`))
		assert.Check(t, is.Contains(page, "docker acrtrust refresh --expiring-within 30d"))
	})

	t.Run("a login without the catalog permission", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserScoped, nil)
		err := runCommand(t, d, "audit", host)
		assert.Equal(t, exitCode(t, err), 1)
		assert.ErrorContains(t, err, "listing the registry's repositories was refused")
		assert.ErrorContains(t, err, "AcrPull")
		assert.ErrorContains(t, err, "--repos")
		assert.Check(t, is.Equal(cli.OutBuf.String(), ""), "no empty table")

		// With --format json the document stays well-formed, marked incomplete.
		d, cli, _ = cmdtest.SandboxDeps(t, sb, sandbox.UserScoped, nil)
		doc, err := runAuditJSON(t, d, cli, host)
		assert.Equal(t, exitCode(t, err), 1)
		assert.Check(t, !doc.Summary.Complete)
		assert.Check(t, is.Len(doc.Repositories, 0))
	})

	t.Run("repos file", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		file := filepath.Join(t.TempDir(), "repos.txt")
		assert.NilError(t, os.WriteFile(file, []byte("# ours\nteam/ok\n\n"+host+"/other/plain\n"), 0o644))
		doc, err := runAuditJSON(t, d, cli, "--repos", file, host)
		assert.NilError(t, err)
		assert.Equal(t, len(doc.Repositories), 2)
		assert.Check(t, is.Equal(doc.Repositories[0].Name, host+"/team/ok"))
		assert.Check(t, is.Equal(doc.Repositories[1].Name, host+"/other/plain"))
		assert.Check(t, !doc.Repositories[1].TrustData)
	})

	t.Run("a repository that cannot be read fails the run", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		file := filepath.Join(t.TempDir(), "repos.txt")
		assert.NilError(t, os.WriteFile(file, []byte("team/ok\nscoped/nothing\n"), 0o644))
		d.Init()
		d.OpenRepo = failingOpen(d.OpenRepo, host+"/scoped/nothing")
		doc, err := runAuditJSON(t, d, cli, "--repos", file, host)
		assert.Equal(t, exitCode(t, err), 1)
		assert.ErrorContains(t, err, "1 repositories could not be audited")
		assert.Check(t, is.Contains(repoByName(t, doc, host+"/scoped/nothing").Error, "trust server unreachable"))
		assert.Check(t, is.Equal(doc.Summary.Errors, 1))
	})

	t.Run("interrupted", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		d.Init()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		open := d.OpenRepo
		var n atomic.Int32
		d.OpenRepo = func(ctx context.Context, ref trust.Ref, write bool) (trust.Repository, error) {
			if n.Add(1) == 10 {
				cancel() // Ctrl-C while the tenth repository is read
			}
			return open(ctx, ref, write)
		}
		err := audit.RunAudit(ctx, d, audit.AuditOptions{Targets: []string{host}, Format: "json", ExpiringWithin: "30d", Parallel: 2})
		assert.Equal(t, exitCode(t, err), 130)
		assert.ErrorContains(t, err, "interrupted: audited")
		var doc auditDoc
		assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &doc), cli.OutBuf.String())
		assert.Check(t, !doc.Summary.Complete)
		assert.Check(t, doc.Summary.Repositories >= 7 && doc.Summary.Repositories < 10, "audited %d", doc.Summary.Repositories)
		assert.Check(t, is.Len(doc.Repositories, doc.Summary.Repositories))
	})
}

func jsonAudit(t *testing.T, sb *sandbox.Sandbox, target string) auditDoc {
	t.Helper()
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	doc, err := runAuditJSON(t, d, cli, target)
	assert.NilError(t, err)
	return doc
}

func failingOpen(open trust.RepoFactory, gun string) trust.RepoFactory {
	return func(ctx context.Context, ref trust.Ref, write bool) (trust.Repository, error) {
		if ref.GUN().String() == gun {
			return nil, errTrustUnreachable
		}
		return open(ctx, ref, write)
	}
}

var errTrustUnreachable = errorString("trust server unreachable")

type errorString string

func (e errorString) Error() string { return string(e) }

// TestAuditReadsButNeverWritesTheCache: audit leaves the local trust cache
// as it was, and still holds each repository to the root it saw before.
func TestAuditReadsButNeverWritesTheCache(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	ctx := context.Background()
	assert.NilError(t, sb.Seed(ctx, []sandbox.SeedRepo{
		{Name: "seen", Signed: []string{"v1"}},
		{Name: "unseen", Signed: []string{"v1"}},
	}, 1))
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	// A trusted read of "seen" caches its root, as a pull would.
	assert.NilError(t, runCommand(t, d, "resolve", host+"/seen:v1"))
	tuf := filepath.Join(d.ConfigDir, "trust", "tuf", host)
	before := cacheFiles(t, tuf)
	assert.Assert(t, len(before) > 0)

	cli.OutBuf.Reset()
	doc, err := runAuditJSON(t, d, cli, host)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(doc.Summary.SignedTags, 2))
	assert.DeepEqual(t, cacheFiles(t, tuf), before)

	// The registry's trust data is replaced behind our back: a new root.
	sb.SetContentTrust(false)
	sb.SetContentTrust(true)
	assert.NilError(t, sb.Seed(ctx, []sandbox.SeedRepo{
		{Name: "seen", Signed: []string{"v1"}},
		{Name: "unseen", Signed: []string{"v1"}},
	}, 1))
	cli.OutBuf.Reset()
	doc, err = runAuditJSON(t, d, cli, host)
	assert.Equal(t, exitCode(t, err), 1)
	// (How the error is worded is trust/errors.go's business; that it fails is ours.)
	assert.Check(t, is.Contains(repoByName(t, doc, host+"/seen").Error, "failed to validate data with current trusted certificates"))
	assert.Check(t, is.Equal(repoByName(t, doc, host+"/unseen").Error, ""))
	assert.DeepEqual(t, cacheFiles(t, tuf), before)
}

// cacheFiles lists the files under dir with their contents.
func cacheFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = string(b)
		return err
	})
	assert.NilError(t, err)
	return out
}

// TestAuditShowsPins: audit reports which repositories are pinned, and a
// pinned repository whose root is not the pinned one is an error row.
func TestAuditShowsPins(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := auditSandbox(t)
	host := sb.Host()
	root := rootKeyID(t, sb, "team/ok")
	pins := writePins(t, map[string][]string{host + "/team/ok": {root}, host + "/team/mixed": {bogusKeyID}})
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_PINS": pins})
	doc, err := runAuditJSON(t, d, cli, host+"/team")
	assert.Assert(t, err != nil, "a repository that fails its pin fails the audit")
	assert.Check(t, is.Equal(repoByName(t, doc, host+"/team/ok").Pinned, host+"/team/ok"))
	assert.Check(t, is.Equal(repoByName(t, doc, host+"/team/ok").Error, ""))
	assert.Check(t, is.Equal(repoByName(t, doc, host+"/team/expiring").Pinned, ""))
	mixed := repoByName(t, doc, host+"/team/mixed")
	assert.Check(t, is.Equal(mixed.Pinned, host+"/team/mixed"))
	assert.Check(t, is.Contains(mixed.Error, "does not match its pin"))
}
