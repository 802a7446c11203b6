package plugin

import (
	"bytes"
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/opencontainers/go-digest"
	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	tufutils "github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// delegateKey is a signer's key pair as `docker trust key generate` makes
// one: the private key to load on the signer's machine, the public key
// PEM for `signer add --key`.
type delegateKey struct {
	name    string
	priv    data.PrivateKey
	pubPath string
}

func newDelegateKey(t *testing.T, name string) delegateKey {
	t.Helper()
	priv, err := tufutils.GenerateKey(data.ECDSAKey)
	assert.NilError(t, err)
	pubPath := filepath.Join(t.TempDir(), name+".pub")
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"role": name}, Bytes: priv.Public()})
	assert.NilError(t, os.WriteFile(pubPath, pubPEM, 0o644))
	return delegateKey{name: name, priv: priv, pubPath: pubPath}
}

func (k delegateKey) id() string { return k.priv.ID() }

// loadInto imports the private key into the key store of a DOCKER_CONFIG,
// encrypted with pass, the way `docker trust key load` did: notary's
// trustmanager.ImportKeys into the private key file storage.
func (k delegateKey) loadInto(t *testing.T, configDir, pass string) {
	t.Helper()
	privPEM, err := tufutils.ConvertPrivateKeyToPKCS8(k.priv, data.RoleName(k.name), "", "")
	assert.NilError(t, err)
	// The storage keeps private keys under <dir>/private, as Docker's trust dir.
	fileStore, err := storage.NewPrivateKeyFileStorage(filepath.Join(configDir, "trust"), notary.KeyExtension)
	assert.NilError(t, err)
	assert.NilError(t, trustmanager.ImportKeys(bytes.NewReader(privPEM), []trustmanager.Importer{fileStore}, k.name, "", passphrase.ConstantRetriever(pass)))

	keyDir := filepath.Join(configDir, "trust", "private")
	fi, err := os.Stat(filepath.Join(keyDir, k.id()+".key"))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)))
	di, err := os.Stat(keyDir)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(di.Mode().Perm(), os.FileMode(0o700)))
}

// signerStack is one sandbox seen from several machines: the repository
// owner's, each signer's and readers'. Every machine logs in to the
// sandbox (token auth) and trusts its CA; its trust server is the sandbox
// itself, as on ACR.
type signerStack struct {
	sb *sandbox.Sandbox
}

func newSignerStack(t *testing.T) signerStack {
	t.Helper()
	return signerStack{sb: cmdtest.StartSandbox(t)}
}

// machine is a user's machine: its own DOCKER_CONFIG, logged in as user.
func (s signerStack) machine(t *testing.T, user string, env map[string]string, stdin string, terminal bool) (*cmdutil.Deps, *cmdtest.FakeCLI) {
	t.Helper()
	d, cli, _ := cmdtest.SandboxDeps(t, s.sb, user, env)
	cli.Stdin = cmdtest.NewFakeCLI(t, stdin).Stdin
	cli.Stdin.SetIsTerminal(terminal)
	return d, cli
}

// delegate is a signer's machine: a DOCKER_CONFIG holding only the
// delegation key.
func (s signerStack) delegate(t *testing.T, k delegateKey, env map[string]string, stdin string, terminal bool) (*cmdutil.Deps, *cmdtest.FakeCLI) {
	t.Helper()
	d, cli := s.machine(t, sandbox.UserSigner, env, stdin, terminal)
	k.loadInto(t, d.ConfigDir, cmdtest.TestRepoPass)
	return d, cli
}

// reader opens repo's trust data with a plain notary client and an empty
// cache: a consumer on another machine.
func (s signerStack) reader(t *testing.T, repo string) client.Repository {
	t.Helper()
	return independentRepo(t, s.sb, repo)
}

func (s signerStack) resolve(t *testing.T, repo, tag string) (trust.Target, error) {
	t.Helper()
	return trust.Resolve(context.Background(), s.reader(t, repo), tag)
}

// roles returns, for each role that signed tag, the digest it signed.
func (s signerStack) roles(t *testing.T, repo, tag string) map[data.RoleName]digest.Digest {
	t.Helper()
	return signedRoles(t, s.sb, repo, tag)
}

