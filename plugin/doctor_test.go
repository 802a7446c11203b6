package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/doctor"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

var (
	isoDate   = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)
	shortKeys = regexp.MustCompile(`key [0-9a-f]{7}\b`)
)

// normaliseDoctor replaces what changes from run to run (port, temporary
// directories, dates, key IDs) so that the report can be a golden file.
func normaliseDoctor(s string, d *cmdutil.Deps, host string) string {
	s = strings.ReplaceAll(s, d.CLI.ConfigFile().Filename, "$CONFIG_FILE")
	s = strings.ReplaceAll(s, d.ConfigDir, "$DOCKER_CONFIG")
	s = strings.ReplaceAll(s, host, "$HOST")
	s = isoDate.ReplaceAllString(s, "YYYY-MM-DD")
	return shortKeys.ReplaceAllString(s, "key KEYID")
}

// checkStatuses maps each check of a JSON report to its status.
func checkStatuses(t *testing.T, out string) (doctor.DoctorReport, map[string]string) {
	t.Helper()
	var rep doctor.DoctorReport
	assert.NilError(t, json.Unmarshal([]byte(out), &rep), out)
	got := map[string]string{}
	for _, c := range rep.Checks {
		got[c.Name] = c.Status
		switch c.Status {
		case doctor.CheckOK:
		case "info": // nothing to do: only publishing needs it, and nothing asked to publish
			assert.Check(t, c.Remedy == "", "%s is info with a remedy: %s", c.Name, c.Remedy)
		default:
			assert.Check(t, c.Remedy != "", "%s is %s without a remedy", c.Name, c.Status)
		}
	}
	return rep, got
}

