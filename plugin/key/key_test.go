package key

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

const keyTestPass = "key-passphrase-1"

// keyEnv has only the repository passphrase: what key generate and load
// use for signer keys.
func keyEnv() map[string]string {
	return map[string]string{keystore.EnvRepositoryPassphrase: keyTestPass}
}

var hexID = regexp.MustCompile(`[0-9a-f]{64}`)

// normaliseKeys replaces folders and key IDs (in order of appearance) so
// that output can be compared with golden files.
func normaliseKeys(s string, dirs map[string]string) string {
	for dir, name := range dirs {
		s = strings.ReplaceAll(s, dir, name)
	}
	seen := map[string]string{}
	return hexID.ReplaceAllStringFunc(s, func(id string) string {
		if n, ok := seen[id]; ok {
			return n
		}
		seen[id] = "KEYID" + string(rune('A'+len(seen)))
		return seen[id]
	})
}

func TestKeyGroupShowsHelp(t *testing.T) {
	d, cli := cmdtest.KeyDeps(t, "", nil)
	assert.NilError(t, runCommand(t, d, "key"))
	for _, sub := range []string{"generate", "load", "list", "backup", "restore", "rotate", "passwd"} {
		assert.Check(t, is.Contains(cli.ErrBuf.String()+cli.OutBuf.String(), "  "+sub+" "))
	}
}

func TestKeyGenerate(t *testing.T) {
	d, cli := cmdtest.KeyDeps(t, "", keyEnv())
	pubDir := t.TempDir()
	assert.NilError(t, runCommand(t, d, "key", "generate", "alice", "--dir", pubDir))
	golden.Assert(t, normaliseKeys(cli.OutBuf.String(), map[string]string{pubDir: "$DIR"}), "key-generate.golden")

	keys, err := keystore.List(d.TrustDir())
	assert.NilError(t, err)
	assert.Assert(t, is.Len(keys, 1))
	assert.Check(t, is.Equal(keys[0].Role, "alice"))
	cmdtest.StoredKey(t, d, keys[0].ID, "alice", keyTestPass)
	pub, err := os.ReadFile(filepath.Join(pubDir, "alice.pub"))
	assert.NilError(t, err)
	pk, err := utils.ParsePEMPublicKey(pub)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(pk.ID(), keys[0].ID))
}

func TestKeyGeneratePassphraseStdin(t *testing.T) {
	// No variables: the pipeline pipes the passphrase in.
	d, _ := cmdtest.KeyDeps(t, "from-stdin-pass\n", nil)
	assert.NilError(t, runCommand(t, d, "key", "generate", "ci", "--dir", t.TempDir(), "--passphrase-stdin"))
	keys, err := keystore.List(d.TrustDir())
	assert.NilError(t, err)
	assert.Assert(t, is.Len(keys, 1))
	cmdtest.StoredKey(t, d, keys[0].ID, "ci", "from-stdin-pass")
}

func TestKeyGenerateErrors(t *testing.T) {
	pubDir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(pubDir, "taken.pub"), nil, 0o644))
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		env   map[string]string
		want  []string
	}{
		{name: "bad name", args: []string{"Alice"}, env: keyEnv(),
			want: []string{`key name "Alice" must start with lowercase alphanumeric characters and can include "-" or "_" after the first character`}},
		{name: "public key exists", args: []string{"taken"}, env: keyEnv(),
			want: []string{`public key file already exists: "` + filepath.Join(pubDir, "taken.pub") + `"`}},
		{name: "no passphrase anywhere", args: []string{"alice"},
			want: []string{"failed to generate key for alice: ", "stdin is not a terminal", "--passphrase-stdin"}},
		{name: "short stdin passphrase", args: []string{"alice", "--passphrase-stdin"}, stdin: "short\n",
			want: []string{"at least 8 characters"}},
		{name: "empty stdin", args: []string{"alice", "--passphrase-stdin"},
			want: []string{"reading passphrases from stdin: expected 1 line(s), got 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := cmdtest.KeyDeps(t, tc.stdin, tc.env)
			err := runCommand(t, d, append([]string{"key", "generate", "--dir", pubDir}, tc.args...)...)
			assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 1))
			for _, w := range tc.want {
				assert.Check(t, is.ErrorContains(err, w))
			}
			keys, _ := keystore.List(d.TrustDir())
			assert.Check(t, is.Len(keys, 0))
		})
	}
}

// keyFiles writes the same ECDSA key as EC PEM, PKCS#8 and encrypted
// PKCS#8, and an RSA key as PKCS#1 and encrypted PKCS#8, all 0600.
func keyFiles(t *testing.T, pass string) (files map[string]string, ecID, rsaID string) {
	t.Helper()
	dir := t.TempDir()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assert.NilError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	assert.NilError(t, err)
	ecDER, err := x509.MarshalECPrivateKey(ec)
	assert.NilError(t, err)
	ecPKCS8, err := x509.MarshalPKCS8PrivateKey(ec)
	assert.NilError(t, err)
	ecKey, err := utils.ECDSAToPrivateKey(ec)
	assert.NilError(t, err)
	rsaKey, err := utils.RSAToPrivateKey(rk)
	assert.NilError(t, err)
	ecEnc, err := utils.ConvertPrivateKeyToPKCS8(ecKey, "", "", pass)
	assert.NilError(t, err)
	rsaEnc, err := utils.ConvertPrivateKeyToPKCS8(rsaKey, "", "", pass)
	assert.NilError(t, err)
	contents := map[string][]byte{
		"ec.pem":            pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}),
		"ec-pkcs8.pem":      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8}),
		"ec-encrypted.pem":  ecEnc,
		"rsa.pem":           pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}),
		"rsa-encrypted.pem": rsaEnc,
		"public.pem":        pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: data.PublicKeyFromPrivate(ecKey).Public()}),
		"garbage.pem":       []byte("not a key at all\n"),
	}
	files = map[string]string{}
	for name, b := range contents {
		p := filepath.Join(dir, name)
		assert.NilError(t, os.WriteFile(p, b, 0o600))
		files[name] = p
	}
	return files, ecKey.ID(), rsaKey.ID()
}

