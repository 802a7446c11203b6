//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// toolSource is the one program of the images run and create start: it
// prints its arguments, $X and /data/in (when mounted), and exits with
// $EXIT_CODE. Built static, it needs nothing else in the image.
const toolSource = `package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	fmt.Println("args=" + strings.Join(os.Args[1:], " "))
	fmt.Println("X=" + os.Getenv("X"))
	if b, err := os.ReadFile("/data/in"); err == nil {
		fmt.Println("data=" + strings.TrimSpace(string(b)))
	}
	if os.Getenv("READ") != "" {
		fmt.Println("reading")
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Println("read=" + strings.TrimSpace(line))
	}
	if os.Getenv("WAIT") != "" {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
		fmt.Println("waiting")
		s := <-c
		fmt.Println("got", s)
		os.Exit(128 + int(s.(syscall.Signal)))
	}
	n, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
	os.Exit(n)
}
`

var (
	toolOnce sync.Once
	toolBin  []byte
	toolErr  error
)

// tool builds toolSource once per test run.
func tool(t *testing.T) []byte {
	t.Helper()
	toolOnce.Do(func() {
		dir, err := os.MkdirTemp(h.workDir, "tool-")
		if err != nil {
			toolErr = err
			return
		}
		src := filepath.Join(dir, "main.go")
		if toolErr = os.WriteFile(src, []byte(toolSource), 0o644); toolErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "tool"), src)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			toolErr = err
			t.Logf("%s", out)
			return
		}
		toolBin, toolErr = os.ReadFile(filepath.Join(dir, "tool"))
	})
	assert.NilError(t, toolErr)
	return toolBin
}

// importTool creates an image tagged ref holding /bin/tool as its command,
// and /salt (to make each image's digest its own).
func (c *client) importTool(t *testing.T, ref string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"bin/tool", 0o755, tool(t)}, {"salt", 0o644, []byte(ref + time.Now().String())}} {
		assert.NilError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Now()}))
		_, err := tw.Write(f.data)
		assert.NilError(t, err)
	}
	assert.NilError(t, tw.Close())
	c.run(t, icmd.Command(h.docker, "import", "-c", `CMD ["/bin/tool"]`, "-", ref), icmd.WithStdin(&buf)).Assert(t, icmd.Success)
}

// pushTool pushes a tool image as repo:tag, signed unless unsigned, and
// removes it locally; it returns the digest.
func (c *client) pushTool(t *testing.T, repo, tag string, unsigned bool) string {
	t.Helper()
	c.importTool(t, repo+":"+tag)
	args := []string{"push", repo + ":" + tag}
	if unsigned {
		args = []string{"push", "--disable-content-trust", repo + ":" + tag}
	}
	res := c.acrtrust(t, args...)
	res.Assert(t, icmd.Success)
	dgst := pushedDigest(t, res.Stdout(), tag)
	c.rmi(t, repo+":"+tag)
	return dgst
}

// containerExists reports whether the engine has a container named name.
func (c *client) containerExists(t *testing.T, name string) bool {
	t.Helper()
	return c.docker(t, "container", "inspect", name).ExitCode == 0
}

// TestRunSigned: `docker acrtrust run` of a signed tag pulls it by digest
// (docker's lines), runs docker's run with every option as given, and
// passes the container's exit status through.
func TestRunSigned(t *testing.T) {
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	dgst := c.pushTool(t, repo, "v1", false)
	data := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(data, "in"), []byte("mounted\n"), 0o644))
	name := "run-" + filepath.Base(data)

	res := c.acrtrust(t, "run", "--rm", "-e", "X=hello", "--name", name, "-v", data+":/data",
		"--entrypoint", "/bin/tool", repo+":v1", "--rm", "-e", "Y", "-la", "--", "--name=x")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "args=--rm -e Y -la -- --name=x\n"), "the command's own flags reach it untouched")
	assert.Check(t, is.Contains(res.Stdout(), "X=hello\n"))
	assert.Check(t, is.Contains(res.Stdout(), "data=mounted\n"))
	assert.Check(t, is.Contains(res.Stderr(), "Unable to find image '"+repo+":v1' locally"))
	assert.Check(t, is.Contains(res.Stderr(), "Tagging "+repo+"@"+dgst+" as "+repo+":v1"))
	assert.Check(t, !c.containerExists(t, name), "--rm removed the container")
	assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+dgst))

	t.Run("the container's exit status", func(t *testing.T) {
		res := c.acrtrust(t, "run", "--rm", "-e", "EXIT_CODE=3", repo+":v1")
		res.Assert(t, icmd.Expected{ExitCode: 3})
		assert.Check(t, !strings.Contains(res.Stderr(), "Unable to find image"), "the image is here now: no pull")
		assert.Check(t, is.Equal(strings.TrimSpace(res.Stderr()), ""), "nothing of ours on stderr")
	})

	t.Run("docker's own statuses", func(t *testing.T) {
		c.acrtrust(t, "run", "--rm", "--entrypoint", "/no/such/file", repo+":v1").Assert(t, icmd.Expected{ExitCode: 127})
		c.acrtrust(t, "run", "--rm", "--entrypoint", "/salt", repo+":v1").Assert(t, icmd.Expected{ExitCode: 126})
		res := c.acrtrust(t, "run", "--no-such-flag", repo+":v1")
		res.Assert(t, icmd.Expected{ExitCode: 125, Err: "unknown flag: --no-such-flag"})
	})

	t.Run("-d prints the container ID only", func(t *testing.T) {
		res := c.acrtrust(t, "run", "-d", "--name", name+"-d", repo+":v1")
		res.Assert(t, icmd.Success)
		assert.Check(t, regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(res.Stdout()), res.Stdout())
		c.docker(t, "rm", "-f", name+"-d").Assert(t, icmd.Success)
	})
}

