//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// BenchmarkRunRm runs a tiny signed image that the engine already has:
// `docker run --rm NAME@DIGEST` next to `docker acrtrust run --rm
// NAME:TAG`, which adds the plugin's start, the trust resolution and one
// image inspect before the same docker run. Issue 19's target: at most
// the trusted pull's fixed cost (docs/benchmarks.md) more than docker run
// by digest. Run with `make bench-e2e`.
func BenchmarkRunRm(b *testing.B) {
	if h == nil {
		b.Skip(skipReason)
	}
	cfg := b.TempDir()
	conf, _ := json.Marshal(map[string]any{"cliPluginsExtraDirs": []string{h.pluginDir}})
	must(b, os.WriteFile(filepath.Join(cfg, "config.json"), conf, 0o600))
	must(b, h.sandbox.InstallCA(cfg))
	env := append(os.Environ(), "DOCKER_HOST="+h.dockerHost, "DOCKER_CONFIG="+cfg,
		envRoot+"="+rootPassphrase, envRepo+"="+repoPassphrase)
	docker := func(stdin []byte, args ...string) string {
		cmd := exec.Command(h.docker, args...)
		cmd.Env = env
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	docker([]byte(sandbox.Password+"\n"), "login", h.sandbox.Host(), "-u", sandbox.UserSigner, "--password-stdin")
	repo := h.sandbox.Host() + "/bench-run-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	bin := benchTool(b)
	must(b, tw.WriteHeader(&tar.Header{Name: "bin/tool", Mode: 0o755, Size: int64(len(bin)), ModTime: time.Now()}))
	_, _ = tw.Write(bin)
	must(b, tw.Close())
	docker(buf.Bytes(), "import", "-c", `CMD ["/bin/tool"]`, "-", repo+":v1")
	out := docker(nil, "acrtrust", "push", repo+":v1")
	m := regexp.MustCompile(`v1: digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no digest in the push output:\n%s", out)
	}
	docker(nil, "acrtrust", "pull", repo+":v1") // the engine has it, by digest too

	for _, bc := range []struct {
		name string
		args []string
	}{
		{"docker-run-digest", []string{"run", "--rm", repo + "@" + m[1]}},
		{"acrtrust-run-tag", []string{"acrtrust", "run", "--rm", repo + ":v1"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				docker(nil, bc.args...)
			}
		})
	}
}

// benchTool is the tool image's program (run_test.go), built for a benchmark.
func benchTool(b *testing.B) []byte {
	b.Helper()
	dir := b.TempDir()
	src := filepath.Join(dir, "main.go")
	must(b, os.WriteFile(src, []byte(toolSource), 0o644))
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "tool"), src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the tool: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "tool"))
	must(b, err)
	return bin
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
