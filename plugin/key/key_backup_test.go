package key

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

// withKeys returns deps whose key store holds signer keys alice and bob.
func withKeys(t *testing.T) (*cmdutil.Deps, *cmdtest.FakeCLI) {
	t.Helper()
	d, cli := cmdtest.KeyDeps(t, "", keyEnv())
	for _, name := range []string{"alice", "bob"} {
		assert.NilError(t, runCommand(t, d, "key", "generate", name, "--dir", t.TempDir()))
	}
	cli.OutBuf.Reset()
	return d, cli
}

func archiveNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	gz, err := gzip.NewReader(r)
	assert.NilError(t, err)
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			sort.Strings(names)
			return names
		}
		assert.NilError(t, err)
		names = append(names, h.Name)
	}
}

func roleOf(t *testing.T, d *cmdutil.Deps, id string) string {
	t.Helper()
	keys, err := keystore.List(d.TrustDir())
	assert.NilError(t, err)
	for _, k := range keys {
		if k.ID == id {
			return k.Role
		}
	}
	t.Fatalf("no key %s", id)
	return ""
}

func TestKeyBackupDefaultName(t *testing.T) {
	d, cli := withKeys(t)
	goldenFile, err := filepath.Abs(filepath.Join("testdata", "key-backup.golden"))
	assert.NilError(t, err)
	dir := t.TempDir()
	t.Chdir(dir)
	assert.NilError(t, runCommand(t, d, "key", "backup"))

	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(entries, 1), "a temporary file was left behind")
	name := entries[0].Name()
	assert.Check(t, regexp.MustCompile(`^acrtrust-keys-\d{8}-\d{6}\.tar\.gz$`).MatchString(name), name)
	fi, err := entries[0].Info()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), fs.FileMode(0o600)))

	got := normaliseKeys(cli.OutBuf.String(), map[string]string{d.ConfigDir: "$DOCKER_CONFIG", name: "$FILE"})
	golden.Assert(t, got, goldenFile)

	f, err := os.Open(filepath.Join(dir, name))
	assert.NilError(t, err)
	defer f.Close()
	want := []string{"trust/private/"}
	for _, id := range cmdtest.KeyIDs(t, d) {
		want = append(want, "trust/private/"+id+".key")
	}
	assert.DeepEqual(t, archiveNames(t, f), want)
}

func TestKeyBackupNeverOverwritesWithoutForce(t *testing.T) {
	d, _ := withKeys(t)
	file := filepath.Join(t.TempDir(), "keys.tar.gz")
	assert.NilError(t, os.WriteFile(file, []byte("precious"), 0o600))

	err := runCommand(t, d, "key", "backup", "-o", file)
	assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 1))
	assert.Check(t, is.Error(err, file+" already exists\nAdd --force to overwrite it, or name another file with -o."))
	b, _ := os.ReadFile(file)
	assert.Check(t, is.Equal(string(b), "precious"))

	assert.NilError(t, runCommand(t, d, "key", "backup", "-o", file, "--force"))
	f, err := os.Open(file)
	assert.NilError(t, err)
	defer f.Close()
	assert.Check(t, is.Len(archiveNames(t, f), 3))
}

func TestKeyBackupToStdout(t *testing.T) {
	d, cli := withKeys(t)
	assert.NilError(t, runCommand(t, d, "key", "backup", "-o", "-"))
	assert.Check(t, is.Len(archiveNames(t, bytes.NewReader(cli.OutBuf.Bytes())), 3))
	assert.Check(t, is.Contains(cli.ErrBuf.String(), "Backed up 2 key(s) from "+keystore.PrivateDir(d.TrustDir())+" to stdout:"))
}

func TestKeyBackupNoKeys(t *testing.T) {
	d, _ := cmdtest.KeyDeps(t, "", nil)
	err := runCommand(t, d, "key", "backup", "-o", filepath.Join(t.TempDir(), "k.tar.gz"))
	assert.Check(t, is.ErrorContains(err, "no private keys to back up"))
}

func TestKeyRestore(t *testing.T) {
	src, _ := withKeys(t)
	file := filepath.Join(t.TempDir(), "keys.tar.gz")
	assert.NilError(t, runCommand(t, src, "key", "backup", "-o", file))

	// Into an empty DOCKER_CONFIG, as on a new CI runner.
	dst, cli := cmdtest.KeyDeps(t, "", nil)
	assert.NilError(t, runCommand(t, dst, "key", "restore", file))
	golden.Assert(t, normaliseKeys(cli.OutBuf.String(), map[string]string{dst.ConfigDir: "$DOCKER_CONFIG"}), "key-restore.golden")
	assert.DeepEqual(t, cmdtest.KeyIDs(t, dst), cmdtest.KeyIDs(t, src))
	for _, id := range cmdtest.KeyIDs(t, dst) {
		// The same passphrase still opens them: they are the same files.
		cmdtest.StoredKey(t, dst, id, roleOf(t, dst, id), keyTestPass)
	}

	// From stdin, again: nothing changes.
	b, err := os.ReadFile(file)
	assert.NilError(t, err)
	again, cli2 := cmdtest.KeyDeps(t, string(b), nil)
	again.ConfigDir = dst.ConfigDir
	assert.NilError(t, runCommand(t, again, "key", "restore", "-"))
	// It says that nothing was restored, not "Restored 2 key(s)" (issue 17).
	golden.Assert(t, normaliseKeys(cli2.OutBuf.String(), map[string]string{dst.ConfigDir: "$DOCKER_CONFIG"}), "key-restore-again.golden")

	// One key gone: that one is restored, the other is named as unchanged.
	for _, id := range cmdtest.KeyIDs(t, dst) {
		if roleOf(t, dst, id) == "bob" {
			assert.NilError(t, os.Remove(keystore.KeyFile(dst.TrustDir(), id)))
		}
	}
	third, cli3 := cmdtest.KeyDeps(t, "", nil)
	third.ConfigDir = dst.ConfigDir
	assert.NilError(t, runCommand(t, third, "key", "restore", file))
	golden.Assert(t, normaliseKeys(cli3.OutBuf.String(), map[string]string{dst.ConfigDir: "$DOCKER_CONFIG"}), "key-restore-one.golden")
}

