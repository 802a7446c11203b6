package keystore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRestore feeds Restore arbitrary tar streams (gzipped here, so that
// the fuzzer works on the tar headers and entries rather than on gzip's
// checksums): it must never panic, never write outside the trust folder,
// and either reject an archive with nothing written or write only private
// files in private folders.
func FuzzRestore(f *testing.F) {
	keyDir := f.TempDir()
	good := addKey(f, keyDir, "alice", "", fixturePass)
	goodBody, err := os.ReadFile(KeyFile(keyDir, good.ID()))
	if err != nil {
		f.Fatal(err)
	}
	goodName := "trust/private/" + good.ID() + ".key"
	other := "trust/private/" + strings.Repeat("b", 64) + ".key"
	for _, a := range [][]byte{
		makeArchive(f, dir("trust/private/"), file(goodName, goodBody)),
		makeArchive(f, file(goodName, goodBody), file("trust/tuf/reg.example/app/metadata/root.json", []byte(`{"signed":{}}`))),
		makeArchive(f, file(goodName, goodBody), file("trust/private/../../evil.key", goodBody)),
		makeArchive(f, file(goodName, goodBody), special(tar.TypeSymlink, other, "/etc/shadow")),
		makeArchive(f, special(tar.TypeSymlink, "trust/tuf", "/tmp"), file(goodName, goodBody)),
		makeArchive(f, file("trust/tuf/reg.example/app", []byte("x")), file("trust/tuf/reg.example/app/metadata/root.json", []byte("{}")), file(goodName, goodBody)),
	} {
		zr, err := gzip.NewReader(bytes.NewReader(a))
		if err != nil {
			f.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("this is not a tar stream"))

	f.Fuzz(func(t *testing.T, tarStream []byte) {
		var archive bytes.Buffer
		zw := gzip.NewWriter(&archive)
		_, _ = zw.Write(tarStream)
		_ = zw.Close()
		parent := t.TempDir()
		trustDir := filepath.Join(parent, "docker", "trust")
		if err := os.MkdirAll(trustDir, 0o700); err != nil {
			t.Fatal(err)
		}
		before := tree(t, parent)
		_, err := Restore(trustDir, &archive, RestoreOptions{Overwrite: true})
		if err != nil {
			if after := tree(t, parent); !equalTrees(before, after) {
				t.Fatalf("a rejected archive changed the folder: %v", err)
			}
			return
		}
		err = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(trustDir, p)
			if p != parent && p != filepath.Dir(trustDir) && (rel == ".." || strings.HasPrefix(rel, "../")) {
				t.Errorf("written outside the trust folder: %s", p)
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				t.Errorf("restore made a symbolic link: %s", p)
			case d.IsDir() && strings.HasPrefix(p, trustDir+"/") && fi.Mode().Perm() != 0o700:
				t.Errorf("folder %s is %v, want 0700", p, fi.Mode().Perm())
			case d.Type().IsRegular() && fi.Mode().Perm() != 0o600:
				t.Errorf("file %s is %v, want 0600", p, fi.Mode().Perm())
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	})
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
