package plugin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"github.com/docker/cli/cli"
	"github.com/opencontainers/go-digest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

func TestPushArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		code    int
	}{
		{name: "digest reference", args: []string{"push", "myreg.azurecr.io/app@sha256:" + strings.Repeat("a", 64)}, wantErr: "cannot push a digest reference", code: 1},
		{name: "no argument", args: []string{"push"}, wantErr: "requires 1 argument", code: 125},
		{name: "unknown flag", args: []string{"push", "--nope", "x"}, wantErr: "unknown flag: --nope", code: 125},
		{name: "bad reference", args: []string{"push", "Bad:Ref:x"}, wantErr: "parsing reference", code: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), nil)
			eng := &cmdtest.FakeEngine{}
			d.Engine, d.Registry = eng, cmdtest.FakeRegistry{}
			err := runCommand(t, d, tc.args...)
			assert.ErrorContains(t, err, tc.wantErr)
			var st cli.StatusError
			if tc.code != 0 {
				assert.Assert(t, errors.As(err, &st))
				assert.Equal(t, st.StatusCode, tc.code)
			}
			assert.Check(t, is.Len(eng.Pushed, 0), "nothing may be pushed on bad input")
		})
	}
}

func TestPushDisabledContentTrustWarns(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		by   string // what the warning names as having turned trust off
	}{
		{name: "flag", args: []string{"push", "--disable-content-trust", "myreg.azurecr.io/app:v1"}, by: "--disable-content-trust"},
		{name: "environment 0", env: map[string]string{"DOCKER_CONTENT_TRUST": "0"}, args: []string{"push", "myreg.azurecr.io/app:v1"}, by: "DOCKER_CONTENT_TRUST=0"},
		{name: "environment false", env: map[string]string{"DOCKER_CONTENT_TRUST": "false"}, args: []string{"push", "myreg.azurecr.io/app:v1"}, by: "DOCKER_CONTENT_TRUST=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, tc.env)
			eng := &cmdtest.FakeEngine{}
			d.Engine, d.Registry = eng, cmdtest.FakeRegistry{} // the registry would fail: nothing may be signed
			assert.NilError(t, runCommand(t, d, tc.args...))
			assert.DeepEqual(t, eng.Pushed, []string{"myreg.azurecr.io/app:v1"})
			assert.Check(t, is.Contains(cli.ErrBuf.String(), "WARNING: content trust is disabled by "+tc.by+": myreg.azurecr.io/app:v1 was pushed without a signature\n"))
			assert.Check(t, !strings.Contains(cli.OutBuf.String(), "Signing"))
		})
	}
}

func TestPushDefaultsToLatest(t *testing.T) {
	cli := cmdtest.NewFakeCLI(t, "")
	d := cmdtest.NewTestDeps(t, cli, nil)
	eng := &cmdtest.FakeEngine{}
	d.Engine = eng
	_ = runCommand(t, d, "push", "--disable-content-trust", "myreg.azurecr.io/app")
	assert.DeepEqual(t, eng.Pushed, []string{"myreg.azurecr.io/app:latest"})
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Using default tag: latest"))
}

func TestPushSignsWhatTheRegistryServes(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	desc, err := sb.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)
	d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	image := sb.Host() + "/app:v1"

	assert.NilError(t, runCommand(t, d, "push", image))

	assert.DeepEqual(t, eng.Pushed, []string{image})
	out := cli.OutBuf.String()
	assert.Check(t, is.Contains(out, "Signing and pushing trust metadata\n"))
	assert.Check(t, is.Contains(out, `Finished initializing "`+sb.Host()+`/app"`+"\n"))
	assert.Check(t, is.Contains(out, "Successfully signed "+image+"\n"))

	got, err := cmdtest.IndependentResolve(t, sb, image)
	assert.NilError(t, err)
	assert.Equal(t, got.Digest, desc.Digest)
	assert.Equal(t, got.Size, desc.Size)

	// Root and repository keys, Docker's layout and modes.
	priv := filepath.Join(d.ConfigDir, "trust", "private")
	st, err := os.Stat(priv)
	assert.NilError(t, err)
	assert.Equal(t, st.Mode().Perm(), os.FileMode(0o700))
	keys, err := filepath.Glob(filepath.Join(priv, "*.key"))
	assert.NilError(t, err)
	assert.Equal(t, len(keys), 2, "a root key and a repository key")
	for _, k := range keys {
		st, err := os.Stat(k)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(st.Mode().Perm(), os.FileMode(0o600)), k)
		pem, err := os.ReadFile(k)
		assert.NilError(t, err)
		assert.Check(t, is.Contains(string(pem), "ENCRYPTED PRIVATE KEY"), k)
		assert.Check(t, !strings.Contains(string(pem), cmdtest.TestRepoPass) && !strings.Contains(string(pem), cmdtest.TestRootPass))
	}
	assert.Check(t, !strings.Contains(out+cli.ErrBuf.String(), cmdtest.TestRepoPass), "passphrase leaked to output")
}

