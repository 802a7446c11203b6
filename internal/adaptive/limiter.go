package adaptive

import (
	"context"
	"sync"
	"time"
)

// coolDown is how long after a decrease further throttling is taken as
// the same event: the requests already in flight meet it too.
const coolDown = time.Second

// Limiter is an adaptive bound on work in flight. Make it with New; it is
// safe for concurrent use.
type Limiter struct {
	max int

	mu           sync.Mutex
	limit        int
	finished     int // items finished at this bound without throttling
	inFlight     int
	wake         chan struct{} // closed, and replaced, whenever a slot may have freed
	lastDecrease time.Time
	stats        Stats
}

// Stats is what throttling cost.
type Stats struct {
	// Throttled counts the waits the server asked for (429).
	Throttled int
	// Waited is the time those waits added up to, over all requests.
	Waited time.Duration
	// Lowest is the smallest bound reached; Limit the bound now.
	Lowest, Limit int
}

// New returns a Limiter that allows up to max (at least 1) in flight.
func New(max int) *Limiter {
	max = maxInt(max, 1)
	return &Limiter{max: max, limit: max, wake: make(chan struct{}), stats: Stats{Lowest: max, Limit: max}}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Acquire waits for a slot under the current bound, or for ctx to end.
func (l *Limiter) Acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.inFlight < l.limit {
			l.inFlight++
			l.mu.Unlock()
			return nil
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// Release gives a slot back. An item finished while no throttling was
// seen lately grows the bound (additive increase).
func (l *Limiter) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	if time.Since(l.lastDecrease) >= coolDown && l.limit < l.max {
		if l.finished++; l.finished >= l.limit {
			l.limit, l.finished = l.limit+1, 0
			l.stats.Limit = l.limit
		}
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

// Throttled reports that a request was told to wait (429, Retry-After):
// it counts the wait and halves the bound (multiplicative decrease), once
// per cool-down. It fits trust.WithWaitObserver.
func (l *Limiter) Throttled(wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Throttled++
	l.stats.Waited += wait
	now := time.Now()
	if now.Sub(l.lastDecrease) < coolDown {
		return
	}
	l.lastDecrease = now
	l.limit, l.finished = max(1, l.limit/2), 0
	l.stats.Limit = l.limit
	l.stats.Lowest = min(l.stats.Lowest, l.stats.Limit)
}

// Stats returns what throttling cost so far.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}
