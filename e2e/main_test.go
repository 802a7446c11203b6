//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// h is the harness every test uses; nil when it could not be set up, and
// then skipReason says why.
var (
	h          *harness
	skipReason string
)

// harness is what TestMain sets up once for all tests.
type harness struct {
	workDir    string // temporary directory holding everything below
	pluginDir  string // holds the docker-acrtrust binary under test
	plugin     string // path of that binary
	version    string // version baked into it with -ldflags
	dockerHost string // unix:// address of the engine
	daemon     *exec.Cmd
	daemonDone chan struct{} // closed once dockerd has exited
	daemonLog  string

	sandbox        *sandbox.Sandbox
	sandboxLog     string
	sandboxLogFile *os.File

	docker           string // docker CLI that drives the plugin (v29 unless E2E_DOCKER_CLI)
	dockerVersion    string // its client version
	dctDocker        string // a docker CLI that still has content trust (< v29), "" if none
	dctDockerVersion string
	notary           string // notary CLI, "" if none

	closeOnce sync.Once
}

// errNoEngine marks set-up failures that mean "this machine cannot run the
// e2e tests" (no root, no dockerd, no docker CLI): a skip locally, a failure
// under CI. Anything else is always a failure.
var errNoEngine = errors.New("no docker engine for the e2e tests")

// errNoDockerCLI is the same for the docker CLI that drives the plugin (v29
// when it cannot be built) or the content trust peer asked for.
var errNoDockerCLI = errors.New("no docker CLI to drive the plugin")

// cannotRunHere reports whether a set-up error means that this machine
// cannot run the e2e tests.
func cannotRunHere(err error) bool {
	return errors.Is(err, errNoEngine) || errors.Is(err, errNoDockerCLI)
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		skipReason = "e2e: skipped under -short"
		os.Exit(m.Run())
	}
	var err error
	h, err = setUp()
	if err != nil {
		if cannotRunHere(err) && !inCI() {
			skipReason = err.Error()
			os.Exit(m.Run())
		}
		fmt.Fprintf(os.Stderr, "--- FAIL: e2e harness: %v\n", err)
		if inCI() && cannotRunHere(err) {
			fmt.Fprintln(os.Stderr, "CI=true: a missing engine or docker CLI is a failure, not a skip")
		}
		fmt.Fprintln(os.Stderr, "FAIL")
		os.Exit(1)
	}

	// Stop dockerd on an interrupt too; dockerd also gets SIGTERM when this
	// process dies (Pdeathsig), so it never outlives the tests.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "e2e: %v: stopping the harness\n", s)
		h.close(true)
		os.Exit(2)
	}()

	code := m.Run()
	h.close(code != 0)
	os.Exit(code)
}

// inCI reports whether CI=true (or another true value) is set.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// requireHarness skips (or, under CI, fails) when the harness is not up.
func requireHarness(t *testing.T) {
	t.Helper()
	if h == nil {
		skipOrFail(t, skipReason)
	}
}

// skipOrFail skips the test locally; under CI it fails it, so that nothing
// is silently left out.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if inCI() && !testing.Short() {
		t.Fatalf("CI=true, so this is a failure, not a skip: %s", reason)
	}
	t.Skip(reason)
}

