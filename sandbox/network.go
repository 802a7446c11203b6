package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Network makes the sandbox behave like a registry a round trip away that
// throttles, as ACR does over its per-SKU limits: the zero value is
// loopback with no limit.
type Network struct {
	// Latency is added to every request before it is served.
	Latency time.Duration
	// Rate is how many requests per second are served; above it the
	// sandbox answers 429 Too Many Requests with Retry-After, as ACR does.
	// Zero means no limit.
	Rate int
	// Throttle limits Rate to some requests; nil means every request.
	// [ThrottleToken], [ThrottleTrust] and [ThrottleRegistry] single out
	// one service, to test each step of a command under 429. With Rate 0,
	// every request it selects is answered 429: a registry that keeps
	// throttling.
	Throttle func(*http.Request) bool
}

// ThrottleToken, ThrottleTrust and ThrottleRegistry select the requests to
// the token service, the trust server and the registry, for Network.Throttle.
func ThrottleToken(r *http.Request) bool { return r.URL.Path == "/oauth2/token" }

// ThrottleTrust selects the trust server's requests (a /_trust/ path).
func ThrottleTrust(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/v2/") && strings.Contains(r.URL.Path, "/_trust/")
}

// ThrottleRegistry selects the registry's requests, ACR's tag listing included.
func ThrottleRegistry(r *http.Request) bool {
	return !ThrottleToken(r) && !ThrottleTrust(r) && (strings.HasPrefix(r.URL.Path, "/v2") || strings.HasPrefix(r.URL.Path, "/acr/"))
}

// networkState is the limiter: a window of one second and what it served.
type networkState struct {
	mu      sync.Mutex
	net     Network
	window  time.Time
	served  int
	refused int // 429s answered since the last ResetStats
}

// SetNetwork changes latency and rate from now on (the command sets them
// after seeding, so that seeding is not throttled).
func (s *Sandbox) SetNetwork(n Network) {
	s.network.mu.Lock()
	defer s.network.mu.Unlock()
	s.network.net = n
	s.network.window, s.network.served = time.Time{}, 0
}

// Throttled counts the 429s the rate limit answered since Start or the
// last ResetStats.
func (s *Sandbox) Throttled() int {
	s.network.mu.Lock()
	defer s.network.mu.Unlock()
	return s.network.refused
}

// delayAndLimit waits the latency, then answers 429 and returns true when
// r is over the rate.
func (s *Sandbox) delayAndLimit(w http.ResponseWriter, r *http.Request) bool {
	s.network.mu.Lock()
	n := s.network.net
	s.network.mu.Unlock()
	if n.Latency > 0 {
		t := time.NewTimer(n.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if n.Throttle != nil && !n.Throttle(r) || n.Throttle == nil && n.Rate <= 0 {
		return false
	}
	wait, over := time.Second, true
	if n.Rate > 0 {
		wait, over = s.network.take(time.Now())
	} else {
		s.network.refuse()
	}
	if !over {
		return false
	}
	// ACR answers whole seconds; a client must not come back sooner.
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "too many requests", nil)
	return true
}

// take counts one request in the current second and says whether it is
// over the rate, and how long until the next second starts.
func (st *networkState) take(now time.Time) (time.Duration, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if now.Sub(st.window) >= time.Second {
		st.window, st.served = now, 0
	}
	if st.served >= st.net.Rate {
		st.refused++
		return st.window.Add(time.Second).Sub(now), true
	}
	st.served++
	return 0, false
}

func (st *networkState) refuse() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refused++
}

func (st *networkState) resetStats() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refused = 0
}
