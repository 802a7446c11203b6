package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// TokenCache keeps the registry tokens of a run, and across runs when it
// has a directory: a warm trusted pull then asks the token service
// nothing. Tokens are keyed by registry host, identity (the login, by a
// digest of it) and scopes; a token is used until shortly before it
// expires, and dropped when a server answers 401 to it. Basic credentials
// are never kept. It implements oras-go's auth.Cache (through a view per
// identity), so oras-go's token flows stay as they are.
//
// It also remembers, for the run, each host's token challenge (realm and
// service), so that a request for a repository with no token yet asks the
// token service at once instead of being challenged first
// (tokenView.RoundTrip).
// Safe for concurrent use.
type TokenCache struct {
	dir string

	mu    sync.Mutex
	hosts map[string]*hostTokens // by fileKey(host, identity)
}

// hostTokens is what the cache keeps for one host and identity; its JSON
// is the file.
type hostTokens struct {
	// Challenge is the host's Www-Authenticate without its scope, learnt
	// in this process only: a realm kept on disk could go stale, and a
	// command would then fail before it learns the new one.
	Challenge string                 `json:"-"`
	Tokens    map[string]cachedToken `json:"tokens"` // by scopes, as oras-go joins them
}

type cachedToken struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// Token lifetimes: a token without an expiry of its own lives as long as
// the distribution token spec's default (expires_in 60), and none is used
// within tokenMargin of its expiry, so that it does not expire in flight.
const (
	defaultTokenLife = 60 * time.Second
	tokenMargin      = 15 * time.Second
)

// NewTokenCache returns a token cache that keeps tokens in memory, and in
// files under dir when dir is not empty: the directory is made 0700 and
// each file 0600, as Docker keeps config.json. Empty dir keeps them for
// this run only.
func NewTokenCache(dir string) *TokenCache {
	return &TokenCache{dir: dir, hosts: map[string]*hostTokens{}}
}

// fileKey names the tokens of host for identity, on disk and in memory.
func fileKey(host, identity string) string {
	sum := sha256.Sum256([]byte(host + "\n" + identity))
	return hex.EncodeToString(sum[:16])
}

// identityOf is who a login is, without the secret: a digest of the user
// name and every secret, so that two logins with the same user name (every
// `az acr login` is user 00000000-0000-0000-0000-000000000000) never share
// tokens.
func identityOf(c Credential) string {
	if c == (Credential{}) {
		return "anonymous"
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{c.Username, c.Password, c.IdentityToken, c.RegistryToken}, "\x00")))
	return hex.EncodeToString(sum[:])
}

// load returns the entry for key, read from its file the first time.
// Callers hold c.mu.
func (c *TokenCache) load(key string) *hostTokens {
	if h, ok := c.hosts[key]; ok {
		return h
	}
	h := &hostTokens{Tokens: map[string]cachedToken{}}
	if c.dir != "" {
		if b, err := readPrivate(filepath.Join(c.dir, key+".json")); err == nil {
			_ = json.Unmarshal(b, h) // a damaged file is a cold cache
			if h.Tokens == nil {
				h.Tokens = map[string]cachedToken{}
			}
		}
	}
	c.hosts[key] = h
	return h
}

// readPrivate reads a file only if nobody but its owner can read it: a
// token file that others could have read is not used.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, errors.New("token file readable by others")
	}
	return io.ReadAll(io.LimitReader(f, 4<<20))
}

// save writes key's entry, expired tokens left out, to a new file renamed
// over the old one, so that a command running at the same time reads a
// whole file. Failing to save costs a token request later, nothing more.
// Callers hold c.mu.
func (c *TokenCache) save(key string, h *hostTokens) {
	now := time.Now()
	for k, t := range h.Tokens {
		if !t.Expires.After(now) {
			delete(h.Tokens, k)
		}
	}
	if c.dir == "" {
		return
	}
	if b, err := json.Marshal(h); err == nil {
		writePrivate(c.dir, key+".json", b)
	}
}

// writePrivate writes b to dir/name as a new 0600 file renamed over the
// old one, so that a command running at the same time reads a whole file;
// dir is made 0700. It reports nothing: the caches it writes for lose a
// round trip at most when it fails.
func writePrivate(dir, name string, b []byte) {
	if os.MkdirAll(dir, 0o700) != nil || os.Chmod(dir, 0o700) != nil {
		return
	}
	f, err := os.CreateTemp(dir, name+".*.tmp") // 0600
	if err != nil {
		return
	}
	_, werr := f.Write(b)
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), filepath.Join(dir, name)) != nil {
		_ = os.Remove(f.Name())
	}
}