func TestDoctorAgainstTheSandbox(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	host := sb.Host()
	_, err := sb.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)

	t.Run("signer before the first signing", func(t *testing.T) {
		d, fc, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
		assert.NilError(t, runCommand(t, d, "doctor", host+"/app:v1"))
		golden.Assert(t, normaliseDoctor(fc.OutBuf.String(), d, host), "doctor-signer-unsigned.golden")
	})

	publisher, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, publisher, "push", host+"/app:v1"))

	t.Run("signer with the keys", func(t *testing.T) {
		fc := cmdtest.NewFakeCLI(t, "")
		fc.Cfg = publisher.CLI.ConfigFile()
		d := cmdtest.NewTestDeps(t, fc, nil)
		d.ConfigDir, d.Engine = publisher.ConfigDir, &cmdtest.FakeEngine{}
		assert.NilError(t, runCommand(t, d, "doctor", "--sign", host+"/app:v1"))
		golden.Assert(t, normaliseDoctor(fc.OutBuf.String(), d, host), "doctor-signer.golden")
	})

	t.Run("puller", func(t *testing.T) {
		d, fc, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "doctor", host+"/app:v1"), "only warnings: a puller may pull")
		golden.Assert(t, normaliseDoctor(fc.OutBuf.String(), d, host), "doctor-puller.golden")
	})

	t.Run("puller, --format json", func(t *testing.T) {
		// A pull-only login is fine for pulling: what only publishing needs
		// is information, not a warning, and the report says what the
		// login can do (issue 17).
		d, fc, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "doctor", "--format", "json", host+"/app:v1"))
		rep, got := checkStatuses(t, fc.OutBuf.String())
		assert.Check(t, rep.OK)
		assert.Check(t, is.DeepEqual(got, map[string]string{
			"credentials": "ok", "key store": "ok", "pins": "warn", "trust server": "ok", "registry pull": "ok", "registry push": "info",
			"trust read": "ok", "trust write": "info", "trust data": "ok", "root key": "ok", "signing keys": "info", "expiry": "ok",
		}))
		assert.Check(t, is.DeepEqual(rep.Can, []string{"pull", "read trust data"}))
		assert.Check(t, is.DeepEqual(rep.Cannot, []string{"push", "write trust data"}))
	})

	t.Run("pusher that cannot sign what it pushes", func(t *testing.T) {
		// It can push images but not sign them: a signed push from here
		// would stop half-way, so that is a warning even without --sign.
		d, fc, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, nil)
		assert.NilError(t, runCommand(t, d, "doctor", "--format", "json", host+"/app:v1"))
		rep, got := checkStatuses(t, fc.OutBuf.String())
		assert.Check(t, is.Equal(got["registry push"], "ok"))
		assert.Check(t, is.Equal(got["trust write"], "warn"))
		assert.Check(t, is.Equal(got["signing keys"], "warn"))
		assert.Check(t, is.DeepEqual(rep.Cannot, []string{"write trust data"}))
	})

	t.Run("puller that means to sign", func(t *testing.T) {
		d, fc, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "doctor", "--sign", "--format", "json", host+"/app:v1")
		var st cli.StatusError
		assert.Assert(t, errors.As(err, &st))
		assert.Check(t, is.Equal(st.StatusCode, cmdutil.ExitFailure))
		assert.Check(t, is.Contains(err.Error(), "2 check(s) failed: trust write, signing keys"))
		rep, got := checkStatuses(t, fc.OutBuf.String())
		assert.Check(t, !rep.OK)
		assert.Check(t, is.DeepEqual(got, map[string]string{
			"credentials": "ok", "pins": "warn", "key store": "ok", "trust server": "ok", "registry pull": "ok", "registry push": "warn",
			"trust read": "ok", "trust write": "fail", "trust data": "ok", "root key": "ok", "signing keys": "fail", "expiry": "ok",
		}))
		for _, c := range rep.Checks {
			if c.Name == "trust write" {
				assert.Check(t, is.Contains(c.Remedy, "missing AcrImageSigner role, or an admin account or a repository-scoped token"))
			}
		}
	})

	t.Run("no login", func(t *testing.T) {
		d, fc, _ := cmdtest.SandboxDeps(t, sb, "", nil)
		err := runCommand(t, d, "doctor", host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, "2 check(s) failed: registry pull, trust read"))
		golden.Assert(t, normaliseDoctor(fc.OutBuf.String(), d, host), "doctor-nologin.golden")
	})

	t.Run("repository-scoped token", func(t *testing.T) {
		d, fc, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserScoped, nil)
		err := runCommand(t, d, "doctor", "--format", "json", host+"/scoped/app")
		assert.Check(t, is.ErrorContains(err, "1 check(s) failed: trust read"))
		rep, got := checkStatuses(t, fc.OutBuf.String())
		assert.Check(t, is.Equal(got["registry pull"], "ok"))
		assert.Check(t, is.Equal(got["registry push"], "ok"))
		assert.Check(t, is.Equal(got["trust read"], "fail"))
		assert.Check(t, is.Equal(rep.Checks[len(rep.Checks)-1].Name, "trust write"), "nothing more to check without trust data")
		assert.Check(t, is.Contains(rep.Checks[len(rep.Checks)-1].Remedy, "it is a repository-scoped token, which cannot read or write trust data at all"))
	})

	t.Run("identity token", func(t *testing.T) {
		d, fc, _ := cmdtest.SandboxDeps(t, sb, "", nil)
		fc.LoginIdentityToken(host, sb.IdentityToken())
		assert.NilError(t, runCommand(t, d, "doctor", host+"/app"))
		assert.Check(t, is.Contains(fc.OutBuf.String(), `ok    credentials    login "00000000-0000-0000-0000-000000000000" for `+host+", from the docker config file "))
		assert.Check(t, is.Contains(fc.OutBuf.String(), "an identity token (az acr login)"))
		assert.Check(t, !strings.Contains(fc.OutBuf.String(), sb.IdentityToken()), "the token itself is never printed")
	})

	t.Run("wrong password", func(t *testing.T) {
		d, fc, _ := cmdtest.SandboxDeps(t, sb, "", nil)
		fc.Login(host, sandbox.UserPull, "wrong-password-123")
		err := runCommand(t, d, "doctor", host+"/app")
		assert.Check(t, is.ErrorContains(err, "4 check(s) failed"))
		out := fc.OutBuf.String()
		assert.Check(t, is.Contains(out, `refused the login "puller" itself: the password or token is wrong or has expired.`))
		assert.Check(t, is.Equal(strings.Count(out, `refused the login "puller" itself`), 1), "the remedy is printed once:\n%s", out)
		assert.Check(t, !strings.Contains(out, "wrong-password-123"))
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		d, fc, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		d.ConfigDir = t.TempDir() // the sandbox CA is not installed here
		err := runCommand(t, d, "doctor", host+"/app")
		assert.Check(t, is.ErrorContains(err, "1 check(s) failed: trust server"))
		assert.Check(t, is.Contains(fc.OutBuf.String(), `FAIL  trust server   https://`+host+`: the TLS certificate (for 127.0.0.1, issued by "acrtrust sandbox CA") does not verify`))
		assert.Check(t, is.Contains(fc.OutBuf.String(), "/tls/"+host+"/ca.crt"))
		assert.Check(t, !strings.Contains(fc.OutBuf.String(), "trust read"), "trust checks need the server")
	})

	t.Run("writes nothing", func(t *testing.T) {
		before := trustTimestamp(t, sb, "app")
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, nil)
		assert.NilError(t, runCommand(t, d, "doctor", host+"/app:v1"))
		assert.Equal(t, trustTimestamp(t, sb, "app"), before, "the trust data changed")
		got, err := cmdtest.IndependentResolve(t, sb, host+"/app:v1")
		assert.NilError(t, err)
		assert.Check(t, got.Digest != "")
	})
}

