package trust

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"oras.land/oras-go/v2/registry/remote/auth"
)

// Access is whether the token service grants one right on a repository.
type Access struct {
	// Op is the right: OpRegistryRead (pull), OpRegistryPush, OpTrustRead or OpTrustWrite.
	Op Op
	// Scope is the token scope asked for, "repository:<name>:<actions>".
	Scope string
	// Checked is false when no answer could be had; Err says why.
	Checked bool
	// Granted is the answer, when Checked.
	Granted bool
	// FromToken is true when the answer was read from the token's claims
	// (a JWT with an "access" claim, as ACR issues), false when it comes
	// from a request made with the token.
	FromToken bool
	// Status is the HTTP status of that request, 0 when none was made.
	Status int
	// LoginRefused is true when the token service refused the login itself
	// (wrong password, expired identity token).
	LoginRefused bool
	// NotServed is true when the trust server has no trust service for the
	// repository (404 where a publish is received): on ACR, content trust is
	// off for the registry.
	NotServed bool
	// Err is why the check could not be made.
	Err error
}

// CheckAccess asks the token service for each right on ref's repository
// (registry pull and push) and on its trust data (read and write), the way
// docker push and a signing client ask for them, and says which were
// granted.
//
// Nothing is written. The answer comes from the token's "access" claim when
// the service issues JWTs (ACR, Docker Hub, distribution's token server).
// Tokens that are opaque are tried on a request that cannot change anything:
// a tag list and a root.json read for the read rights; for the write rights
// the cancellation of an upload that does not exist (registry) and a publish
// with a body that is not a multipart upload, which a Notary server rejects
// before it stores anything (trust data). A server that refuses the right
// answers 401 or 403 to those before looking at them.
func (p Probe) CheckAccess(ctx context.Context, ref Ref) []Access {
	registryHost := ref.Registry()
	if registryHost == "docker.io" {
		registryHost = "registry-1.docker.io"
	}
	path := ref.Path()
	gun := ref.GUN().String()
	var out []Access

	reg, regErr := p.endpoint(ctx, registryHost, true)
	out = append(out,
		reg.check(ctx, regErr, OpRegistryRead, path, []string{"pull"},
			http.MethodGet, "/v2/"+path+"/tags/list", nil),
		reg.check(ctx, regErr, OpRegistryPush, path, []string{"pull", "push"},
			http.MethodDelete, "/v2/"+path+"/blobs/uploads/"+randomUploadID(), nil),
	)

	server, err := ServerURL(ref.Registry(), p.ServerOverride)
	var trustEP endpoint
	if err == nil {
		var u *url.URL
		if u, err = url.Parse(server); err == nil {
			trustEP, err = p.endpoint(ctx, u.Host, false)
		}
	}
	out = append(out,
		trustEP.check(ctx, err, OpTrustRead, gun, []string{"pull"},
			http.MethodGet, "/v2/"+gun+"/_trust/tuf/root.json", nil),
		trustEP.check(ctx, err, OpTrustWrite, gun, []string{"pull", "push"},
			http.MethodPost, "/v2/"+gun+"/_trust/tuf/", []byte("acrtrust doctor: not a multipart upload")),
	)
	return out
}

// endpoint is one host and the auth client that talks to it.
type endpoint struct {
	base   string // scheme://host
	client *auth.Client
	tokens *recordingCache
	audit  *Audit
}

// endpoint builds the client for host. For the registry it applies
// docker's insecure-registry rule as Registry does (unverified TLS, then
// plain HTTP); the trust server is always verified.
func (p Probe) endpoint(ctx context.Context, host string, registry bool) (endpoint, error) {
	cfg, err := p.Network.TLSConfig(host)
	if err != nil {
		return endpoint{}, err
	}
	scheme := "https"
	if registry && p.Network.insecure(host) {
		cfg = cfg.Clone()
		cfg.InsecureSkipVerify = true //nolint:gosec // docker's rule for insecure registries
		if !speaksTLS(ctx, host, cfg) {
			scheme = "http"
		}
	}
	tokens := &recordingCache{Cache: auth.NewCache(), tokens: map[string]string{}}
	// The login is the registry's, whichever host asks for it (as Docker did
	// for its trust server).
	loginHost := host
	if registry && host == "registry-1.docker.io" {
		loginHost = "docker.io"
	}
	c := p.Network.authClient(p.Network.httpTransport(cfg), loginHost, p.Audit)
	c.Cache = tokens
	return endpoint{base: scheme + "://" + host, client: c, tokens: tokens, audit: p.Audit}, nil
}