// tokenExpiry is when token expires: the exp claim of a JWT (ACR's tokens
// are), read only for this and never trusted for anything else; otherwise
// defaultTokenLife from now.
func tokenExpiry(token string, now time.Time) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "=")); err == nil {
			var claims struct {
				Exp int64 `json:"exp"`
			}
			if json.Unmarshal(b, &claims) == nil && claims.Exp > 0 {
				return time.Unix(claims.Exp, 0)
			}
		}
	}
	return now.Add(defaultTokenLife)
}

// view returns the auth.Cache for one login; identity is asked for once,
// when first needed (a credential helper may be slow).
func (c *TokenCache) view(identity func() string) *tokenView {
	return &tokenView{cache: c, identity: sync.OnceValue(identity), basic: map[string]string{}}
}

// tokenView is a TokenCache seen by one identity: oras-go's auth.Cache,
// and the round tripper under oras-go's auth client that uses the known
// challenge and drops refused tokens.
type tokenView struct {
	cache    *TokenCache
	identity func() string
	next     http.RoundTripper

	mu    sync.Mutex
	basic map[string]string // Basic credentials, memory only
}

func (v *tokenView) entry(host string) (*hostTokens, string) {
	key := fileKey(host, v.identity())
	return v.cache.load(key), key
}

// GetScheme implements auth.Cache.
func (v *tokenView) GetScheme(_ context.Context, host string) (auth.Scheme, error) {
	v.mu.Lock()
	_, basic := v.basic[host]
	v.mu.Unlock()
	if basic {
		return auth.SchemeBasic, nil
	}
	v.cache.mu.Lock()
	defer v.cache.mu.Unlock()
	if h, _ := v.entry(host); h.Challenge != "" || len(h.Tokens) > 0 {
		return auth.SchemeBearer, nil
	}
	return auth.SchemeUnknown, errdef.ErrNotFound
}

// GetToken implements auth.Cache.
func (v *tokenView) GetToken(_ context.Context, host string, scheme auth.Scheme, key string) (string, error) {
	if scheme == auth.SchemeBasic {
		v.mu.Lock()
		defer v.mu.Unlock()
		if t, ok := v.basic[host]; ok {
			return t, nil
		}
		return "", errdef.ErrNotFound
	}
	v.cache.mu.Lock()
	defer v.cache.mu.Unlock()
	h, _ := v.entry(host)
	if t, ok := h.Tokens[key]; ok && time.Now().Add(tokenMargin).Before(t.Expires) {
		return t.Token, nil
	}
	return "", errdef.ErrNotFound
}

// Set implements auth.Cache.
func (v *tokenView) Set(ctx context.Context, host string, scheme auth.Scheme, key string, fetch func(context.Context) (string, error)) (string, error) {
	token, err := fetch(ctx)
	if err != nil {
		return "", err
	}
	if scheme == auth.SchemeBasic {
		v.mu.Lock()
		v.basic[host] = token
		v.mu.Unlock()
		return token, nil
	}
	v.cache.mu.Lock()
	defer v.cache.mu.Unlock()
	h, fk := v.entry(host)
	h.Tokens[key] = cachedToken{Token: token, Expires: tokenExpiry(token, time.Now())}
	v.cache.save(fk, h)
	return token, nil
}

// RoundTrip sends req on, with two shortcuts around oras-go's auth client,
// which learns a host's challenge only from a 401:
//   - a request without a token, to a host whose challenge is known, is
//     answered with that challenge here, without a round trip: oras-go then
//     asks the token service for the context's scopes at once;
//   - a 401 to a token drops that token from the cache.
//
// A real challenge is remembered (without its scope) for the host.
func (v *tokenView) RoundTrip(req *http.Request) (*http.Response, error) {
	authz := req.Header.Get("Authorization")
	host := req.URL.Host
	if authz == "" && registryPath(req.URL.Path) && len(auth.GetAllScopesForHost(req.Context(), host)) > 0 {
		v.cache.mu.Lock()
		h, _ := v.entry(host)
		challenge := h.Challenge
		v.cache.mu.Unlock()
		if challenge != "" {
			return challengeResponse(req, challenge), nil
		}
	}
	resp, err := v.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	v.cache.mu.Lock()
	defer v.cache.mu.Unlock()
	h, fk := v.entry(host)
	if token, ok := strings.CutPrefix(authz, "Bearer "); ok && v.cache.forget(h, token) {
		v.cache.save(fk, h)
	}
	if c := bearerChallenge(resp.Header.Get("Www-Authenticate")); c != "" && registryPath(req.URL.Path) {
		h.Challenge = c
	}
	return resp, nil
}

