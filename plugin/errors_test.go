package plugin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"

	"github.com/docker/cli/cli"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// What dockerd answers when a registry refuses a push or a pull.
var (
	engineAuthRequired = errors.New("unauthorized: authentication required")
	engineDeniedPush   = errors.New("denied: requested access to the resource is denied")
	enginePullDenied   = errors.New("Error response from daemon: pull access denied for myreg.azurecr.io/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied")
)

// identityTokenLogin stands for `az acr login` in the matrix: the identity
// token user of the sandbox.
const identityTokenLogin = "identity-token"

// TestErrorsNameTheFix runs each command as each sandbox identity and
// checks what the user reads: Docker's wording first, then what to do.
func TestErrorsNameTheFix(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	host := sb.Host()
	publisher, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	for _, repo := range []string{"app", "scoped/app"} {
		_, err := sb.PushRandomImage(ctx, repo, "v1")
		assert.NilError(t, err)
		assert.NilError(t, runCommand(t, publisher, "push", host+"/"+repo+":v1"))
	}

	const (
		noLogin        = "No login for " // + host
		writeRefused   = "but not write it, so it cannot sign. The login lacks the right to write trust data: on ACR, that is a missing AcrImageSigner role, or an admin account or a repository-scoped token, which cannot sign."
		readRefused    = "read access to the trust data of "
		scopedReadHint = "a repository-scoped token cannot read trust data at all, even where it may pull the image"
		pushRefused    = "refused to let "
		docker401      = "Error: you are not authorized to perform this operation: server returned 401."
	)
	// pushErr is what dockerd says when the identity may not push.
	pushErr := map[string]error{
		sandbox.UserPull: engineDeniedPush,
		"":               engineAuthRequired,
	}

	tests := []struct {
		user string
		repo string // "app" unless set
		// what the command's error must contain, in order; nil means success
		push, pull, resolve, verify []string
	}{
		{user: sandbox.UserSigner},
		{user: identityTokenLogin},
		{
			user: sandbox.UserPull,
			push: []string{"denied: requested access to the resource is denied", host + " " + pushRefused + `the login "puller" push to ` + host + "/app-puller", "(on ACR: the AcrPush role"},
		},
		{
			user: sandbox.UserPush,
			push: []string{"NOT signed", docker401, host + ` let the login "pusher" read the trust data of ` + host + "/app-pusher " + writeRefused},
		},
		{
			user: sandbox.UserAdmin,
			push: []string{"NOT signed", docker401, ` let the login "admin" read the trust data of ` + host + "/app-admin " + writeRefused},
		},
		{
			// A repository-scoped token may push and pull scoped/*, but
			// has no access to trust data at all (ACR's documented limitation).
			user: sandbox.UserScoped,
			repo: "scoped/app",
			push: []string{"NOT signed", docker401, ` refused the login "scoped-token" even ` + readRefused + host +
				"/scoped/app-scoped-token, so it cannot sign: it is a repository-scoped token, which cannot read or write trust data at all", "docker acrtrust doctor"},
			pull:    []string{docker401, `refused the login "scoped-token" ` + readRefused, scopedReadHint, "docker acrtrust doctor " + host + "/scoped/app:v1"},
			resolve: []string{docker401, readRefused, scopedReadHint},
			verify:  []string{docker401, readRefused, scopedReadHint},
		},
		{
			user:    "",
			push:    []string{"unauthorized: authentication required", noLogin + host, "docker login " + host},
			pull:    []string{docker401, noLogin + host, "docker login " + host},
			resolve: []string{docker401, noLogin + host},
			verify:  []string{docker401, noLogin + host},
		},
	}
	for _, tc := range tests {
		name := tc.user
		if name == "" {
			name = "no login"
		}
		t.Run(name, func(t *testing.T) {
			repo := "app"
			if tc.repo != "" {
				repo = tc.repo
			}
			run := func(t *testing.T, want []string, args ...string) {
				t.Helper()
				d, fc, eng := cmdtest.SandboxDeps(t, sb, "", cmdtest.PassphraseEnv())
				switch tc.user {
				case "":
				case identityTokenLogin:
					fc.LoginIdentityToken(host, sb.IdentityToken())
				default:
					fc.Login(host, tc.user, sandbox.Password)
				}
				eng.PushErr = pushErr[tc.user]
				err := runCommand(t, d, args...)
				msg := ""
				if err != nil {
					msg = err.Error()
				}
				msg += "\n" + fc.ErrBuf.String()
				if want == nil {
					assert.NilError(t, err, msg)
					return
				}
				assert.Assert(t, err != nil)
				var st cli.StatusError
				assert.Assert(t, errors.As(err, &st))
				assert.Check(t, is.Equal(st.StatusCode, cmdutil.ExitFailure))
				assertInOrder(t, msg, want)
			}
			t.Run("push", func(t *testing.T) {
				// A repository of its own, never signed: the push
				// initialises its trust data, which needs no key yet.
				fresh := repo + "-" + strings.ReplaceAll(name, " ", "-")
				_, err := sb.PushRandomImage(ctx, fresh, "v1")
				assert.NilError(t, err)
				run(t, tc.push, "push", host+"/"+fresh+":v1")
			})
			t.Run("pull", func(t *testing.T) { run(t, tc.pull, "pull", host+"/"+repo+":v1") })
			t.Run("resolve", func(t *testing.T) { run(t, tc.resolve, "resolve", host+"/"+repo+":v1") })
			t.Run("verify", func(t *testing.T) { run(t, tc.verify, "verify", host+"/"+repo+":v1") })
		})
	}
}