func TestSignerAddThenSignAsDelegate(t *testing.T) {
	t.Parallel() // it owns its sandbox
	st := newSignerStack(t)
	host := st.sb.Host()
	pushed := cmdtest.PushImages(t, st.sb, "app", "v1", "v2", "v3")
	admin, _ := st.machine(t, sandbox.UserSigner, cmdtest.PassphraseEnv(), "", false)
	assert.NilError(t, runCommand(t, admin, "sign", host+"/app:v1"))

	alice := newDelegateKey(t, "alice")
	d, cli := cmdtest.SameMachine(t, admin)
	assert.NilError(t, runCommand(t, d, "signer", "add", "--key", alice.pubPath, "alice", host+"/app"))
	assert.Equal(t, cli.OutBuf.String(), "Adding signer \"alice\" to "+host+"/app...\n"+
		"Successfully added signer: alice to "+host+"/app\n\n")

	delegations, err := st.reader(t, "app").GetDelegationRoles()
	assert.NilError(t, err)
	assert.Check(t, is.Len(delegations, 2))
	for _, r := range delegations {
		assert.Check(t, r.Name == trust.SignerRole("alice") || r.Name == trust.ReleasesRole, r.Name)
		assert.Check(t, is.DeepEqual(r.KeyIDs, []string{alice.id()}))
		assert.Check(t, is.DeepEqual(r.Paths, []string{""}), "every tag")
		assert.Check(t, is.Equal(r.Threshold, 1))
	}

	t.Run("passphrase from the environment", func(t *testing.T) {
		// Only the repository passphrase: the delegate has no root key.
		env := map[string]string{"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": cmdtest.TestRepoPass}
		d, cli := st.delegate(t, alice, env, "", false)
		assert.NilError(t, runCommand(t, d, "sign", host+"/app:v2"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+host+"/app:v2\n"))
		assert.Check(t, is.DeepEqual(st.roles(t, "app", "v2"), map[data.RoleName]digest.Digest{
			trust.ReleasesRole:        pushed["v2"].Digest,
			trust.SignerRole("alice"): pushed["v2"].Digest,
		}), "into targets/releases and the signer's own role, not targets")
		got, err := st.resolve(t, "app", "v2")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got.Digest, pushed["v2"].Digest))
	})

	t.Run("passphrase typed at the terminal", func(t *testing.T) {
		d, cli := st.delegate(t, alice, nil, cmdtest.TestRepoPass+"\n", true)
		assert.NilError(t, runCommand(t, d, "sign", host+"/app:v3"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Enter passphrase for alice key with ID "+alice.id()[:7]))
		assert.Check(t, !strings.Contains(cli.OutBuf.String()+cli.ErrBuf.String(), cmdtest.TestRepoPass), "the passphrase is never echoed")
		assert.Check(t, is.Equal(st.roles(t, "app", "v3")[trust.ReleasesRole], pushed["v3"].Digest))
	})

	t.Run("wrong passphrase", func(t *testing.T) {
		env := map[string]string{"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "not-the-passphrase"}
		d, _ := st.delegate(t, alice, env, "", false)
		err := runCommand(t, d, "sign", host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, "the passphrase in DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE does not decrypt the alice key "+alice.id()[:7]))
	})

	t.Run("inspect names the signer", func(t *testing.T) {
		d, cli := st.machine(t, sandbox.UserPull, nil, "", false)
		assert.NilError(t, runCommand(t, d, "inspect", "--pretty", host+"/app"))
		out := cli.OutBuf.String()
		assert.Check(t, is.Contains(out, "v1           "+pushed["v1"].Digest.Encoded()+"   (Repo Admin)\n"))
		assert.Check(t, is.Contains(out, "v2           "+pushed["v2"].Digest.Encoded()+"   alice\n"))
		assert.Check(t, is.Contains(out, "alice     "+alice.id()[:12]+"\n"))
	})

	t.Run("a delegate cannot revoke what the admin signed", func(t *testing.T) {
		d, _ := st.delegate(t, alice, cmdtest.PassphraseEnv(), "", false)
		err := runCommand(t, d, "revoke", host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, "cannot remove the signature of v1 in targets"))
		_, err = st.resolve(t, "app", "v1")
		assert.Check(t, err, "v1 still pulls")
	})

	t.Run("a delegate revokes its own signature", func(t *testing.T) {
		d, cli := st.delegate(t, alice, cmdtest.PassphraseEnv(), "", false)
		assert.NilError(t, runCommand(t, d, "revoke", host+"/app:v2"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully deleted signature for "+host+"/app:v2"))
		_, err := st.resolve(t, "app", "v2")
		assert.Check(t, is.Equal(trust.KindOf(err), trust.KindNotSigned), "%v", err)
	})
}

func TestSignerAddInitializesRepository(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	alice, bob := newDelegateKey(t, "alice"), newDelegateKey(t, "bob")
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, d, "signer", "add", "--key", alice.pubPath, "--key", bob.pubPath, "team", host+"/one", host+"/two"))
	want := ""
	for _, repo := range []string{host + "/one", host + "/two"} {
		want += "Adding signer \"team\" to " + repo + "...\n" +
			"Initializing signed repository for " + repo + "...\n" +
			"Successfully initialized \"" + repo + "\"\n" +
			"Successfully added signer: team to " + repo + "\n\n"
	}
	assert.Equal(t, cli.OutBuf.String(), want)
	for _, repo := range []string{"one", "two"} {
		delegations, err := independentRepo(t, sb, repo).GetDelegationRoles()
		assert.NilError(t, err)
		assert.Check(t, is.Len(delegations, 2))
		for _, r := range delegations {
			assert.Check(t, is.Len(r.KeyIDs, 2), "both keys in %s", r.Name)
		}
	}
}