func TestPushLaterNeedsOnlyRepositoryPassphrase(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	_, err := sb.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, d, "push", sb.Host()+"/app:v1"))

	// Same DOCKER_CONFIG, a new process that knows only the repository passphrase.
	desc2, err := sb.PushRandomImage(ctx, "app", "v2")
	assert.NilError(t, err)
	cli2 := cmdtest.NewFakeCLI(t, "")
	cli2.Cfg = d.CLI.ConfigFile()
	d2 := cmdtest.NewTestDeps(t, cli2, map[string]string{"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": cmdtest.TestRepoPass})
	d2.ConfigDir, d2.Engine = d.ConfigDir, &cmdtest.FakeEngine{}
	assert.NilError(t, runCommand(t, d2, "push", sb.Host()+"/app:v2"))
	assert.Check(t, !strings.Contains(cli2.OutBuf.String(), "Finished initializing"))
	got, err := cmdtest.IndependentResolve(t, sb, sb.Host()+"/app:v2")
	assert.NilError(t, err)
	assert.Equal(t, got.Digest, desc2.Digest)
}

func TestPushFailsClosed(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	_, err := sb.PushRandomImage(context.Background(), "app", "v1")
	assert.NilError(t, err)
	image := sb.Host() + "/app:v1"

	t.Run("no passphrase source", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, nil)
		err := runCommand(t, d, "push", image)
		assert.ErrorContains(t, err, image+" was pushed to the registry but is NOT signed")
		assert.ErrorContains(t, err, "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE")
		var st cli.StatusError
		assert.Assert(t, errors.As(err, &st))
		assert.Equal(t, st.StatusCode, 1)
		assert.Equal(t, len(eng.Pushed), 1)
		_, rerr := cmdtest.IndependentResolve(t, sb, image)
		assert.ErrorContains(t, rerr, "remote trust data does not exist")
	})

	t.Run("admin account cannot sign", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserAdmin, cmdtest.PassphraseEnv())
		err := runCommand(t, d, "push", image)
		assert.ErrorContains(t, err, "NOT signed")
		assert.ErrorContains(t, err, "AcrImageSigner")
	})

	t.Run("engine pushed another digest than the registry serves", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
		eng.Reported = digest.FromString("something else").String()
		err := runCommand(t, d, "push", image)
		assert.ErrorContains(t, err, "the tag changed in between, so it was not signed")
	})
}

func TestPushWrongRepositoryPassphraseNamesTheKey(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	_, err := sb.PushRandomImage(context.Background(), "app", "v1")
	assert.NilError(t, err)
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, d, "push", sb.Host()+"/app:v1"))

	cli2 := cmdtest.NewFakeCLI(t, "")
	cli2.Cfg = d.CLI.ConfigFile()
	d2 := cmdtest.NewTestDeps(t, cli2, map[string]string{"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "not-the-passphrase"})
	d2.ConfigDir, d2.Engine = d.ConfigDir, &cmdtest.FakeEngine{}
	_, err = sb.PushRandomImage(context.Background(), "app", "v2")
	assert.NilError(t, err)
	err = runCommand(t, d2, "push", sb.Host()+"/app:v2")
	assert.ErrorContains(t, err, "NOT signed")
	assert.ErrorContains(t, err, "the passphrase in DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE does not decrypt the targets key")
	assert.Check(t, !strings.Contains(err.Error(), "not-the-passphrase"))
}

func TestPushWithIdentityToken(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	desc, err := sb.PushRandomImage(context.Background(), "app", "v1")
	assert.NilError(t, err)
	cli := cmdtest.NewFakeCLI(t, "")
	cli.LoginIdentityToken(sb.Host(), sb.IdentityToken())
	d := cmdtest.NewTestDeps(t, cli, cmdtest.PassphraseEnv())
	assert.NilError(t, sb.InstallCA(d.ConfigDir))
	d.Engine = &cmdtest.FakeEngine{}
	assert.NilError(t, runCommand(t, d, "push", sb.Host()+"/app:v1"))
	got, err := cmdtest.IndependentResolve(t, sb, sb.Host()+"/app:v1")
	assert.NilError(t, err)
	assert.Equal(t, got.Digest, desc.Digest)
}
