package plugin

import (
	"context"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

func TestPullArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "all with tag", args: []string{"pull", "-a", "myreg.azurecr.io/app:v1"}, wantErr: "tag can't be used with --all-tags/-a"},
		{name: "all without trust", args: []string{"pull", "-a", "--disable-content-trust", "myreg.azurecr.io/app"}, wantErr: "--all-tags needs content trust"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), nil)
			eng := &cmdtest.FakeEngine{}
			d.Engine = eng
			assert.ErrorContains(t, runCommand(t, d, tc.args...), tc.wantErr)
			assert.Check(t, is.Len(eng.Pulled, 0))
		})
	}
}

// signedSandbox starts a sandbox where app:v1 and app:v2 are signed and
// app:dev is pushed unsigned.
func signedSandbox(t *testing.T) (sb *sandbox.Sandbox, signed map[string]string) {
	t.Helper()
	sb = cmdtest.StartSandbox(t)
	ctx := context.Background()
	signed = map[string]string{}
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	for _, tag := range []string{"v1", "v2"} {
		desc, err := sb.PushRandomImage(ctx, "app", tag)
		assert.NilError(t, err)
		signed[tag] = desc.Digest.String()
		assert.NilError(t, runCommand(t, d, "push", sb.Host()+"/app:"+tag))
	}
	_, err := sb.PushRandomImage(ctx, "app", "dev")
	assert.NilError(t, err)
	_, err = sb.PushRandomImage(ctx, "plain", "v1")
	assert.NilError(t, err)
	return sb, signed
}

func TestPullResolvesFromTrustData(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, signed := signedSandbox(t)
	host := sb.Host()

	t.Run("signed tag is pulled by digest and tagged", func(t *testing.T) {
		d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "pull", host+"/app:v1"))
		byDigest := host + "/app@" + signed["v1"]
		assert.DeepEqual(t, eng.Pulled, []string{byDigest})
		assert.DeepEqual(t, eng.Tagged, [][2]string{{byDigest, host + "/app:v1"}})
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Pull (1 of 1): "+host+"/app:v1@"+signed["v1"]+"\n"))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "Tagging "+host+"/app@"+signed["v1"]+" as "+host+"/app:v1\n"))
		lines := strings.Split(strings.TrimSpace(cli.OutBuf.String()), "\n")
		assert.Equal(t, lines[len(lines)-1], host+"/app:v1")
	})

	t.Run("all signed tags", func(t *testing.T) {
		d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "pull", "-a", host+"/app"))
		assert.DeepEqual(t, eng.Pulled, []string{host + "/app@" + signed["v1"], host + "/app@" + signed["v2"]})
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Pull (2 of 2): "+host+"/app:v2@"))
		assert.Check(t, !strings.Contains(cli.OutBuf.String(), ":dev"), "unsigned tags are not pulled")
	})

	t.Run("quiet prints only the reference", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "pull", "-q", host+"/app:v2"))
		assert.Equal(t, cli.OutBuf.String(), host+"/app:v2\n")
	})

	t.Run("digest reference is pulled as it is, without trust lookups", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		sb.ResetStats()
		ref := host + "/app@" + signed["v2"]
		assert.NilError(t, runCommand(t, d, "pull", ref))
		assert.DeepEqual(t, eng.Pulled, []string{ref})
		assert.Equal(t, sb.Stats().TrustRequests, 0)
	})

	t.Run("unsigned tag fails and nothing is pulled", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "pull", host+"/app:dev")
		assert.ErrorContains(t, err, "No valid trust data for dev")
		assert.ErrorContains(t, err, "nothing was pulled")
		assert.Check(t, is.Len(eng.Pulled, 0))
		assert.Check(t, is.Len(eng.Tagged, 0))
	})

	t.Run("repository without trust data fails and nothing is pulled", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "pull", host+"/plain:v1")
		assert.ErrorContains(t, err, "remote trust data does not exist for "+host+"/plain")
		assert.Check(t, is.Len(eng.Pulled, 0))
		err = runCommand(t, d, "pull", "-a", host+"/plain")
		assert.ErrorContains(t, err, "remote trust data does not exist for "+host+"/plain")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("content trust off pulls the tag with a warning", func(t *testing.T) {
		d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"DOCKER_CONTENT_TRUST": "0"})
		assert.NilError(t, runCommand(t, d, "pull", host+"/app:dev"))
		assert.DeepEqual(t, eng.Pulled, []string{host + "/app:dev"})
		// It names the variable that turned trust off (issue 17).
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "WARNING: content trust is disabled by DOCKER_CONTENT_TRUST=0: "+host+"/app:dev is pulled without verifying its signature\n"))
	})

	t.Run("flag turns trust back on over the environment", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"DOCKER_CONTENT_TRUST": "false"})
		err := runCommand(t, d, "pull", "--disable-content-trust=false", host+"/app:dev")
		assert.ErrorContains(t, err, "No valid trust data for dev")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("unreachable trust server", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"DOCKER_CONTENT_TRUST_SERVER": "https://127.0.0.1:1"})
		err := runCommand(t, d, "pull", host+"/app:v1")
		assert.ErrorContains(t, err, "Error: error contacting notary server")
		assert.ErrorContains(t, err, "https://127.0.0.1:1 (from DOCKER_CONTENT_TRUST_SERVER)")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("trust server over http is refused", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"DOCKER_CONTENT_TRUST_SERVER": "http://" + host})
		err := runCommand(t, d, "pull", host+"/app:v1")
		assert.ErrorContains(t, err, "valid https URL required for trust server, got http://"+host)
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("no credentials", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, "", nil)
		err := runCommand(t, d, "pull", host+"/app:v1")
		assert.ErrorContains(t, err, "401")
		assert.ErrorContains(t, err, "docker login "+host)
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("untrusted CA", func(t *testing.T) {
		cli := cmdtest.NewFakeCLI(t, "")
		cli.Login(host, sandbox.UserPull, sandbox.Password)
		d := cmdtest.NewTestDeps(t, cli, nil) // sandbox CA not installed
		eng := &cmdtest.FakeEngine{}
		d.Engine = eng
		err := runCommand(t, d, "pull", host+"/app:v1")
		assert.ErrorContains(t, err, "certificate")
		assert.ErrorContains(t, err, "/tls/"+host+"/ca.crt")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})
}

func TestPullWarmResolutionIsCheap(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, _ := signedSandbox(t)
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "pull", sb.Host()+"/app:v1"))

	// A second process with the same cache: the TUF chain is verified from
	// cache plus a fresh timestamp.
	cli2 := cmdtest.NewFakeCLI(t, "")
	cli2.Cfg = d.CLI.ConfigFile()
	d2 := cmdtest.NewTestDeps(t, cli2, nil)
	d2.ConfigDir, d2.Engine = d.ConfigDir, &cmdtest.FakeEngine{}
	sb.ResetStats()
	assert.NilError(t, runCommand(t, d2, "pull", sb.Host()+"/app:v1"))
	st := sb.Stats()
	t.Logf("warm resolution: %d trust requests, %d token requests, %d HTTP requests in all", st.TrustRequests, st.TokenRequests, d2.Audit.Requests())
	assert.Check(t, st.TrustRequests <= 2, "warm resolution fetched %d pieces of trust metadata", st.TrustRequests)
	// A 401 challenge, one token, the timestamp: Docker 28 needed a ping more.
	assert.Check(t, d2.Audit.Requests() <= 3, "warm resolution sent %d HTTP requests", d2.Audit.Requests())
}
