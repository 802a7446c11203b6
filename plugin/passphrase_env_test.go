package plugin

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// TestShortEnvPassphrasesSignAndWarn: Docker took passphrases from
// DOCKER_CONTENT_TRUST_*_PASSPHRASE whatever their length, so a pipeline
// with short ones still signs; each new key made with one is named in a
// warning with the variable and the fix, and keys that exist open without
// one (issue 17; docs/acr.md says what the minimum applies to).
func TestShortEnvPassphrasesSignAndWarn(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	for _, tag := range []string{"v1", "v2"} {
		_, err := sb.PushRandomImage(context.Background(), "app", tag)
		assert.NilError(t, err)
	}
	env := map[string]string{
		"DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE":       "rootpw",
		"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "repopw",
	}
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, env)
	assert.NilError(t, runCommand(t, d, "sign", host+"/app:v1"), cli.ErrBuf.String())
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+host+"/app:v1"))
	stderr := cli.ErrBuf.String()
	for role, variable := range map[string]string{"root": "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "targets": "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"} {
		warning := regexp.MustCompile(`WARNING: the passphrase in ` + variable + ` is shorter than 8 characters; the new ` + role +
			" key ([0-9a-f]{7}) is protected by it all the same, as Docker did. The terminal and --passphrase-stdin ask for at least 8: " +
			"give the key a longer one with `docker acrtrust key passwd ([0-9a-f]{7})`, then set " + variable + " to it.\n")
		m := warning.FindAllStringSubmatch(stderr, -1)
		assert.Check(t, is.Len(m, 1), "%s key:\n%s", role, stderr)
		if len(m) == 1 {
			assert.Check(t, is.Equal(m[0][1], m[0][2]))
		}
	}

	// The keys exist now: the same short passphrases open them, unremarked.
	next := cmdtest.NewFakeCLI(t, "")
	next.Cfg = cli.Cfg
	d2 := cmdtest.NewTestDeps(t, next, env)
	d2.ConfigDir = d.ConfigDir
	assert.NilError(t, runCommand(t, d2, "sign", host+"/app:v2"), next.ErrBuf.String())
	assert.Check(t, is.Contains(next.OutBuf.String(), "Successfully signed "+host+"/app:v2"))
	assert.Check(t, !strings.Contains(next.ErrBuf.String(), "WARNING"), next.ErrBuf.String())
}
