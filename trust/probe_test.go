package trust

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// jwt makes an unsigned token with the Docker token spec's access claim.
func jwt(t *testing.T, access any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		assert.NilError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none"}) + "." + enc(map[string]any{"sub": "alice", "access": access}) + ".c2ln"
}

func TestGrantedByClaims(t *testing.T) {
	type entry struct {
		Type    string   `json:"type"`
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	}
	tests := []struct {
		name        string
		token       string
		repo        string
		actions     []string
		granted, ok bool
	}{
		{name: "pull granted", token: jwt(t, []entry{{"repository", "app", []string{"pull"}}}), repo: "app", actions: []string{"pull"}, granted: true, ok: true},
		{name: "push not granted", token: jwt(t, []entry{{"repository", "app", []string{"pull"}}}), repo: "app", actions: []string{"pull", "push"}, ok: true},
		{name: "wildcard", token: jwt(t, []entry{{"repository", "app", []string{"*"}}}), repo: "app", actions: []string{"pull", "push"}, granted: true, ok: true},
		{name: "other repository", token: jwt(t, []entry{{"repository", "other", []string{"pull", "push"}}}), repo: "app", actions: []string{"pull"}, ok: true},
		{name: "empty access: nothing granted", token: jwt(t, []entry{}), repo: "app", actions: []string{"pull"}, ok: true},
		{name: "no access claim", token: jwt(t, nil), repo: "app", actions: []string{"pull"}},
		{name: "opaque token", token: "k3Xz-opaque", repo: "app", actions: []string{"pull"}},
		{name: "not base64", token: "a.@@@.c", repo: "app", actions: []string{"pull"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			granted, ok := grantedByClaims(tc.token, tc.repo, tc.actions)
			assert.Check(t, is.Equal(ok, tc.ok))
			assert.Check(t, is.Equal(granted, tc.granted))
		})
	}
}

// TestCheckAccessReadsJWTClaims: with a token service that issues JWTs (as
// ACR does), the grants come from the tokens alone: no request that needs a
// write right is sent at all.
func TestCheckAccessReadsJWTClaims(t *testing.T) {
	var (
		mu         sync.Mutex
		unexpected []string
		scopes     []string
	)
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := srv.Listener.Addr().String()
		switch {
		case r.URL.Path == "/v2/" && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "):
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/v2/":
			w.Header().Set("Www-Authenticate", `Bearer realm="https://`+host+`/oauth2/token",service="`+host+`"`)
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/oauth2/token":
			user, pass, _ := r.BasicAuth()
			assert.Check(t, user == "alice" && pass == "pw")
			var access []map[string]any
			for _, s := range r.URL.Query()["scope"] {
				mu.Lock()
				scopes = append(scopes, s)
				mu.Unlock()
				parts := strings.Split(s, ":")
				name := strings.Join(parts[1:len(parts)-1], ":")
				actions := []string{"pull"}
				if name == "app" { // AcrPush, no AcrImageSigner
					actions = append(actions, "push")
				}
				access = append(access, map[string]any{"type": "repository", "name": name, "actions": actions})
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"token": jwt(t, access)})
		default:
			mu.Lock()
			unexpected = append(unexpected, r.Method+" "+r.URL.Path)
			mu.Unlock()
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	assert.NilError(t, err)
	certs := t.TempDir()
	assert.NilError(t, os.MkdirAll(filepath.Join(certs, u.Host), 0o700))
	assert.NilError(t, os.WriteFile(filepath.Join(certs, u.Host, "ca.crt"),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	ref, err := ParseRef(u.Host + "/app:v1")
	assert.NilError(t, err)
	dr := Probe{
		Network: Network{
			CertsDir:    certs,
			Credentials: func(string) (Credential, error) { return Credential{Username: "alice", Password: "pw"}, nil },
		},
		Audit: &Audit{},
	}
	got := map[Op]bool{}
	for _, a := range dr.CheckAccess(context.Background(), ref) {
		assert.Check(t, a.Checked, "%s: %v", a.Op, a.Err)
		assert.Check(t, a.FromToken, "%s was not read from the token", a.Op)
		got[a.Op] = a.Granted
	}
	assert.Check(t, is.DeepEqual(got, map[Op]bool{OpRegistryRead: true, OpRegistryPush: true, OpTrustRead: true, OpTrustWrite: false}))
	assert.Check(t, is.Len(unexpected, 0), "requests beyond the token service: %v", unexpected)
	assert.Check(t, is.Contains(scopes, "repository:"+u.Host+"/app:pull,push"), "the trust write token names the GUN: %v", scopes)

	server := dr.CheckServer(context.Background(), ref)
	assert.Check(t, server.Verified, "%v", server.Err)
	assert.Check(t, is.Equal(server.URL, "https://"+u.Host))
}
