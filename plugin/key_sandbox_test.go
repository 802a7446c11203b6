package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/key"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// signWithPush signs image:tag, already in the registry, with the push
// command over the fake engine: it signs what the registry serves.
func signWithPush(t *testing.T, d *cmdutil.Deps, image string) {
	t.Helper()
	assert.NilError(t, runCommand(t, d, "push", image))
}

// roleKeyIDs reads the key IDs of a base role as a plain notary client
// with an empty cache sees them.
func roleKeyIDs(t *testing.T, repo client.Repository, role data.RoleName) []string {
	t.Helper()
	roles, err := repo.ListRoles()
	assert.NilError(t, err)
	for _, r := range roles {
		if r.Name == role {
			ids := append([]string(nil), r.KeyIDs...)
			sort.Strings(ids)
			return ids
		}
	}
	t.Fatalf("no %s role", role)
	return nil
}

// TestKeyBackupRestoreSignAgain: the keys of a machine that signed, backed
// up and restored into an empty DOCKER_CONFIG (a new CI runner), sign the
// same repository again without creating new keys.
func TestKeyBackupRestoreSignAgain(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	pushed := cmdtest.PushImages(t, sb, "app", "v1", "v2")

	laptop, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	signWithPush(t, laptop, host+"/app:v1")
	archive := filepath.Join(t.TempDir(), "keys.tar.gz")
	assert.NilError(t, runCommand(t, laptop, "key", "backup", "-o", archive))

	runner, out, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, runner, "key", "restore", archive))
	out.OutBuf.Reset()
	signWithPush(t, runner, host+"/app:v2")
	assert.Check(t, !regexp.MustCompile("initializ").MatchString(out.OutBuf.String()), out.OutBuf.String())
	assert.DeepEqual(t, cmdtest.KeyIDs(t, runner), cmdtest.KeyIDs(t, laptop))

	got, err := cmdtest.IndependentResolve(t, sb, host+"/app:v2")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, pushed["v2"].Digest))

	// key list maps the runner's key files to the roles the trust data
	// now cached on the runner gives them (the root as a certificate ID).
	out.OutBuf.Reset()
	assert.NilError(t, runCommand(t, runner, "key", "list", "--format", "json"))
	var items []key.KeyListItem
	assert.NilError(t, json.Unmarshal(out.OutBuf.Bytes(), &items))
	assert.Assert(t, is.Len(items, 2))
	gun := host + "/app"
	rootCerts := roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalRootRole)
	assert.Assert(t, is.Len(rootCerts, 1))
	assert.Check(t, is.Equal(items[0].Role, "root"))
	assert.Check(t, is.DeepEqual(items[0].SignsFor, []key.KeyListSigning{{Repository: gun, Role: "root", KeyID: rootCerts[0]}}))
	assert.Check(t, is.Equal(items[1].Role, "targets"))
	assert.Check(t, is.Equal(items[1].Repository, gun))
	assert.Check(t, is.DeepEqual(items[1].SignsFor, []key.KeyListSigning{{Repository: gun, Role: "targets", KeyID: items[1].ID}}))
	assert.Check(t, is.DeepEqual(roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole), []string{items[1].ID}))
}

// TestKeyListMatchesInspect: the root key ID that inspect shows (the ID
// of the repository's root certificate, what pins name) can be found in
// key list, in the table and in the JSON, next to the key file's own ID.
func TestKeyListMatchesInspect(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	cmdtest.PushImages(t, sb, "app", "v1")
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	signWithPush(t, d, host+"/app:v1")

	cli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, d, "inspect", host+"/app"))
	var inspected []cmdutil.InspectJSON
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &inspected))
	assert.Assert(t, is.Len(inspected, 1))
	var rootCert string
	for _, k := range inspected[0].AdministrativeKeys {
		if k.Name == "Root" {
			assert.Assert(t, is.Len(k.Keys, 1))
			rootCert = k.Keys[0].ID
		}
	}
	assert.Assert(t, rootCert != "", "inspect shows no root key: %s", cli.OutBuf.String())

	cli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, d, "key", "list", "--format", "json"))
	var items []key.KeyListItem
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &items))
	assert.Assert(t, is.Len(items, 2))
	root := items[0]
	assert.Check(t, is.Equal(root.Role, "root"))
	assert.Check(t, root.ID != rootCert, "the key file's ID is not the certificate's")
	assert.Check(t, is.DeepEqual(root.SignsFor, []key.KeyListSigning{{Repository: host + "/app", Role: "root", KeyID: rootCert}}))

	cli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, d, "key", "list"))
	lines := strings.Split(strings.TrimSpace(cli.OutBuf.String()), "\n")
	assert.Assert(t, is.Len(lines, 3), cli.OutBuf.String())
	assert.Check(t, is.Equal(strings.Join(strings.Fields(lines[0]), " "), "ROLE KEY ID REPOSITORY CERT ID SIGNS FOR"))
	assert.Check(t, is.DeepEqual(strings.Fields(lines[1]), []string{"root", root.ID, "-", rootCert, host + "/app"}))
	assert.Check(t, is.DeepEqual(strings.Fields(lines[2]), []string{"targets", items[1].ID, host + "/app", "-", host + "/app"}))
}

