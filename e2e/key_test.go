//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	tufutils "github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// keyIDLine is the "Key ID: <id>" line of key generate and key load.
var keyIDLine = regexp.MustCompile(`(?m)^Key ID: ([0-9a-f]{64})\b`)

// TestKeyGenerate: `key generate NAME --dir DIR` stores an encrypted
// private key, 0600 in the 0700 key folder, and writes NAME.pub, the
// public half of the same key; a second generate of the same name is
// refused and makes no key.
func TestKeyGenerate(t *testing.T) {
	c := newClient(t).withPassphrases()
	dir := t.TempDir()

	res := c.acrtrust(t, "key", "generate", "alice", "--dir", dir)
	res.Assert(t, icmd.Expected{Out: "Successfully generated and loaded private key. Corresponding public key available: " + filepath.Join(dir, "alice.pub")})
	assertNoSecrets(t, res)
	m := keyIDLine.FindStringSubmatch(res.Stdout())
	assert.Assert(t, m != nil, "no Key ID line:\n%s", res.Stdout())
	id := m[1]

	assertStoredKey(t, c, id, "alice", repoPassphrase)
	pubPEM, err := os.ReadFile(filepath.Join(dir, "alice.pub"))
	assert.NilError(t, err)
	block, _ := pem.Decode(pubPEM)
	assert.Assert(t, block != nil, "alice.pub is not PEM:\n%s", pubPEM)
	assert.Check(t, is.Equal(block.Headers["role"], "alice"))
	pub, err := tufutils.ParsePEMPublicKey(pubPEM)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(pub.ID(), id), "alice.pub is not the public half of the stored key")

	t.Run("an existing public key file is not overwritten", func(t *testing.T) {
		again := c.acrtrust(t, "key", "generate", "alice", "--dir", dir)
		again.Assert(t, icmd.Expected{ExitCode: 1, Err: `public key file already exists: "` + filepath.Join(dir, "alice.pub") + `"`})
		assert.Check(t, is.DeepEqual(c.keyFiles(t), []string{id + ".key"}), "a refused generate made a key")
		after, err := os.ReadFile(filepath.Join(dir, "alice.pub"))
		assert.NilError(t, err)
		assert.Check(t, bytes.Equal(after, pubPEM), "alice.pub was rewritten")
	})
}

// TestKeyLoad: `key load --name NAME FILE` imports a PEM made elsewhere
// (here: PKCS#8, as `openssl genpkey` writes it) under that name,
// encrypted with the repository passphrase; a key file others can read is
// refused and nothing is imported.
func TestKeyLoad(t *testing.T) {
	c := newClient(t).withPassphrases()
	keyPEM, id := newKeyPEM(t, nil)
	dir := t.TempDir()

	t.Run("a key file readable by others is refused", func(t *testing.T) {
		open := filepath.Join(dir, "open.pem")
		assert.NilError(t, os.WriteFile(open, keyPEM, 0o600))
		assert.NilError(t, os.Chmod(open, 0o644)) // past the umask
		res := c.acrtrust(t, "key", "load", "--name", "bob", open)
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: "private key file " + open + " must not be readable or writable by others"})
		assert.Check(t, is.Contains(res.Stderr(), "chmod 600 "+open), "the fix is named")
		assert.Check(t, !strings.Contains(res.Stdout(), "Successfully imported"), res.Stdout())
		assert.Check(t, is.Len(c.keyFiles(t), 0), "a refused key was imported")
	})

	t.Run("a private key file is imported", func(t *testing.T) {
		file := filepath.Join(dir, "bob.pem")
		assert.NilError(t, os.WriteFile(file, keyPEM, 0o600))
		res := c.acrtrust(t, "key", "load", "--name", "bob", file)
		res.Assert(t, icmd.Expected{Out: "Successfully imported key from " + file})
		assert.Check(t, is.Contains(res.Stdout(), "Key ID: "+id+" (role bob)"))
		assertNoSecrets(t, res)
		assertStoredKey(t, c, id, "bob", repoPassphrase)
		assert.Check(t, is.DeepEqual(c.keyFiles(t), []string{id + ".key"}))
	})
}

