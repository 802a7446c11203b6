package plugin

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/migrate"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// buildTestPlugin builds testdata/notation-testkv where notation looks for
// a plugin named testkv: NOTATION_DIR/plugins/testkv/notation-testkv.
func buildTestPlugin(t *testing.T, notationDir string) {
	t.Helper()
	out := filepath.Join(notationDir, "plugins", "testkv", "notation-testkv")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/notation-testkv")
	b, err := cmd.CombinedOutput()
	assert.NilError(t, err, "building the test plugin: %s", b)
}

func TestMigrateWithPluginKey(t *testing.T) {
	t.Parallel() // it owns its sandbox
	ms := newMigrateStack(t)
	host := ms.sb.Host()
	buildTestPlugin(t, ms.notationDir)
	keys := filepath.Join(ms.notationDir, "localkeys")
	policyDir := t.TempDir()

	runMigrate := func(t *testing.T, args ...string) (*cmdtest.FakeCLI, error) {
		t.Helper()
		d, cli := ms.machine(t, sandbox.UserPush, nil, "", false)
		return cli, runCommand(t, d, append([]string{"migrate", "--notation-dir", ms.notationDir}, args...)...)
	}

	cli, err := runMigrate(t, "--plugin", "testkv", "--id", "migration-test", "--plugin-config", "keys="+keys,
		"--emit-policy", policyDir, "--signature-format", "cose", "--all-tags", host+"/app")
	assert.NilError(t, err, cli.ErrBuf.String())
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Summary: 3 tags signed"))
	for tag, desc := range ms.pushed {
		md, err := notationVerify(t, ms.sb, policyDir, "app", desc)
		assert.Check(t, err == nil, "%s: %v", tag, err)
		assert.Check(t, is.Equal(md[notationbridge.MetaTag], tag))
	}

	t.Run("the same key in files is the same key", func(t *testing.T) {
		rep, err := ms.migrate(t, "--all-tags", host+"/app")
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(rep.Summary, migrate.MigrateSummary{AlreadySigned: 3}))
	})

	t.Run("plugin configuration reaches the plugin", func(t *testing.T) {
		_, err := runMigrate(t, "--plugin", "testkv", "--id", "migration-test", host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, `plugin configuration "keys" is required`))
	})

	t.Run("a plugin that is not installed", func(t *testing.T) {
		_, err := runMigrate(t, "--plugin", "azure-kv", "--id", "https://vault.example/keys/k", host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, `notation plugin "azure-kv" is not installed in `+filepath.Join(ms.notationDir, "plugins")))
	})

	t.Run("--plugin-config needs KEY=VALUE", func(t *testing.T) {
		_, err := runMigrate(t, "--plugin", "testkv", "--id", "k", "--plugin-config", "keys", host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, `invalid --plugin-config "keys": use KEY=VALUE`))
	})
}
