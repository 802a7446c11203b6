package trust

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"gotest.tools/v3/assert"
)

// TestPoolSharesConnections: with a Pool, opening and reading many
// repositories costs one TLS handshake with the trust server, not one each.
func TestPoolSharesConnections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.EnableHTTP2 = true // as ACR and the sandbox
	srv.StartTLS()
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	assert.NilError(t, err)
	certs := t.TempDir()
	assert.NilError(t, os.MkdirAll(filepath.Join(certs, u.Host), 0o755))
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	assert.NilError(t, os.WriteFile(filepath.Join(certs, u.Host, "ca.crt"), ca, 0o644))

	read := func(n Network) int32 {
		conns.Store(0)
		o := Opener{TrustDir: t.TempDir(), ServerOverride: srv.URL, Network: n}
		for i := range 5 {
			ref, err := ParseRef(fmt.Sprintf("%s/repo%d", u.Host, i))
			assert.NilError(t, err)
			repo, err := o.Open(context.Background(), ref, false)
			assert.NilError(t, err)
			_, err = repo.ListTargets()
			assert.Check(t, KindOf(Classify(ref.GUN(), err)) == KindNoTrustData, "%v", err)
		}
		return conns.Load()
	}
	assert.Equal(t, read(Network{CertsDir: certs}), int32(5), "without a pool, one connection per repository")
	assert.Equal(t, read(Network{CertsDir: certs, Pool: NewPool()}), int32(1), "with a pool, one for the run")
}