// TestKeyListBackupRestore: after a signed push, `key list` shows the root
// and repository keys; `key backup` archives them, and `key restore` on a
// new machine (an empty DOCKER_CONFIG, logged in, CA installed) lets it
// sign the repository with those keys: no new root, no new repository
// key, no re-initialisation. A hostile archive changes nothing.
func TestKeyListBackupRestore(t *testing.T) {
	requireDCTDocker(t)
	laptop := newClient(t).withPassphrases()
	repo := newRepo(t)
	laptop.importImage(t, repo+":v1")
	laptop.acrtrust(t, "push", repo+":v1").Assert(t, icmd.Expected{Out: "Successfully signed " + repo + ":v1"})
	inspected := dockerTrustInspect(t, laptop, repo)
	repoKeys := inspected.adminKeys("Repository")
	assert.Assert(t, is.Len(repoKeys, 1), "docker trust inspect: %+v", inspected)
	targetsID := repoKeys[0]
	rootCerts := inspected.adminKeys("Root")
	assert.Assert(t, is.Len(rootCerts, 1), "docker trust inspect: %+v", inspected)
	rootCert := rootCerts[0] // the root certificate's ID, not the key file's
	var rootID string

	t.Run("key list", func(t *testing.T) {
		res := laptop.acrtrust(t, "key", "list")
		res.Assert(t, icmd.Success)
		lines := strings.Split(strings.TrimSpace(res.Stdout()), "\n")
		assert.Assert(t, is.Len(lines, 3), res.Stdout())
		assert.Check(t, regexp.MustCompile(`^ROLE\s+KEY ID\s+REPOSITORY\s+CERT ID\s+SIGNS FOR$`).MatchString(lines[0]), lines[0])
		assert.Check(t, regexp.MustCompile(`^root\s+[0-9a-f]{64}\s+-\s+`+rootCert+`\s+`+regexp.QuoteMeta(repo)+`$`).MatchString(lines[1]), lines[1])
		assert.Check(t, regexp.MustCompile(`^targets\s+`+targetsID+`\s+`+regexp.QuoteMeta(repo)+`\s+-\s+`+regexp.QuoteMeta(repo)+`$`).MatchString(lines[2]), lines[2])
	})

	t.Run("key list --format json", func(t *testing.T) {
		items := keyList(t, laptop)
		assert.Assert(t, is.Len(items, 2))
		root, targets := items[0], items[1]
		assert.Check(t, is.Equal(root.Role, "root"))
		assert.Check(t, is.Equal(root.Repository, ""))
		assert.Check(t, is.DeepEqual(root.SignsFor, []keySigning{{Repository: repo, Role: "root", KeyID: rootCert}}), "key list and docker trust inspect disagree on the root key")
		assert.Check(t, is.Equal(targets.Role, "targets"))
		assert.Check(t, is.Equal(targets.ID, targetsID), "key list and docker trust inspect disagree on the repository key")
		assert.Check(t, is.Equal(targets.Repository, repo))
		assert.Check(t, is.DeepEqual(targets.SignsFor, []keySigning{{Repository: repo, Role: "targets", KeyID: targetsID}}))
		for _, k := range items {
			assert.Check(t, k.Encrypted, "%s is stored unencrypted", k.ID)
			assert.Check(t, is.Equal(k.Problem, ""))
			assert.Check(t, is.Equal(k.File, filepath.Join(laptop.config, "trust", "private", k.ID+".key")))
		}
		assert.Check(t, is.DeepEqual(laptop.keyFiles(t), sortedStrings(root.ID+".key", targets.ID+".key")))
		rootID = root.ID
	})

	archive := filepath.Join(t.TempDir(), "keys.tar.gz")
	t.Run("key backup", func(t *testing.T) {
		res := laptop.acrtrust(t, "key", "backup", "-o", archive)
		res.Assert(t, icmd.Expected{Out: "Backed up 2 key(s) from " + filepath.Join(laptop.config, "trust", "private") + " to " + archive + ":"})
		assertNoSecrets(t, res)
		fi, err := os.Stat(archive)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)), "archive mode")
		assert.Check(t, is.DeepEqual(archiveNames(t, archive), sortedStrings(
			"trust/private/"+rootID+".key", "trust/private/"+targetsID+".key")))
	})

	runner := newClient(t) // a new CI runner: logged in, CA installed, no keys
	runner.env[envRepo] = repoPassphrase
	t.Run("key restore on a new machine, then a signed push", func(t *testing.T) {
		_, err := os.Stat(filepath.Join(runner.config, "trust"))
		assert.Assert(t, os.IsNotExist(err), "the new machine already has a trust folder")

		res := runner.acrtrust(t, "key", "restore", archive)
		res.Assert(t, icmd.Expected{Out: "Restored 2 key(s) to " + filepath.Join(runner.config, "trust", "private") + ":"})
		assert.Check(t, is.Contains(res.Stdout(), "2 file(s) written, 0 replaced, 0 already up to date"))
		assert.Check(t, is.DeepEqual(runner.keyFiles(t), laptop.keyFiles(t)))
		assertPrivateTree(t, filepath.Join(runner.config, "trust"))

		// Only the repository passphrase: the root key is not touched.
		push, _ := runner.signedPush(t, repo, "v2")
		assert.Check(t, !strings.Contains(push.Stdout(), "Finished initializing"), push.Stdout())
		assertNoSecrets(t, push)
		digest := pushedDigest(t, push.Stdout(), "v2")
		assert.Check(t, is.DeepEqual(runner.keyFiles(t), laptop.keyFiles(t)), "the push made a key")

		after := dockerTrustInspect(t, runner, repo)
		assert.Check(t, is.DeepEqual(after.AdministrativeKeys, inspected.AdministrativeKeys), "the repository was initialised again")
		assert.Check(t, is.Equal(after.signedDigest("v2"), strings.TrimPrefix(digest, "sha256:")))
		assert.Check(t, is.Equal(after.signedDigest("v1"), inspected.signedDigest("v1")))
	})

	t.Run("a hostile archive changes nothing", func(t *testing.T) {
		good, goodID := newKeyPEM(t, map[string]string{"role": "mallory"})
		var rnd [4]byte
		_, _ = rand.Read(rnd[:])
		evil := "acrtrust-e2e-evil-" + hex.EncodeToString(rnd[:])
		// Where an archive escaping the trust folder would land.
		landing := []string{
			filepath.Join(runner.config, evil),
			filepath.Join(filepath.Dir(runner.config), evil),
			filepath.Join(filepath.Dir(filepath.Dir(runner.config)), evil),
		}
		for _, tc := range []struct {
			name, want string
			entries    []tarEntry
		}{
			{
				name: "a ../ path", want: `".." in the path`,
				entries: []tarEntry{
					{name: "trust/private/" + goodID + ".key", body: good},
					{name: "trust/private/../../../" + evil, body: good},
				},
			},
			{
				name: "an absolute path", want: "absolute path",
				entries: []tarEntry{
					{name: "trust/private/" + goodID + ".key", body: good},
					{name: landing[1], body: good},
				},
			},
			{
				name: "a symbolic link", want: "only regular files and folders are restored",
				entries: []tarEntry{
					{name: "trust/private/" + goodID + ".key", body: good},
					{name: "trust/private/" + strings.Repeat("e", 64) + ".key", link: landing[1]},
				},
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := snapshotTree(t, filepath.Join(runner.config, "trust"))
				file := filepath.Join(t.TempDir(), "hostile.tar.gz")
				writeArchive(t, file, tc.entries)
				cmd := icmd.Command(h.docker, "acrtrust", "key", "restore", file)
				cmd.Dir = t.TempDir() // a restore relative to the working directory would land here
				res := runner.run(t, cmd)
				res.Assert(t, icmd.Expected{ExitCode: 1, Err: "archive rejected, nothing restored"})
				assert.Check(t, is.Contains(res.Stderr(), tc.want))
				assert.Check(t, !strings.Contains(res.Stdout(), "Restored"), res.Stdout())
				assert.Check(t, is.DeepEqual(snapshotTree(t, filepath.Join(runner.config, "trust")), before), "the trust folder changed")
				entries, err := os.ReadDir(cmd.Dir)
				assert.NilError(t, err)
				assert.Check(t, is.Len(entries, 0), "files were written in the working directory")
				for _, p := range landing {
					_, err := os.Lstat(p)
					assert.Check(t, os.IsNotExist(err), "%s was written", p)
				}
			})
		}
	})
}