func TestKeyLoad(t *testing.T) {
	files, ecID, rsaID := keyFiles(t, "file-passphrase")
	for _, tc := range []struct {
		file  string
		id    string
		stdin bool
	}{
		{"ec.pem", ecID, false},
		{"ec-pkcs8.pem", ecID, false},
		{"ec-encrypted.pem", ecID, true},
		{"rsa.pem", rsaID, false},
		{"rsa-encrypted.pem", rsaID, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			args := []string{"key", "load", "--name", "alice", files[tc.file]}
			stdin, pass := "", keyTestPass
			if tc.stdin {
				// The file's passphrase, which then protects the stored copy.
				args = append(args, "--passphrase-stdin")
				stdin, pass = "file-passphrase\n", "file-passphrase"
			}
			d, cli := cmdtest.KeyDeps(t, stdin, keyEnv())
			assert.NilError(t, runCommand(t, d, args...))
			assert.Check(t, is.Equal(cli.OutBuf.String(), "Loading key from \""+files[tc.file]+"\"...\n"+
				"Successfully imported key from "+files[tc.file]+"\n"+
				"Key ID: "+tc.id+" (role alice)\n"))
			cmdtest.StoredKey(t, d, tc.id, "alice", pass)
		})
	}
}

func TestKeyLoadRefuses(t *testing.T) {
	files, _, _ := keyFiles(t, "file-passphrase")
	open := filepath.Join(t.TempDir(), "open.pem")
	b, _ := os.ReadFile(files["ec.pem"])
	assert.NilError(t, os.WriteFile(open, b, 0o644))
	assert.NilError(t, os.Chmod(open, 0o644))
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{name: "public key", args: []string{files["public.pem"]},
			want: "provided file " + files["public.pem"] + " is not a supported private key - to add a signer's public key use docker acrtrust signer add"},
		{name: "garbage", args: []string{files["garbage.pem"]},
			want: "provided file " + files["garbage.pem"] + " is not a supported private key"},
		{name: "readable by others", args: []string{open},
			want: "private key file " + open + " must not be readable or writable by others\nMake it private to its owner first: chmod 600 " + open},
		{name: "wrong file passphrase", args: []string{"--passphrase-stdin", files["ec-encrypted.pem"]}, stdin: "not-the-passphrase\n",
			want: "the passphrase from stdin does not decrypt the encrypted key"},
		{name: "wrong env passphrase", args: []string{files["rsa-encrypted.pem"]},
			want: "the passphrase in DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE does not decrypt the encrypted key"},
		{name: "bad name", args: []string{"--name", "Bad", files["ec.pem"]},
			want: `key name "Bad" must start with lowercase alphanumeric characters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := cmdtest.KeyDeps(t, tc.stdin, keyEnv())
			err := runCommand(t, d, append([]string{"key", "load"}, tc.args...)...)
			assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 1))
			assert.Check(t, is.ErrorContains(err, tc.want))
			keys, _ := keystore.List(d.TrustDir())
			assert.Check(t, is.Len(keys, 0), "nothing may be stored")
		})
	}
}

func TestKeyList(t *testing.T) {
	d, cli := cmdtest.KeyDeps(t, "", keyEnv())
	dirs := map[string]string{d.ConfigDir: "$DOCKER_CONFIG"}
	assert.NilError(t, runCommand(t, d, "key", "list"))
	golden.Assert(t, normaliseKeys(cli.OutBuf.String(), dirs), "key-list-empty.golden")

	for _, name := range []string{"bob", "alice"} {
		assert.NilError(t, runCommand(t, d, "key", "generate", name, "--dir", t.TempDir()))
	}
	keys, err := keystore.List(d.TrustDir())
	assert.NilError(t, err)
	// Fix the placeholder order: alice is KEYIDA, bob KEYIDB.
	order := ""
	for _, k := range keys {
		order += k.ID + " "
	}
	for _, tc := range []struct {
		name   string
		args   []string
		golden string
	}{
		{"table", nil, "key-list-table.golden"},
		{"json", []string{"--format", "json"}, "key-list-json.golden"},
		{"template", []string{"--format", "{{.Role}} {{.Encrypted}}"}, "key-list-template.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli.OutBuf.Reset()
			assert.NilError(t, runCommand(t, d, append([]string{"key", "list"}, tc.args...)...))
			got := normaliseKeys(order+"\n"+cli.OutBuf.String(), dirs)
			golden.Assert(t, got, tc.golden)
		})
	}
}

func TestKeyListWarnsAboutOpenKeys(t *testing.T) {
	d, cli := cmdtest.KeyDeps(t, "", keyEnv())
	assert.NilError(t, runCommand(t, d, "key", "generate", "alice", "--dir", t.TempDir()))
	keys, _ := keystore.List(d.TrustDir())
	assert.NilError(t, os.Chmod(keys[0].File, 0o644))
	cli.ErrBuf.Reset()
	assert.NilError(t, runCommand(t, d, "key", "list"))
	assert.Check(t, is.Equal(cli.ErrBuf.String(), "WARNING: "+keys[0].File+": readable or writable by others (mode -rw-r--r--)\n"))
}