// speaksTLS reports whether host answers a TLS handshake (insecure
// registries may speak plain HTTP).
func speaksTLS(ctx context.Context, host string, cfg *tls.Config) bool {
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "443")
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		var re tls.RecordHeaderError
		return !errors.As(err, &re)
	}
	_ = conn.Close()
	return true
}

// check asks for a token with the actions on name, by pinging /v2/ with
// those scopes, then reads the grant from the token or, for an opaque
// token, from the answer to method path.
func (e endpoint) check(ctx context.Context, setupErr error, op Op, name string, actions []string, method, path string, body []byte) Access {
	scope := auth.ScopeRepository(name, actions...)
	a := Access{Op: op, Scope: scope}
	if setupErr != nil {
		a.Err = setupErr
		return a
	}
	ctx = auth.WithScopes(ctx, scope)
	seen := len(e.audit.Denials())
	// Any answer to the ping will do: it is there to get a token.
	if _, err := e.do(ctx, http.MethodGet, "/v2/", nil); err != nil {
		a.Err, a.LoginRefused = err, e.loginRefused(seen)
		return a
	}
	if tok, ok := e.tokens.get(scope); ok {
		if granted, ok := grantedByClaims(tok, name, actions); ok {
			a.Checked, a.Granted, a.FromToken = true, granted, true
			return a
		}
	}
	// An opaque token, basic auth or anonymous access: the answer to a
	// request that needs the right decides.
	status, err := e.do(ctx, method, path, body)
	if err != nil {
		a.Err, a.LoginRefused = err, e.loginRefused(seen)
		return a
	}
	a.Status = status
	if op == OpTrustWrite && status == http.StatusNotFound {
		// A Notary server that accepts the login answers a malformed
		// publish with 400; 404 means nothing serves trust data for this
		// repository here.
		a.NotServed = true
		a.Err = fmt.Errorf("%s %s: the trust server answered 404: it serves no trust data for %s", method, path, name)
		return a
	}
	a.Checked = true
	a.Granted = status != http.StatusUnauthorized && status != http.StatusForbidden
	return a
}

func (e endpoint) do(ctx context.Context, method, path string, body []byte) (int, error) {
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		// Not multipart/form-data: a Notary server rejects it as a malformed
		// upload before anything is stored.
		req.Header.Set("Content-Type", "text/plain")
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(body))), nil }
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// loginRefused reports whether the token service refused the login since
// the audit held seen denials (the realm may be another host).
func (e endpoint) loginRefused(seen int) bool {
	ds := e.audit.Denials()
	for i := seen; i < len(ds); i++ {
		if ds[i].Login {
			return true
		}
	}
	return false
}

// recordingCache is oras's token cache, remembering each token by its scope
// key so that the grant can be read from it.
type recordingCache struct {
	auth.Cache
	mu     sync.Mutex
	tokens map[string]string
}

func (c *recordingCache) Set(ctx context.Context, registry string, scheme auth.Scheme, key string, fetch func(context.Context) (string, error)) (string, error) {
	tok, err := c.Cache.Set(ctx, registry, scheme, key, fetch)
	if err == nil && scheme == auth.SchemeBearer {
		c.mu.Lock()
		c.tokens[key] = tok
		c.mu.Unlock()
	}
	return tok, err
}

func (c *recordingCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tokens[key]
	return t, ok
}

// grantedByClaims reads the "access" claim of a JWT access token (Docker
// token spec; ACR issues these): whether it grants all of actions on the
// repository name. ok is false when tok is not such a JWT. The signature
// is not checked: the server enforces the token, this only reads it.
func grantedByClaims(tok, name string, actions []string) (granted, ok bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false, false
	}
	var claims struct {
		Access *[]struct {
			Type    string   `json:"type"`
			Name    string   `json:"name"`
			Actions []string `json:"actions"`
		} `json:"access"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Access == nil {
		return false, false
	}
	var have []string
	for _, a := range *claims.Access {
		if a.Type == "repository" && a.Name == name {
			have = append(have, a.Actions...)
		}
	}
	for _, want := range actions {
		if !slices.Contains(have, want) && !slices.Contains(have, "*") {
			return false, true
		}
	}
	return true, true
}

func randomUploadID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "acrtrust-doctor-" + hex.EncodeToString(b)
}