func TestSignerAddErrors(t *testing.T) {
	alice := newDelegateKey(t, "alice")
	privPath := filepath.Join(t.TempDir(), "alice.key")
	privPEM, err := tufutils.ConvertPrivateKeyToPKCS8(alice.priv, "alice", "", "")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(privPath, privPEM, 0o600))

	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no key", args: []string{"alice", "reg.example/app"}, wantErr: "path to a public key must be provided using the `--key` flag"},
		{name: "reserved name", args: []string{"--key", alice.pubPath, "releases", "reg.example/app"}, wantErr: "releases is a reserved keyword, use a different signer name"},
		{name: "invalid name", args: []string{"--key", alice.pubPath, "Alice", "reg.example/app"}, wantErr: `signer name "Alice" must start with lowercase alphanumeric characters and can include "-" or "_" after the first character`},
		{name: "missing key file", args: []string{"--key", "/nonexistent.pub", "alice", "reg.example/app"}, wantErr: "unable to read public key from file"},
		{name: "private key given", args: []string{"--key", privPath, "alice", "reg.example/app"}, wantErr: "could not parse public key from file: " + privPath},
		{name: "no repository", args: []string{"--key", alice.pubPath, "alice"}, wantErr: "requires at least 2 arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, nil)
			d.OpenRepo = func(context.Context, trust.Ref, bool) (trust.Repository, error) {
				t.Fatal("no trust data may be opened on bad input")
				return nil, nil
			}
			err := runCommand(t, d, append([]string{"signer", "add"}, tc.args...)...)
			assert.Check(t, is.ErrorContains(err, tc.wantErr))
			assert.Check(t, is.Equal(cli.OutBuf.String(), ""))
		})
	}
}

