package trust

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// RootCache remembers, per trust server, which of the system's root
// certificates its TLS certificate chained to, so that the next command
// verifies the server against that root alone instead of reading and
// parsing every system root first (on Debian about 290 certificates read
// twice, some 15 ms of CPU before the first request of every command).
//
// Verification itself is Go's, unchanged: the server's chain, its name and
// its validity are checked on every connection. What the cache changes is
// only the pool of roots tried first: the remembered root plus the host's
// own CAs (<CertsDir>/<host>/*.crt). When that pool does not verify the
// server (a new chain, another CA), the connection is made again against
// the full pool, the system's roots plus the host's CAs, as without the
// cache, and what verifies it is remembered instead. So a server is
// accepted exactly when the full pool accepts it, with one exception,
// bounded in time: a remembered root that the system has since stopped
// trusting is still tried for up to rootsTTL after it was learnt.
//
// The host's own CAs are never remembered (they are read on every
// command, so removing one takes effect at once), and a host with no
// remembered root but CAs of its own tries those first: they verify it
// with no system roots at all when its chain ends at one of them.
//
// Entries are files under the cache's directory, 0600 in a 0700
// directory, written whole and renamed into place; a file that others
// may read or write is ignored. Whoever can write there can equally add a
// CA to <CertsDir>/<host>, which docker and this plugin honour.
type RootCache struct {
	dir string
	now func() time.Time

	mu    sync.Mutex
	roots map[string]*x509.Certificate // by host, as read or learnt in this run
}

// rootsTTL is how long a remembered root is used without the full pool.
const rootsTTL = 24 * time.Hour

// NewRootCache returns a root cache kept in dir; empty dir keeps it for
// this run only.
func NewRootCache(dir string) *RootCache {
	return &RootCache{dir: dir, now: time.Now, roots: map[string]*x509.Certificate{}}
}

type rootEntry struct {
	Host    string    `json:"host"`
	Root    []byte    `json:"root"` // DER
	Learned time.Time `json:"learned"`
}

func (c *RootCache) fileName(host string) string {
	sum := sha256.Sum256([]byte(host))
	return hex.EncodeToString(sum[:16]) + ".json"
}

func (c *RootCache) file(host string) string { return filepath.Join(c.dir, c.fileName(host)) }

// root returns the root remembered for host, nil when there is none or it
// is older than rootsTTL.
func (c *RootCache) root(host string) *x509.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.roots[host]; ok {
		return r
	}
	var root *x509.Certificate
	if c.dir != "" {
		if b, err := readPrivate(c.file(host)); err == nil {
			var e rootEntry
			if json.Unmarshal(b, &e) == nil && e.Host == host && c.now().Sub(e.Learned) < rootsTTL && !e.Learned.After(c.now()) {
				root, _ = x509.ParseCertificate(e.Root)
			}
		}
	}
	c.roots[host] = root
	return root
}

// learn remembers root for host. Failing to save costs the full pool on
// the next command, nothing more.
func (c *RootCache) learn(host string, root *x509.Certificate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.roots[host]; old != nil && old.Equal(root) {
		return
	}
	c.roots[host] = root
	if c.dir == "" {
		return
	}
	if b, err := json.Marshal(rootEntry{Host: host, Root: root.Raw, Learned: c.now().UTC()}); err == nil {
		writePrivate(c.dir, c.fileName(host), b)
	}
}

// trustServerTransport is the transport to a trust server: verified
// against the remembered root and the host's CAs first, and against the
// full pool when they do not verify it (RootCache). Without a root cache,
// or with nothing to try first, it is the full pool's transport.
func (n Network) trustServerTransport(host string) (http.RoundTripper, error) {
	if n.Pool != nil {
		return n.Pool.trustServer(host, func() (http.RoundTripper, error) { return n.newTrustServerTransport(host) })
	}
	return n.newTrustServerTransport(host)
}

func (n Network) newTrustServerTransport(host string) (http.RoundTripper, error) {
	m, err := n.hostTLS(host)
	if err != nil {
		return nil, err
	}
	if n.Roots == nil {
		return n.httpTransport(n.fullTLSConfig(m)), nil
	}
	// The full pool, built only when needed: it learns what verified the
	// server, unless that is one of the host's own CAs.
	learning := func() http.RoundTripper {
		cfg := n.fullTLSConfig(m)
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if r := chainRoot(cs.VerifiedChains); r != nil && !containsCert(m.cas, r) {
				n.Roots.learn(host, r)
			}
			return nil
		}
		return n.httpTransport(cfg)
	}
	root := n.Roots.root(host)
	if root == nil && len(m.cas) == 0 {
		return learning(), nil
	}
	first := x509.NewCertPool()
	for _, ca := range m.cas {
		first.AddCert(ca)
	}
	if root != nil {
		first.AddCert(root)
	}
	return &rootsFallback{quick: n.httpTransport(m.config(first)), full: sync.OnceValue(learning)}, nil
}

// rootsFallback sends requests verified against the quick pool, until a
// connection fails verification: that request, and all after it, go
// through the full pool.
type rootsFallback struct {
	quick    http.RoundTripper
	full     func() http.RoundTripper
	fellBack atomic.Bool
}

func (f *rootsFallback) RoundTrip(req *http.Request) (*http.Response, error) {
	if f.fellBack.Load() {
		return f.full().RoundTrip(req)
	}
	resp, err := f.quick.RoundTrip(req)
	var verify *tls.CertificateVerificationError
	if err == nil || !errors.As(err, &verify) {
		return resp, err
	}
	f.fellBack.Store(true)
	// Verification fails in the handshake, before a byte of the request
	// is written: it is sent again whole, its body included.
	if req.Body != nil && req.GetBody != nil {
		body, gerr := req.GetBody()
		if gerr != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = body
	} else if req.Body != nil && req.Body != http.NoBody {
		return nil, err
	}
	return f.full().RoundTrip(req)
}

// chainRoot is the root of the first verified chain, nil when none.
func chainRoot(chains [][]*x509.Certificate) *x509.Certificate {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return nil
	}
	return chains[0][len(chains[0])-1]
}

func containsCert(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range certs {
		if x.Equal(c) {
			return true
		}
	}
	return false
}