func setUp() (_ *harness, err error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	workDir, err := os.MkdirTemp(os.Getenv("ACRTRUST_E2E_WORKDIR"), "acrtrust-e2e-")
	if err != nil {
		return nil, err
	}
	hs := &harness{workDir: workDir, pluginDir: filepath.Join(workDir, "cli-plugins")}
	defer func() {
		if err != nil {
			hs.close(true)
		}
	}()

	hs.dctDocker, hs.dctDockerVersion = findDCTDocker()
	if hs.docker, err = hs.dockerCLI(root); err != nil {
		return nil, err
	}
	if err := hs.buildPlugin(root); err != nil {
		return nil, err
	}
	if err := hs.startEngine(); err != nil {
		return nil, err
	}
	if err := hs.startSandbox(); err != nil {
		return nil, err
	}
	if hs.dockerVersion, err = cliVersion(hs.docker); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoDockerCLI, err)
	}
	hs.notary, _ = exec.LookPath("notary")
	fmt.Fprintf(os.Stderr, "e2e: plugin driven by docker %s (%s), content trust peer docker %s (%q), notary %q, engine %s, sandbox https://%s, plugin %s\n",
		hs.dockerVersion, hs.docker, hs.dctDockerVersion, hs.dctDocker, hs.notary, hs.dockerHost, hs.sandbox.Host(), hs.version)
	return hs, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("finding the module root: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// dockerCLI returns the docker CLI that drives the plugin: E2E_DOCKER_CLI
// (a path or name, or "dct" for the content trust peer, docker 28 here), or
// else ("" or "v29") docker v29, the version users have, built from the docker/cli version
// in go.mod by scripts/build-docker-cli.sh (cached under bin/docker-cli;
// Debian packages no v29). Failing to build it is a skip locally and a
// failure under CI, as a missing engine is.
func (hs *harness) dockerCLI(root string) (string, error) {
	switch p := os.Getenv("E2E_DOCKER_CLI"); p {
	case "", "v29":
	case "dct":
		if hs.dctDocker == "" {
			return "", fmt.Errorf("%w: E2E_DOCKER_CLI=dct: no docker CLI older than v29 (set E2E_DCT_DOCKER_CLI)", errNoDockerCLI)
		}
		return hs.dctDocker, nil
	default:
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: E2E_DOCKER_CLI=%s: %v", errNoDockerCLI, p, err)
		}
		return path, nil
	}
	script := filepath.Join(root, "scripts", "build-docker-cli.sh")
	cmd := exec.Command("bash", script)
	cmd.Dir = root
	cmd.Stderr = os.Stderr // progress: the first build takes minutes
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: building docker CLI v29 with %s: %v (or set E2E_DOCKER_CLI to a docker CLI to drive the plugin with)",
			errNoDockerCLI, script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

// cliVersion returns the client version of a docker CLI ("29.9.3"). It
// needs no engine.
func cliVersion(docker string) (string, error) {
	out, err := exec.Command(docker, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v", docker, err)
	}
	// "Docker version 28.2.2, build e6534b4"
	m := regexp.MustCompile(`^Docker version v?(\d+\.\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version: no version in %q", docker, out)
	}
	return string(m[1]), nil
}

// buildPlugin builds the plugin as `make build` does, with a version only
// this run uses, so that the tests can tell it is the binary docker runs.
func (hs *harness) buildPlugin(root string) error {
	var b [4]byte
	_, _ = rand.Read(b[:])
	hs.version = "v0.0.0-e2e." + hex.EncodeToString(b[:])
	hs.plugin = filepath.Join(hs.pluginDir, "docker-acrtrust")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.Version="+hs.version, "-o", hs.plugin, "./cmd/docker-acrtrust")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the plugin: %v\n%s", err, out)
	}
	return nil
}

// startEngine uses E2E_DOCKER_HOST, or starts a private dockerd.
func (hs *harness) startEngine() error {
	if host := os.Getenv("E2E_DOCKER_HOST"); host != "" {
		hs.dockerHost = host
		return waitForEngine(context.Background(), host, nil, "")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: dockerd must be started as root (run as root, or set E2E_DOCKER_HOST)", errNoEngine)
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return fmt.Errorf("%w: no dockerd on PATH (apt-get install docker.io)", errNoEngine)
	}
	dir := filepath.Join(hs.workDir, "dockerd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// An empty daemon.json keeps the machine's /etc/docker/daemon.json out.
	daemonJSON := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(daemonJSON, []byte("{}\n"), 0o600); err != nil {
		return err
	}
	sock := filepath.Join(dir, "docker.sock")
	hs.dockerHost = "unix://" + sock
	hs.daemonLog = filepath.Join(dir, "dockerd.log")
	logFile, err := os.Create(hs.daemonLog)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// vfs, no iptables and no bridge: what works in a container without
	// privileges for networking; the tests run no containers.
	cmd := exec.Command(dockerd,
		"--config-file", daemonJSON,
		"--storage-driver", "vfs",
		"--iptables=false", "--ip6tables=false", "--bridge=none",
		"-H", hs.dockerHost,
		"--data-root", filepath.Join(dir, "root"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: starting dockerd: %v", errNoEngine, err)
	}
	hs.daemon = cmd
	hs.daemonDone = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(hs.daemonDone)
	}()
	if err := waitForEngine(context.Background(), hs.dockerHost, hs.daemonDone, hs.daemonLog); err != nil {
		return fmt.Errorf("%w: %v", errNoEngine, err)
	}
	return nil
}

// waitForEngine polls the engine's /_ping until it answers, the daemon
// exits, or a minute passes.
func waitForEngine(ctx context.Context, host string, exited <-chan struct{}, logPath string) error {
	client, base, err := engineHTTPClient(host)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_ping", nil)
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/_ping answered %s", resp.Status)
		}
		last = err
		select {
		case <-exited:
			return fmt.Errorf("dockerd exited during start-up:\n%s", tail(logPath, 30))
		case <-ctx.Done():
			return fmt.Errorf("engine at %s did not answer within a minute: %v\n%s", host, last, tail(logPath, 30))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func engineHTTPClient(host string) (*http.Client, string, error) {
	switch {
	case strings.HasPrefix(host, "unix://"):
		path := strings.TrimPrefix(host, "unix://")
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}
		return &http.Client{Transport: tr, Timeout: 5 * time.Second}, "http://docker", nil
	case strings.HasPrefix(host, "tcp://"):
		return &http.Client{Timeout: 5 * time.Second}, "http://" + strings.TrimPrefix(host, "tcp://"), nil
	}
	return nil, "", fmt.Errorf("engine address %q: only unix:// and tcp:// are supported", host)
}

func (hs *harness) startSandbox() error {
	hs.sandboxLog = filepath.Join(hs.workDir, "sandbox.log")
	logFile, err := os.Create(hs.sandboxLog)
	if err != nil {
		return err
	}
	sb, err := sandbox.Start(sandbox.Options{Log: logFile})
	if err != nil {
		_ = logFile.Close()
		return fmt.Errorf("starting the sandbox: %w", err)
	}
	hs.sandbox = sb
	hs.sandboxLogFile = logFile
	return nil
}

// findDCTDocker returns the docker CLI that still has content trust (it
// was removed in v29), the peer of the interop tests: E2E_DCT_DOCKER_CLI, or
// else the newest docker older than v29 among the one on PATH,
// /usr/local/bin/docker (Docker 28 here) and /usr/bin/docker (Debian's
// 20.10). It returns "" when there is none.
func findDCTDocker() (path, version string) {
	candidates := []string{"docker", "/usr/local/bin/docker", "/usr/bin/docker"}
	if p := os.Getenv("E2E_DCT_DOCKER_CLI"); p != "" {
		candidates = []string{p}
	}
	var best []int
	for _, c := range candidates {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		v, err := cliVersion(p)
		if err != nil {
			continue
		}
		nums := versionNumbers(v)
		if nums[0] < 29 && (best == nil || slices.Compare(nums, best) > 0) {
			path, version, best = p, v, nums
		}
	}
	return path, version
}

// versionNumbers turns "28.2.2" into [28 2 2].
func versionNumbers(v string) []int {
	var nums []int
	for _, f := range strings.SplitN(v, ".", 3) {
		n, _ := strconv.Atoi(f)
		nums = append(nums, n)
	}
	return nums
}

// close stops the sandbox and dockerd and removes the work directory. With
// failed it first prints the end of the daemon's and the sandbox's logs.
func (hs *harness) close(failed bool) {
	hs.closeOnce.Do(func() {
		if hs.sandbox != nil {
			_ = hs.sandbox.Close()
		}
		if hs.sandboxLogFile != nil {
			_ = hs.sandboxLogFile.Close()
		}
		if failed {
			if hs.daemonLog != "" {
				fmt.Fprintf(os.Stderr, "e2e: last lines of the dockerd log:\n%s\n", tail(hs.daemonLog, 15))
			}
			if hs.sandboxLog != "" {
				fmt.Fprintf(os.Stderr, "e2e: last lines of the sandbox request log:\n%s\n", tail(hs.sandboxLog, 40))
			}
		}
		hs.stopDaemon()
		if hs.workDir != "" {
			if err := os.RemoveAll(hs.workDir); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: removing %s: %v\n", hs.workDir, err)
			}
		}
	})
}

// stopDaemon sends dockerd SIGTERM (it stops its containerd too) and kills
// it if it has not exited after 30 seconds.
func (hs *harness) stopDaemon() {
	if hs.daemon == nil || hs.daemon.Process == nil {
		return
	}
	_ = hs.daemon.Process.Signal(syscall.SIGTERM)
	select {
	case <-hs.daemonDone:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "e2e: dockerd did not stop within 30s; killing it")
		_ = hs.daemon.Process.Kill()
		<-hs.daemonDone
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