// TestKeyRotate: `key rotate IMAGE targets` replaces the repository key;
// Docker's own `docker trust inspect` shows the new key, Docker's trusted
// pull of a tag signed before the rotation still works (for a consumer
// that trusted the old data and for a fresh one), and later signed pushes
// use the new key.
func TestKeyRotate(t *testing.T) {
	requireDCTDocker(t)
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	_, digest1 := c.signedPush(t, repo, "v1")
	before := dockerTrustInspect(t, c, repo)
	oldKey := before.adminKeys("Repository")
	assert.Assert(t, is.Len(oldKey, 1))

	// A consumer that pulled with Docker's content trust before the rotation.
	consumer := newClient(t)
	c.rmi(t, repo+":v1")
	consumer.dctDocker(t, "pull", repo+":v1").Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v1@" + digest1})

	res := c.acrtrust(t, "key", "rotate", repo, "targets")
	res.Assert(t, icmd.Expected{Out: "Successfully rotated targets key for repository " + repo})
	assertNoSecrets(t, res)
	m := regexp.MustCompile(`New targets key ID: ([0-9a-f]{64}) \(on this machine\)`).FindStringSubmatch(res.Stdout())
	assert.Assert(t, m != nil, res.Stdout())
	newKey := m[1]
	assert.Assert(t, newKey != oldKey[0], "the repository key did not change")
	assertStoredKey(t, c, newKey, "targets", repoPassphrase)

	after := dockerTrustInspect(t, c, repo)
	assert.Check(t, is.DeepEqual(after.adminKeys("Repository"), []string{newKey}), "docker trust inspect does not show the new repository key")
	assert.Check(t, is.DeepEqual(after.adminKeys("Root"), before.adminKeys("Root")), "the root key changed")
	assert.Check(t, is.Equal(after.signedDigest("v1"), strings.TrimPrefix(digest1, "sha256:")), "v1 lost its signature")

	fresh := newClient(t)
	for name, cl := range map[string]*client{"consumer that trusted the old key": consumer, "fresh DOCKER_CONFIG": fresh} {
		t.Run("docker trusted pull of v1, "+name, func(t *testing.T) {
			c.rmi(t, repo+":v1")
			cl.dctDocker(t, "pull", repo+":v1").Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v1@" + digest1})
		})
	}

	t.Run("a later push signs with the new key", func(t *testing.T) {
		keys := c.keyFiles(t)
		delete(c.env, envRoot)
		_, digest2 := c.signedPush(t, repo, "v2")
		assert.Check(t, is.DeepEqual(c.keyFiles(t), keys), "the push made a key")
		ins := dockerTrustInspect(t, c, repo)
		assert.Check(t, is.DeepEqual(ins.adminKeys("Repository"), []string{newKey}))
		assert.Check(t, is.Equal(ins.signedDigest("v2"), strings.TrimPrefix(digest2, "sha256:")))
		// Docker verifies the targets metadata against the new key only.
		c.rmi(t, repo+":v2")
		fresh.dctDocker(t, "pull", repo+":v2").Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v2@" + digest2})
	})
}

