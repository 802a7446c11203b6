package cmdtest

import (
	"context"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"gotest.tools/v3/assert"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

const (
	TestRootPass = "root-passphrase-1"
	TestRepoPass = "repo-passphrase-1"
)

// PassphraseEnv is the environment of a pipeline that signs.
func PassphraseEnv() map[string]string {
	return map[string]string{
		"DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE":       TestRootPass,
		"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": TestRepoPass,
	}
}

// StartSandbox starts the in-process ACR-like stack for one test.
func StartSandbox(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox (run without -short)")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// SandboxDeps returns deps logged in to sb as user, with sb's CA trusted,
// a fake engine, and the real trust and registry clients.
func SandboxDeps(t testing.TB, sb *sandbox.Sandbox, user string, env map[string]string) (*cmdutil.Deps, *FakeCLI, *FakeEngine) {
	t.Helper()
	cli := NewFakeCLI(t, "")
	if user != "" {
		cli.Login(sb.Host(), user, sandbox.Password)
	}
	d := NewTestDeps(t, cli, env)
	assert.NilError(t, sb.InstallCA(d.ConfigDir))
	eng := &FakeEngine{}
	d.Engine = eng
	return d, cli, eng
}

// IndependentResolve reads tag's signed target with a fresh notary client
// and an empty cache, as a consumer on another machine would.
func IndependentResolve(t *testing.T, sb *sandbox.Sandbox, image string) (trust.Target, error) {
	t.Helper()
	d, _, _ := SandboxDeps(t, sb, sandbox.UserPull, nil)
	d.Init()
	ref, err := trust.ParseRef(image)
	assert.NilError(t, err)
	repo, err := d.OpenRepo(context.Background(), ref, false)
	assert.NilError(t, err)
	return trust.Resolve(context.Background(), repo, ref.Tag)
}

// PushImages pushes a random image to repo in sb under each tag, and
// returns what was pushed by tag.
func PushImages(t testing.TB, sb *sandbox.Sandbox, repo string, tags ...string) map[string]ocispec.Descriptor {
	t.Helper()
	out := map[string]ocispec.Descriptor{}
	for _, tag := range tags {
		desc, err := sb.PushRandomImage(context.Background(), repo, tag)
		assert.NilError(t, err)
		out[tag] = desc
	}
	return out
}

// OtherProcess is another run of the plugin on d's machine: the same
// logins and DOCKER_CONFIG directory (keys, trust cache), env as its
// environment, and an engine of its own.
func OtherProcess(t testing.TB, d *cmdutil.Deps, env map[string]string) (*cmdutil.Deps, *FakeCLI, *FakeEngine) {
	t.Helper()
	cli := NewFakeCLI(t, "")
	for host, ac := range d.CLI.ConfigFile().AuthConfigs {
		cli.Cfg.AuthConfigs[host] = ac
	}
	next := NewTestDeps(t, cli, env)
	next.ConfigDir = d.ConfigDir
	eng := &FakeEngine{}
	next.Engine = eng
	return next, cli, eng
}

// SameMachine is the next run of the plugin where d ran: OtherProcess
// with d's environment and engine.
func SameMachine(t testing.TB, d *cmdutil.Deps) (*cmdutil.Deps, *FakeCLI) {
	t.Helper()
	next, cli, _ := OtherProcess(t, d, nil)
	next.Getenv, next.Engine = d.Getenv, d.Engine
	return next, cli
}
