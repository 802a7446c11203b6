//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// TestGuides runs the console blocks that the guides in docs/ (English and
// zh-CN) mark as runnable, in page order, against the sandbox and the real
// docker CLI, as a reader would type them. A command that fails, or output
// that no longer matches what the page shows, fails the test: the guides
// cannot drift from the tool. See docs/architecture.md ("Guides that run")
// for the markers.
func TestGuides(t *testing.T) {
	requireHarness(t)
	root, err := moduleRoot()
	assert.NilError(t, err)
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	assert.NilError(t, err)
	zh, err := filepath.Glob(filepath.Join(root, "docs", "zh-CN", "*.md"))
	assert.NilError(t, err)
	ran := 0
	for _, page := range append(pages, zh...) {
		src, err := os.ReadFile(page)
		assert.NilError(t, err)
		steps, err := parseGuide(string(src))
		assert.NilError(t, err, "%s", page)
		if len(steps) == 0 {
			continue
		}
		ran++
		rel, _ := filepath.Rel(root, page)
		t.Run(rel, func(t *testing.T) {
			g := newGuideShell(t)
			for _, s := range steps {
				g.runStep(t, rel, s)
			}
		})
	}
	// The guides that switch DOCKER_CONFIG or walk through a whole
	// registry are the ones a reader follows step by step.
	assert.Assert(t, ran >= 4, "only %d pages have runnable blocks", ran)
}

// A guideStep is one command of a page: what to run, what the page shows
// as its output, and whether the page says it fails.
type guideStep struct {
	line    int      // line of the command in the page
	command string   // as written (continuations joined), myregistry.azurecr.io and all
	want    []string // the lines the page shows after it
	hidden  bool     // from an acrtrust:setup comment: run, output not compared
	fails   bool     // the page shows it failing (exit code not 0)
}

var (
	runMarker   = regexp.MustCompile(`^<!--\s*acrtrust:run(\s+fails)?\s*-->\s*$`)
	setupMarker = regexp.MustCompile(`^<!--\s*acrtrust:setup\s*$`)
)

// parseGuide finds the runnable steps of a page:
//
//	<!-- acrtrust:run -->         the next ```console block is run; its output is compared
//	<!-- acrtrust:run fails -->   the same, and its last command must fail
//	<!-- acrtrust:setup           hidden commands ($ lines) up to -->, run before the
//	$ ...                         next block: they must succeed, their output is not shown
//	-->
func parseGuide(src string) ([]guideStep, error) {
	lines := strings.Split(src, "\n")
	var steps []guideStep
	for i := 0; i < len(lines); i++ {
		switch {
		case setupMarker.MatchString(lines[i]):
			start := i
			var body []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "-->"; i++ {
				body = append(body, lines[i])
			}
			if i == len(lines) {
				return nil, fmt.Errorf("line %d: acrtrust:setup without its closing -->", start+1)
			}
			for _, s := range splitCommands(body, start+2) {
				s.hidden = true
				steps = append(steps, s)
			}
		case runMarker.MatchString(lines[i]):
			fails := runMarker.FindStringSubmatch(lines[i])[1] != ""
			start := i
			i++
			if i >= len(lines) || strings.TrimSpace(lines[i]) != "```console" {
				return nil, fmt.Errorf("line %d: acrtrust:run is not followed by a ```console block", start+1)
			}
			var body []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				body = append(body, lines[i])
			}
			block := splitCommands(body, start+3)
			if len(block) == 0 {
				return nil, fmt.Errorf("line %d: a runnable block without a $ command", start+1)
			}
			block[len(block)-1].fails = fails
			steps = append(steps, block...)
		}
	}
	return steps, nil
}