// TestKeyPasswd: `key passwd KEYID --passphrase-stdin` (current and new
// passphrase on two lines) re-encrypts the repository key: signing works
// with the new passphrase, and the old one fails, naming the key.
func TestKeyPasswd(t *testing.T) {
	const newPassphrase = "e2e-new-repository-passphrase-1"
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	c.importImage(t, repo+":v1")
	c.acrtrust(t, "push", repo+":v1").Assert(t, icmd.Expected{Out: "Successfully signed " + repo + ":v1"})
	var targetsID string
	for _, k := range keyList(t, c) {
		if k.Role == "targets" {
			targetsID = k.ID
		}
	}
	assert.Assert(t, targetsID != "", "no targets key after a signed push")
	keyFile := filepath.Join(c.config, "trust", "private", targetsID+".key")
	old, err := os.ReadFile(keyFile)
	assert.NilError(t, err)

	res := c.run(t, icmd.Command(h.docker, "acrtrust", "key", "passwd", targetsID, "--passphrase-stdin"),
		icmd.WithStdin(strings.NewReader(repoPassphrase+"\n"+newPassphrase+"\n")))
	res.Assert(t, icmd.Expected{Out: "Successfully updated passphrase for key ID: " + targetsID})
	assertNoSecrets(t, res)
	assert.Check(t, !strings.Contains(res.Combined(), newPassphrase), "the new passphrase shows up in the output")
	now, err := os.ReadFile(keyFile)
	assert.NilError(t, err)
	assert.Check(t, !bytes.Equal(now, old), "the key file did not change")
	assertStoredKey(t, c, targetsID, "targets", newPassphrase)

	delete(c.env, envRoot)
	t.Run("signing with the new passphrase", func(t *testing.T) {
		c.env[envRepo] = newPassphrase
		push, _ := c.signedPush(t, repo, "v2")
		assert.Check(t, !strings.Contains(push.Combined(), newPassphrase))
	})

	t.Run("signing with the old passphrase fails naming the key", func(t *testing.T) {
		c.env[envRepo] = repoPassphrase
		c.importImage(t, repo+":v3")
		push := c.acrtrust(t, "push", repo+":v3")
		push.Assert(t, icmd.Expected{ExitCode: 1, Err: repo + ":v3 was pushed to the registry but is NOT signed"})
		assert.Check(t, is.Contains(push.Stderr(), "the passphrase in "+envRepo+" does not decrypt the targets key "+targetsID[:7]))
		assert.Check(t, !strings.Contains(push.Stdout(), "Successfully signed"), push.Stdout())
		assertNoSecrets(t, push)
	})
}

