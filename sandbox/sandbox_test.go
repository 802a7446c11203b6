package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func start(t *testing.T, opts Options) *Sandbox {
	t.Helper()
	sb, err := Start(opts)
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// do sends a request with an optional Authorization header and returns the
// response with its body read.
func do(t *testing.T, sb *Sandbox, method, path, authorization string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, sb.URL()+path, body)
	assert.NilError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := sb.HTTPClient().Do(req)
	assert.NilError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return resp, b
}

var challengeParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

func parseChallenge(h string) map[string]string {
	out := map[string]string{}
	if !strings.HasPrefix(h, "Bearer ") {
		return out
	}
	for _, m := range challengeParam.FindAllStringSubmatch(h, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// fetchToken does the classic GET token request (basic auth when user is
// not empty) for the scope of a challenge.
func fetchToken(rt http.RoundTripper, ch map[string]string, user, pass string) (string, error) {
	q := url.Values{"service": {ch["service"]}}
	if ch["scope"] != "" {
		q.Set("scope", ch["scope"])
	}
	req, err := http.NewRequest(http.MethodGet, ch["realm"]+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token request: %s", resp.Status)
	}
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return "", err
	}
	return tr.Token, nil
}

// tokenTransport follows Docker token auth: on a 401 it asks the realm of the
// challenge for a token with the challenge's scope and retries once.
type tokenTransport struct {
	base       http.RoundTripper
	user, pass string
}

func (tt *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	clone := func() *http.Request {
		r := req.Clone(req.Context())
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		return r
	}
	resp, err := tt.base.RoundTrip(clone())
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	ch := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	resp.Body.Close()
	tok, err := fetchToken(tt.base, ch, tt.user, tt.pass)
	if err != nil {
		return nil, err
	}
	r := clone()
	r.Header.Set("Authorization", "Bearer "+tok)
	return tt.base.RoundTrip(r)
}

func (sb *Sandbox) testTransport(user, pass string) http.RoundTripper {
	return &tokenTransport{base: sb.transport, user: user, pass: pass}
}

// doAs sends a request through the token flow as user ("" for anonymous).
func doAs(t *testing.T, sb *Sandbox, user, pass, method, path string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, sb.URL()+path, bytes.NewReader(body))
	assert.NilError(t, err)
	resp, err := (&http.Client{Transport: sb.testTransport(user, pass)}).Do(req)
	assert.NilError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestAuthMatrix(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	ctx := context.Background()
	for _, repo := range []string{"scoped/app", "other/app"} {
		_, err := sb.PushRandomImage(ctx, repo, "v1")
		assert.NilError(t, err)
	}

	type op struct {
		name, method, path string
		allowed            int // status when allowed; denied is always 401
		requiredActions    string
		trust, publish     bool
	}
	ops := func(repo string) []op {
		gun := sb.Host() + "/" + repo
		return []op{
			{"registry-pull", http.MethodHead, "/v2/" + repo + "/manifests/v1", http.StatusOK, "pull", false, false},
			{"registry-push", http.MethodPost, "/v2/" + repo + "/blobs/uploads/", http.StatusAccepted, "pull,push", false, false},
			// No trust data yet: notary itself answers 404.
			{"trust-read", http.MethodGet, "/v2/" + gun + "/_trust/tuf/root.json", http.StatusNotFound, "pull", true, false},
			// An empty publish: notary itself rejects it with 400.
			{"trust-write", http.MethodPost, "/v2/" + gun + "/_trust/tuf/", http.StatusBadRequest, "pull,push", true, true},
		}
	}
	type identity struct{ user, pass string }
	identities := []identity{
		{UserPull, Password}, {UserPush, Password}, {UserSigner, Password}, {UserAdmin, Password},
		{UserScoped, Password}, {IdentityTokenUser, sb.IdentityToken()}, {"", ""},
	}
	// allowed[user][repo] lists the operations that must succeed.
	all := []string{"registry-pull", "registry-push", "trust-read", "trust-write"}
	readers := []string{"registry-pull", "trust-read"}
	pushers := []string{"registry-pull", "registry-push", "trust-read"}
	allowed := map[string]map[string][]string{
		UserPull:          {"scoped/app": readers, "other/app": readers},
		UserPush:          {"scoped/app": pushers, "other/app": pushers},
		UserSigner:        {"scoped/app": all, "other/app": all},
		UserAdmin:         {"scoped/app": pushers, "other/app": pushers},
		UserScoped:        {"scoped/app": {"registry-pull", "registry-push"}, "other/app": nil},
		IdentityTokenUser: {"scoped/app": all, "other/app": all},
		"":                {"scoped/app": nil, "other/app": nil},
	}

	for _, id := range identities {
		for _, repo := range []string{"scoped/app", "other/app"} {
			for _, o := range ops(repo) {
				name := id.user
				if name == "" {
					name = "anonymous"
				}
				t.Run(name+"/"+repo+"/"+o.name, func(t *testing.T) {
					before := sb.Stats()
					resp := doAs(t, sb, id.user, id.pass, o.method, o.path, nil)
					after := sb.Stats()
					want := contains(allowed[id.user][repo], o.name)
					if !want {
						assert.Equal(t, resp.StatusCode, http.StatusUnauthorized)
						scopeName := repo
						if o.trust {
							scopeName = sb.Host() + "/" + repo
						}
						assert.Check(t, is.Contains(resp.Header.Get("WWW-Authenticate"),
							fmt.Sprintf(`scope="repository:%s:%s"`, scopeName, o.requiredActions)))
						assert.Check(t, is.Equal(after.TrustRequests, before.TrustRequests))
						assert.Check(t, is.Equal(after.RegistryRequests, before.RegistryRequests))
						return
					}
					assert.Equal(t, resp.StatusCode, o.allowed)
					if o.trust {
						assert.Check(t, is.Equal(after.TrustRequests, before.TrustRequests+1))
					} else {
						assert.Check(t, is.Equal(after.RegistryRequests, before.RegistryRequests+1))
					}
					if o.publish {
						assert.Check(t, is.Equal(after.Publishes, before.Publishes+1))
					}
				})
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func basic(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestBasicAuthOnResources(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	publish := "/v2/" + sb.Host() + "/app/_trust/tuf/"

	resp, _ := do(t, sb, http.MethodPost, publish, basic(UserSigner, Password), nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusBadRequest)) // reached notary

	resp, body := do(t, sb, http.MethodPost, publish, basic(UserPush, Password), nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusUnauthorized))
	assert.Check(t, is.Contains(string(body), `"code":"UNAUTHORIZED"`))

	resp, _ = do(t, sb, http.MethodPost, publish, basic(UserSigner, "wrong"), nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusUnauthorized))
	assert.Check(t, is.Equal(sb.Stats().Publishes, 1))
}

func TestPing(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})

	resp, body := do(t, sb, http.MethodGet, "/v2/", "", nil)
	assert.Equal(t, resp.StatusCode, http.StatusUnauthorized)
	assert.Check(t, is.Equal(resp.Header.Get("WWW-Authenticate"),
		fmt.Sprintf(`Bearer realm="https://%s/oauth2/token",service="%s"`, sb.Host(), sb.Host())))
	assert.Check(t, is.Contains(string(body), `"code":"UNAUTHORIZED"`))

	tok, err := fetchToken(sb.transport, parseChallenge(resp.Header.Get("WWW-Authenticate")), UserPull, Password)
	assert.NilError(t, err)
	resp, _ = do(t, sb, http.MethodGet, "/v2/", "Bearer "+tok, nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusOK))

	resp, _ = do(t, sb, http.MethodGet, "/v2/", "Bearer not-a-token", nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusUnauthorized))
}

