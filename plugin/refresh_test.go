package plugin

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

func TestRefresh(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	ctx := context.Background()
	now := time.Now()
	// The owner's keys are in owner's key store, as after their own signed push.
	owner, ownerCLI, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, sb.Seed(ctx, []sandbox.SeedRepo{
		{
			Name: "app", Signed: []string{"v1", "v2"},
			TargetsExpire: now.Add(10 * 24 * time.Hour), ReleasesExpire: now.Add(5 * 24 * time.Hour),
			KeyDir: filepath.Join(owner.ConfigDir, "trust"), Passphrase: cmdtest.TestRepoPass,
		},
		{Name: "fresh", Signed: []string{"v1"}, KeyDir: filepath.Join(owner.ConfigDir, "trust"), Passphrase: cmdtest.TestRepoPass},
		{Name: "theirs", Signed: []string{"v1"}, TargetsExpire: now.Add(3 * 24 * time.Hour)},
	}, 1))
	before := jsonAudit(t, sb, host+"/app")
	app := repoByName(t, before, host+"/app")
	assert.Assert(t, app.Expiring)

	t.Run("dry run changes nothing", func(t *testing.T) {
		sb.ResetStats()
		ownerCLI.OutBuf.Reset()
		assert.NilError(t, runCommand(t, owner, "refresh", "--dry-run", host+"/app"))
		assert.Check(t, is.Equal(ownerCLI.OutBuf.String(),
			host+"/app: Would re-sign the targets/releases metadata (expires "+now.Add(5*24*time.Hour).UTC().Format(time.DateOnly)+")\n"+
				host+"/app: Would re-sign the targets metadata (expires "+now.Add(10*24*time.Hour).UTC().Format(time.DateOnly)+")\n"))
		assert.Check(t, is.Equal(sb.Stats().Publishes, 0))
	})

	t.Run("re-signs what expires, in one publish, and no target changes", func(t *testing.T) {
		sb.ResetStats()
		ownerCLI.OutBuf.Reset()
		assert.NilError(t, runCommand(t, owner, "refresh", "--expiring-within", "30d", host+"/app", host+"/fresh"))
		assert.Check(t, is.Equal(sb.Stats().Publishes, 1), "one publish for app, none for fresh")
		assert.Check(t, is.Contains(ownerCLI.OutBuf.String(), "Successfully refreshed "+host+"/app: targets/releases until "))
		assert.Check(t, is.Contains(ownerCLI.OutBuf.String(), host+"/fresh: nothing expires within 30d\n"))

		after := repoByName(t, jsonAudit(t, sb, host+"/app"), host+"/app")
		assert.Check(t, !after.Expiring)
		for _, e := range after.Expiries {
			assert.Check(t, time.Until(e.Expires) > 2*365*24*time.Hour, "%s expires %s", e.Role, e.Expires)
		}
		assert.DeepEqual(t, after.Tags, app.Tags)
		// A consumer with an empty cache verifies the new metadata.
		got, err := cmdtest.IndependentResolve(t, sb, host+"/app:v2")
		assert.NilError(t, err)
		for _, tg := range app.Tags {
			if tg.Tag == "v2" {
				assert.Check(t, is.Equal(got.Digest, tg.SignedDigest))
			}
		}
		assert.Check(t, is.Equal(got.Role.String(), "targets/releases"))
	})

	t.Run("refuses without the keys", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
		sb.ResetStats()
		err := runCommand(t, d, "refresh", host+"/theirs")
		assert.Equal(t, exitCode(t, err), 1)
		assert.ErrorContains(t, err, "1 of 1 repositories could not be refreshed")
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "cannot re-sign the targets metadata of "+host+"/theirs: none of its keys ("))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "Run refresh where the repository key is"))
		assert.Check(t, is.Equal(sb.Stats().Publishes, 0))
	})

	t.Run("no trust data", func(t *testing.T) {
		_, err := sb.PushRandomImage(ctx, "plain", "v1")
		assert.NilError(t, err)
		err = runCommand(t, owner, "refresh", host+"/plain")
		assert.Equal(t, exitCode(t, err), 1)
		assert.Check(t, is.Contains(ownerCLI.ErrBuf.String(), "remote trust data does not exist for "+host+"/plain"))
	})
}