// dctDocker runs the docker CLI that still has content trust, with it on.
func (c *client) dctDocker(t *testing.T, args ...string) *icmd.Result {
	t.Helper()
	return c.run(t, icmd.Command(h.dctDocker, args...), icmd.WithEnv(c.environ(dctEnv()...)...))
}

// trustInspect is one element of `docker trust inspect` JSON.
type trustInspect struct {
	Name       string
	SignedTags []struct {
		SignedTag string
		Digest    string
		Signers   []string
	}
	Signers            []trustKeys
	AdministrativeKeys []trustKeys
}

type trustKeys struct {
	Name string
	Keys []struct{ ID string }
}

// dockerTrustInspect runs Docker's own `docker trust inspect repo`.
func dockerTrustInspect(t *testing.T, c *client, repo string) trustInspect {
	t.Helper()
	res := c.dctDocker(t, "trust", "inspect", repo)
	res.Assert(t, icmd.Success)
	var out []trustInspect
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &out), res.Stdout())
	assert.Assert(t, is.Len(out, 1))
	return out[0]
}

// adminKeys returns the key IDs of an administrative role ("Root" or
// "Repository").
func (ti trustInspect) adminKeys(name string) []string {
	var ids []string
	for _, r := range ti.AdministrativeKeys {
		if r.Name == name {
			for _, k := range r.Keys {
				ids = append(ids, k.ID)
			}
		}
	}
	return ids
}

