package plugin

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli/context/docker"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// engineCLI is a fakeCLI whose docker client talks to an engine address
// where nothing listens.
type engineCLI struct {
	*cmdtest.FakeCLI
	api  client.APIClient
	host string
}

func (c engineCLI) Client() client.APIClient { return c.api }
func (c engineCLI) DockerEndpoint() docker.Endpoint {
	return docker.Endpoint{EndpointMeta: docker.EndpointMeta{Host: c.host}}
}

// TestEveryStepExplained injects a failure at each step a command goes
// through (engine, registry, trust server, TLS, login, role) and checks the
// first line of the message, its remedy, and that the remedy names only
// commands and flags that exist.
func TestEveryStepExplained(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	host := sb.Host()
	for _, tag := range []string{"v1", "v2"} {
		_, err := sb.PushRandomImage(ctx, "app", tag)
		assert.NilError(t, err)
	}
	_, err := sb.PushRandomImage(ctx, "scoped/app", "v1")
	assert.NilError(t, err)
	publisher, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, publisher, "sign", host+"/app:v1", host+"/scoped/app:v1"))

	const deadEngine = "unix:///nonexistent/acrtrust-test/docker.sock"
	tests := []struct {
		name   string
		user   string
		env    map[string]string
		setup  func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI)
		args   []string
		first  string // in the first line
		remedy string // in the lines after it
	}{
		{
			name: "engine down", user: sandbox.UserPull,
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				api, err := client.New(client.WithHost(deadEngine))
				assert.NilError(t, err)
				d.CLI = engineCLI{FakeCLI: fc, api: api, host: deadEngine}
				d.Engine = cmdutil.DockerEngine{CLI: d.CLI}
			},
			args:   []string{"pull", host + "/app:v1"},
			first:  "failed to connect to the docker API at " + deadEngine,
			remedy: "The docker engine at " + deadEngine + " did not answer: start it, or point DOCKER_HOST (or `docker context use`) at one that runs.",
		},
		{
			name: "registry down", user: sandbox.UserSigner, env: cmdtest.PassphraseEnv(),
			args:   []string{"sign", "127.0.0.1:1/app:v1"},
			first:  "127.0.0.1:1/app",
			remedy: "Check that the registry 127.0.0.1:1 is reachable.",
		},
		{
			name: "trust server down", user: sandbox.UserPull, env: map[string]string{"DOCKER_CONTENT_TRUST_SERVER": "https://127.0.0.1:1"},
			args:   []string{"pull", host + "/app:v1"},
			first:  "Error: error contacting notary server: ",
			remedy: "Check that the trust server https://127.0.0.1:1 (from DOCKER_CONTENT_TRUST_SERVER) is reachable",
		},
		{
			name: "untrusted TLS",
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				fc.Login(host, sandbox.UserPull, sandbox.Password)
				d.ConfigDir = t.TempDir()
			},
			args:   []string{"resolve", host + "/app:v1"},
			first:  "x509: certificate signed by unknown authority",
			remedy: "The TLS certificate of " + host + ` is not trusted (issued by "acrtrust sandbox CA")`,
		},
		{
			name: "wrong login",
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				fc.Login(host, sandbox.UserPull, "wrong-password")
			},
			args:   []string{"pull", host + "/app:v1"},
			first:  "Error: error contacting notary server: ",
			remedy: host + ` refused the login "puller" itself: the password or token is wrong or has expired.`,
		},
		{
			name: "no AcrImageSigner", user: sandbox.UserPush, env: cmdtest.PassphraseEnv(),
			setup:  func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) { d.ConfigDir = publisher.ConfigDir }, // the keys are here
			args:   []string{"sign", host + "/app:v2"},
			first:  "failed to sign " + host + "/app:v2",
			remedy: host + ` let the login "pusher" read the trust data of ` + host + "/app but not write it, so it cannot sign.",
		},
		{
			name: "admin account", user: sandbox.UserAdmin, env: cmdtest.PassphraseEnv(),
			setup:  func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) { d.ConfigDir = publisher.ConfigDir },
			args:   []string{"sign", host + "/app:v2"},
			first:  "failed to sign " + host + "/app:v2",
			remedy: "but not write it, so it cannot sign.",
		},
		{
			name: "no AcrPush", user: sandbox.UserPull, env: cmdtest.PassphraseEnv(),
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				d.Engine = &cmdtest.FakeEngine{PushErr: errDenied}
			},
			args:   []string{"push", host + "/app:v2"},
			first:  "denied: requested access to the resource is denied",
			remedy: host + ` refused to let the login "puller" push to ` + host + "/app.",
		},
		{
			name: "repository-scoped token", user: sandbox.UserScoped,
			args:   []string{"pull", host + "/scoped/app:v1"},
			first:  "server returned 401",
			remedy: "a repository-scoped token cannot read trust data at all",
		},
		{
			name: "unsigned tag, resolve", user: sandbox.UserPull,
			args:   []string{"resolve", host + "/app:v2"},
			first:  "No valid trust data for v2",
			remedy: "resolve never gives an unverified digest. Ask the publisher to sign it (`docker acrtrust sign " + host + "/app:v2`)",
		},
		{
			name: "unsigned tag, pull", user: sandbox.UserPull,
			args:   []string{"pull", host + "/app:v2"},
			first:  "No valid trust data for v2",
			remedy: "or pull with --disable-content-trust to accept an unverified image",
		},
		{
			name: "tag that does not exist", user: sandbox.UserPull,
			args:   []string{"pull", host + "/app:v9"},
			first:  host + "/app:v9 does not exist: the registry has no such tag, and no signature names it",
			remedy: "`docker acrtrust verify " + host + "/app` lists the repository's tags",
		},
		{
			name: "no passphrases in a pipeline, first push of a repository", user: sandbox.UserSigner,
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				_, err := sb.PushRandomImage(ctx, "fresh", "v1")
				assert.NilError(t, err)
			},
			args:   []string{"push", host + "/fresh:v1"},
			first:  "failed to sign " + host + "/fresh:v1: a key passphrase is needed but stdin is not a terminal: set DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE",
			remedy: "In a pipeline, set them from the pipeline's secrets (docs/ci.md)",
		},
		{
			name: "no signing keys at all, first push", user: sandbox.UserSigner,
			args:   []string{"push", host + "/app:v2"},
			first:  host + "/app:v2 was pushed to the registry but is NOT signed: failed to sign " + host + "/app:v2: ",
			remedy: "Once the cause is fixed, sign what the registry now serves: `docker acrtrust sign " + host + "/app:v2`.",
		},
	}
	// Each service in turn keeps answering 429 (issue 20): the remedy says
	// throttling, never a login, role or certificate problem.
	throttled := func(throttle func(*http.Request) bool) func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
		return func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
			sb.SetNetwork(sandbox.Network{Throttle: throttle})
			t.Cleanup(func() { sb.SetNetwork(sandbox.Network{}) })
		}
	}
	quick := map[string]string{"ACRTRUST_MAX_RETRY_WAIT": "300ms"}
	throttling := host + " is throttling requests (429 Too Many Requests): this is not a login, role or certificate problem."
	tests = append(tests, []struct {
		name   string
		user   string
		env    map[string]string
		setup  func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI)
		args   []string
		first  string
		remedy string
	}{
		{
			name: "trust server throttling", user: sandbox.UserPull, env: quick, setup: throttled(sandbox.ThrottleTrust),
			args: []string{"pull", host + "/app:v1"}, first: "Error: " + host + " is throttling requests: giving up on GET " + host + "/v2/", remedy: throttling,
		},
		{
			name: "registry throttling", user: sandbox.UserSigner, env: quick, setup: throttled(sandbox.ThrottleRegistry),
			args: []string{"sign", host + "/app:v2"}, first: "429 Too Many Requests", remedy: throttling,
		},
		{
			name: "token service throttling", user: sandbox.UserPull, env: quick, setup: throttled(sandbox.ThrottleToken),
			args: []string{"resolve", host + "/app:v1"}, first: "is throttling requests: giving up on GET " + host + "/oauth2/token", remedy: throttling,
		},
	}...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, fc, _ := cmdtest.SandboxDeps(t, sb, tc.user, tc.env)
			if tc.setup != nil {
				tc.setup(t, d, fc)
			}
			err := runCommand(t, d, tc.args...)
			assert.Assert(t, err != nil)
			msg := err.Error()
			if tc.args[0] == "resolve" {
				msg = fc.ErrBuf.String() // one line per reference, then the count
			}
			first, rest, _ := strings.Cut(msg, "\n")
			assert.Check(t, is.Contains(first, tc.first))
			assert.Check(t, is.Contains(rest, tc.remedy))
			assertRemedyNamesExist(t, rest, tc.args[0])
		})
	}
}

