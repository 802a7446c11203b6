package plugin

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/key"

	"github.com/moby/moby/client"
	"gotest.tools/v3/assert"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// TestTroubleshootingListsEveryRemedy: every error that comes with a
// remedy has its entry in docs/troubleshooting.md, so the page that
// promises every error and its fix stays complete. A new kind or error type
// with a remedy fails here until it is documented.
func TestTroubleshootingListsEveryRemedy(t *testing.T) {
	b, err := os.ReadFile("../docs/troubleshooting.md")
	assert.NilError(t, err)
	page := string(b)
	d := cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), nil)
	d.Init()
	ref, err := trust.ParseRef("reg.example/app:v1")
	assert.NilError(t, err)
	p := cmdutil.Problem{Where: d.WhereOf(ref)}

	// The heading (or the message quoted under it) of each kind's entry.
	documented := map[trust.Kind]string{
		trust.KindNoTrustData:    "has no trust data: no tag of it was signed yet",
		trust.KindMetaMissing:    "has no trust data: no tag of it was signed yet",
		trust.KindNotSigned:      "The tag is not signed, so nothing was pulled",
		trust.KindExpired:        "out-of-date",
		trust.KindKeyNotFound:    "The key needed to sign is not in .../trust/private",
		trust.KindNoSigningKeys:  "No key that signs for R is in .../trust/private",
		trust.KindPassphrase:     "### Passphrase errors",
		trust.KindNetwork:        "Check that the trust server https://HOST is reachable",
		trust.KindCertificate:    "The TLS certificate of HOST is not trusted",
		trust.KindNotTrustServer: "The server did not answer as a Notary server",
		trust.KindRootRotation:   "trust data mismatch for remote repository R",
		trust.KindPinMismatch:    "does not match its pin",
		trust.KindUntrustedRoot:  "trust data mismatch for remote repository R",
		trust.KindBadSignature:   "trust data has insufficient signatures",
		trust.KindRollback:       "trust data version is lower than expected",
		trust.KindChecksum:       "trust data does not match its checksum",
		trust.KindUnpinned:       "R is not pinned, and pins are required",
		trust.KindOfflineNoCache: "cannot be read offline",
		trust.KindRedirect:       "the trust server redirected URL to URL",
	}
	for _, k := range trust.Kinds() {
		te := &trust.Error{Kind: k, GUN: ref.GUN(), Pin: &trust.Pin{Pattern: ref.GUN().String()}, Err: errors.New("cause")}
		if d.KindRemedy(k, p, te) == "" {
			continue // explained by what was attempted (refusals), documented under "Refusals"
		}
		phrase, ok := documented[k]
		if !assert.Check(t, ok, "kind %d has a remedy but no entry in docs/troubleshooting.md (add one, and its phrase here)", k) {
			continue
		}
		assert.Check(t, strings.Contains(page, phrase), "kind %d: docs/troubleshooting.md lacks %q", k, phrase)
	}

	api, err := client.New(client.WithHost("unix:///nonexistent/acrtrust-test/docker.sock"))
	assert.NilError(t, err)
	_, pingErr := api.Ping(context.Background(), client.PingOptions{})
	assert.Assert(t, client.IsErrConnectionFailed(pingErr))
	for _, tc := range []struct {
		err    error
		phrase string
	}{
		{&cmdutil.EngineError{Call: "pull", Host: "unix:///var/run/docker.sock", Err: pingErr}, "The docker engine at HOST did not answer"},
		{&cmdutil.TagNotFoundError{Ref: ref}, "does not exist: the registry has no such tag, and no signature names it"},
		{&pushedUnsignedError{refs: []string{ref.String()}, err: errors.New("cause")}, "was pushed to the registry but is NOT signed"},
		{trust.ErrNoSignableRoles, "no valid signing keys for delegation roles"},
		{&key.RootKeyMissingError{GUN: ref.GUN().String()}, "needs its root key (ID), which is not on this machine"},
		{trust.ErrOfflineWrite, "cannot publish trust data offline"},
		{&trust.PinsFileError{Path: "pins.json", Err: errors.New("x")}, "pins file FILE, line N"},
		{&notInRegistryError{ref: ref.String(), err: errors.New("x")}, "is not in the registry, so there is nothing to sign"},
		{&trust.ListingError{Listing: "the tags of R", Err: trust.ErrPageRepeated}, "the registry's next-page link repeats a page already fetched"},
		{&trust.ListingError{Listing: "the tags of R", Err: trust.ErrListingTimeout}, "the registry's listing did not end within its deadline"},
		{&trust.ListingError{Listing: "the tags of R", Err: trust.ErrListBudget}, "larger than the memory allowed for"},
		{&trust.PinsFileError{Path: "/dev/zero", Err: &capped.NotRegularError{Path: "/dev/zero", Mode: os.ModeDevice}}, "pins file FILE: FILE is a named pipe (FIFO), not a regular file"},
		{&keystore.UnsafeDirError{Path: "/home/u/.docker/trust", Mode: 0o777}, "can be written by others"},
		{&keystore.UnsafeDirError{Path: "/home/u/.docker/trust/private", Target: "/mnt/keys"}, "is a symbolic link to TARGET, outside the trust directory"},
		{&notationbridge.PolicyConflictError{Path: "p", Scope: "s", Statement: "n"}, "which does not trust this signing certificate"},
		{&trust.RetryError{Host: ref.Registry(), Status: 429}, "is throttling requests (429 Too Many Requests)"},
	} {
		assert.Check(t, cmdutil.RemedyOf(d.Explained(tc.err)) != "", "%T has no remedy", tc.err)
		assert.Check(t, strings.Contains(page, tc.phrase), "%T: docs/troubleshooting.md lacks %q", tc.err, tc.phrase)
	}
}
