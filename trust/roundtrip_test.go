package trust

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// roundTripSandbox starts a sandbox with signed repositories and returns
// a function that makes the Network of one command, as the plugin does
// (a Pool per command), with tokens kept under tokenDir ("" in memory).
func roundTripSandbox(t *testing.T, repos []sandbox.SeedRepo) (*sandbox.Sandbox, func(tokenDir string) Network, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	t.Cleanup(func() { sb.Close() })
	assert.NilError(t, sb.Seed(context.Background(), repos, 2))
	config := t.TempDir()
	assert.NilError(t, sb.InstallCA(config))
	network := func(tokenDir string) Network {
		n := Network{
			CertsDir: filepath.Join(config, "tls"),
			Credentials: func(string) (Credential, error) {
				return Credential{Username: sandbox.UserPull, Password: sandbox.Password}, nil
			},
			Pool: NewPool(),
		}
		if tokenDir != "" {
			n.Tokens = NewTokenCache(tokenDir)
		}
		return n
	}
	return sb, network, filepath.Join(config, "trust")
}

// TestAuditRoundTrips: an audit asks for one token per repository, which
// covers its trust data and ACR's tag listing, and is challenged once per
// run, not once per scope: at most 6 requests per repository (token, root,
// timestamp, snapshot, targets, one tag-listing page).
func TestAuditRoundTrips(t *testing.T) {
	t.Parallel()
	var repos []sandbox.SeedRepo
	for i := range 4 {
		repos = append(repos, sandbox.SeedRepo{Name: fmt.Sprintf("team/r%d", i), Signed: []string{"v1", "v2"}, Unsigned: []string{"dev"}})
	}
	sb, network, trustDir := roundTripSandbox(t, repos)
	n := network("")
	audit := &Audit{}
	reg := NewRegistry(n, audit)
	for i, r := range repos {
		before := audit.Requests()
		sb.ResetStats()
		ref := sandboxRef(t, sb, r.Name)
		ctx := ReadOnly(context.Background())
		repo, err := Opener{TrustDir: trustDir, Network: n, Audit: audit}.Open(ctx, ref, false)
		assert.NilError(t, err)
		rc, err := Check(ctx, repo, reg, ref, trustDir)
		assert.NilError(t, err)
		assert.Check(t, is.Len(rc.Tags, 3))
		st := sb.Stats()
		assert.Check(t, is.Equal(st.TokenRequests, 1), "%s: one token for trust data and tag listing", r.Name)
		assert.Check(t, is.Equal(st.RegistryRequests, 1), "%s: one tag-listing page", r.Name)
		assert.Check(t, is.Equal(st.TrustRequests, 4), "%s: root, timestamp, snapshot, targets", r.Name)
		sent := audit.Requests() - before
		if i == 0 {
			assert.Check(t, sent <= 7, "first repository: %d requests (6 and the run's one challenge)", sent)
		} else {
			assert.Check(t, sent <= 6, "%s: %d requests", r.Name, sent)
		}
	}
}

// TestWarmPullRoundTrips: with the token cache on disk, a second trusted
// pull of the same tag (another command) makes one request to the trust
// server (the timestamp) and none to the token service; without it, the
// token is asked for again.
func TestWarmPullRoundTrips(t *testing.T) {
	t.Parallel()
	sb, network, trustDir := roundTripSandbox(t, []sandbox.SeedRepo{{Name: "app", Signed: []string{"v1"}}})
	tokens := filepath.Join(t.TempDir(), "acrtrust", "tokens")
	ref := sandboxRef(t, sb, "app:v1")
	pull := func(n Network) (sandbox.Stats, int) {
		t.Helper()
		sb.ResetStats()
		audit := &Audit{}
		repo, err := Opener{TrustDir: trustDir, Network: n, Audit: audit}.Open(context.Background(), ref, false)
		assert.NilError(t, err)
		_, err = Resolve(context.Background(), repo, "v1")
		assert.NilError(t, err)
		return sb.Stats(), audit.Requests()
	}
	pull(network(tokens)) // cold
	st, sent := pull(network(tokens))
	assert.Check(t, is.Equal(st.TrustRequests, 1))
	assert.Check(t, is.Equal(st.TokenRequests, 0))
	assert.Check(t, is.Equal(sent, 1))

	st, _ = pull(network("")) // the cache turned off
	assert.Check(t, is.Equal(st.TokenRequests, 1))

	// The files are the owner's only.
	fi, err := os.Stat(tokens)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o700)))
	entries, err := os.ReadDir(tokens)
	assert.NilError(t, err)
	assert.Assert(t, len(entries) > 0)
	for _, e := range entries {
		fi, err := e.Info()
		assert.NilError(t, err)
		assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)), e.Name())
		assert.Check(t, strings.HasSuffix(e.Name(), ".json"), "no temporary file left: %s", e.Name())
	}
}

// TestTokenDroppedOn401: a cached token that the server refuses is
// dropped, and the command gets a new one and succeeds.
func TestTokenDroppedOn401(t *testing.T) {
	t.Parallel()
	sb, network, trustDir := roundTripSandbox(t, []sandbox.SeedRepo{{Name: "app", Signed: []string{"v1"}}})
	tokens := t.TempDir()
	ref := sandboxRef(t, sb, "app:v1")
	resolve := func() {
		t.Helper()
		repo, err := Opener{TrustDir: trustDir, Network: network(tokens)}.Open(context.Background(), ref, false)
		assert.NilError(t, err)
		_, err = Resolve(context.Background(), repo, "v1")
		assert.NilError(t, err)
	}
	resolve()
	// Replace every cached token with one the server never issued.
	entries, err := os.ReadDir(tokens)
	assert.NilError(t, err)
	for _, e := range entries {
		path := filepath.Join(tokens, e.Name())
		b, err := os.ReadFile(path)
		assert.NilError(t, err)
		c := NewTokenCache(tokens)
		var h hostTokens
		assert.NilError(t, json.Unmarshal(b, &h))
		for k, tok := range h.Tokens {
			tok.Token = "forged"
			h.Tokens[k] = tok
		}
		c.save(strings.TrimSuffix(e.Name(), ".json"), &h)
	}
	sb.ResetStats()
	resolve()
	assert.Check(t, is.Equal(sb.Stats().TokenRequests, 1), "a new token after the 401")
	entries, err = os.ReadDir(tokens)
	assert.NilError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(tokens, e.Name()))
		assert.NilError(t, err)
		assert.Check(t, !strings.Contains(string(b), "forged"), "the refused token is dropped")
	}
}
