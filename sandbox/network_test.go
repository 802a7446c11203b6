package sandbox

import (
	"net/http"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestRate: above N requests in a second the sandbox answers 429 with a
// Retry-After in whole seconds, as ACR does, and counts it; requests the
// limit does not cover are served.
func TestRate(t *testing.T) {
	sb := start(t, Options{Network: Network{Rate: 2, Throttle: ThrottleToken}})
	for i := 0; i < 2; i++ {
		resp, _ := do(t, sb, http.MethodGet, "/oauth2/token?service="+sb.Host(), "", nil)
		assert.Check(t, resp.StatusCode != http.StatusTooManyRequests)
	}
	resp, body := do(t, sb, http.MethodGet, "/oauth2/token?service="+sb.Host(), "", nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusTooManyRequests))
	assert.Check(t, is.Equal(resp.Header.Get("Retry-After"), "1"))
	assert.Check(t, is.Contains(string(body), "TOOMANYREQUESTS"))
	assert.Check(t, is.Equal(sb.Throttled(), 1))
	assert.Check(t, is.Equal(sb.Stats().TokenRequests, 2), "a refused request reaches no service")

	resp, _ = do(t, sb, http.MethodGet, "/v2/", "", nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusUnauthorized), "the registry is not limited")

	sb.ResetStats()
	assert.Check(t, is.Equal(sb.Throttled(), 0))
	sb.SetNetwork(Network{})
	resp, _ = do(t, sb, http.MethodGet, "/oauth2/token?service="+sb.Host(), "", nil)
	assert.Check(t, resp.StatusCode != http.StatusTooManyRequests, "no limit any more")
}

// TestLatency: every request waits at least the latency.
func TestLatency(t *testing.T) {
	sb := start(t, Options{Network: Network{Latency: 50 * time.Millisecond}})
	start := time.Now()
	do(t, sb, http.MethodGet, "/v2/", "", nil)
	assert.Check(t, time.Since(start) >= 50*time.Millisecond)
}

func TestNetworkWindow(t *testing.T) {
	st := &networkState{net: Network{Rate: 1}}
	now := time.Now()
	_, over := st.take(now)
	assert.Check(t, !over)
	wait, over := st.take(now.Add(400 * time.Millisecond))
	assert.Check(t, over)
	assert.Check(t, is.Equal(wait, 600*time.Millisecond))
	_, over = st.take(now.Add(time.Second))
	assert.Check(t, !over, "a new second")
}

// TestThrottleWithoutRate: a Throttle without a Rate refuses every request
// it selects.
func TestThrottleWithoutRate(t *testing.T) {
	sb := start(t, Options{Network: Network{Throttle: ThrottleRegistry}})
	resp, _ := do(t, sb, http.MethodGet, "/v2/", "", nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusTooManyRequests))
	assert.Check(t, is.Equal(resp.Header.Get("Retry-After"), "1"))
	resp, _ = do(t, sb, http.MethodGet, "/oauth2/token?service="+sb.Host(), "", nil)
	assert.Check(t, resp.StatusCode != http.StatusTooManyRequests)
	assert.Check(t, is.Equal(sb.Throttled(), 1))
}
