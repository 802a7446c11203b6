package plugin

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/audit"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// What a hostile registry or trust server does on the wire (the sandbox's
// wire modes, sandbox/hostile_wire.go), through the whole command tree
// (issue 21).

// wireSandbox has app with v1 signed and dev unsigned, and other/plain.
func wireSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb := cmdtest.StartSandbox(t)
	assert.NilError(t, sb.Seed(context.Background(), []sandbox.SeedRepo{
		{Name: "app", Signed: []string{"v1"}, Unsigned: []string{"dev"}},
		{Name: "other/plain", Unsigned: []string{"latest"}},
	}, 2))
	return sb
}

// TestAuditLoopingRegistry: a catalog whose next link is the page itself
// ends audit with a clear error and its remedy after two catalog requests
// (it never ended before); a tag listing that loops is that repository's
// error in the report, and the others are audited.
func TestAuditLoopingRegistry(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := wireSandbox(t)
	host := sb.Host()
	assert.NilError(t, sb.SetHostile("", sandbox.HostileLoopLink))
	sb.ResetStats()
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	err := runCommand(t, d, "audit", host)
	assert.Assert(t, err != nil, "audit ended without an error")
	first, remedy, _ := strings.Cut(err.Error(), "\n")
	assert.Check(t, is.Contains(first, "listing the repositories of "+host+": the registry's next-page link repeats a page already fetched"))
	assert.Check(t, is.Contains(remedy, "its next-page links go round in circles"))
	assert.Check(t, is.Contains(remedy, "`docker acrtrust audit --repos FILE REGISTRY`"))
	assertRemedyNamesExist(t, remedy, "audit")
	assert.Check(t, sb.Stats().RegistryRequests <= 10, "%d registry requests", sb.Stats().RegistryRequests)

	assert.NilError(t, sb.SetHostile("", sandbox.HostileOff))
	assert.NilError(t, sb.SetHostile("app", sandbox.HostileLoopLink))
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	err = runCommand(t, d, "audit", "--format", "json", host)
	assert.Assert(t, err != nil)
	var doc struct{ Repositories []audit.AuditRepo }
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &doc), cli.OutBuf.String())
	errs := map[string]string{}
	for _, r := range doc.Repositories {
		errs[r.Name] = r.Error
	}
	assert.Check(t, is.Contains(errs[host+"/app"], "listing the tags of "+host+"/app: the registry's next-page link repeats a page already fetched"))
	assert.Check(t, is.Equal(errs[host+"/other/plain"], ""))
}

// TestServerNamesAreEscaped: names with escape sequences in a registry's
// listings reach the terminal escaped (visible, not interpreted) in verify
// and audit tables, errors included; JSON keeps them exact.
func TestServerNamesAreEscaped(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := wireSandbox(t)
	host := sb.Host()
	assert.NilError(t, sb.SetHostile("", sandbox.HostileEscapeNames))
	for _, args := range [][]string{{"verify", host + "/app"}, {"audit", host}} {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, args...)
		shown := cli.OutBuf.String() + cli.ErrBuf.String()
		if err != nil {
			shown += err.Error()
		}
		assert.Check(t, !strings.ContainsAny(shown, "\x1b\x07\r"), "%s printed a raw control character:\n%q", args[0], shown)
		assert.Check(t, is.Contains(shown, `cleared\x1b[2J\x1b[H`), args[0])
	}

	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	_ = runCommand(t, d, "audit", "--format", "json", host)
	var doc struct{ Repositories []audit.AuditRepo }
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &doc), cli.OutBuf.String())
	names := map[string]bool{}
	for _, r := range doc.Repositories {
		names[strings.TrimPrefix(r.Name, host+"/")] = true
	}
	for _, n := range sandbox.EscapeNames {
		assert.Check(t, names[n], "JSON lost the exact name %q", n)
	}
}