func TestSignerRemove(t *testing.T) {
	t.Parallel() // it owns its sandbox
	st := newSignerStack(t)
	host := st.sb.Host()
	repo := host + "/app"
	pushed := cmdtest.PushImages(t, st.sb, "app", "v1", "v2")
	admin, _ := st.machine(t, sandbox.UserSigner, cmdtest.PassphraseEnv(), "", false)
	alice, bob := newDelegateKey(t, "alice"), newDelegateKey(t, "bob")
	assert.NilError(t, runCommand(t, admin, "signer", "add", "--key", alice.pubPath, "alice", repo))
	d, _ := cmdtest.SameMachine(t, admin)
	assert.NilError(t, runCommand(t, d, "signer", "add", "--key", bob.pubPath, "bob", repo))
	dAlice, _ := st.delegate(t, alice, cmdtest.PassphraseEnv(), "", false)
	assert.NilError(t, runCommand(t, dAlice, "sign", host+"/app:v1"))

	t.Run("a signer who is not the last is removed, without a question", func(t *testing.T) {
		d, cli := cmdtest.SameMachine(t, admin)
		assert.NilError(t, runCommand(t, d, "signer", "remove", "bob", repo))
		assert.Equal(t, cli.OutBuf.String(), "Removing signer \"bob\" from "+repo+"...\n"+
			"Successfully removed bob from "+repo+"\n\n")
		delegations, err := st.reader(t, "app").GetDelegationRoles()
		assert.NilError(t, err)
		assert.Check(t, is.Len(delegations, 2))
		for _, r := range delegations {
			assert.Check(t, r.Name != trust.SignerRole("bob"), "targets/bob is gone")
			assert.Check(t, is.DeepEqual(r.KeyIDs, []string{alice.id()}), "bob's key left %s", r.Name)
		}
		got, err := st.resolve(t, "app", "v1")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got.Digest, pushed["v1"].Digest), "alice's signature still pulls")
	})

	t.Run("unknown signer", func(t *testing.T) {
		d, cli := cmdtest.SameMachine(t, admin)
		err := runCommand(t, d, "signer", "remove", "mallory", repo)
		assert.Check(t, is.ErrorContains(err, "error removing signer from: "+repo))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "no signer mallory for repository "+repo))
	})

	t.Run("releases cannot be removed", func(t *testing.T) {
		d, cli := cmdtest.SameMachine(t, admin)
		err := runCommand(t, d, "signer", "remove", "releases", repo)
		assert.Check(t, is.ErrorContains(err, "error removing signer from: "+repo))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "releases is a reserved keyword and cannot be removed"))
	})

	lastQuestion := "The signer \"alice\" signed the last released version of " + repo + ". " +
		"Removing this signer will make " + repo + " unpullable. Are you sure you want to continue? [y/N] "
	stillThere := func(t *testing.T) {
		t.Helper()
		delegations, err := st.reader(t, "app").GetDelegationRoles()
		assert.NilError(t, err)
		assert.Check(t, is.Len(delegations, 2), "alice and releases are still there")
	}

	t.Run("the last signer needs -f when stdin is not a terminal", func(t *testing.T) {
		d, cli := cmdtest.SameMachine(t, admin)
		err := runCommand(t, d, "signer", "remove", "alice", repo)
		assert.Check(t, is.ErrorContains(err, "error removing signer from: "+repo))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "Pass -f to go ahead without a prompt."))
		assert.Check(t, !strings.Contains(cli.OutBuf.String(), "Are you sure"))
		stillThere(t)
	})

	t.Run("the last signer, declined", func(t *testing.T) {
		d, cli := cmdtest.SameMachine(t, admin)
		cli.Stdin = cmdtest.NewFakeCLI(t, "n\n").Stdin
		cli.Stdin.SetIsTerminal(true)
		assert.NilError(t, runCommand(t, d, "signer", "remove", "alice", repo))
		assert.Equal(t, cli.OutBuf.String(), "Removing signer \"alice\" from "+repo+"...\n"+lastQuestion)
		stillThere(t)
	})

	t.Run("the last signer, confirmed", func(t *testing.T) {
		d, cli := cmdtest.SameMachine(t, admin)
		cli.Stdin = cmdtest.NewFakeCLI(t, "y\n").Stdin
		cli.Stdin.SetIsTerminal(true)
		assert.NilError(t, runCommand(t, d, "signer", "remove", "alice", repo))
		assert.Check(t, is.Contains(cli.OutBuf.String(), lastQuestion+"Successfully removed alice from "+repo+"\n"))
		delegations, err := st.reader(t, "app").GetDelegationRoles()
		assert.NilError(t, err)
		assert.Check(t, is.Len(delegations, 0), "targets/releases went with its last key")
		_, err = st.resolve(t, "app", "v1")
		assert.Check(t, is.Equal(trust.KindOf(err), trust.KindNotSigned), "v1 was signed only by alice: %v", err)

		// With no delegation left, the admin signs into targets again
		// (docker left an empty targets/releases behind, and then nobody
		// could sign).
		d, _ = cmdtest.SameMachine(t, admin)
		assert.NilError(t, runCommand(t, d, "sign", host+"/app:v2"))
		assert.Check(t, is.DeepEqual(st.roles(t, "app", "v2"), map[data.RoleName]digest.Digest{data.CanonicalTargetsRole: pushed["v2"].Digest}))
	})

	t.Run("-f removes the last signer without a question", func(t *testing.T) {
		// Another repository: once targets/releases has been signed with
		// keys that are all gone, notary servers keep that metadata and
		// take a new targets/releases only with a higher version, which a
		// new signer's client cannot know (see the signer remove docs).
		other := host + "/other"
		otherPushed := cmdtest.PushImages(t, st.sb, "other", "v1")
		carol := newDelegateKey(t, "carol")
		d, _ := cmdtest.SameMachine(t, admin)
		assert.NilError(t, runCommand(t, d, "sign", other+":v1"))
		d, _ = cmdtest.SameMachine(t, admin)
		assert.NilError(t, runCommand(t, d, "signer", "add", "--key", carol.pubPath, "carol", other))
		dCarol, _ := st.delegate(t, carol, cmdtest.PassphraseEnv(), "", false)
		assert.NilError(t, runCommand(t, dCarol, "sign", other+":v1"))
		assert.Check(t, is.Equal(st.roles(t, "other", "v1")[trust.ReleasesRole], otherPushed["v1"].Digest))

		d, cli := cmdtest.SameMachine(t, admin)
		assert.NilError(t, runCommand(t, d, "signer", "remove", "-f", "carol", other))
		assert.Check(t, !strings.Contains(cli.OutBuf.String(), "Are you sure"))
		delegations, err := st.reader(t, "other").GetDelegationRoles()
		assert.NilError(t, err)
		assert.Check(t, is.Len(delegations, 0))
		got, err := st.resolve(t, "other", "v1")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got.Role, data.CanonicalTargetsRole), "the admin's signature in targets is what pulls now")
	})
}

