package plugin

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// TestBuildRequireNotation: with --require notation, every FROM, COPY
// --from and digest-pinned image needs a Notation signature the policy
// accepts, content trust is not read (it is off here), and a refusal names
// the format and the digest before anything is built; --push --sign
// notation then signs the result with Notation alone.
func TestBuildRequireNotation(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	sb.SetContentTrust(false)
	h := sb.Host()
	home := newNotationHome(t, "release", "*")
	descs := cmdtest.PushImages(t, sb, "base", "v1", "dev")
	tools := cmdtest.PushImages(t, sb, "tools", "v3")["v3"]
	app := cmdtest.PushImages(t, sb, "app", "v1")["v1"] // what the fake builder "built"
	signer, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, nil)
	assert.NilError(t, runCommand(t, signer, "sign", "--sign", "notation", "--notation-dir", home.dir, h+"/base:v1", h+"/tools:v3"))

	build := func(t *testing.T, dockerfile string, args ...string) (*cmdtest.FakeCLI, *fakeBuilder, error) {
		t.Helper()
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, map[string]string{envRequire: "notation"})
		b := &fakeBuilder{builder: cmdutil.ClassicBuilder}
		d.Builder = b
		args = append(append([]string{"build", "--notation-dir", home.dir}, args...), writeDockerfile(t, dockerfile))
		return cli, b, runCommand(t, d, args...)
	}

	t.Run("signed bases", func(t *testing.T) {
		cli, b, err := build(t, "FROM "+h+"/base:v1\nCOPY --from="+h+"/tools@"+tools.Digest.String()+" /a /a\n",
			"--push", "--sign", "notation", "-t", h+"/app:v1")
		assert.NilError(t, err)
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "FROM "+h+"/base:v1 → "+h+"/base@"+descs["v1"].Digest.String()+" (Notation signature verified)\n"))
		assert.Check(t, is.Contains(b.stdin, "FROM "+h+"/base@"+descs["v1"].Digest.String()+"\n"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+h+"/app:v1 with Notation ("+app.Digest.String()+")"))
		_, err = notationVerify(t, sb, home.dir, "app", app)
		assert.Check(t, err)
	})

	for name, dockerfile := range map[string]string{
		"an unsigned FROM":       "FROM " + h + "/base:v1\nFROM " + h + "/base:dev\n",
		"an unsigned pinned one": "FROM scratch\nCOPY --from=" + h + "/base@" + descs["dev"].Digest.String() + " /a /a\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, b, err := build(t, dockerfile)
			assert.Assert(t, err != nil)
			assert.Check(t, is.Contains(err.Error(), "Dockerfile:2: "))
			assert.Check(t, is.Contains(err.Error(), "no Notation signature that the trust policy accepts on "+descs["dev"].Digest.String()))
			assert.Check(t, is.Contains(err.Error(), "docker acrtrust sign --sign notation"))
			assertRemedyNamesExist(t, remedyLines(err), "build")
			assert.Check(t, is.Equal(b.runs, 0), "nothing may be built")
		})
	}

	t.Run("no trust policy", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, map[string]string{"XDG_CONFIG_HOME": t.TempDir()})
		b := &fakeBuilder{builder: cmdutil.ClassicBuilder}
		d.Builder = b
		err := runCommand(t, d, "build", "--require", "notation", writeDockerfile(t, "FROM "+h+"/base:v1\n"))
		assert.Check(t, is.ErrorContains(err, "no Notation trust policy"))
		assert.Check(t, is.Equal(b.runs, 0))
	})
}
