package adaptive

import (
	"context"
	"errors"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func acquired(l *Limiter) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	return l.Acquire(ctx) == nil
}

// TestBound: no more than the bound in flight; a release lets one more in.
func TestBound(t *testing.T) {
	l := New(2)
	assert.Check(t, acquired(l))
	assert.Check(t, acquired(l))
	assert.Check(t, !acquired(l), "a third waits")
	done := make(chan error)
	go func() { done <- l.Acquire(context.Background()) }()
	l.Release()
	assert.NilError(t, <-done)
}

// TestDecreaseAndIncrease: throttling halves the bound once per burst and
// counts the waits; work finished without throttling grows it back.
func TestDecreaseAndIncrease(t *testing.T) {
	l := New(8)
	l.Throttled(time.Second)
	l.Throttled(2 * time.Second) // same burst
	st := l.Stats()
	assert.Check(t, is.Equal(st.Limit, 4))
	assert.Check(t, is.Equal(st.Lowest, 4))
	assert.Check(t, is.Equal(st.Throttled, 2))
	assert.Check(t, is.Equal(st.Waited, 3*time.Second))
	for range 4 {
		assert.Check(t, acquired(l))
	}
	assert.Check(t, !acquired(l), "the bound is 4 now")

	l.mu.Lock()
	l.lastDecrease = time.Now().Add(-2 * coolDown) // the burst is over
	l.mu.Unlock()
	for range 4 {
		l.Release()
	}
	assert.Check(t, is.Equal(l.Stats().Limit, 5), "one step per round of items")
	for range 40 {
		assert.Check(t, acquired(l))
		l.Release()
	}
	assert.Check(t, is.Equal(l.Stats().Limit, 8), "never above the bound asked for")
	assert.Check(t, is.Equal(l.Stats().Lowest, 4))
}

func TestNeverBelowOne(t *testing.T) {
	l := New(1)
	l.Throttled(time.Second)
	assert.Check(t, is.Equal(l.Stats().Limit, 1))
	assert.Check(t, acquired(l))
}

func TestAcquireCancelled(t *testing.T) {
	l := New(1)
	assert.Check(t, acquired(l))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Check(t, errors.Is(l.Acquire(ctx), context.Canceled))
}
