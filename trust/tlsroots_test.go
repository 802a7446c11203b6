package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assert.NilError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	assert.NilError(t, err)
	cert, err := x509.ParseCertificate(der)
	assert.NilError(t, err)
	return testCA{cert: cert, key: key}
}

// leaf is a server certificate signed by ca for 127.0.0.1, or for names
// when given.
func (ca testCA) leaf(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assert.NilError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "trust server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
	}
	if len(names) == 0 {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	assert.NilError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsServer serves 200 under cert until the test ends; it returns the host.
func tlsServer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	assert.NilError(t, err)
	return u.Host
}

// countingSystem is a stand-in for the system's roots, holding cas, that
// counts how often they are read.
func countingSystem(n *atomic.Int32, cas ...testCA) func() (*x509.CertPool, error) {
	return func() (*x509.CertPool, error) {
		n.Add(1)
		p := x509.NewCertPool()
		for _, ca := range cas {
			p.AddCert(ca.cert)
		}
		return p, nil
	}
}

func getThrough(t *testing.T, n Network, host string) error {
	t.Helper()
	rt, err := n.trustServerTransport(host)
	assert.NilError(t, err)
	req, err := http.NewRequest(http.MethodGet, "https://"+host+"/v2/", nil)
	assert.NilError(t, err)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	return err
}

func TestRootCacheSparesTheSystemRootsOnTheNextCommand(t *testing.T) {
	system := newTestCA(t, "system root")
	host := tlsServer(t, system.leaf(t))
	dir := filepath.Join(t.TempDir(), "tls-roots")

	var reads atomic.Int32
	first := Network{SystemRoots: countingSystem(&reads, system), Roots: NewRootCache(dir)}
	assert.NilError(t, getThrough(t, first, host))
	assert.Equal(t, reads.Load(), int32(1), "the first command verifies against the system's roots")
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	assert.Equal(t, len(entries), 1, "the root that verified the server is kept")
	info, err := entries[0].Info()
	assert.NilError(t, err)
	assert.Equal(t, info.Mode().Perm(), os.FileMode(0o600))
	dirInfo, err := os.Stat(dir)
	assert.NilError(t, err)
	assert.Equal(t, dirInfo.Mode().Perm(), os.FileMode(0o700))

	reads.Store(0)
	next := Network{SystemRoots: countingSystem(&reads, system), Roots: NewRootCache(dir)}
	assert.NilError(t, getThrough(t, next, host))
	assert.Equal(t, reads.Load(), int32(0), "the next command needs no system roots")
}

func TestRootCacheFallsBackToTheSystemRootsWhenTheServerChangesCA(t *testing.T) {
	old, system := newTestCA(t, "old root"), newTestCA(t, "system root")
	host := tlsServer(t, system.leaf(t))
	dir := t.TempDir()
	NewRootCache(dir).learn(host, old.cert)

	var reads atomic.Int32
	roots := NewRootCache(dir)
	n := Network{SystemRoots: countingSystem(&reads, system), Roots: roots}
	assert.NilError(t, getThrough(t, n, host))
	assert.Equal(t, reads.Load(), int32(1))
	assert.Assert(t, NewRootCache(dir).root(host).Equal(system.cert), "the new root replaces the old one")
}

func TestRootCacheNeverTrustsMoreThanTheFullPool(t *testing.T) {
	system, evil := newTestCA(t, "system root"), newTestCA(t, "not trusted")

	t.Run("unknown CA", func(t *testing.T) {
		host := tlsServer(t, evil.leaf(t))
		dir := t.TempDir()
		var reads atomic.Int32
		err := getThrough(t, Network{SystemRoots: countingSystem(&reads, system), Roots: NewRootCache(dir)}, host)
		assert.Assert(t, err != nil && TLSFailure(err), "got %v", err)
		entries, _ := os.ReadDir(dir)
		assert.Equal(t, len(entries), 0, "nothing is learnt from a failure")
	})
	t.Run("remembered root, wrong name", func(t *testing.T) {
		host := tlsServer(t, system.leaf(t, "elsewhere.example"))
		dir := t.TempDir()
		NewRootCache(dir).learn(host, system.cert)
		var reads atomic.Int32
		err := getThrough(t, Network{SystemRoots: countingSystem(&reads, system), Roots: NewRootCache(dir)}, host)
		assert.Assert(t, err != nil && TLSFailure(err), "got %v", err)
	})
	t.Run("remembered root of another host", func(t *testing.T) {
		host := tlsServer(t, evil.leaf(t))
		dir := t.TempDir()
		NewRootCache(dir).learn("other.example:443", evil.cert)
		var reads atomic.Int32
		err := getThrough(t, Network{SystemRoots: countingSystem(&reads, system), Roots: NewRootCache(dir)}, host)
		assert.Assert(t, err != nil && TLSFailure(err), "got %v", err)
	})
}

func TestRootCacheTriesTheHostsOwnCAFirstAndNeverKeepsIt(t *testing.T) {
	private := newTestCA(t, "private CA")
	host := tlsServer(t, private.leaf(t))
	certs, dir := t.TempDir(), t.TempDir()
	assert.NilError(t, os.MkdirAll(filepath.Join(certs, host), 0o700))
	assert.NilError(t, os.WriteFile(filepath.Join(certs, host, "ca.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: private.cert.Raw}), 0o600))

	var reads atomic.Int32
	n := Network{CertsDir: certs, SystemRoots: countingSystem(&reads), Roots: NewRootCache(dir)}
	assert.NilError(t, getThrough(t, n, host))
	assert.Equal(t, reads.Load(), int32(0), "the host's CA verifies it without the system roots")
	entries, _ := os.ReadDir(dir)
	assert.Equal(t, len(entries), 0, "a CA of the host's own is read every time, never remembered")

	// Without the CA file, the server is no longer trusted, at once.
	assert.NilError(t, os.Remove(filepath.Join(certs, host, "ca.crt")))
	n = Network{CertsDir: certs, SystemRoots: countingSystem(&reads), Roots: NewRootCache(dir)}
	err := getThrough(t, n, host)
	assert.Assert(t, err != nil && TLSFailure(err), "got %v", err)
}

func TestRootCacheEntriesThatAreNotUsed(t *testing.T) {
	root := newTestCA(t, "root")
	const host = "registry.example:443"

	t.Run("older than a day", func(t *testing.T) {
		dir := t.TempDir()
		c := NewRootCache(dir)
		c.now = func() time.Time { return time.Now().Add(-rootsTTL - time.Minute) }
		c.learn(host, root.cert)
		assert.Assert(t, NewRootCache(dir).root(host) == nil)
	})
	t.Run("learnt in the future", func(t *testing.T) {
		dir := t.TempDir()
		c := NewRootCache(dir)
		c.now = func() time.Time { return time.Now().Add(time.Hour) }
		c.learn(host, root.cert)
		assert.Assert(t, NewRootCache(dir).root(host) == nil)
	})
	t.Run("readable by others", func(t *testing.T) {
		dir := t.TempDir()
		c := NewRootCache(dir)
		c.learn(host, root.cert)
		assert.Assert(t, NewRootCache(dir).root(host) != nil)
		assert.NilError(t, os.Chmod(c.file(host), 0o644))
		assert.Assert(t, NewRootCache(dir).root(host) == nil)
	})
	t.Run("damaged", func(t *testing.T) {
		dir := t.TempDir()
		c := NewRootCache(dir)
		c.learn(host, root.cert)
		assert.NilError(t, os.WriteFile(c.file(host), []byte(`{"host":`), 0o600))
		assert.Assert(t, NewRootCache(dir).root(host) == nil)
	})
}
