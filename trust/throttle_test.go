package trust

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// throttledSandbox starts a sandbox with signed repositories app and other,
// throttled as n says, and returns a Network that reaches it as AcrPull
// with the given retry bound.
func throttledSandbox(t *testing.T, n sandbox.Network, bound time.Duration) (*sandbox.Sandbox, Network, string) {
	t.Helper()
	sb, network, trustDir := roundTripSandbox(t, []sandbox.SeedRepo{
		{Name: "app", Signed: []string{"v1"}}, {Name: "other", Signed: []string{"v1"}},
	})
	sb.SetNetwork(n)
	net := network("")
	net.MaxRetryWait = bound
	return sb, net, trustDir
}

func sandboxRef(t *testing.T, sb *sandbox.Sandbox, s string) Ref {
	t.Helper()
	ref, err := ParseRef(sb.Host() + "/" + s)
	assert.NilError(t, err)
	return ref
}

// assertThrottled checks that err is throttling and nothing else a user
// could be sent after: no login, role or TLS problem.
func assertThrottled(t *testing.T, err error, audit *Audit) {
	t.Helper()
	assert.Assert(t, err != nil)
	re, ok := Throttling(err)
	assert.Assert(t, ok, "not throttling: %v", err)
	assert.Check(t, is.Equal(re.Status, http.StatusTooManyRequests))
	assert.Check(t, !Denied(err), "throttling is no refusal: %v", err)
	assert.Check(t, !TLSFailure(err))
	assert.Check(t, is.Len(audit.Denials(), 0), "no refusal recorded, so no login or role advice")
}

// TestThrottledTrustRead: a trust server that keeps answering 429 past
// the bound gives KindThrottled.
func TestThrottledTrustRead(t *testing.T) {
	t.Parallel()
	sb, network, trustDir := throttledSandbox(t, sandbox.Network{Throttle: sandbox.ThrottleTrust}, 300*time.Millisecond)
	audit := &Audit{}
	repo, err := Opener{TrustDir: trustDir, Network: network, Audit: audit}.Open(context.Background(), sandboxRef(t, sb, "app"), false)
	assert.NilError(t, err)
	_, err = Resolve(context.Background(), repo, "v1")
	assertThrottled(t, err, audit)
	assert.Check(t, is.Equal(KindOf(err), KindThrottled))
	assert.Check(t, sb.Throttled() > 0)
}

// TestThrottledRegistryRead: the registry's 429 past the bound.
func TestThrottledRegistryRead(t *testing.T) {
	t.Parallel()
	sb, network, _ := throttledSandbox(t, sandbox.Network{Throttle: sandbox.ThrottleRegistry}, 300*time.Millisecond)
	audit := &Audit{}
	_, err := NewRegistry(network, audit).Resolve(context.Background(), sandboxRef(t, sb, "app:v1"))
	assertThrottled(t, err, audit)
}

// TestThrottledToken: the token service's 429 past the bound is
// throttling, never a refused login.
func TestThrottledToken(t *testing.T) {
	t.Parallel()
	var tokens atomic.Int32 // the first token request is served, the others refused
	secondToken := func(r *http.Request) bool { return sandbox.ThrottleToken(r) && tokens.Add(1) > 1 }
	sb, network, _ := throttledSandbox(t, sandbox.Network{Throttle: secondToken}, 300*time.Millisecond)
	audit := &Audit{}
	reg := NewRegistry(network, audit)
	_, err := reg.Resolve(context.Background(), sandboxRef(t, sb, "app:v1"))
	assert.NilError(t, err)
	_, err = reg.Resolve(context.Background(), sandboxRef(t, sb, "other:v1")) // another scope, another token
	assertThrottled(t, err, audit)
}

// TestThrottlingSurvived: within the bound, every step waits as asked
// (Retry-After) and the command succeeds. Not in parallel: the requests
// must come faster than 5 a second for the rate to be reached.
func TestThrottlingSurvived(t *testing.T) {
	sb, network, trustDir := throttledSandbox(t, sandbox.Network{Rate: 5}, 0)
	audit := &Audit{}
	reg := NewRegistry(network, audit)
	for _, name := range []string{"app", "other"} {
		ref := sandboxRef(t, sb, name+":v1")
		desc, err := reg.Resolve(context.Background(), ref)
		assert.NilError(t, err)
		repo, err := Opener{TrustDir: trustDir, Network: network, Audit: audit}.Open(context.Background(), ref, false)
		assert.NilError(t, err)
		target, err := Resolve(context.Background(), repo, "v1")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(target.Digest, desc.Digest))
	}
	assert.Check(t, sb.Throttled() > 0, "the rate was reached")
}