// registryPath reports whether path is the registry's or the trust
// server's (the distribution API, and ACR's own under /acr/), not the
// token service's.
func registryPath(path string) bool {
	return strings.HasPrefix(path, "/v2") || strings.HasPrefix(path, "/acr/")
}

// bearerChallenge returns a Bearer challenge's realm and service as a
// challenge of its own, "" for any other scheme.
func bearerChallenge(h string) string {
	scheme, _, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	realm := challengeParam(h, "realm")
	if realm == "" {
		return ""
	}
	return `Bearer realm="` + realm + `",service="` + challengeParam(h, "service") + `"`
}

// challengeResponse is the 401 the server would answer req.
func challengeResponse(req *http.Request, challenge string) *http.Response {
	return &http.Response{
		Status:     "401 Unauthorized",
		StatusCode: http.StatusUnauthorized,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{"Www-Authenticate": {challenge}},
		Body:       io.NopCloser(bytes.NewReader(nil)),
		Request:    req,
	}
}

// tokenCache is the cache that auth clients made from n share.
func (n Network) tokenCache() *TokenCache {
	switch {
	case n.Tokens != nil:
		return n.Tokens
	case n.Pool != nil && n.Pool.tokens != nil:
		return n.Pool.tokens
	}
	return NewTokenCache("")
}

// identity is who n logs in as to registryHost, for the token cache.
func (n Network) identity(registryHost string) string {
	if n.Credentials == nil {
		return identityOf(Credential{})
	}
	cred, err := n.Credentials(registryHost)
	if err != nil {
		return "unreadable credentials"
	}
	return identityOf(cred)
}

// PullToken returns a bearer token that the cache holds for host and this
// login, granted for pulling repository, and valid for at least minLife
// more; "" when it holds none. The docker engine can be handed it
// (AuthConfig.RegistryToken) instead of asking the token service for one
// of its own. Only host's own tokens qualify: a token is kept under the
// host it was used with, and its service is that host's.
func (n Network) PullToken(host, repository string, minLife time.Duration) string {
	if n.Tokens == nil && (n.Pool == nil || n.Pool.tokens == nil) {
		return ""
	}
	c := n.tokenCache()
	identity := n.identity(host)
	c.mu.Lock()
	defer c.mu.Unlock()
	best := cachedToken{}
	for key, t := range c.load(fileKey(host, identity)).Tokens {
		if grantsPull(key, repository) && t.Expires.After(best.Expires) {
			best = t
		}
	}
	if !time.Now().Add(minLife).Before(best.Expires) {
		return ""
	}
	return best.Token
}

// ForgetToken drops token from host's tokens for this login: a server
// refused it, or a pull that carried it failed.
func (n Network) ForgetToken(host, token string) {
	if token == "" {
		return
	}
	c := n.tokenCache()
	key := fileKey(host, n.identity(host))
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.load(key)
	if c.forget(h, token) {
		c.save(key, h)
	}
}

// forget deletes every entry of h that holds token, and reports whether
// there was one. Callers hold c.mu.
func (c *TokenCache) forget(h *hostTokens, token string) bool {
	found := false
	for k, t := range h.Tokens {
		if t.Token == token {
			delete(h.Tokens, k)
			found = true
		}
	}
	return found
}

// grantsPull reports whether a token cache key (oras-go's scopes, joined
// by spaces) asks for pull on repository: "repository:NAME:ACTIONS" with
// pull or * among the actions. NAME may hold a colon (a GUN's port), so
// the actions are what follows the last one.
func grantsPull(key, repository string) bool {
	for _, scope := range strings.Fields(key) {
		rest, ok := strings.CutPrefix(scope, "repository:")
		i := strings.LastIndexByte(rest, ':')
		if !ok || i < 0 || rest[:i] != repository {
			continue
		}
		for _, action := range strings.Split(rest[i+1:], ",") {
			if action == "pull" || action == "*" {
				return true
			}
		}
	}
	return false
}
