package plugin

import (
	"context"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

const (
	testRootPass = "root-passphrase-1"
	testRepoPass = "repo-passphrase-1"
)

// passphraseEnv is the environment of a pipeline that signs.
func passphraseEnv() map[string]string {
	return map[string]string{
		"DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE":       testRootPass,
		"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": testRepoPass,
	}
}

// startSandbox starts the in-process ACR-like stack for one test.
func startSandbox(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox (run without -short)")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// sandboxDeps returns deps logged in to sb as user, with sb's CA trusted,
// a fake engine, and the real trust and registry clients.
func sandboxDeps(t testing.TB, sb *sandbox.Sandbox, user string, env map[string]string) (*deps, *fakeCLI, *fakeEngine) {
	t.Helper()
	cli := newFakeCLI(t, "")
	if user != "" {
		cli.login(sb.Host(), user, sandbox.Password)
	}
	d := newTestDeps(t, cli, env)
	assert.NilError(t, sb.InstallCA(d.configDir))
	eng := &fakeEngine{}
	d.engine = eng
	return d, cli, eng
}

// independentResolve reads tag's signed target with a fresh notary client
// and an empty cache, as a consumer on another machine would.
func independentResolve(t *testing.T, sb *sandbox.Sandbox, image string) (trust.Target, error) {
	t.Helper()
	d, _, _ := sandboxDeps(t, sb, sandbox.UserPull, nil)
	d.init()
	ref, err := trust.ParseRef(image)
	assert.NilError(t, err)
	repo, err := d.openRepo(context.Background(), ref, false)
	assert.NilError(t, err)
	return trust.Resolve(context.Background(), repo, ref.Tag)
}