// TestInspectSandboxGolden pins inspect's JSON and --pretty output on real
// trust data: an admin-signed tag, a tag signed by a delegate, a signer.
// Key IDs and digests vary from run to run and are replaced by names of
// the same length.
func TestInspectSandboxGolden(t *testing.T) {
	t.Parallel() // it owns its sandbox
	st := newSignerStack(t)
	host := st.sb.Host()
	pushed := cmdtest.PushImages(t, st.sb, "app", "v1", "v2", "v10")
	admin, _ := st.machine(t, sandbox.UserSigner, cmdtest.PassphraseEnv(), "", false)
	assert.NilError(t, runCommand(t, admin, "sign", host+"/app:v1", host+"/app:v10"))
	alice := newDelegateKey(t, "alice")
	d, _ := cmdtest.SameMachine(t, admin)
	assert.NilError(t, runCommand(t, d, "signer", "add", "--key", alice.pubPath, "alice", host+"/app"))
	dAlice, _ := st.delegate(t, alice, cmdtest.PassphraseEnv(), "", false)
	assert.NilError(t, runCommand(t, dAlice, "sign", host+"/app:v2"))

	roles, err := st.reader(t, "app").ListRoles()
	assert.NilError(t, err)
	var pairs []string
	for _, r := range roles {
		switch r.Name {
		case data.CanonicalRootRole:
			pairs = append(pairs, r.KeyIDs[0], sameLength("ROOT-KEY-ID", r.KeyIDs[0]))
		case data.CanonicalTargetsRole:
			pairs = append(pairs, r.KeyIDs[0], sameLength("REPOSITORY-KEY-ID", r.KeyIDs[0]))
		}
	}
	for tag, desc := range pushed {
		pairs = append(pairs, desc.Digest.Encoded(), sameLength("DIGEST-OF-"+tag, desc.Digest.Encoded()))
	}
	pairs = append(pairs, alice.id(), sameLength("ALICE-KEY-ID", alice.id()), alice.id()[:12], "ALICE-KEY-ID", host, "sandbox.test")
	normalise := strings.NewReplacer(pairs...)

	for _, tc := range []struct {
		name   string
		args   []string
		golden string
	}{
		{name: "json", args: []string{"inspect", host + "/app", host + "/app:v2"}, golden: "inspect-sandbox.golden"},
		{name: "pretty", args: []string{"inspect", "--pretty", host + "/app", host + "/app:v2"}, golden: "inspect-pretty-sandbox.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, cli := st.machine(t, sandbox.UserPull, nil, "", false)
			assert.NilError(t, runCommand(t, d, tc.args...))
			golden.Assert(t, normalise.Replace(cli.OutBuf.String()), tc.golden)
		})
	}
}

// sameLength pads name with dots to the length of the value it replaces,
// so that tables keep their alignment.
func sameLength(name, value string) string {
	if len(name) >= len(value) {
		return name
	}
	return name + strings.Repeat(".", len(value)-len(name))
}

