package plugin

import (
	"context"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// signedApp pushes and signs app:v1 and app:v2 and returns the publisher's deps.
func signedApp(t *testing.T, sb *sandbox.Sandbox) *cmdutil.Deps {
	t.Helper()
	cmdtest.PushImages(t, sb, "app", "v1", "v2")
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, d, "sign", sb.Host()+"/app:v1", sb.Host()+"/app:v2"))
	return d
}

func TestRevokeOneTag(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	d, cli := cmdtest.SameMachine(t, signedApp(t, sb))

	assert.NilError(t, runCommand(t, d, "revoke", host+"/app:v1"))
	assert.Equal(t, cli.OutBuf.String(), "Successfully deleted signature for "+host+"/app:v1\n")

	_, err := cmdtest.IndependentResolve(t, sb, host+"/app:v1")
	assert.Check(t, is.Equal(trust.KindOf(err), trust.KindNotSigned), "v1 no longer pulls: %v", err)
	_, err = cmdtest.IndependentResolve(t, sb, host+"/app:v2")
	assert.Check(t, err, "v2 is untouched")
}

func TestRevokeAll(t *testing.T) {
	t.Parallel() // it owns its sandbox
	for _, tc := range []struct {
		name     string
		args     []string
		terminal bool
		stdin    string
		revoked  bool
		wantErr  string
		wantOut  string
	}{
		{name: "with -y", args: []string{"-y"}, revoked: true},
		{name: "confirmed", terminal: true, stdin: "y\n", revoked: true},
		{name: "declined", terminal: true, stdin: "n\n"},
		{name: "empty answer is no", terminal: true, stdin: "\n"},
		{name: "stdin not a terminal", stdin: "y\n", wantErr: "needs a confirmation, and stdin is not a terminal to ask for one\nPass -y to go ahead without a prompt."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := cmdtest.StartSandbox(t)
			host := sb.Host()
			publisher := signedApp(t, sb)
			d, _ := cmdtest.SameMachine(t, publisher)
			cli := cmdtest.NewFakeCLI(t, tc.stdin)
			cli.Cfg = d.CLI.ConfigFile()
			cli.Stdin.SetIsTerminal(tc.terminal)
			d.CLI = cli

			sb.ResetStats()
			err := runCommand(t, d, append([]string{"revoke"}, append(tc.args, host+"/app")...)...)
			prompt := "Confirm you would like to delete all signature data for " + host + "/app? [y/N] "
			switch {
			case tc.wantErr != "":
				assert.Check(t, is.ErrorContains(err, tc.wantErr))
				assert.Check(t, is.ErrorContains(err, "Pass -y to go ahead without a prompt."))
				assert.Check(t, !strings.Contains(cli.OutBuf.String(), "Confirm"), "no question nobody can answer")
			case tc.terminal:
				assert.NilError(t, err)
				assert.Check(t, strings.HasPrefix(cli.OutBuf.String(), prompt), cli.OutBuf.String())
			default:
				assert.NilError(t, err)
			}

			all, rerr := trust.ResolveAll(context.Background(), independentRepo(t, sb, "app"))
			if tc.revoked {
				assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully deleted signature for "+host+"/app\n"))
				assert.Check(t, is.Equal(trust.KindOf(rerr), trust.KindNotSigned), "nothing signed is left: %v", all)
				assert.Check(t, is.Equal(sb.Stats().Publishes, 1), "every tag in one publish")
			} else {
				assert.NilError(t, rerr)
				assert.Check(t, is.Len(all, 2), "nothing was revoked")
				assert.Check(t, is.Equal(sb.Stats().Publishes, 0))
			}
		})
	}
}

func TestRevokeErrors(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	publisher := signedApp(t, sb)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "unsigned tag", args: []string{host + "/app:v9"}, wantErr: "could not remove signature for " + host + "/app:v9: No valid trust data for v9"},
		{name: "digest", args: []string{host + "/app@sha256:" + strings.Repeat("a", 64)}, wantErr: "cannot use a digest reference for IMAGE:TAG"},
		{name: "no trust data", args: []string{"-y", host + "/plain"}, wantErr: "could not remove signature for " + host + "/plain: Error: remote trust data does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := cmdtest.SameMachine(t, publisher)
			err := runCommand(t, d, append([]string{"revoke"}, tc.args...)...)
			assert.Check(t, is.ErrorContains(err, tc.wantErr))
			assert.Check(t, is.Equal(exitCode(t, err), 1))
		})
	}
}
