package plugin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/doctor"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	tufutils "github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// rootKeyID is the root key ID that inspect shows for repo.
func rootKeyID(t *testing.T, sb *sandbox.Sandbox, repo string) string {
	t.Helper()
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "inspect", sb.Host()+"/"+repo))
	var out []cmdutil.InspectJSON
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &out))
	assert.Equal(t, out[0].AdministrativeKeys[0].Name, "Root")
	return out[0].AdministrativeKeys[0].Keys[0].ID
}

func writePins(t *testing.T, pins map[string][]string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"trust_pinning": map[string]any{"certs": pins}})
	assert.NilError(t, err)
	path := filepath.Join(t.TempDir(), "pins.json")
	assert.NilError(t, os.WriteFile(path, b, 0o644))
	return path
}

const bogusKeyID = "0000000000000000000000000000000000000000000000000000000000000001"

func TestFailClosedWhenTrustServerUnreachable(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, signed := signedSandbox(t)
	host := sb.Host()
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "pull", host+"/app:v1")) // warms the cache
	unreachable := map[string]string{"DOCKER_CONTENT_TRUST_SERVER": "https://127.0.0.1:1"}

	for _, args := range [][]string{
		{"pull", host + "/app:v1"},
		{"resolve", host + "/app:v1"},
		{"verify", host + "/app"},
		{"inspect", host + "/app"},
	} {
		t.Run(args[0]+" refuses the cache", func(t *testing.T) {
			d2, cli, eng := cmdtest.OtherProcess(t, d, unreachable)
			err := runCommand(t, d2, args...)
			assert.Assert(t, err != nil, "%s used the cache", args[0])
			msg := err.Error() + cli.ErrBuf.String()
			assert.Check(t, is.Contains(msg, "Error: error contacting notary server"))
			assert.Check(t, is.Contains(msg, "the trust data cached on this machine was not used"))
			assert.Check(t, is.Contains(msg, "https://127.0.0.1:1 (from DOCKER_CONTENT_TRUST_SERVER)"))
			assert.Check(t, is.Contains(msg, "--offline"))
			if args[0] == "pull" { // the others never reach the engine
				assert.Check(t, is.Len(eng.Pulled, 0))
			}
			assert.Check(t, !strings.Contains(cli.OutBuf.String(), signed["v1"]), "nothing resolved: %s", cli.OutBuf.String())
		})
	}

	t.Run("--offline uses the cache and says how old it is", func(t *testing.T) {
		d2, cli, eng := cmdtest.OtherProcess(t, d, unreachable)
		assert.NilError(t, runCommand(t, d2, "--offline", "pull", host+"/app:v1"))
		assert.DeepEqual(t, eng.Pulled, []string{host + "/app@" + signed["v1"]})
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "WARNING: offline: the trust data of "+host+"/app comes from this machine's cache; its freshness was not checked"))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "The cached timestamp was downloaded"))
	})

	t.Run("ACRTRUST_OFFLINE=1 resolves from the cache", func(t *testing.T) {
		d2, cli, _ := cmdtest.OtherProcess(t, d, map[string]string{"DOCKER_CONTENT_TRUST_SERVER": "https://127.0.0.1:1", "ACRTRUST_OFFLINE": "1"})
		assert.NilError(t, runCommand(t, d2, "resolve", host+"/app:v1"))
		assert.Equal(t, cli.OutBuf.String(), host+"/app@"+signed["v1"]+"\n")
	})

	t.Run("--offline with nothing cached", func(t *testing.T) {
		d2, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d2, "--offline", "pull", host+"/app:v2")
		assert.ErrorContains(t, err, "no trust data for "+host+"/app is cached on this machine")
		assert.ErrorContains(t, err, "Run the command once without --offline")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("--offline cannot sign", func(t *testing.T) {
		d2, _, _ := cmdtest.OtherProcess(t, d, cmdtest.PassphraseEnv())
		err := runCommand(t, d2, "--offline", "sign", host+"/app:dev")
		assert.ErrorContains(t, err, "cannot publish trust data offline")
	})
}

