package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// TestMigrateEmitPolicyKeepsWhatWasTrusted: two repositories migrated with
// two certificates into one --emit-policy directory both verify; a third
// run that would re-bind the first repository to the second certificate is
// refused before anything is signed or pushed, and the policy is unchanged
// (the second migration used to re-bind the first, after pushing).
func TestMigrateEmitPolicyKeepsWhatWasTrusted(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	pushed := map[string]map[string]string{}
	admin, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	for _, repo := range []string{"one", "two"} {
		p := cmdtest.PushImages(t, sb, repo, "v1")
		pushed[repo] = map[string]string{"v1": p["v1"].Digest.String()}
		assert.NilError(t, runCommand(t, admin, "sign", host+"/"+repo+":v1"))
	}
	keys := map[string][]string{}
	for _, name := range []string{"first", "second"} {
		dir := t.TempDir()
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "migrate", "cert", "generate-test", "--notation-dir", dir, name))
		keys[name] = []string{"--key", filepath.Join(dir, "localkeys", name+".key"), "--cert", filepath.Join(dir, "localkeys", name+".crt")}
	}
	policyDir := t.TempDir()
	migrate := func(key, repo string) error {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, nil)
		args := append(append([]string{"migrate"}, keys[key]...), "--emit-policy", policyDir, host+"/"+repo+":v1")
		return runCommand(t, d, args...)
	}
	assert.NilError(t, migrate("first", "one"))
	assert.NilError(t, migrate("second", "two"))
	for _, repo := range []string{"one", "two"} {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "pull", "--require", "both", "--notation-dir", policyDir, host+"/"+repo+":v1"), repo)
		assert.Check(t, is.DeepEqual(eng.Pulled, []string{host + "/" + repo + "@" + pushed[repo]["v1"]}))
	}

	before, err := os.ReadFile(filepath.Join(policyDir, "trustpolicy.json"))
	assert.NilError(t, err)
	sb.ResetStats()
	err = migrate("second", "one")
	assert.Assert(t, err != nil)
	first, remedy, _ := strings.Cut(err.Error(), "\n")
	assert.Check(t, is.Contains(first, "already covers "+host+"/one with statement \"acrtrust-migrated\", which does not trust this signing certificate"))
	assert.Check(t, is.Contains(remedy, "Nothing was signed or written"))
	assertRemedyNamesExist(t, remedy, "migrate")
	st := sb.Stats()
	assert.Check(t, is.Equal(st.RegistryRequests+st.TrustRequests, 0), "network work before the check: %+v", st)
	after, err := os.ReadFile(filepath.Join(policyDir, "trustpolicy.json"))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(after), string(before)))
}