// trustTimestamp returns repo's timestamp metadata: any publish changes it.
func trustTimestamp(t *testing.T, sb *sandbox.Sandbox, repo string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, sb.URL()+"/v2/"+sb.Host()+"/"+repo+"/_trust/tuf/timestamp.json", nil)
	assert.NilError(t, err)
	req.SetBasicAuth(sandbox.UserPull, sandbox.Password)
	resp, err := sb.HTTPClient().Do(req)
	assert.NilError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return string(b)
}

func TestDoctorWhenContentTrustIsOff(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	_, err := sb.PushRandomImage(context.Background(), "app", "v1")
	assert.NilError(t, err)
	sb.SetContentTrust(false)

	d, fc, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, nil)
	err = runCommand(t, d, "doctor", "--format", "json", host+"/app:v1")
	assert.Check(t, is.ErrorContains(err, "1 check(s) failed: trust read"))
	rep, got := checkStatuses(t, fc.OutBuf.String())
	assert.Check(t, is.Equal(got["registry pull"], "ok"))
	assert.Check(t, is.Equal(got["trust read"], "fail"))
	assert.Check(t, is.Equal(got["trust write"], "warn"))
	assert.Check(t, is.Equal(got["trust data"], "warn"))
	for _, c := range rep.Checks {
		switch c.Name {
		case "trust read", "trust write":
			assert.Check(t, is.Contains(c.Message, "content trust looks off for the registry"))
			assert.Check(t, is.Contains(c.Remedy, "serves no trust data for "+host+"/app, so nothing can be signed there"))
		case "trust data":
			assert.Check(t, is.Equal(c.Message, host+"/app has no trust data: content trust is off for the registry"))
		}
	}
}

func TestDoctorArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		code    int
	}{
		{name: "no image", args: []string{"doctor"}, wantErr: "requires 1 argument"},
		{name: "template format", args: []string{"doctor", "--format", "{{.Name}}", "myreg.azurecr.io/app"}, wantErr: `doctor writes text, or "json"`, code: cmdutil.ExitUsage},
		{name: "bad reference", args: []string{"doctor", "Bad:Ref:x"}, wantErr: "parsing reference", code: cmdutil.ExitFailure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), nil)
			err := runCommand(t, d, tc.args...)
			assert.ErrorContains(t, err, tc.wantErr)
			if tc.code != 0 {
				var st cli.StatusError
				assert.Assert(t, errors.As(err, &st))
				assert.Equal(t, st.StatusCode, tc.code)
			}
		})
	}
}
