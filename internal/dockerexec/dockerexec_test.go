package dockerexec_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/internal/dockerexec"
)

// The test binary is its own fake docker: DOCKEREXEC_FAKE says what to do.
func TestMain(m *testing.M) {
	switch mode := os.Getenv("DOCKEREXEC_FAKE"); {
	case mode == "":
		os.Exit(m.Run())
	case mode == "args":
		fmt.Println(strings.Join(os.Args[1:], "\n"))
		fmt.Println("socket=" + os.Getenv("DOCKER_CLI_PLUGIN_SOCKET"))
		os.Exit(0)
	case strings.HasPrefix(mode, "exit "):
		n, _ := strconv.Atoi(strings.TrimPrefix(mode, "exit "))
		os.Exit(n)
	case mode == "wait-signal":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		fmt.Println("ready")
		s := <-c
		fmt.Println("got", s)
		os.Exit(128 + int(s.(syscall.Signal)))
	case mode == "complete":
		fmt.Println("--network\tConnect a container to a network")
		fmt.Println("args:" + strings.Join(os.Args[1:], ","))
		fmt.Println(":4")
		fmt.Fprintln(os.Stderr, "Completion ended with directive: ShellCompDirectiveNoFileComp")
		os.Exit(0)
	case mode == "die":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
	}
	os.Exit(99)
}

func fake(t *testing.T, mode string, args ...string) dockerexec.Cmd {
	t.Helper()
	self, err := os.Executable()
	assert.NilError(t, err)
	return dockerexec.Cmd{
		Path:   self,
		Args:   args,
		Env:    append(os.Environ(), "DOCKEREXEC_FAKE="+mode),
		Stdout: &bytes.Buffer{},
		Stderr: &bytes.Buffer{},
	}
}

func TestRunPassesArgumentsAndStatus(t *testing.T) {
	c := fake(t, "args", "run", "--rm", "-e", "X=a b", "app@sha256:abc", "sh", "-c", "exit 3")
	code, err := dockerexec.Run(context.Background(), c)
	assert.NilError(t, err)
	assert.Equal(t, code, 0)
	assert.Check(t, is.Equal(c.Stdout.(*bytes.Buffer).String(), "run\n--rm\n-e\nX=a b\napp@sha256:abc\nsh\n-c\nexit 3\nsocket=\n"))

	for _, n := range []int{1, 3, 125, 126, 127} {
		code, err := dockerexec.Run(context.Background(), fake(t, fmt.Sprintf("exit %d", n)))
		assert.NilError(t, err)
		assert.Check(t, is.Equal(code, n))
	}
	code, err = dockerexec.Run(context.Background(), fake(t, "die"))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(code, 128+9), "killed by SIGKILL")
}

func TestRunDropsThePluginVariables(t *testing.T) {
	t.Setenv("DOCKER_CLI_PLUGIN_SOCKET", "@docker_cli_123")
	t.Setenv("DOCKEREXEC_FAKE", "args")
	c := fake(t, "args")
	c.Env = nil // this process's environment, less the plugin's variables
	_, err := dockerexec.Run(context.Background(), c)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(c.Stdout.(*bytes.Buffer).String(), "socket=\n"))
}

func TestRunNoDocker(t *testing.T) {
	_, err := dockerexec.Run(context.Background(), dockerexec.Cmd{Path: "/nonexistent/docker"})
	assert.ErrorContains(t, err, "starting /nonexistent/docker")
}

// waitReady waits until the fake docker prints "ready".
func waitReady(t *testing.T, out *syncBuffer) {
	t.Helper()
	for i := 0; i < 500 && !strings.Contains(out.String(), "ready"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Assert(t, strings.Contains(out.String(), "ready"), "fake docker did not start")
}

func TestRunForwardsSignals(t *testing.T) {
	c := fake(t, "wait-signal")
	out := &syncBuffer{}
	c.Stdout = out
	result := make(chan int, 1)
	go func() {
		code, err := dockerexec.Run(context.Background(), c)
		assert.Check(t, err)
		result <- code
	}()
	waitReady(t, out)
	assert.NilError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	assert.Check(t, is.Equal(<-result, 128+int(syscall.SIGTERM)))
	assert.Check(t, is.Contains(out.String(), "got terminated"))
}

func TestRunInterruptedByTheDockerCLI(t *testing.T) {
	c := fake(t, "wait-signal")
	out := &syncBuffer{}
	c.Stdout = out
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan int, 1)
	go func() {
		code, err := dockerexec.Run(ctx, c)
		assert.Check(t, err)
		result <- code
	}()
	waitReady(t, out)
	cancel()
	assert.Check(t, is.Equal(<-result, 128+int(syscall.SIGINT)))
	assert.Check(t, is.Contains(out.String(), "got interrupt"))
}

func TestGlobalArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{name: "none", args: []string{"/p/docker-acrtrust", "acrtrust", "run", "app"}},
		{name: "context and host", args: []string{"/p/docker-acrtrust", "--context", "acrtrust", "-H", "unix:///x.sock", "--debug", "acrtrust", "run", "-H", "h", "app"},
			want: []string{"--context", "acrtrust", "-H", "unix:///x.sock", "--debug"}},
		{name: "config and log level with =", args: []string{"/p/docker-acrtrust", "--config=/c", "-l", "debug", "acrtrust", "create", "app"},
			want: []string{"--config=/c", "-l", "debug"}},
		{name: "standalone", args: []string{"/p/docker-acrtrust", "run", "app"}},
		{name: "unreadable", args: []string{"/p/docker-acrtrust", "--no-such-global", "acrtrust", "run", "app"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Check(t, is.DeepEqual(dockerexec.GlobalArgs(tc.args, "acrtrust"), tc.want))
		})
	}
}

func TestFind(t *testing.T) {
	p, err := dockerexec.Find(func(string) string { return "/opt/bin/docker" })
	assert.NilError(t, err)
	assert.Check(t, is.Equal(p, "/opt/bin/docker"))
	t.Setenv("PATH", t.TempDir())
	_, err = dockerexec.Find(func(string) string { return "" })
	assert.ErrorContains(t, err, "finding the docker CLI")
}

func TestComplete(t *testing.T) {
	self, err := os.Executable()
	assert.NilError(t, err)
	t.Setenv("DOCKEREXEC_FAKE", "complete")
	got, directive, err := dockerexec.Complete(context.Background(), self, []string{"run", "--rm", "--netw"})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(got, []string{"--network\tConnect a container to a network", "args:__complete,run,--rm,--netw"}))
	assert.Check(t, is.Equal(directive, 4))

	t.Setenv("DOCKEREXEC_FAKE", "exit 1")
	_, _, err = dockerexec.Complete(context.Background(), self, []string{"run", ""})
	assert.Check(t, is.ErrorContains(err, "completing with"))
}