// assertInOrder checks that each of want appears in msg, after the previous one.
func assertInOrder(t *testing.T, msg string, want []string) {
	t.Helper()
	rest := msg
	for _, w := range want {
		i := strings.Index(rest, w)
		if !assert.Check(t, i >= 0, "missing %q (in order) in:\n%s", w, msg) {
			return
		}
		rest = rest[i+len(w):]
	}
}

func TestErrorsAfterLoginAndServerProblems(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	host := sb.Host()
	_, err := sb.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)
	publisher, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, publisher, "push", host+"/app:v1"))

	tests := []struct {
		name  string
		setup func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI)
		args  []string
		want  []string
	}{
		{
			name: "wrong password",
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				fc.Login(host, sandbox.UserPull, "not-the-password")
			},
			args: []string{"pull", host + "/app:v1"},
			want: []string{"Error: error contacting notary server: ", host + ` refused the login "puller" itself: the password or token is wrong or has expired.`, "docker login " + host},
		},
		{
			name: "expired identity token",
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				fc.LoginIdentityToken(host, "expired-refresh-token")
			},
			args: []string{"resolve", host + "/app:v1"},
			want: []string{host + " refused the Azure identity you signed in with (`az acr login`) itself", "Tokens from `az acr login` last 3 hours."},
		},
		{
			name: "untrusted certificate",
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				fc.Login(host, sandbox.UserPull, sandbox.Password)
				d.ConfigDir = t.TempDir() // without the sandbox's CA
			},
			args: []string{"pull", host + "/app:v1"},
			want: []string{"Error: error contacting notary server: ", "x509: certificate signed by unknown authority",
				"The TLS certificate of " + host + ` is not trusted (issued by "acrtrust sandbox CA"). If a private CA issued it, put that CA's certificate in `,
				"/tls/" + host + "/ca.crt"},
		},
		{
			name: "repository never signed",
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				fc.Login(host, sandbox.UserPull, sandbox.Password)
			},
			args: []string{"pull", host + "/unsigned:v1"},
			want: []string{"Error: remote trust data does not exist for " + host + "/unsigned", host + "/unsigned has no trust data: no tag of it was signed yet, or content trust is off"},
		},
		{
			name: "no key for an existing repository",
			setup: func(t *testing.T, d *cmdutil.Deps, fc *cmdtest.FakeCLI) {
				fc.Login(host, sandbox.UserSigner, sandbox.Password)
				_, err := sb.PushRandomImage(ctx, "app", "v2")
				assert.NilError(t, err)
			},
			args: []string{"push", host + "/app:v2"},
			want: []string{"NOT signed", "Error: could not find signing keys for remote repository", "No key that signs for " + host + "/app is in ",
				"the repository key stays on the machine that first signed", "docker acrtrust key restore"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, fc, _ := cmdtest.SandboxDeps(t, sb, "", cmdtest.PassphraseEnv())
			tc.setup(t, d, fc)
			err := runCommand(t, d, tc.args...)
			assert.Assert(t, err != nil)
			assertInOrder(t, err.Error()+"\n"+fc.ErrBuf.String(), tc.want)
		})
	}
}

