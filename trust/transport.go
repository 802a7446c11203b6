package trust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"oras.land/oras-go/v2/registry/remote/auth"
)

// Credential is a registry login as the docker config (or its credential
// helper) stores it. IdentityToken is the refresh token that
// `az acr login` stores for user 00000000-0000-0000-0000-000000000000.
type Credential struct {
	Username      string
	Password      string
	IdentityToken string
	RegistryToken string
}

// Credentials returns the login stored for a registry host. It returns a
// zero Credential, not an error, when there is none (anonymous access).
type Credentials func(registryHost string) (Credential, error)

// authClientID is the OAuth2 client_id docker sends with identity tokens.
const authClientID = "docker"

// Network is how to reach registries and trust servers: TLS material,
// credentials and the user agent. The zero value talks anonymously with
// system roots only.
type Network struct {
	// CertsDir holds per-host TLS material as Docker kept it:
	// <CertsDir>/<host>/*.crt are extra CAs, *.cert with *.key a client
	// certificate. Empty means none.
	CertsDir string
	// Credentials gives the login for a registry host. Nil means anonymous.
	Credentials Credentials
	// UserAgent is sent on every request. Empty means the Go default.
	UserAgent string
	// Base is the transport under TLS and auth. Nil means a fresh
	// http.Transport honouring proxy variables.
	Base *http.Transport
	// Insecure reports whether a registry host may be reached over plain
	// HTTP or with unverified TLS (the daemon's insecure registries and
	// 127.0.0.0/8, as docker push allows). Nil means loopback only. It
	// never applies to the trust server, which must be verified.
	Insecure func(host string) bool
	// TrustRedirectHosts are the hosts (host or host:port) that a trust
	// metadata request may be redirected to, over https only, besides the
	// trust server's own host (redirect.go). Nil means none.
	TrustRedirectHosts []string
	// MaxRetryWait bounds the total time one request waits between its
	// attempts when the server throttles (429), fails (502, 503, 504) or
	// resets the connection (retry.go). Zero means DefaultMaxRetryWait;
	// negative turns retries off.
	MaxRetryWait time.Duration
	// Tokens keeps registry tokens (tokencache.go): across commands when
	// made with a directory. Nil means a cache for this run only, shared
	// through Pool when there is one.
	Tokens *TokenCache
	// SystemRoots returns the system's roots. Nil means
	// x509.SystemCertPool (Go reads them at the first TLS verification).
	SystemRoots func() (*x509.CertPool, error)
	// Roots, when not nil, remembers which root verified each trust
	// server, to verify it against that root first (tlsroots.go). Nil
	// means the full pool every time.
	Roots *RootCache
	// Pool, when not nil, shares connections and token caches between
	// the clients made from this Network (see Pool). Nil means every
	// repository opened gets its own.
	Pool *Pool
}

// TLSConfig returns the client TLS configuration for host: system roots
// plus the CAs and client certificate in <CertsDir>/<host>.
func (n Network) TLSConfig(host string) (*tls.Config, error) {
	m, err := n.hostTLS(host)
	if err != nil {
		return nil, err
	}
	return n.fullTLSConfig(m), nil
}

// fullTLSConfig is TLSConfig for what hostTLS read: the system's roots
// plus m's CAs. With no CAs and no SystemRoots, RootCAs stays nil and Go
// reads the system's roots at the first verification.
func (n Network) fullTLSConfig(m hostTLSMaterial) *tls.Config {
	if len(m.cas) == 0 && n.SystemRoots == nil {
		return m.config(nil)
	}
	system := x509.SystemCertPool
	if n.SystemRoots != nil {
		system = n.SystemRoots
	}
	roots, err := system()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	for _, ca := range m.cas {
		roots.AddCert(ca)
	}
	return m.config(roots)
}

// hostTLSMaterial is what <CertsDir>/<host> holds: extra CAs and client
// certificates.
type hostTLSMaterial struct {
	cas          []*x509.Certificate
	certificates []tls.Certificate
}