func TestKeyRotateTargets(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	pushed := cmdtest.PushImages(t, sb, "app", "v1", "v2")
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	signWithPush(t, d, host+"/app:v1")
	before := roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole)

	// A consumer that trusted the repository before the rotation.
	consumer := independentRepo(t, sb, "app")
	_, err := consumer.GetTargetByName("v1")
	assert.NilError(t, err)

	cli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, d, "key", "rotate", host+"/app", "targets"))
	m := regexp.MustCompile(`New targets key ID: ([0-9a-f]{64}) \(on this machine\)`).FindStringSubmatch(cli.OutBuf.String())
	assert.Assert(t, m != nil, cli.OutBuf.String())
	newID := m[1]
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully rotated targets key for repository "+host+"/app\n"))
	assert.Check(t, newID != before[0])

	// A fresh notary client sees the new key and still verifies v1, which
	// is now signed with it.
	fresh := independentRepo(t, sb, "app")
	assert.DeepEqual(t, roleKeyIDs(t, fresh, data.CanonicalTargetsRole), []string{newID})
	v1, err := fresh.GetTargetByName("v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(v1.Role, data.CanonicalTargetsRole))
	// The consumer's cached root moves on to the rotated one.
	_, err = consumer.GetTargetByName("v1")
	assert.NilError(t, err)
	// The new key is a repository key of this gun in the local store.
	cmdtest.StoredKey(t, d, newID, "targets", cmdtest.TestRepoPass)

	// Later signing uses the new key.
	signWithPush(t, d, host+"/app:v2")
	got, err := cmdtest.IndependentResolve(t, sb, host+"/app:v2")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, pushed["v2"].Digest))
	assert.DeepEqual(t, roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole), []string{newID})
}

func TestKeyRotateServerManaged(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	cmdtest.PushImages(t, sb, "app", "v1")
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	signWithPush(t, d, host+"/app:v1")
	localKeys := cmdtest.KeyIDs(t, d)

	for _, role := range []data.RoleName{data.CanonicalSnapshotRole, data.CanonicalTimestampRole} {
		t.Run(role.String(), func(t *testing.T) {
			before := roleKeyIDs(t, independentRepo(t, sb, "app"), role)
			cli.OutBuf.Reset()
			assert.NilError(t, runCommand(t, d, "key", "rotate", "--server-managed", host+"/app", role.String()))
			fresh := independentRepo(t, sb, "app")
			after := roleKeyIDs(t, fresh, role)
			assert.Assert(t, is.Len(after, 1))
			assert.Check(t, after[0] != before[0], "the %s key did not change", role)
			assert.Check(t, is.Contains(cli.OutBuf.String(), "New "+role.String()+" key ID: "+after[0]+" (held by the trust server)\n"))
			_, err := fresh.GetTargetByName("v1")
			assert.NilError(t, err)
		})
	}
	assert.DeepEqual(t, cmdtest.KeyIDs(t, d), localKeys)
}

// TestKeyRotateWrongRootPassphrase: the error names the key and its role.
func TestKeyRotateWrongRootPassphrase(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	cmdtest.PushImages(t, sb, "app", "v1")
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	signWithPush(t, d, host+"/app:v1")
	before := roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole)
	var rootID string
	keys, err := keystore.List(d.TrustDir())
	assert.NilError(t, err)
	for _, k := range keys {
		if k.Role == "root" {
			rootID = k.ID
		}
	}

	env := cmdtest.PassphraseEnv()
	env[keystore.EnvRootPassphrase] = "not-the-root-passphrase"
	wrong, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, env)
	wrong.ConfigDir = d.ConfigDir
	err = runCommand(t, wrong, "key", "rotate", host+"/app", "targets")
	assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 1))
	assert.Check(t, is.ErrorContains(err, "the passphrase in DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE does not decrypt the root key "+rootID[:7]))
	assert.DeepEqual(t, roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole), before)
}