// TestErrorsWhenContentTrustIsOff: on ACR, turning content trust off deletes
// all trust data and the trust endpoint answers 404.
func TestErrorsWhenContentTrustIsOff(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	host := sb.Host()
	_, err := sb.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)
	publisher, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, publisher, "push", host+"/app:v1"))
	sb.SetContentTrust(false)

	t.Run("pull", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "pull", host+"/app:v1")
		assert.Assert(t, err != nil)
		assertInOrder(t, err.Error(), []string{"Error: remote trust data does not exist for " + host + "/app",
			"no tag of it was signed yet, or content trust is off for the registry (turning it off deletes all trust data)"})
		assert.Check(t, is.Len(eng.Pulled, 0))
	})
	t.Run("push", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
		err := runCommand(t, d, "push", host+"/app:v1")
		assert.Assert(t, err != nil)
		assertInOrder(t, err.Error(), []string{"was pushed to the registry but is NOT signed",
			"The trust server " + host + " serves no trust data for " + host + "/app, so nothing can be signed there: content trust is off for the registry"})
	})
}

func TestRemedyOnACR(t *testing.T) {
	const (
		gun      = "myreg.azurecr.io/app"
		image    = gun + ":v1"
		scope    = "$(az acr show --name myreg --query id --output tsv)"
		server   = "Error: you are not authorized to perform this operation: server returned 401."
		appID    = "11111111-2222-3333-4444-555555555555"
		anyoneID = "<user, group or service principal ID>"
	)
	ref, err := trust.ParseRef(image)
	assert.NilError(t, err)
	refused := &trust.Error{Kind: trust.KindUnauthorized, GUN: ref.GUN(), Message: server}
	type loginKind int
	const (
		user loginKind = iota
		admin
		identity
		servicePrincipal
		nobody
	)
	tests := []struct {
		name  string
		login loginKind
		err   error
		want  []string
		not   string
	}{
		{
			name: "sign without AcrImageSigner", login: user,
			err: trust.WithOp(trust.OpTrustWrite, ref, refused),
			want: []string{server, `myreg.azurecr.io let the login "alice" read the trust data of ` + gun + " but not write it",
				"On ACR, signing needs the AcrImageSigner role in addition to AcrPush: the login is missing AcrImageSigner, or it is an admin account or a repository-scoped token",
				"az role assignment create --scope " + scope + " --role AcrImageSigner --assignee " + anyoneID,
				"then log in again with `az acr login --name myreg`: a role change applies to new tokens only."},
		},
		{
			name: "sign with the admin account", login: admin,
			err:  trust.WithOp(trust.OpTrustWrite, ref, refused),
			want: []string{server, `the admin account "myreg" read the trust data`, "Admin accounts cannot sign on ACR", "AcrImageSigner role: `az acr login --name myreg`."},
			not:  "az role assignment",
		},
		{
			name: "sign as the az acr login identity", login: identity,
			err:  trust.WithOp(trust.OpTrustWrite, ref, refused),
			want: []string{"the Azure identity you signed in with (`az acr login`)", "--role AcrImageSigner --assignee $(az ad signed-in-user show --query id --output tsv)"},
		},
		{
			name: "sign as a service principal", login: servicePrincipal,
			err:  trust.WithOp(trust.OpTrustWrite, ref, refused),
			want: []string{"--role AcrImageSigner --assignee " + appID + "\n"},
		},
		{
			name: "trusted pull without AcrPull", login: user,
			err: trust.WithOp(trust.OpTrustRead, ref, refused),
			want: []string{server, `myreg.azurecr.io refused the login "alice" read access to the trust data of ` + gun,
				"a repository-scoped token cannot read or write trust data at all, even where it may pull and push the image",
				"--role AcrPull --assignee", "docker acrtrust doctor " + image},
		},
		{
			name: "engine push without AcrPush", login: user,
			err:  trust.WithOp(trust.OpRegistryPush, ref, engineDeniedPush),
			want: []string{"denied: requested access to the resource is denied\n", `myreg.azurecr.io refused to let the login "alice" push to ` + gun, "AcrPush role (AcrPull only pulls)", "--role AcrPush"},
		},
		{
			name: "engine push without AcrPush, authentication required", login: user,
			err:  trust.WithOp(trust.OpRegistryPush, ref, engineAuthRequired),
			want: []string{"unauthorized: authentication required\n", "refused to let", "--role AcrPush"},
		},
		{
			name: "engine pull without AcrPull", login: user,
			err:  trust.WithOp(trust.OpRegistryRead, ref, enginePullDenied),
			want: []string{"pull access denied", `refused the login "alice" read access to ` + gun, "content/read", "--role AcrPull"},
		},
		{
			name: "no login", login: nobody,
			err:  trust.WithOp(trust.OpTrustRead, ref, refused),
			want: []string{server, "No login for myreg.azurecr.io was found", "az acr login --name myreg"},
		},
		{
			name: "engine push without login", login: nobody,
			err:  trust.WithOp(trust.OpRegistryPush, ref, engineAuthRequired),
			want: []string{"unauthorized: authentication required", "No login for myreg.azurecr.io", "az acr login --name myreg"},
		},
		{
			name: "no trust data", login: user,
			err: trust.WithOp(trust.OpTrustRead, ref, &trust.Error{Kind: trust.KindNoTrustData, GUN: ref.GUN(), Message: "Error: remote trust data does not exist for " + gun}),
			want: []string{"Error: remote trust data does not exist for " + gun, "az acr config content-trust show --registry myreg",
				"az acr config content-trust update --registry myreg --status enabled", "docker acrtrust push " + gun + ":TAG"},
		},
		{
			name: "signing where content trust is off", login: user,
			err:  trust.WithOp(trust.OpTrustWrite, ref, &trust.Error{Kind: trust.KindMetaMissing, GUN: ref.GUN(), Message: "Error: trust data missing for remote repository " + gun}),
			want: []string{"so nothing can be signed there", "az acr config content-trust update --registry myreg --status enabled"},
		},
		{
			name: "unmarked refusal keeps Docker's words and explains", login: user,
			err:  refused,
			want: []string{server + "\n", "AcrImageSigner", "az acr login --name myreg"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := cmdtest.NewFakeCLI(t, "")
			switch tc.login {
			case user:
				fc.Login("myreg.azurecr.io", "alice", "secret-password")
			case admin:
				fc.Login("myreg.azurecr.io", "myreg", "secret-password")
			case identity:
				fc.LoginIdentityToken("myreg.azurecr.io", "secret-refresh-token")
			case servicePrincipal:
				fc.Login("myreg.azurecr.io", appID, "secret-password")
			}
			d := cmdtest.NewTestDeps(t, fc, nil)
			d.Init()
			msg := explain.Error(d, d.Explained(tc.err)).Error()
			assertInOrder(t, msg, tc.want)
			if tc.not != "" {
				assert.Check(t, !strings.Contains(msg, tc.not), msg)
			}
			for _, secret := range []string{"secret-password", "secret-refresh-token"} {
				assert.Check(t, !strings.Contains(msg, secret), "a secret in the message: %s", msg)
			}
		})
	}
}