func TestFailClosedWhenTrustDataIsGone(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, _ := signedSandbox(t)
	host := sb.Host()
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "pull", host+"/app:v1"))

	// On ACR, turning content trust off deletes all trust data. A warm
	// client used to go on with its cache (notary treats a missing
	// timestamp like a network error).
	sb.SetContentTrust(false)
	d2, cli, eng := cmdtest.OtherProcess(t, d, nil)
	err := runCommand(t, d2, "pull", host+"/app:v1")
	assert.ErrorContains(t, err, "trust data missing for remote repository "+host+"/app")
	assert.ErrorContains(t, err, "the trust data cached on this machine was not used")
	assert.Check(t, is.Len(eng.Pulled, 0), cli.ErrBuf.String())
}

func TestPinning(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, signed := signedSandbox(t)
	host := sb.Host()
	ctx := context.Background()
	root := rootKeyID(t, sb, "app")

	// A second signed repository, not pinned below.
	signer, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	_, err := sb.PushRandomImage(ctx, "other", "v1")
	assert.NilError(t, err)
	assert.NilError(t, runCommand(t, signer, "sign", host+"/other:v1"))

	t.Run("a fresh client refuses a root that is not the pinned one", func(t *testing.T) {
		pins := writePins(t, map[string][]string{host + "/app": {bogusKeyID}})
		for _, args := range [][]string{{"pull", host + "/app:v1"}, {"resolve", host + "/app:v1"}, {"verify", host + "/app"}} {
			d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
			err := runCommand(t, d, append([]string{"--pins", pins}, args...)...)
			assert.Assert(t, err != nil, "%s accepted a root that is not the pinned one", args[0])
			msg := err.Error() + cli.ErrBuf.String()
			assert.Check(t, is.Contains(msg, "Warning: potential malicious behavior - the root of trust for "+host+"/app does not match its pin"))
			assert.Check(t, is.Contains(msg, "pinned root key IDs ["+bogusKeyID+"], presented root key IDs ["+root+"]"))
			assert.Check(t, is.Contains(msg, "docker acrtrust pin add "+host+"/app --key-id "+root))
			if args[0] == "pull" { // the others never reach the engine
				assert.Check(t, is.Len(eng.Pulled, 0))
			}
			assert.Check(t, !strings.Contains(cli.OutBuf.String(), signed["v1"]))
		}
	})

	t.Run("a fresh client accepts the pinned root", func(t *testing.T) {
		pins := writePins(t, map[string][]string{host + "/app": {root}})
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_PINS": pins, "ACRTRUST_REQUIRE_PIN": "1"})
		assert.NilError(t, runCommand(t, d, "pull", host+"/app:v1"))
		assert.DeepEqual(t, eng.Pulled, []string{host + "/app@" + signed["v1"]})
	})

	t.Run("a prefix pin covers the repositories under it", func(t *testing.T) {
		pins := writePins(t, map[string][]string{host + "/*": {bogusKeyID}})
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "--pins", pins, "pull", host+"/other:v1")
		assert.ErrorContains(t, err, "does not match its pin ("+host+"/*)")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("a cached root that the pin does not name is refused", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "pull", host+"/app:v1")) // trust on first use
		pins := writePins(t, map[string][]string{host + "/app": {bogusKeyID}})
		d2, _, eng := cmdtest.OtherProcess(t, d, map[string]string{"ACRTRUST_PINS": pins})
		err := runCommand(t, d2, "pull", host+"/app:v1")
		assert.ErrorContains(t, err, "does not match its pin")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("--require-pin refuses an unpinned repository and names the command", func(t *testing.T) {
		pins := writePins(t, map[string][]string{host + "/app": {root}})
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "--pins", pins, "--require-pin", "pull", host+"/other:v1")
		assert.ErrorContains(t, err, host+"/other is not pinned, and pins are required")
		assert.ErrorContains(t, err, "Pins are required (--require-pin)")
		assert.ErrorContains(t, err, "docker acrtrust pin add "+host+"/other --key-id ROOT_KEY_ID")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("disable_tofu in the pins file requires pins too", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "pins.json")
		assert.NilError(t, os.WriteFile(path, []byte(`{"trust_pinning": {"certs": {"`+host+`/app": ["`+root+`"]}, "disable_tofu": true}}`), 0o644))
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "--pins", path, "resolve", host+"/other:v1")
		assert.ErrorContains(t, err, "1 of 1 references could not be resolved")
		assert.Check(t, is.Contains(cli.ErrBuf.String(), `Pins are required ("disable_tofu" in the pins file)`))
		assert.Check(t, is.Equal(cli.OutBuf.String(), ""))
	})

	t.Run("require-pin still lets a publisher create a new repository", func(t *testing.T) {
		_, err := sb.PushRandomImage(ctx, "brandnew", "v1")
		assert.NilError(t, err)
		env := cmdtest.PassphraseEnv()
		env["ACRTRUST_REQUIRE_PIN"] = "true"
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, env)
		assert.NilError(t, runCommand(t, d, "sign", host+"/brandnew:v1"))
	})

	t.Run("pin add reads the presented root, then pins it", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		pins := filepath.Join(t.TempDir(), "team", "pins.json")
		assert.NilError(t, runCommand(t, d, "--pins", pins, "pin", "add", "-y", host+"/app"))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "root key IDs: "+root))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "Pinning it trusts what the server presents now"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Pinned "+host+"/app to root key "+root))
		got, err := trust.LoadPins(pins)
		assert.NilError(t, err)
		assert.DeepEqual(t, got.Certs, map[string][]string{host + "/app": {root}})

		d2, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_PINS": pins})
		assert.NilError(t, runCommand(t, d2, "--require-pin", "pull", host+"/app:v2"))
		assert.DeepEqual(t, eng.Pulled, []string{host + "/app@" + signed["v2"]})
	})

	t.Run("pin add without a terminal asks for -y and pins nothing", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		pins := filepath.Join(t.TempDir(), "pins.json")
		err := runCommand(t, d, "--pins", pins, "pin", "add", host+"/app")
		assert.ErrorContains(t, err, "Pass -y to go ahead without a prompt.")
		_, statErr := os.Stat(pins)
		assert.Check(t, os.IsNotExist(statErr), "a refused pin add must not write the pins file")
	})
}