func TestKeyRotateRefusedRoles(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"timestamp is the server's", []string{"reg.example/app", "timestamp"}, "the timestamp key is held by the trust server, so the server must create its replacement\nAdd --server-managed.", 1},
		{"targets is local", []string{"--server-managed", "reg.example/app", "targets"}, "Rotate it without --server-managed.", 1},
		{"root is never the server's", []string{"--server-managed", "reg.example/app", "root"}, "the root key is held only by its owner; the trust server cannot manage it", 1},
		{"a tag", []string{"reg.example/app:v1", "targets"}, "key rotate takes a repository, not a tag or digest: use reg.example/app", 125},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := cmdtest.KeyDeps(t, "", cmdtest.PassphraseEnv())
			err := runCommand(t, d, append([]string{"key", "rotate"}, tc.args...)...)
			assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), tc.code))
			assert.Check(t, is.ErrorContains(err, tc.want))
			keys, err := keystore.List(d.TrustDir())
			assert.NilError(t, err)
			assert.Check(t, is.Len(keys, 0), "a refused rotation made a key")
		})
	}
}

// TestKeyRotateAfterLosingTargetsKey: with the root key, a lost repository
// key is replaced and the repository signs again.
func TestKeyRotateAfterLosingTargetsKey(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	pushed := cmdtest.PushImages(t, sb, "app", "v1", "v2")
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	signWithPush(t, d, host+"/app:v1")
	lost := roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole)[0]
	assert.NilError(t, os.Remove(keystore.KeyFile(d.TrustDir(), lost)))

	assert.NilError(t, runCommand(t, d, "key", "rotate", host+"/app", "targets"))
	signWithPush(t, d, host+"/app:v2")
	for _, tag := range []string{"v1", "v2"} {
		got, err := cmdtest.IndependentResolve(t, sb, host+"/app:"+tag)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got.Digest, pushed[tag].Digest))
	}
	assert.Check(t, roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole)[0] != lost)
}

// TestKeyRotateKeepsTheOldKeyWhenItFails: notary deletes the old targets key
// while staging a rotation; a rotation that cannot be published must not
// leave the machine unable to sign.
func TestKeyRotateKeepsTheOldKeyWhenItFails(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	cmdtest.PushImages(t, sb, "app", "v1", "v2", "v3")
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	signWithPush(t, d, host+"/app:v1")
	targetsKey := roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole)[0]
	before := cmdtest.KeyIDs(t, d)

	t.Run("without the root key nothing is touched", func(t *testing.T) {
		rootIDs, err := trust.RootSigningKeyIDs(d.TrustDir(), data.GUN(host+"/app"))
		assert.NilError(t, err)
		assert.Assert(t, is.Len(rootIDs, 1))
		rootFile := keystore.KeyFile(d.TrustDir(), rootIDs[0])
		aside := rootFile + ".aside"
		assert.NilError(t, os.Rename(rootFile, aside))
		defer func() { assert.NilError(t, os.Rename(aside, rootFile)) }()

		next, _ := cmdtest.SameMachine(t, d)
		err = runCommand(t, next, "key", "rotate", host+"/app", "targets")
		assert.ErrorContains(t, err, "rotating a key of "+host+"/app needs its root key ("+rootIDs[0]+"), which is not on this machine; nothing was changed")
		assert.ErrorContains(t, err, "docker acrtrust key restore FILE")
		assert.DeepEqual(t, roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole), []string{targetsKey})
		_, statErr := os.Stat(keystore.KeyFile(d.TrustDir(), targetsKey))
		assert.NilError(t, statErr, "the targets key was removed")
	})

	t.Run("a failed publish puts the old key back", func(t *testing.T) {
		next, cli := cmdtest.SameMachine(t, d)
		next.Getenv = func(k string) string {
			if k == keystore.EnvRootPassphrase {
				return "not-the-root-passphrase"
			}
			return cmdtest.PassphraseEnv()[k]
		}
		err := runCommand(t, next, "key", "rotate", host+"/app", "targets")
		assert.Assert(t, err != nil)
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "The rotation failed; the old targets key is back in "))
		_, statErr := os.Stat(keystore.KeyFile(d.TrustDir(), targetsKey))
		assert.NilError(t, statErr, "the targets key is gone")
		assert.DeepEqual(t, roleKeyIDs(t, independentRepo(t, sb, "app"), data.CanonicalTargetsRole), []string{targetsKey})
	})

	// The machine still signs with its key.
	signWithPush(t, d, host+"/app:v2")
	got, err := cmdtest.IndependentResolve(t, sb, host+"/app:v2")
	assert.NilError(t, err)
	assert.Check(t, got.Role == data.CanonicalTargetsRole)
	for _, id := range before {
		_, err := os.Stat(keystore.KeyFile(d.TrustDir(), id))
		assert.Check(t, err == nil, "key %s is gone", id)
	}
}
