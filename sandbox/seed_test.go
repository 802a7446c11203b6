package sandbox

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// getAs GETs path as user through the token flow and decodes the JSON body
// into v; it returns the response.
func getAs(t *testing.T, sb *Sandbox, user, path string, v any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, sb.URL()+path, nil)
	assert.NilError(t, err)
	resp, err := (&http.Client{Transport: sb.testTransport(user, Password)}).Do(req)
	assert.NilError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	if resp.StatusCode == http.StatusOK && v != nil {
		assert.NilError(t, json.Unmarshal(b, v), string(b))
	}
	return resp
}

// TestSeed: what Seed makes is what a notary client reads from the server,
// and what the registry serves; the catalog and ACR's tag listing page.
func TestSeed(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	assert.NilError(t, sb.Seed(context.Background(), []SeedRepo{
		{Name: "team/app", Signed: []string{"v1"}, Unsigned: []string{"dev"}, Drifted: []string{"v2"}, Missing: []string{"old"}, TargetsExpire: expires},
	}, 1))
	_, err := sb.SeedMany(context.Background(), "many/r", 150, 1)
	assert.NilError(t, err)

	var tags struct {
		Tags []struct{ Name, Digest string }
	}
	getAs(t, sb, UserPull, "/acr/v1/team/app/_tags", &tags)
	served := map[string]string{}
	for _, tg := range tags.Tags {
		served[tg.Name] = tg.Digest
	}
	assert.Equal(t, len(served), 3) // v1, v2, dev; "old" is not in the registry

	r := newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "team/app")
	targets, err := r.ListTargets()
	assert.NilError(t, err)
	signed := map[string]string{}
	for _, tg := range targets {
		signed[tg.Name] = "sha256:" + hex.EncodeToString(tg.Hashes["sha256"])
	}
	assert.Check(t, is.Equal(signed["v1"], served["v1"]))
	assert.Check(t, signed["v2"] != "" && signed["v2"] != served["v2"], "v2 drifted")
	assert.Check(t, signed["old"] != "")
	assert.Check(t, is.Equal(signed["dev"], ""))
	roles, err := r.ListRoles()
	assert.NilError(t, err)
	assert.Check(t, len(roles) >= 4)

	// The targets expire when asked: read the metadata as stored.
	var meta struct {
		Signed struct{ Expires time.Time } `json:"signed"`
	}
	getAs(t, sb, UserPull, "/v2/"+sb.Host()+"/team/app/_trust/tuf/targets.json", &meta)
	assert.Check(t, meta.Signed.Expires.Equal(expires), "%s", meta.Signed.Expires)

	t.Run("catalog pages", func(t *testing.T) {
		var page struct{ Repositories []string }
		resp := getAs(t, sb, UserPull, "/v2/_catalog?n=1000", &page)
		assert.Check(t, is.Len(page.Repositories, 100), "at most 100 a page")
		assert.Check(t, is.Equal(resp.Header.Get("Link"), `</v2/_catalog?last=many%2Fr0099&n=100>; rel="next"`))
		getAs(t, sb, UserPull, "/v2/_catalog?last=many%2Fr0099&n=100", &page)
		assert.Check(t, is.Len(page.Repositories, 51)) // many/r0100..r0149 and team/app
		assert.Check(t, is.Equal(page.Repositories[50], "team/app"))
	})

	t.Run("ACR's tag listing needs the pull right", func(t *testing.T) {
		resp := getAs(t, sb, UserScoped, "/acr/v1/team/app/_tags", nil)
		assert.Check(t, is.Equal(resp.StatusCode, http.StatusUnauthorized))
		resp = getAs(t, sb, UserPull, "/acr/v1/team/nothing/_tags", nil)
		assert.Check(t, is.Equal(resp.StatusCode, http.StatusNotFound))
	})
}
