package trust

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"oras.land/oras-go/v2/registry/remote/auth"
)

func jwtExpiring(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(fmt.Sprintf(`{"exp":%d}`, exp.Unix()))) + ".c2ln"
}

func TestTokenExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	assert.Check(t, tokenExpiry(jwtExpiring(now.Add(time.Hour)), now).Equal(now.Add(time.Hour)))
	assert.Check(t, tokenExpiry("opaque", now).Equal(now.Add(defaultTokenLife)))
	assert.Check(t, tokenExpiry("a.!!.c", now).Equal(now.Add(defaultTokenLife)))
}

func set(t *testing.T, v *tokenView, host, key, token string) {
	t.Helper()
	_, err := v.Set(context.Background(), host, auth.SchemeBearer, key, func(context.Context) (string, error) { return token, nil })
	assert.NilError(t, err)
}

// TestTokenCacheKeys: tokens are kept per host, identity and scopes, across
// caches on the same directory; expired ones are not used; Basic
// credentials never reach the disk.
func TestTokenCacheKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	alice := NewTokenCache(dir).view(func() string {
		return identityOf(Credential{Username: "00000000-0000-0000-0000-000000000000", IdentityToken: "alice"})
	})
	fresh := jwtExpiring(time.Now().Add(time.Hour))
	set(t, alice, "reg.example", "repository:app:pull", fresh)
	set(t, alice, "reg.example", "repository:old:pull", jwtExpiring(time.Now().Add(5*time.Second)))
	_, err := alice.Set(context.Background(), "reg.example", auth.SchemeBasic, "", func(context.Context) (string, error) { return "c2VjcmV0", nil })
	assert.NilError(t, err)

	again := NewTokenCache(dir).view(func() string {
		return identityOf(Credential{Username: "00000000-0000-0000-0000-000000000000", IdentityToken: "alice"})
	})
	ctx := context.Background()
	tok, err := again.GetToken(ctx, "reg.example", auth.SchemeBearer, "repository:app:pull")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(tok, fresh))
	_, err = again.GetToken(ctx, "reg.example", auth.SchemeBearer, "repository:app:pull,push")
	assert.Check(t, err != nil, "other scopes")
	_, err = again.GetToken(ctx, "other.example", auth.SchemeBearer, "repository:app:pull")
	assert.Check(t, err != nil, "other host")
	_, err = again.GetToken(ctx, "reg.example", auth.SchemeBearer, "repository:old:pull")
	assert.Check(t, err != nil, "about to expire")
	_, err = again.GetToken(ctx, "reg.example", auth.SchemeBasic, "")
	assert.Check(t, err != nil, "Basic credentials are not kept on disk")

	bob := NewTokenCache(dir).view(func() string {
		return identityOf(Credential{Username: "00000000-0000-0000-0000-000000000000", IdentityToken: "bob"})
	})
	_, err = bob.GetToken(ctx, "reg.example", auth.SchemeBearer, "repository:app:pull")
	assert.Check(t, err != nil, "same user name, another login")

	// A file others could read is not used.
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(entries, 1))
	assert.NilError(t, os.Chmod(filepath.Join(dir, entries[0].Name()), 0o644))
	loose := NewTokenCache(dir).view(func() string {
		return identityOf(Credential{Username: "00000000-0000-0000-0000-000000000000", IdentityToken: "alice"})
	})
	_, err = loose.GetToken(ctx, "reg.example", auth.SchemeBearer, "repository:app:pull")
	assert.Check(t, err != nil)
}

// TestPullToken: the token handed to the engine is one of the registry
// host's, for this login, granting pull on the repository, and valid long
// enough; a forgotten one is gone for every scope it was kept under.
func TestPullToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	login := func(secret string) Credentials {
		return func(string) (Credential, error) { return Credential{Username: "u", Password: secret}, nil }
	}
	n := Network{Tokens: NewTokenCache(dir), Credentials: login("alice")}
	v := n.Tokens.view(func() string { return n.identity("reg.example:5000") })
	both, longer := jwtExpiring(time.Now().Add(time.Hour)), jwtExpiring(time.Now().Add(2*time.Hour))
	set(t, v, "reg.example:5000", "repository:reg.example:5000/app:pull repository:app:pull", both)
	set(t, v, "reg.example:5000", "repository:reg.example:5000/app:pull,push", longer)
	set(t, v, "reg.example:5000", "repository:push-only:push", jwtExpiring(time.Now().Add(time.Hour)))
	set(t, v, "reg.example:5000", "repository:soon:pull", jwtExpiring(time.Now().Add(time.Minute)))
	set(t, v, "reg.example:5000", "repository:any:*", jwtExpiring(time.Now().Add(time.Hour)))

	again := Network{Tokens: NewTokenCache(dir), Credentials: login("alice")}
	assert.Check(t, is.Equal(again.PullToken("reg.example:5000", "app", 2*time.Minute), both))
	assert.Check(t, is.Equal(again.PullToken("reg.example:5000", "reg.example:5000/app", 2*time.Minute), longer),
		"the longest-lived of the tokens that grant pull")
	assert.Check(t, again.PullToken("reg.example:5000", "any", 2*time.Minute) != "", "* grants pull")
	assert.Check(t, is.Equal(again.PullToken("reg.example:5000", "push-only", 2*time.Minute), ""), "push only")
	assert.Check(t, is.Equal(again.PullToken("reg.example:5000", "soon", 2*time.Minute), ""), "expires within the margin")
	assert.Check(t, is.Equal(again.PullToken("reg.example:5000", "ap", 2*time.Minute), ""), "another repository")
	assert.Check(t, is.Equal(again.PullToken("other.example", "app", 2*time.Minute), ""), "another host")
	other := Network{Tokens: NewTokenCache(dir), Credentials: login("bob")}
	assert.Check(t, is.Equal(other.PullToken("reg.example:5000", "app", 2*time.Minute), ""), "another login")
	assert.Check(t, is.Equal(Network{}.PullToken("reg.example:5000", "app", 2*time.Minute), ""), "no cache")

	again.ForgetToken("reg.example:5000", both)
	assert.Check(t, is.Equal(Network{Tokens: NewTokenCache(dir), Credentials: login("alice")}.PullToken("reg.example:5000", "app", 2*time.Minute), ""),
		"forgotten, on disk too")
}