// TestRedirectedTrustMetadata: a trust server that redirects its metadata
// to plain http is refused with its own message and remedy; nothing is
// pulled, and it does not read as "no trust data".
func TestRedirectedTrustMetadata(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := wireSandbox(t)
	host := sb.Host()
	assert.NilError(t, sb.SetHostile("app", sandbox.HostileRedirectHTTP))
	d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	err := runCommand(t, d, "pull", host+"/app:v1")
	assert.Assert(t, err != nil)
	first, remedy, _ := strings.Cut(err.Error(), "\n")
	assert.Check(t, is.Contains(first, "Warning: potential malicious behavior - the trust server redirected https://"+host+"/v2/"+host+"/app/_trust/tuf/"))
	assert.Check(t, is.Contains(first, "(plain HTTP)"))
	assert.Check(t, !strings.Contains(err.Error(), "does not exist"), "read as no trust data: %v", err)
	assert.Check(t, is.Contains(remedy, "Nothing was pulled, signed or resolved from it."))
	assert.Check(t, is.Contains(remedy, "so the redirect was not followed"))
	assertRemedyNamesExist(t, remedy, "pull")
	assert.Check(t, is.Len(eng.Pulled, 0))

	// Another https host is followed only once it is allowed.
	assert.NilError(t, sb.SetHostile("app", sandbox.HostileRedirectHost))
	d, _, _ = cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.Check(t, is.ErrorContains(runCommand(t, d, "pull", host+"/app:v1"), "(another host)"))
	_, port, err := net.SplitHostPort(host)
	assert.NilError(t, err)
	d, _, eng = cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_TRUST_REDIRECT_HOSTS": "localhost:" + port})
	assert.NilError(t, runCommand(t, d, "pull", host+"/app:v1"))
	assert.Check(t, is.Len(eng.Pulled, 1))
}

// TestUnsafeKeyStore: a trust directory others can write to is refused
// for signing before anything is written, with the fix; doctor reports it.
func TestUnsafeKeyStore(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := wireSandbox(t)
	host := sb.Host()
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	trustDir := filepath.Join(d.ConfigDir, "trust")
	assert.NilError(t, os.MkdirAll(trustDir, 0o700))
	assert.NilError(t, os.Chmod(trustDir, 0o777))
	err := runCommand(t, d, "sign", host+"/other/plain:latest")
	assert.Assert(t, err != nil)
	first, remedy, _ := strings.Cut(err.Error(), "\n")
	assert.Check(t, is.Contains(first, "key store folder "+trustDir+" can be written by others (mode -rwxrwxrwx)"))
	assert.Check(t, is.Contains(remedy, "`chmod 700 "+trustDir+"`"))
	assertRemedyNamesExist(t, remedy, "sign")
	_, statErr := os.Stat(filepath.Join(trustDir, "private"))
	assert.Check(t, os.IsNotExist(statErr), "no key written")

	d2, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, nil)
	d2.ConfigDir = d.ConfigDir
	_ = runCommand(t, d2, "doctor", "--sign", "--format", "json", host+"/other/plain:latest")
	_, got := checkStatuses(t, cli.OutBuf.String())
	assert.Check(t, is.Equal(got["key store"], "fail"))
}

// TestAuditListingBudget: the listings of one audit share one memory cap,
// whatever --parallel is; a repository whose tags do not fit is an error of
// its own with the remedy, and the audit goes on.
func TestAuditListingBudget(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := wireSandbox(t)
	host := sb.Host()
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	// app's two tags take 133 bytes of it, other/plain's one 70.
	d.ListBudget = trust.NewListBudget(100)
	repos := filepath.Join(t.TempDir(), "repos")
	assert.NilError(t, os.WriteFile(repos, []byte("app\nother/plain\n"), 0o600))
	err := runCommand(t, d, "audit", "--format", "json", "--parallel", "8", "--repos", repos, host)
	assert.Assert(t, err != nil)
	var doc struct{ Repositories []audit.AuditRepo }
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &doc), cli.OutBuf.String())
	errs := map[string]string{}
	for _, r := range doc.Repositories {
		errs[r.Name] = r.Error
	}
	assert.Check(t, is.Contains(errs[host+"/app"], "the registry's listings are larger than the memory allowed for them in one command"))
	assert.Check(t, is.Contains(errs[host+"/app"], "`docker acrtrust audit --parallel 2 REGISTRY`"))
	assert.Check(t, is.Equal(errs[host+"/other/plain"], ""))
	assert.Check(t, is.Equal(d.ListBudget.Used(), int64(0)), "every charge released at the end")
}