func TestKeyRestoreConflict(t *testing.T) {
	src, _ := withKeys(t)
	file := filepath.Join(t.TempDir(), "keys.tar.gz")
	assert.NilError(t, runCommand(t, src, "key", "backup", "-o", file))
	ids := cmdtest.KeyIDs(t, src)

	dst, _ := cmdtest.KeyDeps(t, "", nil)
	assert.NilError(t, runCommand(t, dst, "key", "restore", file))
	// The same key, re-encrypted here with another passphrase.
	changed := keystore.KeyFile(dst.TrustDir(), ids[0])
	_, err := keystore.ChangePassphrase(dst.TrustDir(), ids[0], keystore.FixedRetriever(keyTestPass, "test"), keystore.FixedRetriever("another-passphrase", "test"))
	assert.NilError(t, err)
	before, _ := os.ReadFile(changed)

	err = runCommand(t, dst, "key", "restore", file)
	assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 1))
	assert.Check(t, is.ErrorContains(err, "nothing restored: 1 file(s) already exist with different content: trust/private/"+ids[0]+".key"))
	assert.Check(t, is.ErrorContains(err, "Add --force to replace them"))
	after, _ := os.ReadFile(changed)
	assert.Check(t, bytes.Equal(before, after))

	assert.NilError(t, runCommand(t, dst, "key", "restore", "--force", file))
	cmdtest.StoredKey(t, dst, ids[0], roleOf(t, dst, ids[0]), keyTestPass)
}

func TestKeyRestoreBadArchiveChangesNothing(t *testing.T) {
	d, _ := withKeys(t)
	before := cmdtest.KeyIDs(t, d)
	for _, tc := range []struct {
		name    string
		archive []byte
		want    string
	}{
		{"gzip garbage", []byte("garbage"), "archive rejected, nothing restored: not a gzip file"},
		{"traversal", traversalArchive(t), `archive rejected, nothing restored: entry "trust/private/../../../escape.key": ".." in the path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "bad.tar.gz")
			assert.NilError(t, os.WriteFile(file, tc.archive, 0o600))
			err := runCommand(t, d, "key", "restore", "--force", file)
			assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 1))
			assert.Check(t, is.ErrorContains(err, tc.want))
			assert.DeepEqual(t, cmdtest.KeyIDs(t, d), before)
			_, serr := os.Stat(filepath.Join(d.ConfigDir, "escape.key"))
			assert.Check(t, errors.Is(serr, fs.ErrNotExist))
		})
	}
}

func traversalArchive(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := []byte("x")
	assert.NilError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "trust/private/../../../escape.key", Mode: 0o600, Size: int64(len(body))}))
	_, err := tw.Write(body)
	assert.NilError(t, err)
	assert.NilError(t, tw.Close())
	assert.NilError(t, gz.Close())
	return buf.Bytes()
}

func TestKeyPasswd(t *testing.T) {
	d, _ := withKeys(t)
	id := cmdtest.KeyIDs(t, d)[0]
	role := roleOf(t, d, id)
	cli := cmdtest.NewFakeCLI(t, keyTestPass+"\nbrand-new-passphrase\n")
	d.CLI = cli
	assert.NilError(t, runCommand(t, d, "key", "passwd", "--passphrase-stdin", id[:7]))
	assert.Check(t, is.Equal(cli.OutBuf.String(), "Successfully updated passphrase for key ID: "+id+"\n"))
	cmdtest.StoredKey(t, d, id, role, "brand-new-passphrase")
}

func TestKeyPasswdErrors(t *testing.T) {
	d, _ := withKeys(t)
	id := cmdtest.KeyIDs(t, d)[0]
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{name: "no terminal", args: []string{id}, stdin: "old\nnew\n",
			want: "key passwd needs a terminal to ask for the passphrases\nIn a pipeline, use --passphrase-stdin"},
		{name: "wrong current passphrase", args: []string{"--passphrase-stdin", id}, stdin: "wrong-passphrase\nbrand-new-passphrase\n",
			want: "the passphrase from stdin does not decrypt the "},
		{name: "one line only", args: []string{"--passphrase-stdin", id}, stdin: keyTestPass + "\n",
			want: "expected 2 line(s), got 1"},
		{name: "unknown key", args: []string{"--passphrase-stdin", "0000000"}, stdin: "a-passphrase\nbrand-new-passphrase\n",
			want: "no key with ID 0000000 in " + keystore.PrivateDir(d.TrustDir()) + "\nList the keys on this machine with `docker acrtrust key list`."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(keystore.KeyFile(d.TrustDir(), id))
			d.CLI = cmdtest.NewFakeCLI(t, tc.stdin)
			err := runCommand(t, d, append([]string{"key", "passwd"}, tc.args...)...)
			assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 1))
			assert.Check(t, is.ErrorContains(err, tc.want))
			after, _ := os.ReadFile(keystore.KeyFile(d.TrustDir(), id))
			assert.Check(t, bytes.Equal(before, after))
		})
	}
}
