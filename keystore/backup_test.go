package keystore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// populated returns a trust dir with a root key, a repository key, a
// signer key, and a little cached metadata.
func populated(t *testing.T) (trustDir string, ids []string) {
	t.Helper()
	trustDir = filepath.Join(t.TempDir(), "trust")
	root := addKey(t, trustDir, data.CanonicalRootRole, "", fixturePass)
	targets := addKey(t, trustDir, data.CanonicalTargetsRole, "reg.example/app", fixturePass)
	signer := addKey(t, trustDir, "alice", "", fixturePass)
	meta := filepath.Join(MetadataDir(trustDir), "reg.example", "app", "metadata")
	assert.NilError(t, os.MkdirAll(meta, 0o700))
	assert.NilError(t, os.WriteFile(filepath.Join(meta, "root.json"), []byte(`{"signed":{}}`), 0o600))
	return trustDir, []string{root.ID(), targets.ID(), signer.ID()}
}

// entries lists an archive's entry names and types.
func entries(t *testing.T, archive []byte) map[string]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	assert.NilError(t, err)
	tr := tar.NewReader(gz)
	out := map[string]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		assert.NilError(t, err)
		out[h.Name] = h.Typeflag
	}
}

func TestBackupLayout(t *testing.T) {
	trustDir, ids := populated(t)
	for _, tc := range []struct {
		name     string
		metadata bool
	}{{"keys only", false}, {"with metadata", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			res, err := Backup(trustDir, &buf, BackupOptions{IncludeMetadata: tc.metadata})
			assert.NilError(t, err)
			assert.Equal(t, len(res.Keys), 3)
			want := map[string]byte{"trust/private/": tar.TypeDir}
			for _, id := range ids {
				want["trust/private/"+id+".key"] = tar.TypeReg
			}
			if tc.metadata {
				for _, d := range []string{"trust/tuf/", "trust/tuf/reg.example/", "trust/tuf/reg.example/app/", "trust/tuf/reg.example/app/metadata/"} {
					want[d] = tar.TypeDir
				}
				want["trust/tuf/reg.example/app/metadata/root.json"] = tar.TypeReg
				assert.Equal(t, res.MetadataFiles, 1)
			}
			assert.DeepEqual(t, entries(t, buf.Bytes()), want)
		})
	}
}

func TestBackupSkipsWhatRestoreRefuses(t *testing.T) {
	trustDir, _ := populated(t)
	priv := PrivateDir(trustDir)
	assert.NilError(t, os.WriteFile(filepath.Join(priv, "notes.txt"), []byte("hi"), 0o600))
	assert.NilError(t, os.Symlink("/etc/passwd", filepath.Join(priv, strings.Repeat("a", 64)+".key")))
	var buf bytes.Buffer
	res, err := Backup(trustDir, &buf, BackupOptions{})
	assert.NilError(t, err)
	assert.Equal(t, len(res.Skipped), 2)
	_, err = Restore(filepath.Join(t.TempDir(), "trust"), &buf, RestoreOptions{})
	assert.NilError(t, err)
}

func TestBackupNoKeys(t *testing.T) {
	_, err := Backup(t.TempDir(), io.Discard, BackupOptions{})
	assert.Assert(t, errors.Is(err, ErrNoKeys), "got %v", err)
}

func TestBackupToFile(t *testing.T) {
	trustDir, _ := populated(t)
	dir := t.TempDir()
	file := filepath.Join(dir, DefaultBackupName(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)))
	assert.Equal(t, filepath.Base(file), "acrtrust-keys-20250304-050607.tar.gz")

	_, err := BackupToFile(trustDir, file, false, BackupOptions{})
	assert.NilError(t, err)
	fi, err := os.Stat(file)
	assert.NilError(t, err)
	assert.Equal(t, fi.Mode().Perm(), fs.FileMode(0o600))
	first, err := os.ReadFile(file)
	assert.NilError(t, err)

	// Never overwritten without overwrite=true, and no temporary file left.
	addKey(t, trustDir, "bob", "", fixturePass)
	_, err = BackupToFile(trustDir, file, false, BackupOptions{})
	var exists *ExistsError
	assert.Assert(t, errors.As(err, &exists), "got %v", err)
	again, _ := os.ReadFile(file)
	assert.Assert(t, bytes.Equal(again, first))
	left, _ := os.ReadDir(dir)
	assert.Check(t, is.Len(left, 1))

	res, err := BackupToFile(trustDir, file, true, BackupOptions{})
	assert.NilError(t, err)
	assert.Equal(t, len(res.Keys), 4)
	fi, err = os.Stat(file)
	assert.NilError(t, err)
	assert.Equal(t, fi.Mode().Perm(), fs.FileMode(0o600))
}

