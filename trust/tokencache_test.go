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
