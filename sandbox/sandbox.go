package sandbox

// Longer than 400 lines on purpose: the front handler's routing and its
// Options, Stats and lifecycle belong together.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/opencontainers/go-digest"
)

// Options configures a sandbox. The zero value is a sandbox on a free port
// of 127.0.0.1 with authentication and no request log.
type Options struct {
	Addr      string    // listen address; "" means "127.0.0.1:0". Must be a loopback address.
	Anonymous bool      // no auth at all: anyone may read and write everything
	Log       io.Writer // one line per request when non-nil
	// NoReferrersAPI makes the registry answer 404 to the OCI Referrers
	// API, as registries from before OCI 1.1 do: clients then use the
	// referrers tag schema. By default the API is served, as on ACR.
	NoReferrersAPI bool
	// RepositoryBlobs makes a blob visible only in the repositories it was
	// uploaded or mounted into, as on ACR, instead of in every repository
	// of the registry. Copies between repositories then need uploads or
	// cross-repository mounts (see blobs.go).
	RepositoryBlobs bool
	// Network adds latency and a rate limit (network.go); the zero value
	// is loopback without limits.
	Network Network
}

// Stats counts requests since [Start] or the last [Sandbox.ResetStats].
type Stats struct {
	// TrustRequests counts requests under /_trust/ that passed auth and
	// reached the notary server.
	TrustRequests int
	// Publishes counts the POST .../_trust/tuf/ requests (notary publishes)
	// among them, whatever the notary server answered.
	Publishes int
	// TokenRequests counts requests to /oauth2/token.
	TokenRequests int
	// RegistryRequests counts requests that passed auth and reached the
	// registry.
	RegistryRequests int
	// ReferrersRequests counts the OCI Referrers API requests among them
	// (GET /v2/NAME/referrers/DIGEST).
	ReferrersRequests int
	// BlobUploads counts completed blob uploads (201 to a PUT or a
	// monolithic POST with ?digest=), seeds included.
	BlobUploads int
	// BlobMounts counts cross-repository blob mounts served (201 to a POST
	// with ?mount=&from=).
	BlobMounts int
}

// Sandbox is a running ACR-like login server. Its methods are safe for
// concurrent use.
type Sandbox struct {
	opts          Options
	host          string          // 127.0.0.1:PORT
	aliases       map[string]bool // names this host answers to: 127.0.0.1:PORT, localhost:PORT, [::1]:PORT
	caPEM         []byte
	transport     *http.Transport
	srv           *http.Server
	registry      http.Handler
	identityToken string

	logMu sync.Mutex

	mu           sync.Mutex
	trustEnabled bool
	notary       http.Handler
	tokens       map[string]token
	refresh      map[string]string // refresh token -> identity
	stats        Stats

	hostile   hostileState  // hostile modes: see hostile.go
	referrers referrerIndex // the Referrers API: see referrers.go
	network   networkState  // latency and rate limit: see network.go

	closeOnce sync.Once
	closeErr  error
	served    chan struct{}
}

// Start starts a sandbox. Close it when done.
func Start(opts Options) (*Sandbox, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	caPEM, cert, err := newCertificates()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("sandbox: cannot parse own CA certificate")
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	tcpAddr := ln.Addr().(*net.TCPAddr)
	port := strconv.Itoa(tcpAddr.Port)

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	s := &Sandbox{
		opts: opts,
		host: net.JoinHostPort(tcpAddr.IP.String(), port),
		aliases: map[string]bool{
			net.JoinHostPort("127.0.0.1", port): true,
			net.JoinHostPort("localhost", port): true,
			net.JoinHostPort("::1", port):       true,
		},
		caPEM:         caPEM,
		transport:     transport,
		registry:      registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(!opts.NoReferrersAPI)),
		identityToken: randomToken(),
		trustEnabled:  true,
		notary:        newNotaryHandler(),
		tokens:        map[string]token{},
		refresh:       map[string]string{},
		served:        make(chan struct{}),
	}
	s.aliases[s.host] = true
	links := &blobLinks{isolate: opts.RepositoryBlobs, count: s.count, links: map[string]map[digest.Digest]bool{}}
	s.registry = links.wrap(s.registry)
	s.network.net = opts.Network
	s.refresh[s.identityToken] = IdentityTokenUser

	errorLog := log.New(io.Discard, "", 0)
	if opts.Log != nil {
		errorLog = log.New(&lockedWriter{mu: &s.logMu, w: opts.Log}, "sandbox: ", 0)
	}
	s.srv = &http.Server{
		Handler:           s,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          errorLog,
	}
	go func() {
		defer close(s.served)
		_ = s.srv.ServeTLS(ln, "", "")
	}()
	return s, nil
}

