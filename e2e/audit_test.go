//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// auditReport is the part of `audit --format json` the tests read.
type auditReport struct {
	Repositories []struct {
		Name                               string
		TrustData                          bool
		Signed, Unsigned, Drifted, Missing int
		Expiring                           bool
		Expiries                           []struct {
			Role    string
			Expires time.Time
		}
	}
	Summary struct {
		Repositories, SignedTags, UnsignedTags, DriftedTags, MissingTags, Expiring int
		Refresh                                                                    string
		Violations                                                                 []string
		Complete                                                                   bool
	}
}

// TestAuditAndRefresh: through the real docker CLI, audit a namespace that
// holds every category (one repository signed by a real signed push), gate
// on expiring metadata, renew it with refresh, and open the HTML report in
// headless Chromium.
func TestAuditAndRefresh(t *testing.T) {
	c := newClient(t).withPassphrases()
	ns := newRepo(t) // HOST/NAMESPACE
	host := h.sandbox.Host()
	path := strings.TrimPrefix(ns, host+"/")
	now := time.Now()
	assert.NilError(t, h.sandbox.Seed(context.Background(), []sandbox.SeedRepo{
		{Name: path + "/mixed", Signed: []string{"v1"}, Unsigned: []string{"dev"}, Drifted: []string{"v2"}, Missing: []string{"old"}},
		{
			Name: path + "/expiring", Signed: []string{"v1", "v2"},
			TargetsExpire: now.Add(12 * 24 * time.Hour), ReleasesExpire: now.Add(4 * 24 * time.Hour),
			// The keys are this client's, as after its own signed push.
			KeyDir: filepath.Join(c.config, "trust"), Passphrase: repoPassphrase, RootPassphrase: rootPassphrase,
		},
		{Name: path + "/plain", Unsigned: []string{"latest"}},
	}, 2))
	_, pushed := c.signedPush(t, ns+"/pushed", "v1")

	dir := t.TempDir()
	html := filepath.Join(dir, "audit.html")
	res := c.acrtrust(t, "audit", "--format", "json", "--html", html, "--fail-on", "expiring=30d", ns)
	assert.Check(t, is.Equal(res.ExitCode, 1), res.Combined())
	assert.Check(t, is.Contains(res.Stderr(), "expiring within 30d: 1 repositories ("+ns+"/expiring)"))
	var rep auditReport
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &rep), res.Stdout())
	assert.Assert(t, is.Len(rep.Repositories, 4))
	byName := map[string]int{}
	for i, r := range rep.Repositories {
		byName[strings.TrimPrefix(r.Name, ns+"/")] = i
	}
	mixed := rep.Repositories[byName["mixed"]]
	assert.Check(t, is.DeepEqual([]int{mixed.Signed, mixed.Unsigned, mixed.Drifted, mixed.Missing}, []int{1, 1, 1, 1}))
	assert.Check(t, rep.Repositories[byName["expiring"]].Expiring)
	assert.Check(t, !rep.Repositories[byName["plain"]].TrustData)
	assert.Check(t, is.Equal(rep.Repositories[byName["pushed"]].Signed, 1), "the tag signed by docker acrtrust push (%s)", pushed)
	assert.Check(t, is.Equal(rep.Summary.Refresh, "docker acrtrust refresh --expiring-within 30d "+ns+"/expiring"))
	assert.Check(t, rep.Summary.Complete)

	t.Run("table", func(t *testing.T) {
		res := c.acrtrust(t, "audit", ns)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "4 repositories (3 with trust data): 4 signed, 2 unsigned, 1 drifted, 1 missing tags"))
		assert.Check(t, is.Contains(res.Stdout(), "docker acrtrust refresh --expiring-within 30d "+ns+"/expiring\n"))
		assert.Check(t, is.Equal(res.Stderr(), ""), "no progress bar without a terminal")
	})

	t.Run("the page in headless Chromium", func(t *testing.T) {
		page, err := os.ReadFile(html)
		assert.NilError(t, err)
		for _, r := range rep.Repositories {
			assert.Check(t, is.Equal(strings.Count(string(page), `data-repository="`+r.Name+`"`), 2), r.Name)
			for _, e := range r.Expiries {
				assert.Check(t, is.Contains(string(page), `datetime="`+e.Expires.UTC().Format(time.RFC3339)+`"`))
			}
		}
		renderInChromium(t, html)
	})

	t.Run("refresh renews what expires, once", func(t *testing.T) {
		res := c.acrtrust(t, "refresh", "--dry-run", ns+"/expiring")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "Would re-sign the targets/releases metadata"))
		assert.Check(t, is.Contains(res.Stdout(), "Would re-sign the targets metadata"))

		res = c.acrtrust(t, "refresh", ns+"/expiring", ns+"/mixed")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "Successfully refreshed "+ns+"/expiring: targets/releases until "))
		assert.Check(t, is.Contains(res.Stdout(), ns+"/mixed: nothing expires within 30d\n"))
		assertNoSecrets(t, res)

		res = c.acrtrust(t, "audit", "--format", "json", "--fail-on", "expiring=30d", ns)
		res.Assert(t, icmd.Success)
		var after auditReport
		assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &after))
		assert.Check(t, is.Equal(after.Summary.Expiring, 0))
		assert.Check(t, is.Equal(after.Summary.SignedTags, rep.Summary.SignedTags), "no target changed")
	})
}

// renderInChromium opens the page as a person would, takes a screenshot
// (kept in $ACRTRUST_E2E_ARTIFACTS when set) and checks that its script ran
// without errors.
func renderInChromium(t *testing.T, html string) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		skipOrFail(t, "no chromium on PATH (apt-get install chromium)")
	}
	out := t.TempDir()
	if dir := os.Getenv("ACRTRUST_E2E_ARTIFACTS"); dir != "" {
		out = dir
	}
	shot := filepath.Join(out, "audit-report.png")
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,1600"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, append(common, "--screenshot="+shot, "file://"+html)...)
	b, err := cmd.CombinedOutput()
	assert.NilError(t, err, string(b))
	t.Logf("screenshot: %s", shot)

	f, err := os.Open(shot)
	assert.NilError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(img.Bounds().Dx(), 1280))
	assert.Check(t, colours(img) > 8, "the screenshot is blank")

	// The page's DOM after its scripts ran, and the console.
	cmd = exec.CommandContext(ctx, chromium, append(common, "--dump-dom", "--enable-logging=stderr", "--v=0", "file://"+html)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	assert.NilError(t, cmd.Run(), stderr.String())
	dom := stdout.String()
	assert.Check(t, is.Contains(dom, `data-ready="true"`), "the page's script did not finish")
	assert.Check(t, !strings.Contains(dom, `data-script-error="`), "script error: %s", dom[:min(len(dom), 400)])
	for _, bad := range []string{"Uncaught", "SyntaxError", "ReferenceError", "TypeError"} {
		assert.Check(t, !strings.Contains(stderr.String(), bad), "console: %s", stderr.String())
	}
}

// colours counts distinct colours in a sample of the image.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}
