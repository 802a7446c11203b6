package plugin

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// copyMachine returns a process on a copy of d's machine (config, keys,
// trust cache): each hostile case starts from the same warm cache.
func copyMachine(t *testing.T, d *cmdutil.Deps, env map[string]string) (*cmdutil.Deps, *cmdtest.FakeCLI, *cmdtest.FakeEngine) {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir(d.ConfigDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.ConfigDir, p)
		target := filepath.Join(dir, rel)
		info, err := e.Info()
		if err != nil {
			return err
		}
		if e.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	assert.NilError(t, err)
	cli := cmdtest.NewFakeCLI(t, "")
	cli.Cfg = d.CLI.ConfigFile()
	next := cmdtest.NewTestDeps(t, cli, env)
	next.ConfigDir = dir
	eng := &cmdtest.FakeEngine{}
	next.Engine = eng
	return next, cli, eng
}

// TestHostileTrustServer turns the sandbox's trust server hostile in each
// way it can be (sandbox.Hostility) and checks that pull, resolve and
// verify refuse, pull nothing, and say what happened and what to do.
func TestHostileTrustServer(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	host := sb.Host()
	signed := map[string]string{}
	publisher, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	for _, tag := range []string{"v1", "v2"} {
		desc, err := sb.PushRandomImage(ctx, "app", tag)
		assert.NilError(t, err)
		signed[tag] = desc.Digest.String()
	}
	_, err := sb.PushRandomImage(ctx, "app", "other")
	assert.NilError(t, err)
	// Two publishes: rollback needs history.
	assert.NilError(t, runCommand(t, publisher, "sign", host+"/app:v1"))
	assert.NilError(t, runCommand(t, publisher, "sign", host+"/app:v2"))
	root := rootKeyID(t, sb, "app")
	warm, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, warm, "pull", "-a", host+"/app"))

	for _, tc := range []struct {
		mode    sandbox.Hostility
		message string // the first line says
		remedy  string // and what follows
		// fresh: a client without a cache (a warm one keeps its verified
		// copy of what the snapshot lists unchanged, and needs no download)
		fresh bool
	}{
		{sandbox.HostileCompromise, "Warning: potential malicious behavior - trust data mismatch for remote repository " + host + "/app",
			"a new root for " + host + "/app that the root this machine trusts did not sign (trusted root key " + root, false},
		{sandbox.HostileRollback, "Warning: potential malicious behavior - trust data version is lower than expected for remote repository " + host + "/app",
			"older trust data for " + host + "/app than this machine has already seen: a rollback", false},
		{sandbox.HostileFreeze, "Error: remote repository " + host + "/app out-of-date",
			"serves timestamp metadata for " + host + "/app that has expired", false},
		{sandbox.HostileExpired, "Error: remote repository " + host + "/app out-of-date",
			"serves snapshot metadata for " + host + "/app that has expired", false},
		{sandbox.HostileTamper, "Warning: potential malicious behavior - trust data has insufficient signatures for remote repository " + host + "/app",
			"is not signed by the keys its role requires: it was altered after it was signed", false},
		{sandbox.HostileCorrupt, "Warning: potential malicious behavior - trust data does not match its checksum for remote repository " + host + "/app",
			"does not match the checksum that the snapshot lists for it", true},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			assert.NilError(t, sb.SetHostile("app", tc.mode))
			defer func() { assert.NilError(t, sb.SetHostile("app", sandbox.HostileOff)) }()
			for _, args := range [][]string{{"pull", host + "/app:v1"}, {"resolve", host + "/app:v2"}, {"verify", host + "/app"}} {
				d, cli, eng := copyMachine(t, warm, nil)
				if tc.fresh {
					d, cli, eng = cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
				}
				err := runCommand(t, d, args...)
				assert.Assert(t, err != nil, "%s accepted a hostile server", args[0])
				msg := err.Error()
				if args[0] == "resolve" {
					msg = cli.ErrBuf.String()
				}
				assert.Check(t, is.Contains(msg, tc.message), args[0])
				assert.Check(t, is.Contains(msg, tc.remedy), args[0])
				assert.Check(t, is.Contains(msg, "Nothing was"), args[0])
				assert.Check(t, !strings.Contains(msg, "TLS certificate"), "a trust failure explained as TLS: %s", msg)
				assert.Check(t, is.Len(eng.Pulled, 0), args[0])
				assert.Check(t, is.Len(eng.Tagged, 0), args[0])
				assert.Check(t, !strings.Contains(cli.OutBuf.String(), "sha256:"), "%s printed a digest: %s", args[0], cli.OutBuf.String())
			}
		})
	}

	t.Run("full compromise, fresh clients", func(t *testing.T) {
		assert.NilError(t, sb.SetHostile("app", sandbox.HostileCompromise))
		defer func() { assert.NilError(t, sb.SetHostile("app", sandbox.HostileOff)) }()

		// Without a pin a fresh client trusts on first use: the attack
		// works, which is why pins exist.
		tofu, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, tofu, "pull", host+"/app:v1"))
		assert.Check(t, is.Len(eng.Pulled, 1))
		assert.Check(t, eng.Pulled[0] != host+"/app@"+signed["v1"], "the compromise served the genuine digest")

		pins := writePins(t, map[string][]string{host + "/app": {root}})
		pinned, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_PINS": pins})
		err := runCommand(t, pinned, "pull", host+"/app:v1")
		assert.ErrorContains(t, err, "the root of trust for "+host+"/app does not match its pin")
		assert.ErrorContains(t, err, "pinned root key IDs ["+root+"]")
		assert.Check(t, is.Len(eng.Pulled, 0))

		required, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_REQUIRE_PIN": "1"})
		err = runCommand(t, required, "pull", host+"/app:v1")
		assert.ErrorContains(t, err, host+"/app is not pinned, and pins are required")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("back to normal", func(t *testing.T) {
		d, _, eng := copyMachine(t, warm, nil)
		assert.NilError(t, runCommand(t, d, "pull", host+"/app:v1"))
		assert.DeepEqual(t, eng.Pulled, []string{host + "/app@" + signed["v1"]})
	})
}