func TestPinCommands(t *testing.T) {
	cli := cmdtest.NewFakeCLI(t, "")
	d := cmdtest.NewTestDeps(t, cli, nil)
	pins := filepath.Join(d.ConfigDir, "trust", "pins.json")

	assert.NilError(t, runCommand(t, d, "pin", "list"))
	assert.Equal(t, cli.OutBuf.String(), "No pins in "+pins+"\n")

	id2 := strings.Repeat("ab", 32)
	for _, args := range [][]string{
		{"pin", "add", "myreg.azurecr.io/app", "--key-id", bogusKeyID, "--key-id", id2},
		{"pin", "add", "myreg.azurecr.io/team/*", "--key-id", id2},
	} {
		cli.OutBuf.Reset()
		assert.NilError(t, runCommand(t, newTestDepsAt(t, cli, d.ConfigDir), args...))
	}
	info, err := os.Stat(pins)
	assert.NilError(t, err)
	assert.Equal(t, info.Mode().Perm(), os.FileMode(0o644))

	cli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, newTestDepsAt(t, cli, d.ConfigDir), "pin", "list", "--format", "json"))
	var list []cmdutil.PinJSON
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &list))
	assert.DeepEqual(t, list, []cmdutil.PinJSON{
		{Name: "myreg.azurecr.io/app", KeyIDs: []string{bogusKeyID, id2}},
		{Name: "myreg.azurecr.io/team/*", KeyIDs: []string{id2}},
	})

	t.Run("docker's short names are normalised", func(t *testing.T) {
		c := cmdtest.NewFakeCLI(t, "")
		assert.NilError(t, runCommand(t, newTestDepsAt(t, c, d.ConfigDir), "pin", "add", "busybox", "--key-id", id2))
		assert.Check(t, is.Contains(c.OutBuf.String(), "Pinned docker.io/library/busybox"))
		assert.NilError(t, runCommand(t, newTestDepsAt(t, c, d.ConfigDir), "pin", "rm", "busybox"))
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "short key ID", args: []string{"pin", "add", "myreg.azurecr.io/app", "--key-id", "abc123"}, want: `"abc123" is not a root key ID`},
		{name: "tag", args: []string{"pin", "add", "myreg.azurecr.io/app:v1", "--key-id", id2}, want: "pins are per repository"},
		{name: "prefix without key IDs", args: []string{"pin", "add", "myreg.azurecr.io/team/*"}, want: "is a prefix: give the root key IDs with --key-id"},
		{name: "ca and key id", args: []string{"pin", "add", "myreg.azurecr.io/", "--ca", "x.pem", "--key-id", id2}, want: "--ca and --key-id cannot be used together"},
		{name: "ca file missing", args: []string{"pin", "add", "myreg.azurecr.io/team/", "--ca", "/nonexistent/ca.pem"}, want: "reading CA file"},
		{name: "remove unknown", args: []string{"pin", "remove", "myreg.azurecr.io/nope"}, want: "no pin for myreg.azurecr.io/nope in " + pins},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(pins)
			err := runCommand(t, newTestDepsAt(t, cmdtest.NewFakeCLI(t, ""), d.ConfigDir), tc.args...)
			assert.ErrorContains(t, err, tc.want)
			after, _ := os.ReadFile(pins)
			assert.Equal(t, string(after), string(before), "a refused command must leave the pins file as it was")
		})
	}

	cli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, newTestDepsAt(t, cli, d.ConfigDir), "pin", "remove", "myreg.azurecr.io/team/*"))
	got, err := trust.LoadPins(pins)
	assert.NilError(t, err)
	assert.DeepEqual(t, got.Entries(), []trust.Pin{{Pattern: "myreg.azurecr.io/app", KeyIDs: []string{bogusKeyID, id2}}})
}

