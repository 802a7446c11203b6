package pin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// writeTestCA writes a self-signed CA certificate (PEM) to path.
func writeTestCA(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assert.NilError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "team root CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	assert.NilError(t, err)
	assert.NilError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	assert.NilError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
}

// TestPinAddCAStoresAPathRelativeToThePinsFile: the pins file is committed
// and used on other runners, so `pin add --ca` names the CA file relative
// to the pins file, also from a sibling folder, and says so (issue 17).
func TestPinAddCAStoresAPathRelativeToThePinsFile(t *testing.T) {
	repo := t.TempDir() // a checkout: ci/pins.json and certs/team-ca.pem
	pinsPath := filepath.Join(repo, "ci", "pins.json")
	caFile := filepath.Join(repo, "certs", "team-ca.pem")
	writeTestCA(t, caFile)

	cli := cmdtest.NewFakeCLI(t, "")
	d := cmdtest.NewTestDeps(t, cli, nil)
	err := cmdtest.RunTree(t, cmdtest.Root(d, NewCommand(d)), d, "--pins", pinsPath, "pin", "add", "reg.example/team/", "--ca", caFile)
	assert.NilError(t, err)
	b, err := os.ReadFile(pinsPath)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(string(b), `"reg.example/team/": "../certs/team-ca.pem"`))
	assert.Check(t, is.Contains(cli.OutBuf.String(), `The pins file names the CA file "../certs/team-ca.pem", relative to itself: keep the two together (commit both).`))

	// The checkout moved (another runner): the pin still finds its CA.
	moved := filepath.Join(t.TempDir(), "elsewhere")
	assert.NilError(t, os.Rename(repo, moved))
	pins, err := trust.LoadPins(filepath.Join(moved, "ci", "pins.json"))
	assert.NilError(t, err)
	pin, ok := pins.Lookup("reg.example/team/app")
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(pin.CA, filepath.Join(moved, "ci", "..", "certs", "team-ca.pem")))
}

// TestCAPathForPins: relative to the pins file unless the two share no
// folder but the root, where the absolute path is what other machines
// have as well.
func TestCAPathForPins(t *testing.T) {
	for _, tc := range []struct {
		pins, ca, want string
		relative       bool
	}{
		{"/work/repo/pins.json", "/work/repo/ca.pem", "ca.pem", true},
		{"/work/repo/ci/pins.json", "/work/repo/certs/ca.pem", "../certs/ca.pem", true},
		{"/home/u/.docker/trust/pins.json", "/home/u/ca/team.pem", "../../ca/team.pem", true},
		{"/home/u/.docker/trust/pins.json", "/etc/ssl/team.pem", "/etc/ssl/team.pem", false},
		{"/pins/pins.json", "/etc/team.pem", "/etc/team.pem", false},
	} {
		t.Run(tc.pins+" "+tc.ca, func(t *testing.T) {
			got, relative := caPathForPins(tc.pins, tc.ca)
			assert.Check(t, is.Equal(got, tc.want))
			assert.Check(t, is.Equal(relative, tc.relative))
		})
	}
}

// TestPinAddCARefusesAWildcard: notary matches a CA pin's prefix as
// written, so "team/*" would match nothing; the refusal says to drop the
// "*" instead of suggesting the form it refused (issue 17).
func TestPinAddCARefusesAWildcard(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writeTestCA(t, caFile)
	pinsPath := filepath.Join(dir, "pins.json")
	cli := cmdtest.NewFakeCLI(t, "")
	d := cmdtest.NewTestDeps(t, cli, nil)
	err := cmdtest.RunTree(t, cmdtest.Root(d, NewCommand(d)), d, "--pins", pinsPath, "pin", "add", "reg.example/team/*", "--ca", caFile)
	assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 125))
	assert.Check(t, is.ErrorContains(err, `"reg.example/team/*" is not a CA pin prefix: a CA pin takes a plain prefix, without "*" (write it as reg.example/team/)`))
	assert.Check(t, !is.Contains(err.Error(), "team/*)")().Success(), err.Error())
	_, statErr := os.Stat(pinsPath)
	assert.Check(t, os.IsNotExist(statErr), "a refused pin add wrote the pins file")
}
