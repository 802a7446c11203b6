package trust

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"sync"

	"oras.land/oras-go/v2/registry/remote/auth"
)

// Pool shares HTTP transports (and so their connections) and registry
// auth clients (and so their token caches) between the repositories a run
// opens: auditing a thousand repositories then costs one TLS handshake per
// server, not one per repository, and a token is asked for once per scope.
// Set it as Network.Pool; safe for concurrent use.
type Pool struct {
	mu         sync.Mutex
	transports []pooledTransport // one per distinct TLS configuration: few
	clients    map[poolKey]*auth.Client
	tokens     *TokenCache                  // when Network.Tokens is nil: one for the run
	servers    map[string]http.RoundTripper // trust server transports, by host (tlsroots.go)
}

type pooledTransport struct {
	cfg *tls.Config
	t   *http.Transport
}

type poolKey struct {
	host  string
	base  http.RoundTripper
	audit *Audit
}

// NewPool returns an empty Pool.
func NewPool() *Pool {
	return &Pool{clients: map[poolKey]*auth.Client{}, tokens: NewTokenCache(""), servers: map[string]http.RoundTripper{}}
}

// trustServer returns the trust server transport for host, built once.
func (p *Pool) trustServer(host string, build func() (http.RoundTripper, error)) (http.RoundTripper, error) {
	p.mu.Lock()
	rt, ok := p.servers[host]
	p.mu.Unlock()
	if ok {
		return rt, nil
	}
	rt, err := build() // outside the lock: it may ask the pool for a transport
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.servers[host]; ok {
		return prev, nil
	}
	if p.servers == nil {
		p.servers = map[string]http.RoundTripper{}
	}
	p.servers[host] = rt
	return rt, nil
}

func (p *Pool) transport(cfg *tls.Config, build func(*tls.Config) *http.Transport) *http.Transport {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.transports {
		if sameTLS(e.cfg, cfg) {
			return e.t
		}
	}
	t := build(cfg)
	// Several repositories are read at once (audit --parallel).
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, 32)
	p.transports = append(p.transports, pooledTransport{cfg: cfg, t: t})
	return t
}

func (p *Pool) client(key poolKey, build func() *auth.Client) *auth.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.clients[key]
	if !ok {
		c = build()
		p.clients[key] = c
	}
	return c
}

// sameTLS reports whether two client TLS configurations, as
// Network.TLSConfig makes them, trust and present the same things.
func sameTLS(a, b *tls.Config) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.InsecureSkipVerify != b.InsecureSkipVerify || a.ServerName != b.ServerName || a.MinVersion != b.MinVersion ||
		(a.VerifyConnection == nil) != (b.VerifyConnection == nil) {
		return false
	}
	if (a.RootCAs == nil) != (b.RootCAs == nil) || (a.RootCAs != nil && !a.RootCAs.Equal(b.RootCAs)) {
		return false
	}
	if len(a.Certificates) != len(b.Certificates) {
		return false
	}
	for i := range a.Certificates {
		ca, cb := a.Certificates[i].Certificate, b.Certificates[i].Certificate
		if len(ca) == 0 || len(cb) == 0 || !bytes.Equal(ca[0], cb[0]) {
			return false
		}
	}
	return true
}