// TestCreateSigned: create makes the container from NAME@DIGEST, as
// docker's create did with content trust, and prints its ID.
func TestCreateSigned(t *testing.T) {
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	dgst := c.pushTool(t, repo, "v1", false)
	name := "create-" + strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]`).ReplaceAllString(filepath.Base(t.TempDir()), ""))

	res := c.acrtrust(t, "create", "-e", "X=created", "--name", name, repo+":v1", "/bin/tool", "-x", "--y=z")
	res.Assert(t, icmd.Success)
	assert.Check(t, regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(res.Stdout()), "stdout is the container ID: %q", res.Stdout())
	assert.Check(t, is.Contains(res.Stderr(), "Tagging "+repo+"@"+dgst+" as "+repo+":v1"))
	img := c.docker(t, "container", "inspect", "--format", "{{.Config.Image}}", name)
	img.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(strings.TrimSpace(img.Stdout()), repo+"@"+dgst), "created from the verified digest")
	start := c.docker(t, "start", "-a", name)
	start.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(start.Stdout(), "args=-x --y=z\n"))
	assert.Check(t, is.Contains(start.Stdout(), "X=created\n"))
	c.docker(t, "rm", name).Assert(t, icmd.Success)
}

// TestRunUnsigned: an unsigned tag is refused with docker's message before
// any container exists, and nothing is pulled; its digest runs as given;
// with content trust off it runs with a warning.
func TestRunUnsigned(t *testing.T) {
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	c.pushTool(t, repo, "v1", false) // the repository has trust data
	dev := c.pushTool(t, repo, "dev", true)

	for _, sub := range []string{"run", "create"} {
		t.Run(sub, func(t *testing.T) {
			name := sub + "-unsigned-" + dev[len(dev)-8:]
			res := c.acrtrust(t, sub, "--name", name, repo+":dev")
			res.Assert(t, icmd.Expected{ExitCode: 125, Err: "No valid trust data for dev"})
			assert.Check(t, is.Contains(res.Stderr(), "so no container was created and nothing was pulled"))
			assert.Check(t, !strings.Contains(res.Combined(), "Unable to find image"))
			assert.Check(t, !c.containerExists(t, name), "a container was created")
			assert.Check(t, !c.imageExists(t, repo+":dev"))
			assert.Check(t, !c.imageExists(t, repo+"@"+dev))
		})
	}

	t.Run("by digest", func(t *testing.T) {
		res := c.acrtrust(t, "run", "--rm", "-e", "X=bydigest", repo+"@"+dev)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "X=bydigest\n"))
		c.rmi(t, repo+"@"+dev)
	})

	t.Run("content trust off", func(t *testing.T) {
		for _, tc := range []struct {
			env  []string
			args []string
		}{
			{env: []string{"DOCKER_CONTENT_TRUST=0"}, args: []string{"run", "--rm", repo + ":dev"}},
			{args: []string{"run", "--disable-content-trust", "--rm", repo + ":dev"}},
		} {
			res := c.dockerEnv(t, tc.env, append([]string{"acrtrust"}, tc.args...)...)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stderr(), "WARNING: content trust is disabled"))
			assert.Check(t, is.Contains(res.Stdout(), "args=\n"))
			c.rmi(t, repo+":dev")
		}
	})
}