func TestRestoreRoundTrip(t *testing.T) {
	src, ids := populated(t)
	var buf bytes.Buffer
	_, err := Backup(src, &buf, BackupOptions{IncludeMetadata: true})
	assert.NilError(t, err)
	archive := buf.Bytes()

	dst := filepath.Join(t.TempDir(), "docker", "trust")
	res, err := Restore(dst, bytes.NewReader(archive), RestoreOptions{})
	assert.NilError(t, err)
	assert.Equal(t, len(res.Keys), 3)
	assert.Equal(t, len(res.Restored), 3)
	assert.Equal(t, len(res.Written), 4)
	assert.Equal(t, res.MetadataFiles, 1)
	assertStoredKey(t, dst, ids[0], data.CanonicalRootRole, "", fixturePass)
	assertStoredKey(t, dst, ids[1], data.CanonicalTargetsRole, "reg.example/app", fixturePass)
	assertStoredKey(t, dst, ids[2], "alice", "", fixturePass)
	for p, v := range tree(t, dst) {
		if strings.HasPrefix(v, "d") {
			assert.Check(t, strings.HasPrefix(v, "drwx------"), "%s is %s", p, v)
		} else {
			assert.Check(t, strings.HasPrefix(v, "-rw-------"), "%s is %s", p, v)
		}
	}

	// Restoring again changes nothing.
	res, err = Restore(dst, bytes.NewReader(archive), RestoreOptions{})
	assert.NilError(t, err)
	assert.Equal(t, len(res.Unchanged), 4)
	assert.Equal(t, len(res.Written), 0)
	// The keys are all there, and none of them was restored by this run.
	assert.Equal(t, len(res.Keys), 3)
	assert.Equal(t, len(res.Restored), 0)

	// A key with the same ID and other content (another passphrase, say) is
	// not replaced without Overwrite, and nothing else is written either.
	changed := KeyFile(dst, ids[2])
	assert.NilError(t, os.WriteFile(changed, []byte("local edit"), 0o600))
	assert.NilError(t, os.Remove(KeyFile(dst, ids[0])))
	before := tree(t, dst)
	_, err = Restore(dst, bytes.NewReader(archive), RestoreOptions{})
	var conflict *ConflictError
	assert.Assert(t, errors.As(err, &conflict), "got %v", err)
	assert.DeepEqual(t, conflict.Files, []string{"trust/private/" + ids[2] + ".key"})
	assert.DeepEqual(t, tree(t, dst), before)

	res, err = Restore(dst, bytes.NewReader(archive), RestoreOptions{Overwrite: true})
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Replaced, []string{"trust/private/" + ids[2] + ".key"})
	restored := []string{}
	for _, k := range res.Restored {
		restored = append(restored, k.ID)
	}
	assert.DeepEqual(t, restored, []string{ids[0], ids[2]}) // the removed root key, the replaced signer key
	assertStoredKey(t, dst, ids[2], "alice", "", fixturePass)
	assertStoredKey(t, dst, ids[0], data.CanonicalRootRole, "", fixturePass)
}

// TestArchivesByHand: `tar czf b.tar.gz -C $DOCKER_CONFIG trust/private`
// restores, and our archives extract with tar.
func TestArchivesByHand(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar command")
	}
	src, ids := populated(t)
	configDir := filepath.Dir(src)

	handMade := filepath.Join(t.TempDir(), "by-hand.tar.gz")
	out, err := exec.Command(tarBin, "czf", handMade, "-C", configDir, "trust/private").CombinedOutput()
	assert.NilError(t, err, string(out))
	f, err := os.Open(handMade)
	assert.NilError(t, err)
	defer f.Close()
	dst := filepath.Join(t.TempDir(), "trust")
	res, err := Restore(dst, f, RestoreOptions{})
	assert.NilError(t, err)
	assert.Equal(t, len(res.Keys), 3)
	assertStoredKey(t, dst, ids[1], data.CanonicalTargetsRole, "reg.example/app", fixturePass)

	ours := filepath.Join(t.TempDir(), "ours.tar.gz")
	_, err = BackupToFile(src, ours, false, BackupOptions{})
	assert.NilError(t, err)
	extractTo := t.TempDir()
	out, err = exec.Command(tarBin, "xzf", ours, "-C", extractTo).CombinedOutput()
	assert.NilError(t, err, string(out))
	for _, id := range ids {
		want, _ := os.ReadFile(KeyFile(src, id))
		got, err := os.ReadFile(filepath.Join(extractTo, "trust", "private", id+".key"))
		assert.NilError(t, err)
		assert.Assert(t, bytes.Equal(got, want))
	}
}