// config is the client TLS configuration with m's client certificates and
// roots as its RootCAs.
func (m hostTLSMaterial) config(roots *x509.CertPool) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: m.certificates, RootCAs: roots}
}

// hostTLS reads <CertsDir>/<host>: *.crt are CAs (each file must hold at
// least one PEM certificate), *.cert with *.key a client certificate.
func (n Network) hostTLS(host string) (hostTLSMaterial, error) {
	var m hostTLSMaterial
	if n.CertsDir == "" {
		return m, nil
	}
	dir := filepath.Join(n.CertsDir, host)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("reading certificate directory %q: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, ".crt"):
			pemBytes, err := os.ReadFile(path)
			if err != nil {
				return m, fmt.Errorf("reading CA certificate %q: %w", path, err)
			}
			cas := pemCertificates(pemBytes)
			if len(cas) == 0 {
				return m, fmt.Errorf("reading CA certificate %q: no PEM certificate in it", path)
			}
			m.cas = append(m.cas, cas...)
		case strings.HasSuffix(name, ".cert"):
			keyPath := strings.TrimSuffix(path, ".cert") + ".key"
			pair, err := tls.LoadX509KeyPair(path, keyPath)
			if err != nil {
				return m, fmt.Errorf("loading client certificate %q with key %q: %w", path, keyPath, err)
			}
			m.certificates = append(m.certificates, pair)
		}
	}
	return m, nil
}

// pemCertificates parses the certificates of a PEM file as
// x509.CertPool.AppendCertsFromPEM does: blocks that are not certificates,
// or do not parse, are skipped.
func pemCertificates(b []byte) []*x509.Certificate {
	var certs []*x509.Certificate
	for len(b) > 0 {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			certs = append(certs, c)
		}
	}
	return certs
}

func (n Network) insecure(host string) bool {
	if n.Insecure != nil {
		return n.Insecure(host)
	}
	return IsLoopback(host)
}

// IsLoopback reports whether host (with or without port) is a loopback
// address or localhost, where docker allows plain HTTP registries.
func IsLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (n Network) httpTransport(tlsCfg *tls.Config) *http.Transport {
	if n.Pool != nil {
		return n.Pool.transport(tlsCfg, n.newTransport)
	}
	return n.newTransport(tlsCfg)
}

func (n Network) newTransport(tlsCfg *tls.Config) *http.Transport {
	var base *http.Transport
	if n.Base != nil {
		base = n.Base.Clone()
	} else {
		base = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 4,
			ForceAttemptHTTP2:   true,
		}
	}
	base.TLSClientConfig = tlsCfg
	return base
}

// authClient builds the registry token-auth client (oras-go's, a maintained
// implementation of the Docker token and OAuth2 flows, identity tokens
// included) that presents registryHost's login to whichever host asks.
// Docker likewise used the registry's login for its trust server.
func (n Network) authClient(base http.RoundTripper, registryHost string, audit *Audit) *auth.Client {
	if n.Pool != nil {
		return n.Pool.client(poolKey{host: registryHost, base: base, audit: audit}, func() *auth.Client {
			return n.newAuthClient(base, registryHost, audit)
		})
	}
	return n.newAuthClient(base, registryHost, audit)
}

func (n Network) newAuthClient(base http.RoundTripper, registryHost string, audit *Audit) *auth.Client {
	tokens := n.tokenCache().view(func() string { return n.identity(registryHost) })
	// Every attempt is counted; retries sit under token auth, so a token
	// request is retried like any other.
	tokens.next = newRetryTransport(audit.wrap(base), n.MaxRetryWait)
	c := &auth.Client{
		Client:   &http.Client{Transport: tokens, Timeout: 2*time.Minute + max(n.MaxRetryWait, DefaultMaxRetryWait), CheckRedirect: n.checkRedirect},
		Cache:    tokens,
		ClientID: authClientID,
		Credential: func(ctx context.Context, _ string) (auth.Credential, error) {
			if n.Credentials == nil {
				return auth.EmptyCredential, nil
			}
			cred, err := n.Credentials(registryHost)
			if err != nil {
				return auth.EmptyCredential, fmt.Errorf("reading credentials for %s: %w", registryHost, err)
			}
			return auth.Credential{
				Username:     cred.Username,
				Password:     cred.Password,
				RefreshToken: cred.IdentityToken,
				AccessToken:  cred.RegistryToken,
			}, nil
		},
	}
	if n.UserAgent != "" {
		c.SetUserAgent(n.UserAgent)
	}
	return c
}

