package plugin

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// TestWarmPullAsksNoToken: the token of one command serves the next (the
// token cache under DOCKER_CONFIG): a warm trusted resolution makes one
// request to the trust server and none to the token service.
// ACRTRUST_NO_TOKEN_CACHE=1 keeps nothing on disk.
func TestWarmPullAsksNoToken(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	assert.NilError(t, sb.Seed(t.Context(), []sandbox.SeedRepo{{Name: "app", Signed: []string{"v1"}}}, 1))
	ref := sb.Host() + "/app:v1"
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "resolve", ref)) // cold
	again := func(env map[string]string) sandbox.Stats {
		t.Helper()
		next, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, env)
		next.ConfigDir = d.ConfigDir
		sb.ResetStats()
		assert.NilError(t, runCommand(t, next, "resolve", ref))
		return sb.Stats()
	}
	st := again(nil)
	assert.Check(t, is.Equal(st.TrustRequests, 1), "the timestamp only")
	assert.Check(t, is.Equal(st.TokenRequests, 0))

	st = again(map[string]string{"ACRTRUST_NO_TOKEN_CACHE": "1"})
	assert.Check(t, is.Equal(st.TokenRequests, 1))

	off, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_NO_TOKEN_CACHE": "1"})
	assert.NilError(t, runCommand(t, off, "resolve", ref))
	_, err := os.Stat(off.TokenCacheDir())
	assert.Check(t, os.IsNotExist(err), "nothing kept: %v", err)
}

// TestMaxRetryWaitInput: a wait that is no duration is a usage error that
// names where it came from.
func TestMaxRetryWaitInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "variable", env: map[string]string{"ACRTRUST_MAX_RETRY_WAIT": "soon"}, want: `ACRTRUST_MAX_RETRY_WAIT: "soon" is not a wait: want a duration such as 90s or 5m`},
		{name: "flag", args: []string{"--max-retry-wait", "-1s"}, want: `"-1s" is not a wait`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), tc.env)
			err := runCommand(t, d, append(tc.args, "resolve", "127.0.0.1:1/app:v1")...)
			assert.Check(t, is.ErrorContains(err, tc.want))
			assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), cmdutil.ExitUsage))
		})
	}
}

// TestThrottledRemedyNamesWhatExists: the throttling remedy names
// --parallel only for a command that has it, names the SKU check on ACR,
// and every flag it names exists on the command that failed.
func TestThrottledRemedyNamesWhatExists(t *testing.T) {
	t.Parallel()
	re := &trust.RetryError{Host: "myreg.azurecr.io", Status: 429, Bound: time.Minute}
	for _, tc := range []struct {
		command  string
		parallel int
		want     string
	}{
		{command: "audit", parallel: 8, want: "Lower --parallel (it was 8)"},
		{command: "migrate", parallel: 4, want: "Lower --parallel (it was 4)"},
		{command: "pull", want: "Run it again in a minute or two"},
	} {
		t.Run(tc.command, func(t *testing.T) {
			d := cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), nil)
			d.Init()
			d.Parallel = tc.parallel
			r := d.ThrottledRemedy(re)
			assert.Check(t, is.Contains(r, "myreg.azurecr.io is throttling requests (429 Too Many Requests): this is not a login, role or certificate problem."))
			assert.Check(t, is.Contains(r, "`az acr show --name myreg --query sku.name`"))
			assert.Check(t, is.Contains(r, tc.want))
			assert.Check(t, is.Contains(r, "--max-retry-wait (it was 1m0s; also ACRTRUST_MAX_RETRY_WAIT)"))
			if tc.parallel == 0 {
				assert.Check(t, !strings.Contains(r, "--parallel"))
			}
			assertRemedyNamesExist(t, r, tc.command)
		})
	}
}

// TestSignManyTagsThrottled: signing many tags while the registry answers
// 429 above 10 requests a second: the digest lookups slow down and wait as
// asked, every tag is signed with the digest the registry serves, and the
// cost is reported. Not in parallel: the lookups must come faster than 10
// a second for the rate to be reached.
func TestSignManyTagsThrottled(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	var tags, args []string
	for i := range 30 {
		tags = append(tags, fmt.Sprintf("t%02d", i))
		args = append(args, fmt.Sprintf("%s/app:t%02d", sb.Host(), i))
	}
	pushed := cmdtest.PushImages(t, sb, "app", tags...)
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	sb.SetNetwork(sandbox.Network{Rate: 10, Throttle: sandbox.ThrottleRegistry})
	assert.NilError(t, runCommand(t, d, append([]string{"sign"}, args...)...), cli.ErrBuf.String())
	assert.Check(t, sb.Throttled() > 0, "the rate was reached")
	assert.Check(t, is.Contains(cli.ErrBuf.String(), "Throttled: the registry answered 429 to "))
	sb.SetNetwork(sandbox.Network{})
	for _, tag := range []string{"t00", "t29"} {
		got, err := cmdtest.IndependentResolve(t, sb, sb.Host()+"/app:"+tag)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got.Digest, pushed[tag].Digest), tag)
	}
}