func TestMalformedPinsFileStopsEverything(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, _ := signedSandbox(t)
	path := filepath.Join(t.TempDir(), "pins.json")
	assert.NilError(t, os.WriteFile(path, []byte("{\n  \"trust_pinning\": {\n    \"cert\": {}\n  }\n}\n"), 0o644))
	d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_PINS": path})
	err := runCommand(t, d, "pull", sb.Host()+"/app:v1")
	assert.ErrorContains(t, err, "pins file "+path+", line 3: unknown field \"cert\"")
	assert.Check(t, is.Len(eng.Pulled, 0))
	err = runCommand(t, d, "pin", "list")
	assert.ErrorContains(t, err, "pins file "+path+", line 3")
}

// newTestDepsAt is cmdtest.NewTestDeps on an existing DOCKER_CONFIG directory.
func newTestDepsAt(t *testing.T, cli *cmdtest.FakeCLI, configDir string) *cmdutil.Deps {
	d := cmdtest.NewTestDeps(t, cli, nil)
	d.ConfigDir = configDir
	return d
}

// TestKeyRotateRoot: a root rotation signed by the old root and the new
// one; clients that trusted the old root follow it, the publisher's pin
// moves to the new key, and a consumer still pinned to the old key refuses.
func TestKeyRotateRoot(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	pushed := cmdtest.PushImages(t, sb, "app", "v1", "v2")
	pins := filepath.Join(t.TempDir(), "pins.json")
	env := cmdtest.PassphraseEnv()
	env["ACRTRUST_PINS"] = pins
	publisher, pcli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, env)
	signWithPush(t, publisher, host+"/app:v1")
	oldRoot := rootKeyID(t, sb, "app")
	assert.NilError(t, runCommand(t, publisher, "pin", "add", host+"/app", "--key-id", oldRoot))
	oldPins, err := os.ReadFile(pins)
	assert.NilError(t, err)

	warm, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, warm, "pull", host+"/app:v1"))

	pcli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, publisher, "key", "rotate", host+"/app", "root"))
	newRoot := rootKeyID(t, sb, "app")
	assert.Assert(t, newRoot != oldRoot)
	assert.Check(t, is.Contains(pcli.OutBuf.String(), "Successfully rotated root key for repository "+host+"/app"))
	// The new root key is named by its key file's ID, the one `key list`
	// shows, and its certificate by the ID that root.json lists (issue 17).
	m := regexp.MustCompile(`New root key ID: ([0-9a-f]{64}) \(on this machine`).FindStringSubmatch(pcli.OutBuf.String())
	assert.Assert(t, m != nil, pcli.OutBuf.String())
	assert.Check(t, m[1] != newRoot)
	_, statErr := os.Stat(keystore.KeyFile(publisher.TrustDir(), m[1]))
	assert.Check(t, statErr == nil, "the new root key ID names no key file: %v", statErr)
	assert.Check(t, is.Contains(pcli.OutBuf.String(), "New root certificate ID: "+newRoot+" (as `docker acrtrust inspect` shows it under Root, and pins name it)\n"))
	assert.Check(t, is.Contains(pcli.OutBuf.String(), "Updated the pin of "+host+"/app in "+pins+": root key "+newRoot+" (was "+oldRoot+")"))
	got, err := trust.LoadPins(pins)
	assert.NilError(t, err)
	assert.DeepEqual(t, got.Certs[host+"/app"], []string{newRoot})

	// The publisher goes on signing under its updated pin, with pins required.
	signWithPush(t, publisher, host+"/app:v2")
	assert.NilError(t, runCommand(t, publisher, "--require-pin", "resolve", host+"/app:v2"))

	t.Run("a client that trusted the old root follows the rotation", func(t *testing.T) {
		d, _, eng := cmdtest.OtherProcess(t, warm, nil)
		assert.NilError(t, runCommand(t, d, "pull", host+"/app:v2"))
		assert.DeepEqual(t, eng.Pulled, []string{host + "/app@" + pushed["v2"].Digest.String()})
	})
	t.Run("a fresh client with the new pins file", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_PINS": pins, "ACRTRUST_REQUIRE_PIN": "1"})
		assert.NilError(t, runCommand(t, d, "pull", host+"/app:v1"))
		assert.Check(t, is.Len(eng.Pulled, 1))
	})
	t.Run("a consumer still pinned to the old root refuses and is told the new ID", func(t *testing.T) {
		stale := filepath.Join(t.TempDir(), "pins.json")
		assert.NilError(t, os.WriteFile(stale, oldPins, 0o644))
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_PINS": stale})
		err := runCommand(t, d, "pull", host+"/app:v1")
		assert.ErrorContains(t, err, "pinned root key IDs ["+oldRoot+"], presented root key IDs ["+newRoot+"]")
		assert.ErrorContains(t, err, "If the publisher rotated the root key")
		assert.Check(t, is.Len(eng.Pulled, 0))
	})
	t.Run("a CA-pinned repository is not rotated", func(t *testing.T) {
		caFile := filepath.Join(t.TempDir(), "ca.pem")
		assert.NilError(t, os.WriteFile(caFile, sb.CACertPEM(), 0o644))
		caPins := filepath.Join(t.TempDir(), "pins.json")
		assert.NilError(t, os.WriteFile(caPins, []byte(`{"trust_pinning": {"ca": {"`+host+`/": "`+caFile+`"}}}`), 0o644))
		d, _ := cmdtest.SameMachine(t, publisher)
		err := runCommand(t, d, "--pins", caPins, "key", "rotate", host+"/app", "root")
		assert.ErrorContains(t, err, "is pinned to the CA in "+caFile)
		assert.Equal(t, rootKeyID(t, sb, "app"), newRoot)
	})
}