// signedDigest is the hex digest a tag is signed with, "" if unsigned.
func (ti trustInspect) signedDigest(tag string) string {
	for _, st := range ti.SignedTags {
		if st.SignedTag == tag {
			return st.Digest
		}
	}
	return ""
}

// keyItem is one element of `key list --format json`.
type keyItem struct {
	ID, Role, Repository, File string
	Encrypted                  bool
	SignsFor                   []keySigning
	Problem                    string
}

type keySigning struct{ Repository, Role, KeyID string }

func keyList(t *testing.T, c *client) []keyItem {
	t.Helper()
	res := c.acrtrust(t, "key", "list", "--format", "json")
	res.Assert(t, icmd.Success)
	var items []keyItem
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &items), res.Stdout())
	return items
}

// newKeyPEM makes an unencrypted PKCS#8 ECDSA P-256 key PEM with the given
// headers, and returns it with the key ID notary gives it.
func newKeyPEM(t *testing.T, headers map[string]string) ([]byte, string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assert.NilError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	assert.NilError(t, err)
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: headers, Bytes: der})
	k, err := tufutils.ParsePEMPrivateKey(b, "")
	assert.NilError(t, err)
	return b, k.ID()
}

// assertStoredKey checks that the key store holds key id as Docker and
// notary store it: <id>.key, 0600 in a 0700 folder, encrypted, with the
// role header, and decrypting with passphrase to the key with that ID.
func assertStoredKey(t *testing.T, c *client, id, role, passphrase string) {
	t.Helper()
	private := filepath.Join(c.config, "trust", "private")
	fi, err := os.Stat(private)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o700)), "mode of %s", private)
	file := filepath.Join(private, id+".key")
	fi, err = os.Stat(file)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)), "mode of %s", file)
	b, err := os.ReadFile(file)
	assert.NilError(t, err)
	block, _ := pem.Decode(b)
	assert.Assert(t, block != nil, "%s is not PEM", file)
	assert.Check(t, is.Equal(block.Type, "ENCRYPTED PRIVATE KEY"))
	assert.Check(t, is.Equal(block.Headers["role"], role))
	k, err := tufutils.ParsePEMPrivateKey(b, passphrase)
	assert.NilError(t, err, "%s does not decrypt with the expected passphrase", file)
	assert.Check(t, is.Equal(k.ID(), id))
}

// assertPrivateTree checks that every folder under root is 0700 and every
// file 0600.
func assertPrivateTree(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		assert.Check(t, is.Equal(fi.Mode().Perm(), want), "mode of %s", p)
		return nil
	})
	assert.NilError(t, err)
}

// snapshotTree maps every path under root to its mode and content.
func snapshotTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		out[p] = v
		return nil
	})
	assert.NilError(t, err)
	return out
}

type tarEntry struct {
	name string
	body []byte
	link string // a symbolic link to this target when set
}

func writeArchive(t *testing.T, file string, entries []tarEntry) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o600, Size: int64(len(e.body)), ModTime: time.Now(), Typeflag: tar.TypeReg}
		if e.link != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, e.link, 0
		}
		assert.NilError(t, tw.WriteHeader(hdr))
		if e.link == "" {
			_, err := tw.Write(e.body)
			assert.NilError(t, err)
		}
	}
	assert.NilError(t, tw.Close())
	assert.NilError(t, gz.Close())
	assert.NilError(t, os.WriteFile(file, buf.Bytes(), 0o600))
}

// archiveNames lists the regular files of a tar.gz, sorted.
func archiveNames(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	assert.NilError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	assert.NilError(t, err)
	tr := tar.NewReader(gz)
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		assert.NilError(t, err, "reading %s", file)
		if hdr.Typeflag == tar.TypeReg {
			names = append(names, hdr.Name)
		}
	}
	sort.Strings(names)
	return names
}

func sortedStrings(s ...string) []string {
	sort.Strings(s)
	return s
}
