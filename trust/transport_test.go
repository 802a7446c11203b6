package trust

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
)

func writeSelfSigned(t *testing.T, certPath, keyPath string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assert.NilError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	if keyPath != "" {
		kb, err := x509.MarshalECPrivateKey(key)
		assert.NilError(t, err)
		assert.NilError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	}
	cert, err := x509.ParseCertificate(der)
	assert.NilError(t, err)
	return cert
}

func TestTLSConfigReadsDockerCertsDir(t *testing.T) {
	certs := t.TempDir()
	host := "myreg.azurecr.io"
	dir := filepath.Join(certs, host)
	assert.NilError(t, os.MkdirAll(dir, 0o755))
	ca := writeSelfSigned(t, filepath.Join(dir, "ca.crt"), "")
	writeSelfSigned(t, filepath.Join(dir, "client.cert"), filepath.Join(dir, "client.key"))

	cfg, err := Network{CertsDir: certs}.TLSConfig(host)
	assert.NilError(t, err)
	assert.Assert(t, cfg.RootCAs != nil)
	_, err = ca.Verify(x509.VerifyOptions{Roots: cfg.RootCAs})
	assert.NilError(t, err, "the CA in ca.crt must be trusted")
	assert.Equal(t, len(cfg.Certificates), 1, "the client certificate pair must be loaded")

	other, err := Network{CertsDir: certs}.TLSConfig("other.azurecr.io")
	assert.NilError(t, err)
	assert.Assert(t, other.RootCAs == nil, "another host keeps the system roots only")
}

func TestTLSConfigRejectsBrokenMaterial(t *testing.T) {
	t.Run("garbage CA", func(t *testing.T) {
		certs := t.TempDir()
		assert.NilError(t, os.MkdirAll(filepath.Join(certs, "h"), 0o755))
		assert.NilError(t, os.WriteFile(filepath.Join(certs, "h", "ca.crt"), []byte("not a cert"), 0o644))
		_, err := Network{CertsDir: certs}.TLSConfig("h")
		assert.ErrorContains(t, err, "no PEM certificate in it")
	})
	t.Run("client cert without key", func(t *testing.T) {
		certs := t.TempDir()
		assert.NilError(t, os.MkdirAll(filepath.Join(certs, "h"), 0o755))
		writeSelfSigned(t, filepath.Join(certs, "h", "client.cert"), "")
		_, err := Network{CertsDir: certs}.TLSConfig("h")
		assert.ErrorContains(t, err, "loading client certificate")
	})
}