func TestInspectShowsPin(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, _ := signedSandbox(t)
	host := sb.Host()
	root := rootKeyID(t, sb, "app")
	pins := writePins(t, map[string][]string{host + "/app": {root}})

	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"ACRTRUST_PINS": pins})
	assert.NilError(t, runCommand(t, d, "inspect", host+"/app"))
	var out []cmdutil.InspectJSON
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &out))
	assert.DeepEqual(t, out[0].Pinned, &cmdutil.PinJSON{Name: host + "/app", KeyIDs: []string{root}})

	cli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, d, "inspect", "--pretty", host+"/app"))
	assert.Check(t, strings.HasSuffix(cli.OutBuf.String(), "  Root Key:\t"+root+"\n\nPinned ("+host+"/app) to root key "+root+"\n"), cli.OutBuf.String())

	// Unpinned: Docker's output, without a Pinned field.
	d2, cli2, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d2, "inspect", host+"/app"))
	assert.Check(t, !strings.Contains(cli2.OutBuf.String(), "Pinned"))
}

func TestDoctorChecksPins(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, _ := signedSandbox(t)
	host := sb.Host()
	root := rootKeyID(t, sb, "app")
	for _, tc := range []struct {
		name   string
		pins   map[string][]string
		args   []string
		status string
		msg    string
		trust  string // status of the trust data check
	}{
		{name: "pinned", pins: map[string][]string{host + "/app": {root}}, status: "ok", msg: "pinned (" + host + "/app) to root key " + root, trust: "ok"},
		{name: "pinned to another root", pins: map[string][]string{host + "/app": {bogusKeyID}}, status: "ok", msg: "pinned (" + host + "/app)", trust: "fail"},
		{name: "unpinned", status: "warn", msg: "is not pinned in", trust: "ok"},
		{name: "unpinned under --require-pin", args: []string{"--require-pin"}, status: "fail", msg: "and pins are required (--require-pin)", trust: "fail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
			args := []string{"--pins", writePins(t, tc.pins)}
			args = append(append(args, tc.args...), "doctor", "--format", "json", host+"/app:v1")
			_ = runCommand(t, d, args...)
			var rep doctor.DoctorReport
			assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &rep))
			got := map[string]doctor.DoctorCheck{}
			for _, c := range rep.Checks {
				got[c.Name] = c
			}
			assert.Check(t, is.Equal(got["pins"].Status, tc.status))
			assert.Check(t, is.Contains(got["pins"].Message, tc.msg))
			assert.Check(t, is.Equal(got["trust data"].Status, tc.trust), "%+v", got["trust data"])
		})
	}
}