func postToken(t *testing.T, sb *Sandbox, form url.Values) (int, tokenResponse) {
	t.Helper()
	resp, err := sb.HTTPClient().PostForm(sb.URL()+"/oauth2/token", form)
	assert.NilError(t, err)
	defer resp.Body.Close()
	var tr tokenResponse
	if resp.StatusCode == http.StatusOK {
		assert.NilError(t, json.NewDecoder(resp.Body).Decode(&tr))
	}
	return resp.StatusCode, tr
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	trustScope := "repository:" + sb.Host() + "/app:pull,push"
	publish := "/v2/" + sb.Host() + "/app/_trust/tuf/"

	t.Run("bad password", func(t *testing.T) {
		resp, body := do(t, sb, http.MethodGet, "/oauth2/token?service="+sb.Host(), basic(UserSigner, "nope"), nil)
		assert.Check(t, is.Equal(resp.StatusCode, http.StatusUnauthorized))
		assert.Check(t, is.Contains(string(body), `"errors"`))
		code, _ := postToken(t, sb, url.Values{"grant_type": {"password"}, "username": {UserSigner}, "password": {"nope"}})
		assert.Check(t, is.Equal(code, http.StatusUnauthorized))
	})

	t.Run("response fields and repeated, space-separated scopes", func(t *testing.T) {
		q := url.Values{"service": {sb.Host()}, "scope": {"repository:app:pull repository:app:push", trustScope}}
		resp, body := do(t, sb, http.MethodGet, "/oauth2/token?"+q.Encode(), basic(UserSigner, Password), nil)
		assert.Equal(t, resp.StatusCode, http.StatusOK)
		var tr tokenResponse
		assert.NilError(t, json.Unmarshal(body, &tr))
		assert.Check(t, tr.Token != "")
		assert.Check(t, is.Equal(tr.AccessToken, tr.Token))
		assert.Check(t, is.Equal(tr.ExpiresIn, 300))
		_, err := time.Parse(time.RFC3339, tr.IssuedAt)
		assert.Check(t, err)

		r, _ := do(t, sb, http.MethodPost, "/v2/app/blobs/uploads/", "Bearer "+tr.Token, nil)
		assert.Check(t, is.Equal(r.StatusCode, http.StatusAccepted))
		r, _ = do(t, sb, http.MethodPost, publish, "Bearer "+tr.Token, nil)
		assert.Check(t, is.Equal(r.StatusCode, http.StatusBadRequest))
		// Not asked for, so not granted.
		r, _ = do(t, sb, http.MethodHead, "/v2/other/manifests/v1", "Bearer "+tr.Token, nil)
		assert.Check(t, is.Equal(r.StatusCode, http.StatusUnauthorized))
	})

	t.Run("anonymous token has no rights", func(t *testing.T) {
		q := url.Values{"service": {sb.Host()}, "scope": {"repository:app:pull"}}
		resp, body := do(t, sb, http.MethodGet, "/oauth2/token?"+q.Encode(), "", nil)
		assert.Equal(t, resp.StatusCode, http.StatusOK)
		var tr tokenResponse
		assert.NilError(t, json.Unmarshal(body, &tr))
		r, _ := do(t, sb, http.MethodHead, "/v2/app/manifests/v1", "Bearer "+tr.Token, nil)
		assert.Check(t, is.Equal(r.StatusCode, http.StatusUnauthorized))
	})

	t.Run("password grant returns a working refresh token", func(t *testing.T) {
		code, tr := postToken(t, sb, url.Values{
			"grant_type": {"password"}, "username": {UserSigner}, "password": {Password},
			"service": {sb.Host()}, "scope": {trustScope}, "client_id": {"test"},
		})
		assert.Equal(t, code, http.StatusOK)
		assert.Assert(t, tr.RefreshToken != "")
		code, tr = postToken(t, sb, url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
			"service": {sb.Host()}, "scope": {trustScope}, "client_id": {"test"},
		})
		assert.Equal(t, code, http.StatusOK)
		r, _ := do(t, sb, http.MethodPost, publish, "Bearer "+tr.AccessToken, nil)
		assert.Check(t, is.Equal(r.StatusCode, http.StatusBadRequest))
	})

	t.Run("token requests are counted", func(t *testing.T) {
		sb.ResetStats()
		_, _ = postToken(t, sb, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
		_, _ = do(t, sb, http.MethodGet, "/oauth2/token", "", nil)
		assert.Check(t, is.Equal(sb.Stats().TokenRequests, 2))
	})
}