// scopedTransport turns the auth client into the http.RoundTripper that
// notary's client wants, asking for scopes on every request: notary builds
// its requests without our context, so the scopes are injected here.
type scopedTransport struct {
	client *auth.Client
	scopes []string
	// ctx is the command's, for requests that notary makes without one:
	// Ctrl-C then also ends a wait between retries. Nil means none.
	ctx context.Context
}

func (t scopedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if ctx.Done() == nil && t.ctx != nil {
		ctx = t.ctx
	}
	ctx = auth.AppendScopes(ctx, t.scopes...)
	return t.client.Do(req.WithContext(ctx))
}

// Audit records what the trust server and registry answered during one
// command, so that an error can be explained (a 401 while writing trust
// data on ACR means a missing AcrImageSigner role). Safe for concurrent use;
// a nil *Audit records nothing.
type Audit struct {
	mu       sync.Mutex
	requests int
	denials  []Denial
}

// Denial is one request a server refused: a 401 or 403 after credentials or
// a token were presented, or a refusal from the token service itself.
type Denial struct {
	Method string
	Host   string
	Path   string
	Status int
	// Trust is true when the request was for trust data (a /_trust/ path).
	Trust bool
	// Login is true when the token service refused the login itself
	// (wrong password, expired identity token), rather than a resource.
	Login bool
	// Scope is the scope the server's challenge named, if any
	// ("repository:<name>:pull,push"): what the login lacked.
	Scope string
}

// Write reports whether the refused request would have changed something.
func (d Denial) Write() bool {
	return d.Method != http.MethodGet && d.Method != http.MethodHead
}

// Requests is the number of HTTP requests sent, token requests included.
func (a *Audit) Requests() int {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

// Denials lists the refused requests, in order.
func (a *Audit) Denials() []Denial {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Denial(nil), a.denials...)
}

func (a *Audit) wrap(rt http.RoundTripper) http.RoundTripper {
	if a == nil {
		return rt
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		a.mu.Lock()
		a.requests++
		if err == nil {
			if d, ok := denialOf(req, resp); ok {
				a.denials = append(a.denials, d)
			}
		}
		a.mu.Unlock()
		return resp, err
	})
}

// denialOf describes resp as a refusal, if it is one. Requests outside
// /v2/ go to the token service (ACR: /oauth2/token), whose 401 refuses the
// login itself; a registry or trust server 401 counts only once something
// was presented, since the first, anonymous, request is always challenged.
func denialOf(req *http.Request, resp *http.Response) (Denial, bool) {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return Denial{}, false
	}
	login := !strings.HasPrefix(req.URL.Path, "/v2/") && req.URL.Path != "/v2"
	if !login && resp.StatusCode == http.StatusUnauthorized && req.Header.Get("Authorization") == "" {
		return Denial{}, false
	}
	return Denial{
		Method: req.Method,
		Host:   req.URL.Host,
		Path:   req.URL.Path,
		Status: resp.StatusCode,
		Trust:  strings.Contains(req.URL.Path, "/_trust/"),
		Login:  login,
		Scope:  challengeParam(resp.Header.Get("Www-Authenticate"), "scope"),
	}, true
}

// challengeParam returns a quoted parameter of a WWW-Authenticate challenge.
func challengeParam(challenge, name string) string {
	_, rest, ok := strings.Cut(challenge, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