// TestOfflineRefusesAnExpiredCache: --offline uses the cache only while its
// timestamp is current. The expired timestamp is one the sandbox's real
// timestamp key signed (its freeze mode), written into the cache as if it
// had been downloaded long ago.
func TestOfflineRefusesAnExpiredCache(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, _ := signedSandbox(t)
	host := sb.Host()
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "resolve", host+"/app:v1"))

	assert.NilError(t, sb.SetHostile("app", sandbox.HostileFreeze))
	gun := host + "/app"
	client := sb.HTTPClient()
	req, err := http.NewRequest(http.MethodGet, sb.URL()+"/oauth2/token?service="+url.QueryEscape(host)+"&scope="+url.QueryEscape("repository:"+gun+":pull"), nil)
	assert.NilError(t, err)
	req.SetBasicAuth(sandbox.UserPull, sandbox.Password)
	resp, err := client.Do(req)
	assert.NilError(t, err)
	var tok struct{ Token string }
	assert.NilError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	req, err = http.NewRequest(http.MethodGet, sb.URL()+"/v2/"+gun+"/_trust/tuf/timestamp.json", nil)
	assert.NilError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err = client.Do(req)
	assert.NilError(t, err)
	stale, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NilError(t, err)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	assert.NilError(t, sb.SetHostile("app", sandbox.HostileOff))
	cached := filepath.Join(d.ConfigDir, "trust", "tuf", filepath.FromSlash(gun), "metadata", "timestamp.json")
	assert.NilError(t, os.WriteFile(cached, stale, 0o600))

	d2, cli, eng := cmdtest.OtherProcess(t, d, map[string]string{"DOCKER_CONTENT_TRUST_SERVER": "https://127.0.0.1:1"})
	err = runCommand(t, d2, "--offline", "pull", host+"/app:v1")
	assert.ErrorContains(t, err, "out-of-date")
	assert.ErrorContains(t, err, "--offline uses the cache only while its timestamp is current; this one has expired")
	assert.Check(t, is.Len(eng.Pulled, 0), cli.ErrBuf.String())
}

