package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// fakeDocker is a docker CLI that writes its arguments, one a line, to a
// file and exits with $FAKE_DOCKER_EXIT; run and create find it the way
// they find the docker that started the plugin.
func fakeDocker(t *testing.T) (env map[string]string, args func() []string) {
	t.Helper()
	dir := t.TempDir()
	script, out := filepath.Join(dir, "docker"), filepath.Join(dir, "args")
	assert.NilError(t, os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \""+out+"\"\nexit ${FAKE_DOCKER_EXIT:-0}\n"), 0o755))
	return map[string]string{"DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND": script}, func() []string {
		b, err := os.ReadFile(out)
		if os.IsNotExist(err) {
			return nil
		}
		assert.NilError(t, err)
		_ = os.Remove(out)
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
}

func TestRunAndCreate(t *testing.T) {
	sb, signed := signedSandbox(t)
	host := sb.Host()
	env, dockerArgs := fakeDocker(t)
	byDigest := host + "/app@" + signed["v1"]

	for _, sub := range []string{"run", "create"} {
		t.Run(sub+" a signed tag", func(t *testing.T) {
			d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
			assert.NilError(t, runCommand(t, d, sub, "-e", "X=1", "--require", "dct", "--name", "n", "--disable-content-trust=false",
				host+"/app:v1", "cmd", "--rm", "--require", "x"))
			assert.Check(t, is.DeepEqual(dockerArgs(), []string{sub, "-e", "X=1", "--name", "n", byDigest, "cmd", "--rm", "--require", "x"}))
			assert.Check(t, is.DeepEqual(eng.Pulled, []string{byDigest}))
			assert.Check(t, is.DeepEqual(eng.Tagged, [][2]string{{byDigest, host + "/app:v1"}}))
			assert.Check(t, is.Contains(cli.ErrBuf.String(), "Unable to find image '"+host+"/app:v1' locally\n"))
			assert.Check(t, is.Contains(cli.ErrBuf.String(), "Tagging "+byDigest+" as "+host+"/app:v1\n"))
			assert.Check(t, is.Equal(cli.OutBuf.String(), ""), "stdout is docker's")
		})
	}

	t.Run("an image the engine has is not pulled", func(t *testing.T) {
		d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
		eng.Present = map[string]bool{byDigest: true}
		assert.NilError(t, runCommand(t, d, "run", "--rm", host+"/app:v1"))
		assert.Check(t, is.Len(eng.Pulled, 0))
		assert.Check(t, is.Equal(cli.ErrBuf.String(), ""))
		assert.Check(t, is.DeepEqual(dockerArgs(), []string{"run", "--rm", byDigest}))
	})

	t.Run("--pull never and -q", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
		assert.NilError(t, runCommand(t, d, "run", "--pull", "never", host+"/app:v1"))
		assert.Check(t, is.Len(eng.Pulled, 0))
		d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
		assert.NilError(t, runCommand(t, d, "run", "-q", host+"/app:v1"))
		assert.Check(t, is.DeepEqual(eng.Pulled, []string{byDigest}))
		assert.Check(t, !strings.Contains(cli.ErrBuf.String(), "Unable to find image"))
		dockerArgs()
	})

	t.Run("an unsigned tag: exit 125, no docker, nothing pulled", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
		err := runCommand(t, d, "create", "--name", "n", host+"/app:dev")
		assert.Check(t, is.ErrorContains(err, "No valid trust data for dev"))
		assert.Check(t, is.ErrorContains(err, "so no container was created and nothing was pulled"))
		assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 125))
		assert.Check(t, is.Len(dockerArgs(), 0), "docker ran")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("a digest runs as given, without trust", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
		sb.ResetStats()
		ref := host + "/app@" + signed["v2"]
		assert.NilError(t, runCommand(t, d, "run", ref, "sh"))
		assert.Check(t, is.DeepEqual(dockerArgs(), []string{"run", ref, "sh"}))
		assert.Check(t, is.Equal(sb.Stats().TrustRequests, 0))
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("docker's exit status, with nothing said", func(t *testing.T) {
		t.Setenv("FAKE_DOCKER_EXIT", "3")
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
		eng.Present = map[string]bool{byDigest: true}
		err := runCommand(t, d, "run", host+"/app:v1")
		assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 3))
		assert.Check(t, is.Equal(err.Error(), ""))
		dockerArgs()
	})

	t.Run("usage errors and help", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
		err := runCommand(t, d, "run", "--no-such-flag", host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, "unknown flag: --no-such-flag"))
		assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 125))
		err = runCommand(t, d, "run", "--rm")
		assert.Check(t, is.ErrorContains(err, "require at least 1 argument"))
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
		assert.NilError(t, runCommand(t, d, "run", "--help"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "--add-host"), "docker's flags are in the help")
		assert.Check(t, is.Contains(cli.OutBuf.String(), "--require"))
		assert.Check(t, is.Len(dockerArgs(), 0))
	})
}