// TestSignWhatIsAlreadySigned: signing a tag again with the digest it is
// signed for publishes nothing and says so, with or without keys; a role
// of this machine that has not signed it yet signs it, and needs its key.
func TestSignWhatIsAlreadySigned(t *testing.T) {
	t.Parallel() // it owns its sandbox
	st := newSignerStack(t)
	host := st.sb.Host()
	cmdtest.PushImages(t, st.sb, "app", "v1", "v2")
	admin, _ := st.machine(t, sandbox.UserSigner, cmdtest.PassphraseEnv(), "", false)
	assert.NilError(t, runCommand(t, admin, "sign", host+"/app:v1"))
	v1 := st.roles(t, "app", "v1")[data.CanonicalTargetsRole]

	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{name: "no keys on this machine"},
		{name: "a wrong passphrase", env: map[string]string{"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "wrong-passphrase"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, cli := st.machine(t, sandbox.UserSigner, tc.env, "", false)
			st.sb.ResetStats()
			assert.NilError(t, runCommand(t, d, "sign", host+"/app:v1"))
			out := cli.OutBuf.String()
			assert.Check(t, is.Contains(out, "Tag "+host+"/app:v1 is already signed for "+v1.String()+" by targets (Repo Admin); nothing to sign\n"))
			assert.Check(t, is.Contains(out, "Nothing was published"))
			assert.Check(t, !strings.Contains(out, "Successfully signed"), out)
			assert.Check(t, is.Equal(st.sb.Stats().Publishes, 0))
			// A tag that is not signed yet still needs the key.
			err := runCommand(t, d, "sign", host+"/app:v2")
			assert.Check(t, err != nil, "signing v2 without a usable key succeeded")
		})
	}

	t.Run("a signer whose role lacks the signature signs it", func(t *testing.T) {
		alice := newDelegateKey(t, "alice")
		d, _ := cmdtest.SameMachine(t, admin)
		assert.NilError(t, runCommand(t, d, "signer", "add", "--key", alice.pubPath, "alice", host+"/app"))
		a, cli := st.delegate(t, alice, cmdtest.PassphraseEnv(), "", false)
		assert.NilError(t, runCommand(t, a, "sign", host+"/app:v1"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+host+"/app:v1\n"))
		roles := st.roles(t, "app", "v1")
		assert.Check(t, is.Equal(roles[trust.SignerRole("alice")], v1))
		assert.Check(t, is.Equal(roles[trust.ReleasesRole], v1))

		// Now every role of alice's holds it: nothing to sign, no key needed.
		a2, cli2 := st.delegate(t, alice, map[string]string{"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "wrong-passphrase"}, "", false)
		st.sb.ResetStats()
		assert.NilError(t, runCommand(t, a2, "sign", host+"/app:v1"))
		assert.Check(t, is.Contains(cli2.OutBuf.String(), "is already signed for "+v1.String()+" by targets (Repo Admin), targets/alice, targets/releases; nothing to sign"))
		assert.Check(t, is.Equal(st.sb.Stats().Publishes, 0))
	})
}

// TestDoctorOnARepositoryWithSigners: once a repository has signers, the
// repository key alone signs no tags; doctor says so instead of "can sign".
func TestDoctorOnARepositoryWithSigners(t *testing.T) {
	t.Parallel() // it owns its sandbox
	st := newSignerStack(t)
	host := st.sb.Host()
	cmdtest.PushImages(t, st.sb, "app", "v1", "v2")
	admin, _ := st.machine(t, sandbox.UserSigner, cmdtest.PassphraseEnv(), "", false)
	assert.NilError(t, runCommand(t, admin, "sign", host+"/app:v1"))
	alice := newDelegateKey(t, "alice")
	d, _ := cmdtest.SameMachine(t, admin)
	assert.NilError(t, runCommand(t, d, "signer", "add", "--key", alice.pubPath, "alice", host+"/app"))

	d, cli := cmdtest.SameMachine(t, admin)
	err := runCommand(t, d, "doctor", "--sign", host+"/app:v1")
	assert.ErrorContains(t, err, "signing keys")
	out := cli.OutBuf.String()
	assert.Check(t, is.Contains(out, "FAIL  signing keys   "+host+"/app has signers, and no signer's key is here (the repository key "))
	assert.Check(t, is.Contains(out, "docker acrtrust signer add --key PEM NAME "+host+"/app"))

	// And sign agrees: the repository key alone signs no tag here.
	d, _ = cmdtest.SameMachine(t, admin)
	err = runCommand(t, d, "sign", host+"/app:v2")
	assert.ErrorContains(t, err, "no valid signing keys for delegation roles")
	assert.ErrorContains(t, err, host+"/app has signers, so a tag is signed with a signer's key")

	// A signer's machine can.
	a, acli := st.delegate(t, alice, cmdtest.PassphraseEnv(), "", false)
	assert.NilError(t, runCommand(t, a, "doctor", "--sign", host+"/app:v1"))
	assert.Check(t, is.Contains(acli.OutBuf.String(), "ok    signing keys   can sign with signer key"))
}