// TestCAPin: a repository whose root certificate a team CA issued (as
// `notary init --rootcert` makes it) is accepted under a pin to that CA
// and refused under a pin to another CA, by notary's own CA check.
func TestCAPin(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	ctx := context.Background()
	desc, err := sb.PushRandomImage(ctx, "team/app", "v1")
	assert.NilError(t, err)
	gun := data.GUN(host + "/team/app")

	teamCA, teamKey := newTestCA(t, "team root CA")
	otherCA, _ := newTestCA(t, "some other CA")
	dir := t.TempDir()
	teamFile, otherFile := filepath.Join(dir, "team-ca.pem"), filepath.Join(dir, "other-ca.pem")
	assert.NilError(t, os.WriteFile(teamFile, tufutils.CertToPEM(teamCA), 0o644))
	assert.NilError(t, os.WriteFile(otherFile, tufutils.CertToPEM(otherCA), 0o644))

	// The publisher initialises the repository with a root certificate
	// that the team CA issued for its root key.
	base := sb.HTTPClient().Transport
	rt := roundTripper(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.SetBasicAuth(sandbox.UserSigner, sandbox.Password)
		return base.RoundTrip(req)
	})
	pub, err := client.NewFileCachedRepository(t.TempDir(), gun, sb.URL(), rt, passphrase.ConstantRetriever("publisher-pass"), trustpinning.TrustPinConfig{})
	assert.NilError(t, err)
	rootPub, err := pub.GetCryptoService().Create(data.CanonicalRootRole, "", data.ECDSAKey)
	assert.NilError(t, err)
	goPub, err := x509.ParsePKIXPublicKey(rootPub.Public())
	assert.NilError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: gun.String()},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		// No extended key usage: notary's CA check verifies the chain with
		// Go's defaults, under which code signing alone would not do.
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, teamCA, goPub, teamKey)
	assert.NilError(t, err)
	leaf, err := x509.ParseCertificate(der)
	assert.NilError(t, err)
	rootCert := data.NewECDSAx509PublicKey(tufutils.CertToPEM(leaf))
	assert.NilError(t, pub.InitializeWithCertificate([]string{rootPub.ID()}, []data.PublicKey{rootCert}, data.CanonicalSnapshotRole))
	h, _ := hex.DecodeString(desc.Digest.Encoded())
	assert.NilError(t, pub.AddTarget(&client.Target{Name: "v1", Hashes: data.Hashes{"sha256": h}, Length: desc.Size}, data.CanonicalTargetsRole))
	assert.NilError(t, pub.Publish())

	t.Run("pinned to the team CA", func(t *testing.T) {
		cli := cmdtest.NewFakeCLI(t, "")
		d := cmdtest.NewTestDeps(t, cli, nil)
		assert.NilError(t, sb.InstallCA(d.ConfigDir))
		cli.Login(host, sandbox.UserPull, sandbox.Password)
		d.Engine = &cmdtest.FakeEngine{}
		assert.NilError(t, runCommand(t, d, "--pins", filepath.Join(dir, "pins.json"), "pin", "add", host+"/team/", "--ca", teamFile))
		cli.OutBuf.Reset()
		err := runCommand(t, d, "--pins", filepath.Join(dir, "pins.json"), "--require-pin", "resolve", host+"/team/app:v1")
		assert.NilError(t, err, cli.ErrBuf.String())
		assert.Equal(t, cli.OutBuf.String(), host+"/team/app@"+desc.Digest.String()+"\n")
		// The pins file names the CA relative to itself.
		b, err := os.ReadFile(filepath.Join(dir, "pins.json"))
		assert.NilError(t, err)
		assert.Check(t, is.Contains(string(b), `"`+host+`/team/": "team-ca.pem"`))
	})
	t.Run("pinned to another CA", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "pins.json")
		assert.NilError(t, os.WriteFile(path, []byte(`{"trust_pinning": {"ca": {"`+host+`/team/": "`+otherFile+`"}}}`), 0o644))
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "--pins", path, "resolve", host+"/team/app:v1")
		assert.ErrorContains(t, err, "1 of 1 references could not be resolved")
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "the root of trust for "+host+"/team/app does not match its pin ("+host+"/team/): pinned the CA in "+otherFile))
		assert.Check(t, is.Equal(cli.OutBuf.String(), ""))
	})
}