func TestIdentityToken(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	gun := sb.Host() + "/app"
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {sb.IdentityToken()},
		"service":       {sb.Host()},
		"scope":         {"repository:" + gun + ":pull,push repository:app:pull,push"},
		"client_id":     {"docker"},
	}
	code, tr := postToken(t, sb, form)
	assert.Equal(t, code, http.StatusOK)
	assert.Check(t, is.Equal(tr.Token, tr.AccessToken))

	resp, _ := do(t, sb, http.MethodPost, "/v2/"+gun+"/_trust/tuf/", "Bearer "+tr.AccessToken, nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusBadRequest)) // reached notary: signer rights
	resp, _ = do(t, sb, http.MethodPost, "/v2/app/blobs/uploads/", "Bearer "+tr.AccessToken, nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusAccepted))

	form.Set("refresh_token", "not-"+sb.IdentityToken())
	code, _ = postToken(t, sb, form)
	assert.Check(t, is.Equal(code, http.StatusUnauthorized))
}

func TestPushRandomImage(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	ctx := context.Background()
	desc, err := sb.PushRandomImage(ctx, "images/one", "v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(desc.Digest.Validate(), nil))
	assert.Check(t, desc.Size > 0)

	resp, body := do(t, sb, http.MethodGet, "/v2/images/one/manifests/v1", basic(UserPull, Password), nil)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	assert.Check(t, is.Equal(resp.Header.Get("Docker-Content-Digest"), desc.Digest.String()))
	assert.Check(t, is.Equal(resp.Header.Get("Content-Type"), desc.MediaType))
	assert.Check(t, is.Equal(int64(len(body)), desc.Size))
	assert.Check(t, is.Equal(fmt.Sprintf("sha256:%x", sha256.Sum256(body)), desc.Digest.String()))

	idx, err := sb.PushRandomIndex(ctx, "images/multi", "v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(idx.MediaType, ocispec.MediaTypeImageIndex))
	resp, body = do(t, sb, http.MethodGet, "/v2/images/multi/manifests/v1", basic(UserPull, Password), nil)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	assert.Check(t, is.Equal(resp.Header.Get("Docker-Content-Digest"), idx.Digest.String()))
	var index ocispec.Index
	assert.NilError(t, json.Unmarshal(body, &index))
	assert.Assert(t, is.Len(index.Manifests, 2))
	for i, arch := range []string{"amd64", "arm64"} {
		m := index.Manifests[i]
		assert.Assert(t, m.Platform != nil)
		assert.Check(t, is.Equal(m.Platform.Architecture, arch))
		assert.Check(t, is.Equal(m.MediaType, ocispec.MediaTypeImageManifest))
		r, _ := do(t, sb, http.MethodHead, "/v2/images/multi/manifests/"+m.Digest.String(), basic(UserPull, Password), nil)
		assert.Check(t, is.Equal(r.StatusCode, http.StatusOK))
	}
}

// newNotaryRepo opens a notary client repository with its own empty trust dir.
func newNotaryRepo(t *testing.T, sb *Sandbox, rt http.RoundTripper, repo string) client.Repository {
	t.Helper()
	r, err := client.NewFileCachedRepository(t.TempDir(), data.GUN(sb.Host()+"/"+repo), sb.URL(), rt,
		passphrase.ConstantRetriever("test-passphrase"), trustpinning.TrustPinConfig{})
	assert.NilError(t, err)
	return r
}

// publishTarget initialises repo with a new root key and a server-managed
// snapshot, adds target "v1" and publishes.
func publishTarget(t *testing.T, r client.Repository, content []byte) error {
	t.Helper()
	rootKey, err := r.GetCryptoService().Create(data.CanonicalRootRole, "", data.ECDSAKey)
	assert.NilError(t, err)
	assert.NilError(t, r.Initialize([]string{rootKey.ID()}, data.CanonicalSnapshotRole))
	sum := sha256.Sum256(content)
	assert.NilError(t, r.AddTarget(&client.Target{
		Name:   "v1",
		Hashes: data.Hashes{"sha256": sum[:]},
		Length: int64(len(content)),
	}))
	return r.Publish()
}

func TestNotaryRoundTripAnonymous(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{Anonymous: true})
	content := []byte("signed content")

	assert.NilError(t, publishTarget(t, newNotaryRepo(t, sb, sb.transport, "app"), content))
	st := sb.Stats()
	assert.Check(t, is.Equal(st.Publishes, 1))
	assert.Check(t, st.TrustRequests > 1)

	tr, err := newNotaryRepo(t, sb, sb.transport, "app").GetTargetByName("v1")
	assert.NilError(t, err)
	sum := sha256.Sum256(content)
	assert.Check(t, is.DeepEqual(tr.Hashes["sha256"], sum[:]))
	assert.Check(t, is.Equal(tr.Length, int64(len(content))))
	assert.Check(t, is.Equal(tr.Role, data.CanonicalTargetsRole))
}

func TestNotaryRoundTripWithTokenAuth(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	content := []byte("signed content")

	err := publishTarget(t, newNotaryRepo(t, sb, sb.testTransport(UserPush, Password), "app"), content)
	assert.Check(t, is.ErrorContains(err, "not authorized"))
	assert.Check(t, is.Equal(sb.Stats().Publishes, 0))

	assert.NilError(t, publishTarget(t, newNotaryRepo(t, sb, sb.testTransport(UserSigner, Password), "app"), content))
	assert.Check(t, is.Equal(sb.Stats().Publishes, 1))

	tr, err := newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "app").GetTargetByName("v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(tr.Length, int64(len(content))))

	_, err = newNotaryRepo(t, sb, sb.testTransport(UserScoped, Password), "app").GetTargetByName("v1")
	assert.Check(t, err != nil)
}

func TestSetContentTrust(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{Anonymous: true})
	assert.NilError(t, publishTarget(t, newNotaryRepo(t, sb, sb.transport, "app"), []byte("x")))
	root := "/v2/" + sb.Host() + "/app/_trust/tuf/root.json"
	resp, _ := do(t, sb, http.MethodGet, root, "", nil)
	assert.Equal(t, resp.StatusCode, http.StatusOK)

	sb.SetContentTrust(false)
	sb.ResetStats()
	resp, _ = do(t, sb, http.MethodGet, root, "", nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusNotFound))
	_, err := newNotaryRepo(t, sb, sb.transport, "app").GetTargetByName("v1")
	assert.Check(t, is.ErrorType(err, client.ErrRepositoryNotExist{}))
	assert.Check(t, is.Equal(sb.Stats().TrustRequests, 0)) // nothing reached notary

	// Turning it on again does not bring the trust data back.
	sb.SetContentTrust(true)
	resp, _ = do(t, sb, http.MethodGet, root, "", nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusNotFound))
	assert.Check(t, is.Equal(sb.Stats().TrustRequests, 1))
	_, err = newNotaryRepo(t, sb, sb.transport, "app").GetTargetByName("v1")
	assert.Check(t, is.ErrorType(err, client.ErrRepositoryNotExist{}))

	// And the repository can be initialised from scratch.
	assert.NilError(t, publishTarget(t, newNotaryRepo(t, sb, sb.transport, "app"), []byte("y")))
}