func TestRemedyOutsideACRIsGeneric(t *testing.T) {
	ref, err := trust.ParseRef("registry.example.com/app:v1")
	assert.NilError(t, err)
	fc := cmdtest.NewFakeCLI(t, "")
	fc.Login("registry.example.com", "alice", "pw")
	d := cmdtest.NewTestDeps(t, fc, nil)
	d.Init()
	refused := &trust.Error{Kind: trust.KindUnauthorized, GUN: ref.GUN(), Message: "Error: you are not authorized to perform this operation: server returned 401."}
	msg := explain.Error(d, d.Fail(trust.OpTrustWrite, ref, refused)).Error()
	assert.Check(t, is.Contains(msg, "missing AcrImageSigner role, or an admin account or a repository-scoped token"))
	assert.Check(t, !strings.Contains(msg, "az "), "no az commands for a registry that is not ACR: %s", msg)
}

func TestACRRegistryName(t *testing.T) {
	for host, want := range map[string]string{
		"myreg.azurecr.io":                 "myreg",
		"MyReg.AzureCR.io":                 "myreg",
		"myreg.azurecr.io:443":             "myreg",
		"myreg.azurecr.cn":                 "myreg",
		"myreg.azurecr.us":                 "myreg",
		"myreg.azurecr.de":                 "myreg",
		"azurecr.io":                       "",
		"myreg.westeurope.data.azurecr.io": "",
		"myregazurecr.io":                  "",
		"registry.example.com":             "",
		"127.0.0.1:5000":                   "",
	} {
		t.Run(host, func(t *testing.T) { assert.Equal(t, cmdutil.ACRRegistryName(host), want) })
	}
}

