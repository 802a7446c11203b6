package plugin

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"gotest.tools/v3/assert"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// writeCredentialHelper installs docker-credential-acrtest on PATH, answering
// "get" with the given username and secret, as credential helpers (and the
// one `az acr login` may configure) do.
func writeCredentialHelper(t *testing.T, username, secret string) {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\nprintf '{\"ServerURL\":\"%%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}' \"$server\"\n", username, secret)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "docker-credential-acrtest"), []byte(script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestCredentialSources(t *testing.T) {
	sb, signed := signedSandbox(t)
	image := sb.Host() + "/app:v1"
	tests := []struct {
		name  string
		setup func(t *testing.T, cli *cmdtest.FakeCLI)
	}{
		{name: "username and password in config.json", setup: func(_ *testing.T, cli *cmdtest.FakeCLI) {
			cli.Login(sb.Host(), sandbox.UserPull, sandbox.Password)
		}},
		{name: "identity token in config.json (az acr login)", setup: func(_ *testing.T, cli *cmdtest.FakeCLI) {
			cli.LoginIdentityToken(sb.Host(), sb.IdentityToken())
		}},
		{name: "az acr login user with the token as password", setup: func(_ *testing.T, cli *cmdtest.FakeCLI) {
			cli.Login(sb.Host(), sandbox.IdentityTokenUser, sb.IdentityToken())
		}},
		{name: "credential store helper", setup: func(t *testing.T, cli *cmdtest.FakeCLI) {
			writeCredentialHelper(t, sandbox.UserPull, sandbox.Password)
			cli.Cfg.CredentialsStore = "acrtest"
		}},
		{name: "per-registry credential helper with identity token", setup: func(t *testing.T, cli *cmdtest.FakeCLI) {
			// "<token>" as the username means the secret is an identity token.
			writeCredentialHelper(t, "<token>", sb.IdentityToken())
			cli.Cfg.CredentialHelpers = map[string]string{sb.Host(): "acrtest"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, cli, eng := cmdtest.SandboxDeps(t, sb, "", nil)
			tc.setup(t, cli)
			assert.NilError(t, runCommand(t, d, "pull", image))
			assert.DeepEqual(t, eng.Pulled, []string{sb.Host() + "/app@" + signed["v1"]})
		})
	}
}
