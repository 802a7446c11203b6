package plugin

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"gotest.tools/v3/assert"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// Two pipelines holding the same repository key sign different tags at the
// same moment: both signatures must survive (the loser of the race re-reads
// the new trust data and publishes again).
func TestConcurrentSignersLoseNothing(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	_, err := sb.PushRandomImage(ctx, "app", "v0")
	assert.NilError(t, err)
	first, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, first, "push", sb.Host()+"/app:v0"))

	const signers = 4
	want := map[string]string{}
	deps := make([]*cmdutil.Deps, signers)
	for i := range signers {
		tag := "c" + string(rune('a'+i))
		desc, err := sb.PushRandomImage(ctx, "app", tag)
		assert.NilError(t, err)
		want[tag] = desc.Digest.String()
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
		copyDir(t, filepath.Join(first.ConfigDir, "trust", "private"), filepath.Join(d.ConfigDir, "trust", "private"))
		deps[i] = d
	}
	var wg sync.WaitGroup
	errs := make([]error, signers)
	for i := range signers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runCommand(t, deps[i], "push", sb.Host()+"/app:c"+string(rune('a'+i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		assert.NilError(t, err, "signer %d", i)
	}
	for tag, dg := range want {
		got, err := cmdtest.IndependentResolve(t, sb, sb.Host()+"/app:"+tag)
		assert.NilError(t, err, tag)
		assert.Equal(t, got.Digest.String(), dg, tag)
	}
	_, err = cmdtest.IndependentResolve(t, sb, sb.Host()+"/app:v0")
	assert.NilError(t, err, "the earlier signature survives")
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	assert.NilError(t, os.MkdirAll(to, 0o700))
	entries, err := os.ReadDir(from)
	assert.NilError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		assert.NilError(t, err)
		assert.NilError(t, os.WriteFile(filepath.Join(to, e.Name()), b, 0o600))
	}
}