// TestWriteCommandsExplainRefusals: sign, revoke and signer add/remove, run
// with the repository's keys but a login that may not write trust data.
func TestWriteCommandsExplainRefusals(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	host := sb.Host()
	publisher, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	for _, repo := range []string{"app", "scoped/app"} {
		for _, tag := range []string{"v1", "v2"} {
			_, err := sb.PushRandomImage(ctx, repo, tag)
			assert.NilError(t, err)
		}
		assert.NilError(t, runCommand(t, publisher, "push", host+"/"+repo+":v1"))
	}
	keyDir := t.TempDir()
	assert.NilError(t, runCommand(t, publisher, "key", "generate", "--dir", keyDir, "alice"))
	pubKey := keyDir + "/alice.pub"

	const (
		cannotWrite = "but not write it, so it cannot sign. The login lacks the right to write trust data: on ACR, that is a missing AcrImageSigner role, or an admin account or a repository-scoped token"
		cannotRead  = "so it cannot sign: it is a repository-scoped token, which cannot read or write trust data at all"
	)
	tests := []struct {
		user, repo string
		want       string
	}{
		{user: sandbox.UserPush, repo: "app", want: cannotWrite},
		{user: sandbox.UserAdmin, repo: "app", want: cannotWrite},
		{user: sandbox.UserScoped, repo: "scoped/app", want: cannotRead},
	}
	for _, tc := range tests {
		image := host + "/" + tc.repo
		for _, args := range [][]string{
			{"sign", image + ":v2"},
			{"revoke", "-y", image + ":v1"},
			{"signer", "add", "--key", pubKey, "alice", image},
		} {
			t.Run(tc.user+" "+args[0], func(t *testing.T) {
				d, fc, _ := cmdtest.SandboxDeps(t, sb, tc.user, cmdtest.PassphraseEnv())
				d.ConfigDir = publisher.ConfigDir // the publisher's keys
				err := runCommand(t, d, args...)
				assert.Assert(t, err != nil)
				assertInOrder(t, err.Error()+"\n"+fc.ErrBuf.String(), []string{
					"Error: you are not authorized to perform this operation: server returned 401.",
					tc.want,
					"docker acrtrust doctor " + image,
				})
			})
		}
	}
	got, err := cmdtest.IndependentResolve(t, sb, host+"/app:v1")
	assert.NilError(t, err, "the refused revoke changed nothing")
	assert.Check(t, got.Digest != "")
}
