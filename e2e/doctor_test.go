//go:build e2e

package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// doctorReport is `docker acrtrust doctor --format json`.
type doctorReport struct {
	Image, Repository, TrustServer string
	OK                             bool
	Checks                         []struct {
		Name, Status, Message, Remedy string
	}
}

// doctorLine is one check line of the text report: status, name, message.
var doctorLine = regexp.MustCompile(`^(ok|WARN|FAIL)\s{2,}(\S+(?: \S+)?)\s{2,}(.*)$`)

// doctorChecks maps each check of a text report to its status.
func doctorChecks(out string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if m := doctorLine.FindStringSubmatch(line); m != nil {
			got[m[2]] = m[1]
		}
	}
	return got
}

func doctorJSON(t *testing.T, res *icmd.Result) doctorReport {
	t.Helper()
	var rep doctorReport
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &rep), "doctor --format json is not JSON:\n%s", res.Stdout())
	return rep
}

// TestDoctor: `docker acrtrust doctor IMAGE` passes every check for the
// signer of a signed repository, and fails, with the fix under each FAIL
// line, for a login that cannot read trust data (a repository-scoped
// token) and for no login at all.
func TestDoctor(t *testing.T) {
	signer := newClient(t).withPassphrases()
	host := h.sandbox.Host()
	// Under scoped/, where the repository-scoped token has registry rights.
	repo := strings.Replace(newRepo(t), host+"/", host+"/scoped/", 1)
	image := repo + ":v1"
	signer.importImage(t, image)
	signer.acrtrust(t, "push", image).Assert(t, icmd.Expected{Out: "Successfully signed " + image})

	allOK := map[string]string{
		"credentials": "ok", "key store": "ok", "trust server": "ok", "registry pull": "ok", "registry push": "ok",
		"trust read": "ok", "trust write": "ok", "trust data": "ok", "root key": "ok", "signing keys": "ok", "expiry": "ok",
	}

	t.Run("signer of a signed repository", func(t *testing.T) {
		res := signer.acrtrust(t, "doctor", image)
		res.Assert(t, icmd.Success)
		out := res.Stdout()
		assert.Check(t, strings.HasPrefix(out, "Checking "+repo+" (trust server https://"+host+")\n"), out)
		want := map[string]string{"pins": "WARN"} // not pinned: trust on first use for a new machine
		for k, v := range allOK {
			want[k] = v
		}
		assert.Check(t, is.DeepEqual(doctorChecks(out), want), out)
		assert.Check(t, is.Contains(out, `ok    credentials    login "`+sandbox.UserSigner+`" for `+host))
		assert.Check(t, is.Contains(out, "ok    trust data     1 signed tag(s), verified"))
		assert.Check(t, regexp.MustCompile(`(?m)^ok    signing keys   can sign with repository key [0-9a-f]{7} \(targets\)$`).MatchString(out), out)
		assertNoSecrets(t, res)
	})

	t.Run("signer, --sign --format json", func(t *testing.T) {
		res := signer.acrtrust(t, "doctor", "--sign", "--format", "json", image)
		res.Assert(t, icmd.Success)
		rep := doctorJSON(t, res)
		assert.Check(t, rep.OK)
		assert.Check(t, is.Equal(rep.Image, image))
		assert.Check(t, is.Equal(rep.Repository, repo))
		assert.Check(t, is.Equal(rep.TrustServer, "https://"+host))
		got := map[string]string{}
		for _, c := range rep.Checks {
			got[c.Name] = c.Status
		}
		assert.Check(t, is.Equal(got["pins"], "warn"))
		delete(got, "pins")
		assert.Check(t, is.DeepEqual(got, allOK))
	})

	t.Run("repository-scoped token: no trust access", func(t *testing.T) {
		c := newClient(t)
		c.run(t, icmd.Command(h.docker, "login", host, "-u", sandbox.UserScoped, "--password-stdin"),
			icmd.WithStdin(strings.NewReader(sandbox.Password+"\n"))).Assert(t, icmd.Success)
		res := c.acrtrust(t, "doctor", image)
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: "1 check(s) failed: trust read"})
		out := res.Stdout()
		got := doctorChecks(out)
		assert.Check(t, is.Equal(got["registry pull"], "ok"), out)
		assert.Check(t, is.Equal(got["trust read"], "FAIL"), out)
		assert.Check(t, is.Equal(got["trust write"], "WARN"), out)
		_, checked := got["trust data"]
		assert.Check(t, !checked, "trust data checked without read access:\n%s", out)
		// The fix follows the FAIL line, indented under the messages.
		fix := regexp.MustCompile(`(?m)^FAIL  trust read .*\n((?:\s{6,}\S.*\n)+)`).FindStringSubmatch(out)
		assert.Assert(t, fix != nil, "no fix under the FAIL line:\n%s", out)
		assert.Check(t, is.Contains(fix[1], "a repository-scoped token cannot read trust data at all"))

		jres := c.acrtrust(t, "doctor", "--format", "json", image)
		jres.Assert(t, icmd.Expected{ExitCode: 1})
		rep := doctorJSON(t, jres)
		assert.Check(t, !rep.OK)
		for _, ch := range rep.Checks {
			if ch.Status == "fail" {
				assert.Check(t, is.Equal(ch.Name, "trust read"))
				assert.Check(t, ch.Remedy != "", "%s fails without a remedy", ch.Name)
			}
		}
	})

	t.Run("no login", func(t *testing.T) {
		c := newClient(t)
		c.docker(t, "logout", host).Assert(t, icmd.Success)
		res := c.acrtrust(t, "doctor", image)
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: "2 check(s) failed: registry pull, trust read"})
		out := res.Stdout()
		got := doctorChecks(out)
		assert.Check(t, is.Equal(got["credentials"], "WARN"), out)
		assert.Check(t, is.Equal(got["registry pull"], "FAIL"), out)
		assert.Check(t, is.Equal(got["trust read"], "FAIL"), out)
		assert.Check(t, is.Contains(out, "FAIL  registry pull  denied on "+repo+" to anonymous requests"))
		assert.Check(t, is.Contains(out, "Log in with `docker login "+host+"`"), "the fix is named:\n%s", out)
	})
}