// newTestCA makes a self-signed CA certificate and its key.
func newTestCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assert.NilError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	assert.NilError(t, err)
	cert, err := x509.ParseCertificate(der)
	assert.NilError(t, err)
	return cert, key
}

// TestOfflineWritesPushNothing: --offline cannot sign, so a signed push, a
// sign --local and a build --push are refused before anything is pushed.
func TestOfflineWritesPushNothing(t *testing.T) {
	for _, args := range [][]string{
		{"--offline", "push", "reg.example/app:v1"},
		{"--offline", "sign", "--local", "reg.example/app:v1"},
	} {
		t.Run(args[1], func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, nil)
			eng := &cmdtest.FakeEngine{}
			d.Engine = eng
			err := runCommand(t, d, args...)
			assert.ErrorContains(t, err, "cannot publish trust data offline")
			assert.ErrorContains(t, err, "Run it without --offline")
			assert.Check(t, is.Len(eng.Pushed, 0))
		})
	}
}

// TestWritesHonourPins: a machine whose pin names another root publishes
// nothing: sign, revoke, signer add, key rotate and a signed push all stop
// at the pin, after the publisher's trust data was read.
func TestWritesHonourPins(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, _ := signedSandbox(t)
	host := sb.Host()
	publisher, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, publisher, "sign", host+"/app:v1")) // its keys and cache are on this machine
	pins := writePins(t, map[string][]string{host + "/app": {bogusKeyID}})
	signer := newDelegateKey(t, "bob")
	for _, args := range [][]string{
		{"sign", host + "/app:dev"},
		{"push", host + "/app:dev"},
		{"revoke", host + "/app:v1"},
		{"signer", "add", "--key", signer.pubPath, "bob", host + "/app"},
		{"key", "rotate", host + "/app", "targets"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			d, cli := cmdtest.SameMachine(t, publisher)
			sb.ResetStats()
			err := runCommand(t, d, append([]string{"--pins", pins}, args...)...)
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			msg += cli.ErrBuf.String()
			assert.Check(t, is.Contains(msg, "does not match its pin"))
			assert.Check(t, is.Equal(sb.Stats().Publishes, 0), "published despite the pin")
		})
	}
}
