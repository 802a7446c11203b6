package trust

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// TestReadOnlyCheck: a repository opened with a ReadOnly context reads the
// trust data, writes nothing under the trust directory, and Check gets the
// expiries of what it read even when the repository comes wrapped (as
// guards wrap it).
func TestReadOnlyCheck(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	defer sb.Close()
	expires := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	assert.NilError(t, sb.Seed(context.Background(), []sandbox.SeedRepo{
		{Name: "app", Signed: []string{"v1"}, Unsigned: []string{"dev"}, TargetsExpire: expires},
	}, 1))
	config := t.TempDir()
	assert.NilError(t, sb.InstallCA(config))
	network := Network{
		CertsDir: filepath.Join(config, "tls"),
		Credentials: func(string) (Credential, error) {
			return Credential{Username: sandbox.UserPull, Password: sandbox.Password}, nil
		},
	}
	trustDir := filepath.Join(config, "trust")
	o := Opener{TrustDir: trustDir, Network: network}
	ref, err := ParseRef(sb.Host() + "/app")
	assert.NilError(t, err)

	ctx := ReadOnly(context.Background())
	repo, err := o.Open(ctx, ref, false)
	assert.NilError(t, err)
	wrapped := struct{ Repository }{repo}
	cache := readOnlyFrom(ctx).caches[ref.GUN()]
	assert.Assert(t, cache != nil)
	rc, err := Check(ctx, wrapped, NewRegistry(network, nil), ref, trustDir)
	assert.NilError(t, err)
	assert.Check(t, rc.TrustData)
	assert.Check(t, is.Len(rc.Tags, 2))
	assert.Assert(t, len(rc.Expiries) == 2, "%v", rc.Expiries)
	assert.Check(t, is.Equal(rc.Expiries[0].Role.String(), "targets"))
	assert.Check(t, rc.Expiries[0].Expires.Equal(expires), "%s", rc.Expiries[0].Expires)

	// The root notary trusted is in memory, for checks against pins.
	root, err := cache.root()
	assert.NilError(t, err)
	var meta struct {
		Signed struct {
			Type string `json:"_type"`
		} `json:"signed"`
	}
	assert.NilError(t, json.Unmarshal(root, &meta))
	assert.Check(t, is.Equal(meta.Signed.Type, "Root"))

	_, err = os.Stat(filepath.Join(trustDir, "tuf"))
	assert.Check(t, os.IsNotExist(err), "nothing written under the trust directory: %v", err)
	_, err = os.Stat(filepath.Join(trustDir, "private"))
	assert.Check(t, os.IsNotExist(err), "no key store opened: %v", err)
}