// checkLoopback returns an error unless addr (host:port) names a loopback
// address: the sandbox has fixed, published passwords and must not be
// reachable from other machines.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("sandbox: listen address %q is not a loopback address (use 127.0.0.1:PORT)", addr)
}

// Close stops the server and closes all connections. It is idempotent.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		<-s.served
		s.transport.CloseIdleConnections()
	})
	return s.closeErr
}

// Host is the registry host, "127.0.0.1:PORT".
func (s *Sandbox) Host() string { return s.host }

// URL is "https://" + Host(): the registry and, as on ACR, the trust server.
func (s *Sandbox) URL() string { return "https://" + s.host }

// CACertPEM is the PEM of the CA that signed the server certificate. The
// certificate is valid for 127.0.0.1, ::1 and localhost.
func (s *Sandbox) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// InstallCA writes the CA certificate to <dockerConfigDir>/tls/<host>/ca.crt,
// where the Docker CLI (and this plugin) look for the CA of a trust server.
func (s *Sandbox) InstallCA(dockerConfigDir string) error {
	dir := filepath.Join(dockerConfigDir, "tls", s.host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		return err
	}
	file := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(file, s.caPEM, 0o644); err != nil {
		return err
	}
	return os.Chmod(file, 0o644)
}

// HTTPClient returns a client that trusts the sandbox CA. It does no auth.
func (s *Sandbox) HTTPClient() *http.Client { return &http.Client{Transport: s.transport} }

// IdentityToken is the refresh token of [IdentityTokenUser], what `az acr
// login` stores in the Docker config as identitytoken.
func (s *Sandbox) IdentityToken() string { return s.identityToken }

// SetContentTrust turns content trust on or off; it starts on. While it is
// off, every request under /_trust/ answers 404, as from a registry without
// a trust server.
//
// On ACR, disabling content trust deletes all trust data of all
// repositories, irreversibly; the sandbox does the same: turning it off
// replaces the notary store (and the server's snapshot and timestamp keys)
// with empty ones, so after turning it on again every repository is
// unsigned.
func (s *Sandbox) SetContentTrust(enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !enabled {
		s.notary = newNotaryHandler()
		s.hostile.forget()
	}
	s.trustEnabled = enabled
}

// Stats returns the counters.
func (s *Sandbox) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ResetStats sets all counters to zero.
func (s *Sandbox) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{}
	s.network.resetStats()
}

func (s *Sandbox) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

// ServeHTTP is the front handler: routing, auth and the request log.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	who := ""
	if !s.delayAndLimit(rec, r) {
		who = s.serveWire(rec, r) // s.route, with the wire's hostile modes (hostile_wire.go)
	}
	if s.opts.Log != nil {
		if who == "" {
			who = "-"
		}
		s.logMu.Lock()
		fmt.Fprintf(s.opts.Log, "%s %s %s %d %s %s\n",
			start.Format("15:04:05.000"), r.Method, r.URL.RequestURI(), rec.status, who,
			time.Since(start).Round(time.Microsecond))
		s.logMu.Unlock()
	}
}