func TestTrustForeignGUN(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	resp, _ := do(t, sb, http.MethodGet, "/v2/example.com/app/_trust/tuf/root.json", basic(UserSigner, Password), nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusNotFound))
	assert.Check(t, is.Equal(sb.Stats().TrustRequests, 0))
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		sb, err := Start(Options{Addr: addr})
		if sb != nil {
			_ = sb.Close()
		}
		assert.Check(t, is.ErrorContains(err, "not a loopback address"), addr)
	}
}

func TestHostAndClose(t *testing.T) {
	sb, err := Start(Options{})
	assert.NilError(t, err)
	assert.Check(t, strings.HasPrefix(sb.Host(), "127.0.0.1:"))
	assert.Check(t, is.Equal(sb.URL(), "https://"+sb.Host()))
	assert.NilError(t, sb.Close())
	assert.NilError(t, sb.Close())
	_, err = sb.HTTPClient().Get(sb.URL() + "/v2/")
	assert.Check(t, err != nil)
}

func TestTLS(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{Anonymous: true})
	// The default client does not trust the sandbox CA.
	_, err := http.Get(sb.URL() + "/v2/")
	assert.Check(t, err != nil)
	// The certificate is valid for localhost too.
	resp, err := sb.HTTPClient().Get(strings.Replace(sb.URL(), "127.0.0.1", "localhost", 1) + "/v2/")
	assert.NilError(t, err)
	resp.Body.Close()
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusOK))
}

func TestInstallCA(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	dir := t.TempDir()
	assert.NilError(t, sb.InstallCA(dir))
	assert.NilError(t, sb.InstallCA(dir)) // again, over the existing file

	path := filepath.Join(dir, "tls", sb.Host(), "ca.crt")
	b, err := os.ReadFile(path)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(b, sb.CACertPEM()))
	fi, err := os.Stat(path)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o644)))
	fi, err = os.Stat(filepath.Dir(path))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o755)))
}

func TestRequestLog(t *testing.T) {
	t.Parallel() // it owns its sandbox
	var buf syncBuffer
	sb := start(t, Options{Log: &buf})
	do(t, sb, http.MethodGet, "/v2/", "", nil)
	do(t, sb, http.MethodGet, "/v2/", basic(UserAdmin, Password), nil)
	assert.Check(t, is.Contains(buf.String(), "GET /v2/ 401 -"))
	assert.Check(t, is.Contains(buf.String(), "GET /v2/ 200 admin"))
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
