package keystore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
)

type entry struct {
	hdr  tar.Header
	body []byte
}

func file(name string, body []byte) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: int64(len(body))}, body: body}
}

func dir(name string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o700}}
}

func special(typ byte, name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o600}}
}

func makeArchive(t testing.TB, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range es {
		h := e.hdr
		assert.NilError(t, tw.WriteHeader(&h))
		if len(e.body) > 0 {
			_, err := tw.Write(e.body)
			assert.NilError(t, err)
		}
	}
	assert.NilError(t, tw.Close())
	assert.NilError(t, gz.Close())
	return buf.Bytes()
}

func TestRestoreRejectsHostileArchives(t *testing.T) {
	// A real key, so that every archive below has one good entry that
	// must not be written either.
	keyDir := t.TempDir()
	good := addKey(t, keyDir, "alice", "", fixturePass)
	goodBody, err := os.ReadFile(KeyFile(keyDir, good.ID()))
	assert.NilError(t, err)
	goodName := "trust/private/" + good.ID() + ".key"
	otherID := strings.Repeat("b", 64)

	valid := makeArchive(t, dir("trust/private/"), file(goodName, goodBody))
	corruptCRC := append([]byte(nil), valid...)
	corruptCRC[len(corruptCRC)-6] ^= 0xff // inside the gzip trailer's CRC-32

	hugeKey := file("trust/private/"+otherID+".key", bytes.Repeat([]byte("A"), maxKeyFileSize+1))
	hugeMeta := file("trust/tuf/reg.example/app/metadata/targets.json", bytes.Repeat([]byte(" "), maxMetadataFile+1))

	for _, tc := range []struct {
		name    string
		archive []byte
		want    string
	}{
		{"path traversal", makeArchive(t, file(goodName, goodBody), file("trust/private/../../evil.key", goodBody)), `".." in the path`},
		{"traversal at the top", makeArchive(t, file(goodName, goodBody), file("../trust/private/"+otherID+".key", goodBody)), `".." in the path`},
		{"absolute path", makeArchive(t, file(goodName, goodBody), file("/trust/private/"+otherID+".key", goodBody)), "absolute path"},
		{"symlink", makeArchive(t, file(goodName, goodBody), special(tar.TypeSymlink, "trust/private/"+otherID+".key", "/etc/shadow")), "is a symbolic link"},
		{"symlinked folder", makeArchive(t, special(tar.TypeSymlink, "trust/tuf", "/tmp"), file(goodName, goodBody)), "is a symbolic link"},
		{"hard link", makeArchive(t, file(goodName, goodBody), special(tar.TypeLink, "trust/private/"+otherID+".key", goodName)), "is a hard link"},
		{"character device", makeArchive(t, file(goodName, goodBody), special(tar.TypeChar, "trust/private/"+otherID+".key", "")), "is a character device"},
		{"block device", makeArchive(t, file(goodName, goodBody), special(tar.TypeBlock, "trust/private/"+otherID+".key", "")), "is a block device"},
		{"fifo", makeArchive(t, file(goodName, goodBody), special(tar.TypeFifo, "trust/private/"+otherID+".key", "")), "is a named pipe"},
		{"huge key entry", makeArchive(t, file(goodName, goodBody), hugeKey), "more than the 65536 allowed"},
		{"huge metadata entry", makeArchive(t, file(goodName, goodBody), hugeMeta), "allowed"},
		{"gzip garbage", []byte("this is not gzip at all"), "not a gzip file"},
		{"truncated gzip", valid[:len(valid)/2], "archive rejected"},
		{"corrupt checksum", corruptCRC, "archive rejected"},
		{"not a key file", makeArchive(t, file(goodName, goodBody), file("trust/private/"+otherID+".key", []byte("not a key\n"))), "not a private key PEM"},
		{"public key as key", makeArchive(t, file(goodName, goodBody), file("trust/private/"+otherID+".key", readFixture(t, "ec-public.pem"))), "not a private key PEM"},
		{"other file name", makeArchive(t, file(goodName, goodBody), file("trust/private/notes.txt", goodBody)), "not a key file name"},
		{"outside the trust folders", makeArchive(t, file(goodName, goodBody), file("trust/config.json", []byte("{}"))), "outside trust/private and trust/tuf"},
		{"config outside", makeArchive(t, file(goodName, goodBody), file("config.json", []byte("{}"))), "outside trust/private and trust/tuf"},
		{"metadata not json", makeArchive(t, file(goodName, goodBody), file("trust/tuf/reg.example/app/metadata/root.json", []byte("{"))), "not JSON"},
		{"duplicate entry", makeArchive(t, file(goodName, goodBody), file(goodName, goodBody)), "appears twice"},
		{"file and folder", makeArchive(t, file("trust/tuf/reg.example/app", []byte("x")), file("trust/tuf/reg.example/app/metadata/root.json", []byte("{}")), file(goodName, goodBody)), "is both a file and a folder"},
		{"no keys", makeArchive(t, dir("trust/private/"), file("trust/tuf/reg.example/app/metadata/root.json", []byte("{}"))), "no key files"},
		{"empty archive", makeArchive(t), "no key files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			trustDir := filepath.Join(parent, "docker", "trust")
			existing := addKey(t, trustDir, data.CanonicalRootRole, "", fixturePass)
			before := tree(t, parent)

			_, err := Restore(trustDir, bytes.NewReader(tc.archive), RestoreOptions{Overwrite: true})
			assert.ErrorContains(t, err, tc.want)
			var ae *ArchiveError
			assert.Assert(t, errors.As(err, &ae), "got %T %v", err, err)
			assert.DeepEqual(t, tree(t, parent), before)
			assertStoredKey(t, trustDir, existing.ID(), data.CanonicalRootRole, "", fixturePass)
		})
	}
}

func TestCleanEntryName(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "trust/private/", want: "trust/private"},
		{in: "./trust/private/a.key", want: "trust/private/a.key"},
		{in: "trust//private", err: "not a clean path"},
		{in: "trust/./private", err: "not a clean path"},
		{in: "trust/private/..", err: `".."`},
		{in: "/etc/passwd", err: "absolute"},
		{in: `trust\private`, err: "backslash"},
		{in: "", err: "empty"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := cleanEntryName(tc.in)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
}