// splitCommands cuts a block into commands ("$ " lines, with lines ending
// in a backslash continued) and the output lines after each.
func splitCommands(body []string, firstLine int) []guideStep {
	var steps []guideStep
	for i := 0; i < len(body); i++ {
		line := body[i]
		if !strings.HasPrefix(line, "$ ") {
			if len(steps) > 0 {
				steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
			}
			continue
		}
		s := guideStep{line: firstLine + i, command: strings.TrimPrefix(line, "$ ")}
		for strings.HasSuffix(s.command, `\`) && i+1 < len(body) {
			i++
			s.command += "\n" + body[i]
		}
		steps = append(steps, s)
	}
	for i := range steps {
		for len(steps[i].want) > 0 && strings.TrimSpace(steps[i].want[len(steps[i].want)-1]) == "" {
			steps[i].want = steps[i].want[:len(steps[i].want)-1]
		}
	}
	return steps
}

// guideShell is a reader's shell for one page: a home of its own with the
// plugin where `make install` puts it and the sandbox's CA, logged in as
// the sandbox's signer, with the passphrase variables set (as the guides
// say they ran). Variables and the working directory carry over from one
// command to the next, as in a terminal.
type guideShell struct {
	root  string           // stands for "/" in what the page shows: /home/me, /tmp, /media/offline
	state string           // the exported variables after the last command
	cwd   string           // the working directory after the last command
	pgids []int            // process groups of the commands, ended with the test (a page may start a server with &)
	sb    *sandbox.Sandbox // the page's own registry: every page starts from an empty myregistry.azurecr.io
}

func newGuideShell(t *testing.T) *guideShell {
	t.Helper()
	root := t.TempDir()
	home := filepath.Join(root, "home", "me")
	config := filepath.Join(home, ".docker")
	for _, d := range []string{filepath.Join(home, "work"), filepath.Join(root, "tmp"), filepath.Join(root, "media", "offline"), filepath.Join(config, "cli-plugins")} {
		assert.NilError(t, os.MkdirAll(d, 0o755))
	}
	// make install's result: the plugin in ~/.docker/cli-plugins.
	assert.NilError(t, os.Symlink(h.plugin, filepath.Join(config, "cli-plugins", "docker-acrtrust")))
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	assert.NilError(t, sb.InstallCA(config))

	g := &guideShell{root: root, state: filepath.Join(root, "state.env"), cwd: filepath.Join(home, "work"), sb: sb}
	t.Cleanup(func() {
		for _, pgid := range g.pgids {
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
		}
	})
	// `make sandbox` builds bin/acrtrust-sandbox; pages that start their
	// own sandbox find it on PATH.
	bin := filepath.Join(root, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "acrtrust-sandbox"), "./cmd/acrtrust-sandbox")
	build.Dir, _ = moduleRoot()
	built, err := build.CombinedOutput()
	assert.NilError(t, err, "building acrtrust-sandbox: %s", built)
	env := map[string]string{
		"PATH":        bin + ":" + os.Getenv("PATH"),
		"HOME":        home,
		"TMPDIR":      filepath.Join(root, "tmp"),
		"DOCKER_HOST": h.dockerHost,
		"LANG":        "C.UTF-8",
		"NO_COLOR":    "1",
		envRoot:       rootPassphrase,
		envRepo:       repoPassphrase,
		// Nothing can be pulled here, and buildx cannot run in this
		// engine: the classic builder, as e2e/build_test.go uses it.
		"DOCKER_BUILDKIT": "0",
	}
	var b strings.Builder
	for k, v := range env {
		fmt.Fprintf(&b, "export %s=%q\n", k, v)
	}
	assert.NilError(t, os.WriteFile(g.state, []byte(b.String()), 0o600))
	login := "echo " + sandbox.Password + " | docker login myregistry.azurecr.io -u " + sandbox.UserSigner + " --password-stdin"
	out, code := g.exec(t, login)
	assert.Equal(t, code, 0, "logging in to the sandbox:\n%s", out)
	return g
}

// exec runs one command line in the reader's shell and returns what it
// printed (stdout and stderr as a terminal shows them) and its exit code.
func (g *guideShell) exec(t *testing.T, command string) (string, int) {
	t.Helper()
	command = strings.NewReplacer(
		"myregistry.azurecr.io", g.sb.Host(),
		"/home/me", g.root+"/home/me",
		"/media/offline", g.root+"/media/offline",
		"/tmp/", g.root+"/tmp/",
	).Replace(command)
	cwdFile := g.state + ".cwd"
	script := fmt.Sprintf(". %q\ncd %q\n%s\nstatus=$?\nexport -p > %q\npwd > %q\nexit $status\n",
		g.state, g.cwd, command, g.state, cwdFile)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-c", script)
	cmd.Env = []string{} // only what the state file exports
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second // a server started with & that keeps the output open
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Start()
	if err == nil {
		g.pgids = append(g.pgids, cmd.Process.Pid)
		err = cmd.Wait()
	}
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	if cwd, err := os.ReadFile(cwdFile); err == nil {
		g.cwd = strings.TrimSpace(string(cwd))
	}
	return out.String(), code
}

func (g *guideShell) runStep(t *testing.T, page string, s guideStep) {
	t.Helper()
	start := time.Now()
	out, code := g.exec(t, s.command)
	t.Logf("%s:%d $ %s  # exit %d, %s", page, s.line, s.command, code, time.Since(start).Round(time.Millisecond))
	where := fmt.Sprintf("%s:%d: `%s`", page, s.line, s.command)
	switch {
	case s.fails && code == 0:
		t.Fatalf("%s: the page shows it failing, but it exited 0:\n%s", where, out)
	case !s.fails && code != 0:
		t.Fatalf("%s: exit %d:\n%s", where, code, out)
	}
	// Hidden set-up steps show nothing, and a command shown without output
	// is checked for its exit code only.
	if s.hidden || len(s.want) == 0 {
		return
	}
	got := g.shown(out)
	if msg, ok := matchOutput(s.want, got); !ok {
		t.Errorf("%s: the output no longer matches the page (%s)\n--- the page shows:\n%s\n--- it printed:\n%s",
			where, msg, strings.Join(s.want, "\n"), strings.Join(got, "\n"))
	}
}

// shown turns what a command printed into what the page would show: the
// sandbox's address as myregistry.azurecr.io and the reader's folders
// without the test's temporary root.
func (g *guideShell) shown(out string) []string {
	out = strings.ReplaceAll(out, g.sb.Host(), "myregistry.azurecr.io")
	out = strings.ReplaceAll(out, g.root, "")
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

var (
	hexRun      = regexp.MustCompile(`[0-9a-f]{7,}`)
	mktempName  = regexp.MustCompile(`tmp\.[A-Za-z0-9]{10}`)
	timestamp   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	date        = regexp.MustCompile(`\d{4}-\d\d-\d\d`)
	spaces      = regexp.MustCompile(`[ \t]+`)
	portInGuide = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

// normalize sets aside what differs from run to run: IDs and digests (hex
// of 7 or more characters), mktemp names, times and dates, and the width
// of columns.
func normalize(s string) string {
	s = portInGuide.ReplaceAllString(s, "myregistry.azurecr.io")
	s = hexRun.ReplaceAllString(s, "#")
	s = mktempName.ReplaceAllString(s, "tmp.#")
	s = timestamp.ReplaceAllString(s, "<time>")
	s = date.ReplaceAllString(s, "<date>")
	s = spaces.ReplaceAllString(s, " ")
	return strings.TrimSpace(s)
}

// matchOutput compares what the page shows with what was printed, line by
// line after normalize. A line "..." on its own stands for any number of
// lines; "..." inside a line for any text.
func matchOutput(want, got []string) (string, bool) {
	w := make([]string, len(want))
	for i := range want {
		w[i] = normalize(want[i])
	}
	g := make([]string, len(got))
	for i := range got {
		g[i] = normalize(got[i])
	}
	if matchLines(w, g) {
		return "", true
	}
	// Say where it went wrong: the first page line that has no match in
	// order.
	j := 0
	for i, line := range w {
		if line == "..." {
			continue
		}
		found := false
		for ; j < len(g); j++ {
			if matchLine(line, g[j]) {
				found = true
				j++
				break
			}
		}
		if !found {
			return fmt.Sprintf("line %d of the shown output, %q, was not printed", i+1, want[i]), false
		}
	}
	return "it printed lines the page does not show", false
}

func matchLines(w, g []string) bool {
	if len(w) == 0 {
		return len(g) == 0
	}
	if w[0] == "..." {
		for k := 0; k <= len(g); k++ {
			if matchLines(w[1:], g[k:]) {
				return true
			}
		}
		return false
	}
	return len(g) > 0 && matchLine(w[0], g[0]) && matchLines(w[1:], g[1:])
}

// matchLine matches one normalized line, "..." inside it standing for any
// text.
func matchLine(want, got string) bool {
	parts := strings.Split(want, "...")
	if len(parts) == 1 {
		return want == got
	}
	if !strings.HasPrefix(got, parts[0]) {
		return false
	}
	rest := got[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		k := strings.Index(rest, p)
		if k < 0 {
			return false
		}
		rest = rest[k+len(p):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}

// TestGuideMarkers checks the reader of the markers and the comparison on
// their own: a wrong digest or ID is set aside, a changed word is not.
func TestGuideMarkers(t *testing.T) {
	page := "text\n<!-- acrtrust:setup\n$ echo made\n-->\n<!-- acrtrust:run -->\n```console\n$ docker acrtrust resolve \\\n    myregistry.azurecr.io/app:1.0\nmyregistry.azurecr.io/app@sha256:7f3c15fd0a1d\n$ true\n```\n\n<!-- acrtrust:run fails -->\n```console\n$ false\nrefused\n```\n```console\n$ not run\n```\n"
	steps, err := parseGuide(page)
	assert.NilError(t, err)
	assert.Equal(t, len(steps), 4)
	assert.Check(t, steps[0].hidden && steps[0].command == "echo made")
	assert.Equal(t, steps[1].command, "docker acrtrust resolve \\\n    myregistry.azurecr.io/app:1.0")
	assert.DeepEqual(t, steps[1].want, []string{"myregistry.azurecr.io/app@sha256:7f3c15fd0a1d"})
	assert.Check(t, !steps[2].fails && steps[3].fails)

	_, err = parseGuide("<!-- acrtrust:run -->\n```sh\n$ x\n```\n")
	assert.ErrorContains(t, err, "not followed by a ```console block")

	for _, tc := range []struct {
		name      string
		want, got []string
		ok        bool
	}{
		{"another digest", []string{"app@sha256:7f3c15fd0a1d2150e9efe9a464c2d85602b93251c047bcf6fc6bd265fe38af1c"}, []string{"app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}, true},
		{"another word", []string{"Successfully signed app:1.0"}, []string{"Successfully pushed app:1.0"}, false},
		{"a line more", []string{"a"}, []string{"a", "b"}, false},
		{"elided lines", []string{"a", "...", "d"}, []string{"a", "b", "c", "d"}, true},
		{"elided text", []string{"Pull (1 of 1): app:1.0@sha256:7f3c15fd0a1d..."}, []string{"Pull (1 of 1): app:1.0@sha256:0123456789abcdef"}, true},
		{"column widths", []string{"TAG   STATUS"}, []string{"TAG        STATUS"}, true},
		{"a line missing", []string{"a", "b"}, []string{"a"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := matchOutput(tc.want, tc.got)
			assert.Equal(t, ok, tc.ok)
		})
	}
}