// errDenied is dockerd's words for a push the registry refused.
var errDenied = &deniedError{}

type deniedError struct{}

func (*deniedError) Error() string { return "denied: requested access to the resource is denied" }

var (
	acrtrustCommand = regexp.MustCompile("`docker acrtrust ([^`]+)`")
	backticked      = regexp.MustCompile("`[^`]*`")
	bareFlag        = regexp.MustCompile(`(?:^|[\s(])(--[a-z][a-z-]*)`)
)

// assertRemedyNamesExist checks every `docker acrtrust ...` command in a
// remedy against the command tree (the command and each flag), and every
// other --flag against the command that failed.
func assertRemedyNamesExist(t *testing.T, remedy, failing string) {
	t.Helper()
	root := newRootCommand(cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), nil), "test")
	for _, m := range acrtrustCommand.FindAllStringSubmatch(remedy, -1) {
		cmd, rest := root, strings.Fields(m[1])
		for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			sub := findSub(cmd, rest[0])
			if sub == nil {
				break
			}
			cmd, rest = sub, rest[1:]
		}
		assert.Check(t, cmd != root, "%q names no command", m[0])
		for _, w := range rest {
			assertFlag(t, cmd, w, m[0])
		}
	}
	var others []string
	for _, line := range strings.Split(backticked.ReplaceAllString(remedy, ""), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "az ") {
			continue // az's own flags
		}
		others = append(others, line)
	}
	failed, _, err := root.Find(strings.Fields(failing))
	assert.NilError(t, err)
	for _, m := range bareFlag.FindAllStringSubmatch(strings.Join(others, "\n"), -1) {
		assertFlag(t, failed, m[1], "remedy of "+failing)
	}
}

func findSub(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

func assertFlag(t *testing.T, cmd *cobra.Command, word, where string) {
	t.Helper()
	switch {
	case strings.HasPrefix(word, "--"):
		name, _, _ := strings.Cut(strings.TrimPrefix(word, "--"), "=")
		assert.Check(t, cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil,
			"%s: %s has no flag --%s", where, cmd.CommandPath(), name)
	case strings.HasPrefix(word, "-") && len(word) == 2:
		assert.Check(t, cmd.Flags().ShorthandLookup(word[1:]) != nil, "%s: %s has no flag %s", where, cmd.CommandPath(), word)
	}
}
