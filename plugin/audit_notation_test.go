package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/audit"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// TestAuditNotation: audit reports each tag's Notation status (signed,
// verified against the trust policy, invalid, missing), whether it covers
// the digest content trust signed, totals per repository and for the
// registry, in JSON, the table and the HTML page; --fail-on
// notation-missing and notation-invalid gate on them.
func TestAuditNotation(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	trusted := newNotationHome(t, "trusted", "*")
	stranger := newNotationHome(t, "stranger", "*")
	descs := cmdtest.PushImages(t, sb, "app", "v1", "v2", "v3", "dev")
	signer, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, signer, "sign", host+"/app:v1", host+"/app:v2", host+"/app:v3"))
	assert.NilError(t, runCommand(t, signer, "sign", "--sign", "notation", "--notation-dir", trusted.dir, host+"/app:v1", host+"/app:dev"))
	assert.NilError(t, runCommand(t, signer, "sign", "--sign", "notation", "--notation-dir", stranger.dir, host+"/app:v2"))

	t.Run("json with a trust policy", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		doc, err := runAuditJSON(t, d, cli, "--notation-dir", trusted.dir, host+"/app")
		assert.NilError(t, err)
		r := repoByName(t, doc, host+"/app")
		want := map[string]struct {
			notation string
			covers   *bool
		}{
			"v1": {"verified", ptr(true)}, "v2": {"invalid", ptr(false)}, "v3": {"missing", ptr(false)}, "dev": {"verified", nil},
		}
		assert.Assert(t, is.Len(r.Tags, 4))
		for _, tag := range r.Tags {
			w := want[tag.Tag]
			assert.Check(t, is.Equal(tag.Notation, w.notation), tag.Tag)
			assert.Check(t, is.DeepEqual(tag.CoversDCT, w.covers), tag.Tag)
			assert.Check(t, is.Equal(tag.RegistryDigest, descs[tag.Tag].Digest), tag.Tag)
		}
		counts := audit.NotationCounts{NotationSigned: 3, NotationVerified: 2, NotationInvalid: 1, NotationMissing: 1, CoversDCT: 1}
		assert.Check(t, is.DeepEqual(r.Notation, &counts))
		assert.Check(t, is.DeepEqual(doc.Summary.Notation, &counts))
		assert.Check(t, doc.Summary.NotationVerified)
	})

	t.Run("table without a trust policy: signatures counted", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "audit", host+"/app"))
		out := cli.OutBuf.String()
		assert.Check(t, is.Regexp(`(?m)^`+strings.ReplaceAll(host, ".", `\.`)+`/app +no +3 +1 +0 +0 +\S+ \(targets\) +3/4 +2/3 *$`, out))
		assert.Check(t, is.Contains(out, "Notation: 3 tags signed, 1 without a signature; 2 of 3 tags signed with content trust covered on the same digest"))
	})

	t.Run("html shows how far each repository moved", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		file := filepath.Join(t.TempDir(), "audit.html")
		assert.NilError(t, runCommand(t, d, "audit", "--notation-dir", trusted.dir, "--html", file, host+"/app"))
		b, err := os.ReadFile(file)
		assert.NilError(t, err)
		page := string(b)
		assert.Check(t, is.Contains(page, "<th>Moved to Notation</th>"))
		assert.Check(t, is.Contains(page, `<td data-sort="50" class="moved"><span class="progress"><span style="width:50%"></span></span>50%</td>`))
		assert.Check(t, is.Contains(page, `<td class="notation-invalid"`))
	})

	for _, tc := range []struct {
		name, rule, want string
		code             int
		noDir            bool
	}{
		{name: "notation-missing", rule: "notation-missing", want: "notation-missing: 1 tags in 1 repositories", code: cmdutil.ExitFailure},
		{name: "notation-invalid", rule: "notation-invalid", want: "notation-invalid: 1 tags in 1 repositories", code: cmdutil.ExitFailure},
		{name: "notation-invalid needs a policy", rule: "notation-invalid", noDir: true, want: "--fail-on notation-invalid needs --notation-dir", code: cmdutil.ExitUsage},
	} {
		t.Run("--fail-on "+tc.name, func(t *testing.T) {
			d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
			args := []string{"audit", "--fail-on", tc.rule, host + "/app"}
			if !tc.noDir {
				args = append(args, "--notation-dir", trusted.dir)
			}
			err := runCommand(t, d, args...)
			assert.Check(t, is.ErrorContains(err, tc.want))
			assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), tc.code))
		})
	}

	t.Run("content trust off: Notation is still audited", func(t *testing.T) {
		sb.SetContentTrust(false)
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		doc, err := runAuditJSON(t, d, cli, "--notation-dir", trusted.dir, host+"/app")
		assert.NilError(t, err)
		r := repoByName(t, doc, host+"/app")
		assert.Check(t, !r.TrustData)
		assert.Check(t, is.DeepEqual(r.Notation, &audit.NotationCounts{NotationSigned: 3, NotationVerified: 2, NotationInvalid: 1, NotationMissing: 1}))
	})
}

func ptr[T any](v T) *T { return &v }
