package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

func TestParseSeed(t *testing.T) {
	tests := []struct {
		in      string
		want    seed
		wantErr string
	}{
		{in: "demo/hello:v1", want: seed{repo: "demo/hello", tag: "v1"}},
		{in: "app:1.0", want: seed{repo: "app", tag: "1.0"}},
		{in: "app", wantErr: "want REPO:TAG"},
		{in: "app:", wantErr: "want REPO:TAG"},
		{in: ":v1", wantErr: "want REPO:TAG"},
		{in: "Upper/app:v1", wantErr: `--seed "Upper/app:v1"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSeed(tc.in)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
}

func TestSeedsArePushedAndPrinted(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	defer sb.Close()
	seeded, err := pushSeeds(context.Background(), sb, []seed{{repo: "demo/hello", tag: "v1"}, {repo: "app", tag: "2.0"}})
	assert.NilError(t, err)
	assert.Assert(t, is.Len(seeded, 2))
	assert.Check(t, strings.HasPrefix(seeded[0], sb.Host()+"/demo/hello:v1@sha256:"), seeded[0])

	var out bytes.Buffer
	printInstructions(&out, sb, options{}, "/tmp/ca.crt", seeded)
	lines := strings.Split(out.String(), "\n")
	assert.Check(t, strings.HasPrefix(lines[0], "ACRTRUST_SANDBOX_HOST="), "the first line stays the host")
	assert.Check(t, is.Equal(lines[3], "ACRTRUST_SANDBOX_SEED="+seeded[0]))
	assert.Check(t, is.Equal(lines[4], "ACRTRUST_SANDBOX_SEED="+seeded[1]))
	assert.Check(t, is.Contains(out.String(), "docker acrtrust sign "+sb.Host()+"/app:2.0\n"))
}

func TestParseHostile(t *testing.T) {
	tests := []struct {
		in      string
		want    hostile
		wantErr string
	}{
		{in: "compromise=team/app", want: hostile{mode: sandbox.HostileCompromise, repo: "team/app"}},
		{in: "freeze", want: hostile{mode: sandbox.HostileFreeze}},
		{in: "off=app", want: hostile{mode: sandbox.HostileOff, repo: "app"}},
		{in: "evil=app", wantErr: `--hostile "evil=app": parsing hostile mode "evil": want one of off, compromise, rollback, freeze, expired, tamper`},
		{in: "tamper=", wantErr: "want MODE or MODE=REPO"},
		{in: "tamper=Team/App", wantErr: `--hostile "tamper=Team/App"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseHostile(tc.in)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
}

func TestHostileFlagIsRepeatable(t *testing.T) {
	var opts options
	fs := newFlagSet(&opts)
	fs.SetOutput(io.Discard)
	assert.NilError(t, fs.Parse([]string{"--hostile", "expired", "--hostile=tamper=team/app", "--seed", "app:v1"}))
	want := []hostile{{mode: sandbox.HostileExpired}, {mode: sandbox.HostileTamper, repo: "team/app"}}
	assert.Assert(t, is.Len(opts.hostile, len(want)))
	for i := range want {
		assert.Check(t, is.Equal(opts.hostile[i], want[i]))
	}

	fs = newFlagSet(&options{})
	var stderr bytes.Buffer
	fs.SetOutput(&stderr)
	assert.Check(t, is.ErrorContains(fs.Parse([]string{"--hostile", "sneaky"}), `parsing hostile mode "sneaky"`))
}

// TestHelp: --help lists every identity with its ACR role, and every
// hostile mode.
func TestHelp(t *testing.T) {
	fs := newFlagSet(&options{})
	var out bytes.Buffer
	fs.SetOutput(&out)
	assert.Check(t, errors.Is(fs.Parse([]string{"--help"}), flag.ErrHelp))
	help := out.String()
	assert.Check(t, is.Contains(help, "-hostile MODE[=REPO]"))
	assert.Check(t, is.Contains(help, "Identities (password "+sandbox.Password+")"))
	assertIdentities(t, help, "printed at start")
	for _, m := range sandbox.Hostilities() {
		assert.Check(t, is.Contains(help, "\n  "+m+" "), "mode %s is explained", m)
	}
}

// assertIdentities checks that text lists every identity with its ACR role,
// one per line.
func assertIdentities(t *testing.T, text, identityToken string) {
	t.Helper()
	for user, role := range map[string]string{
		sandbox.UserPull:          "AcrPull: pull, read trust data",
		sandbox.UserPush:          "AcrPush: push and pull, read trust data",
		sandbox.UserSigner:        "AcrPush + AcrImageSigner: push, pull and sign",
		sandbox.UserAdmin:         "admin account: push and pull, cannot push trust data",
		sandbox.UserScoped:        "repository-scoped token for scoped/*: no access to trust data",
		sandbox.IdentityTokenUser: "identity token (as `az acr login` stores it), signer rights; password: " + identityToken,
	} {
		line := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(user) + ` +` + regexp.QuoteMeta(role) + `$`)
		assert.Check(t, line.MatchString(text), "%s: %s", user, role)
	}
}

// TestInstructions: the banner tells people what works here: a login
// with --password-stdin, an image imported from a tarball (nothing can be
// pulled), no variables that are not needed, and the hostile modes in force.
func TestInstructions(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	defer sb.Close()
	var out bytes.Buffer
	printInstructions(&out, sb, options{hostile: []hostile{{mode: sandbox.HostileTamper, repo: "team/app"}, {mode: sandbox.HostileFreeze}}}, "/tmp/ca.crt", nil)
	banner := out.String()
	host := sb.Host()
	assert.Check(t, is.Contains(banner, "echo "+sandbox.Password+" | docker login "+host+" -u "+sandbox.UserSigner+" --password-stdin\n"))
	for _, line := range strings.Split(banner, "\n") {
		if strings.Contains(line, "docker login") {
			assert.Check(t, !strings.Contains(line, " -p "), "no password on the command line: %s", line)
		}
	}
	assert.Check(t, !strings.Contains(banner, "busybox"), "nothing can be pulled here")
	assert.Check(t, is.Contains(banner, "docker import hello.tar "+host+"/hello:v1\n"))
	assert.Check(t, is.Contains(banner, "docker acrtrust push "+host+"/hello:v1\n"))
	assert.Check(t, is.Contains(banner, "--seed hello:v1"))
	assert.Check(t, !strings.Contains(banner, "DOCKER_CONTENT_TRUST_SERVER"), "the trust server is the registry host")
	assert.Check(t, is.Contains(banner, "WARNING: hostile trust server (--hostile): tamper for "+host+"/team/app\n"))
	assert.Check(t, is.Contains(banner, "WARNING: hostile trust server (--hostile): freeze for every repository\n"))
	assertIdentities(t, banner, sb.IdentityToken())
}

// TestHostileFlagApplied: --hostile puts the mode in force; a notary
// client reading the repository gets the attack's error.
func TestHostileFlagApplied(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb, err := sandbox.Start(sandbox.Options{Anonymous: true})
	assert.NilError(t, err)
	defer sb.Close()
	open := func() client.Repository {
		r, err := client.NewFileCachedRepository(t.TempDir(), data.GUN(sb.Host()+"/demo/hello"), sb.URL(),
			sb.HTTPClient().Transport, passphrase.ConstantRetriever("pass"), trustpinning.TrustPinConfig{})
		assert.NilError(t, err)
		return r
	}
	owner := open()
	rootKey, err := owner.GetCryptoService().Create(data.CanonicalRootRole, "", data.ECDSAKey)
	assert.NilError(t, err)
	assert.NilError(t, owner.Initialize([]string{rootKey.ID()}, data.CanonicalSnapshotRole))
	sum := sha256.Sum256([]byte("v1"))
	assert.NilError(t, owner.AddTarget(&client.Target{Name: "v1", Hashes: data.Hashes{"sha256": sum[:]}, Length: 2}))
	assert.NilError(t, owner.Publish())

	h, err := parseHostile("freeze=demo/hello")
	assert.NilError(t, err)
	assert.NilError(t, applyHostile(sb, []hostile{h}))
	_, err = open().GetTargetByName("v1")
	var expired signed.ErrExpired
	assert.Check(t, errors.As(err, &expired), "%v", err)
	assert.Check(t, is.Equal(expired.Role, data.CanonicalTimestampRole))

	// A repository's own mode wins over one for every repository, whatever
	// the order of the flags.
	assert.NilError(t, applyHostile(sb, []hostile{{mode: sandbox.HostileTamper, repo: "demo/hello"}, {mode: sandbox.HostileOff}}))
	_, err = open().GetTargetByName("v1")
	var threshold signed.ErrRoleThreshold
	assert.Check(t, errors.As(err, &threshold), "%v", err)

	assert.NilError(t, applyHostile(sb, []hostile{{mode: sandbox.HostileOff, repo: "demo/hello"}}))
	_, err = open().GetTargetByName("v1")
	assert.Check(t, err)
}

// TestNetworkFlags: --latency and --rate take whole numbers, 0 or more.
func TestNetworkFlags(t *testing.T) {
	var opts options
	fs := newFlagSet(&opts)
	fs.SetOutput(io.Discard)
	assert.NilError(t, fs.Parse([]string{"--latency", "20", "--rate", "100"}))
	assert.Check(t, is.Equal(opts.latencyMS, 20))
	assert.Check(t, is.Equal(opts.rate, 100))
	for _, args := range [][]string{{"--latency", "-1"}, {"--rate", "fast"}} {
		fs := newFlagSet(&options{})
		fs.SetOutput(io.Discard)
		assert.Check(t, is.ErrorContains(fs.Parse(args), "want a whole number"), "%v", args)
	}
}