// Registry API paths, name first. Go's regexp picks the longest name, as the
// distribution router does.
var registryPaths = []*regexp.Regexp{
	regexp.MustCompile(`^/v2/(.+)/manifests/[^/]+$`),
	regexp.MustCompile(`^/v2/(.+)/blobs/uploads/[^/]*$`),
	regexp.MustCompile(`^/v2/(.+)/blobs/[^/]+$`),
	regexp.MustCompile(`^/v2/(.+)/tags/list$`),
	regexp.MustCompile(`^/v2/(.+)/referrers/[^/]+$`),
}

var referrersPath = registryPaths[len(registryPaths)-1]

// route serves r and returns the identity for the log.
func (s *Sandbox) route(w http.ResponseWriter, r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/oauth2/token":
		s.count(func(st *Stats) { st.TokenRequests++ })
		return s.serveToken(w, r)
	case strings.HasPrefix(p, "/v2/") && strings.Contains(p, "/_trust/"):
		return s.serveTrust(w, r)
	case p == "/v2/" || p == "/v2":
		who, ok := s.authorize(w, r, nil)
		if ok {
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "{}")
		}
		return who
	case strings.HasPrefix(p, "/v2/"):
		return s.serveRegistry(w, r)
	case strings.HasPrefix(p, "/acr/v1/"):
		return s.serveACRTags(w, r) // ACR's tag listing (acr.go)
	default:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "not found", nil)
		return ""
	}
}

func requiredActions(method string) []string {
	if method == http.MethodGet || method == http.MethodHead {
		return []string{"pull"}
	}
	return []string{"pull", "push"}
}

func (s *Sandbox) serveRegistry(w http.ResponseWriter, r *http.Request) string {
	var sc *scope
	if r.URL.Path == "/v2/_catalog" {
		sc = &catalogScope
	} else {
		for _, re := range registryPaths {
			if m := re.FindStringSubmatch(r.URL.Path); m != nil {
				sc = &scope{Type: "repository", Name: m[1], Actions: requiredActions(r.Method)}
				break
			}
		}
	}
	// Paths that name no repository need valid credentials only; the
	// registry answers them with 404.
	who, ok := s.authorize(w, r, sc)
	if !ok {
		return who
	}
	referrers := referrersPath.MatchString(r.URL.Path)
	s.count(func(st *Stats) {
		st.RegistryRequests++
		if referrers {
			st.ReferrersRequests++
		}
	})
	if sc == &catalogScope {
		s.serveCatalog(w, r) // paginated, as ACR (seed.go)
		return who
	}
	if !s.opts.NoReferrersAPI && s.referrers.serve(w, r, s.registry) {
		return who
	}
	s.registry.ServeHTTP(w, r)
	return who
}

func (s *Sandbox) serveTrust(w http.ResponseWriter, r *http.Request) string {
	s.mu.Lock()
	enabled, h := s.trustEnabled, s.notary
	s.mu.Unlock()
	if !enabled {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "content trust is not enabled for this registry", nil)
		return ""
	}
	p := r.URL.Path
	gun := "" // route only sends /v2/.../_trust/... here
	if i := strings.Index(p, "/_trust/"); i > len("/v2") {
		gun = p[len("/v2/"):i]
	}
	var sc *scope
	if gun == "" {
		// /v2/_trust/changefeed: the changes of all repositories.
		sc = &catalogScope
	} else {
		if _, ours := s.trustRepo(gun); !ours {
			// Trust data here exists only for this registry's own repositories.
			writeError(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("%s is not a repository of %s", gun, s.hostFor(r)), nil)
			return ""
		}
		sc = &scope{Type: "repository", Name: gun, Actions: requiredActions(r.Method)}
	}
	who, ok := s.authorize(w, r, sc)
	if !ok {
		return who
	}
	s.count(func(st *Stats) {
		st.TrustRequests++
		if r.Method == http.MethodPost && strings.HasSuffix(p, "/_trust/tuf/") {
			st.Publishes++
		}
	})
	if gun != "" && s.serveHostile(w, r, h, gun) {
		return who
	}
	h.ServeHTTP(w, r)
	return who
}

// statusRecorder remembers the response status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// lockedWriter serialises writes to the request log.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
