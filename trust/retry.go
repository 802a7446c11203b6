package trust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"oras.land/oras-go/v2/registry/remote/retry"
)

// DefaultMaxRetryWait bounds how long one request waits, in total, between
// its attempts when Network.MaxRetryWait is zero. ACR's Retry-After is a
// few seconds; a minute rides out a burst of throttling without letting a
// CI job hang on a registry that keeps refusing.
const DefaultMaxRetryWait = time.Minute

// Back-off between attempts when the server names no wait: exponential
// from retryBase, each wait at most retryStep, with jitter.
const (
	retryBase = 200 * time.Millisecond
	retryStep = 10 * time.Second
)

// RetryError is a request that still failed when waiting for another
// attempt would have gone past the bound on its total wait
// (Network.MaxRetryWait): the server kept throttling (Status 429), kept
// failing (502, 503, 504) or the connection kept being reset (Err).
type RetryError struct {
	Method, Host, Path string
	// Status is the last status the server answered; 0 when the last
	// attempt failed without a response (Err).
	Status int
	// RetryAfter is the wait the server last asked for, 0 if none.
	RetryAfter time.Duration
	// Attempts is how many times the request was sent.
	Attempts int
	// Waited is the time spent waiting between attempts; Bound the limit.
	Waited, Bound time.Duration
	// Err is the last attempt's error when there was no response.
	Err error
}

func (e *RetryError) Error() string {
	what := fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Status == 0 {
		what = fmt.Sprintf("%v", e.Err)
	}
	after := ""
	if e.RetryAfter > 0 {
		after = fmt.Sprintf(" and asked to wait %s more", e.RetryAfter.Round(time.Second))
	}
	return fmt.Sprintf("giving up on %s %s%s after %d attempts and %s of waiting (the limit is %s): %s%s",
		e.Method, e.Host, e.Path, e.Attempts, e.Waited.Round(100*time.Millisecond), e.Bound, what, after)
}

func (e *RetryError) Unwrap() error { return e.Err }

// Throttled reports whether the server was throttling: it answered 429
// Too Many Requests until the wait bound ran out.
func (e *RetryError) Throttled() bool { return e.Status == http.StatusTooManyRequests }

// Throttling returns the RetryError in err when the registry, the trust
// server or the token service kept answering 429 (looking inside notary's
// NetworkError too). Throttling is never a login, role or TLS problem.
func Throttling(err error) (*RetryError, bool) {
	var re *RetryError
	if asThrough(err, &re) && re.Throttled() {
		return re, true
	}
	return nil, false
}

type waitObserverKey struct{}

// WithWaitObserver returns a context whose requests call observe each time
// a server throttles one (429), with the wait it causes: an adaptive bound
// on concurrency (internal/adaptive) lowers itself, and a report can say
// what throttling cost. observe must be safe for concurrent use.
func WithWaitObserver(ctx context.Context, observe func(wait time.Duration)) context.Context {
	return context.WithValue(ctx, waitObserverKey{}, observe)
}

// retryTransport sends each request through oras-go's retry transport
// (registry/remote/retry: it rewinds bodies, closes discarded responses
// and stops waiting when the request's context ends, Ctrl-C included)
// with a policy of ours per request: oras-go's policy sees neither the
// request, which the publish rule needs, nor the total wait, which the
// bound needs.
type retryTransport struct {
	base  http.RoundTripper
	bound time.Duration
}

// newRetryTransport wraps base; a negative bound turns retries off.
func newRetryTransport(base http.RoundTripper, bound time.Duration) http.RoundTripper {
	if bound < 0 {
		return base
	}
	if bound == 0 {
		bound = DefaultMaxRetryWait
	}
	return retryTransport{base: base, bound: bound}
}

func (t retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := &retryPolicy{req: req, bound: t.bound}
	rt := &retry.Transport{Base: t.base, Policy: func() retry.Policy { return p }}
	return rt.RoundTrip(req)
}

// retryPolicy decides, for one request, whether and how long to wait
// before the next attempt.
type retryPolicy struct {
	req    *http.Request
	bound  time.Duration
	mu     sync.Mutex
	waited time.Duration
}

// Retry implements retry.Policy.
func (p *retryPolicy) Retry(attempt int, resp *http.Response, err error) (time.Duration, error) {
	var asked time.Duration
	switch {
	case err != nil:
		if p.req.Context().Err() != nil || !repeatable(p.req) || !transient(err) {
			return -1, nil
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		// The server refused before doing anything: safe for a publish too.
		asked = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode == http.StatusBadGateway, resp.StatusCode == http.StatusServiceUnavailable,
		resp.StatusCode == http.StatusGatewayTimeout:
		if !repeatable(p.req) {
			return -1, nil // the server may have applied it
		}
		asked = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	default:
		return -1, nil
	}
	wait := backoff(attempt, asked)
	p.mu.Lock()
	defer p.mu.Unlock()
	if observe, ok := p.req.Context().Value(waitObserverKey{}).(func(time.Duration)); ok && resp != nil &&
		resp.StatusCode == http.StatusTooManyRequests {
		observe(min(wait, p.bound-p.waited))
	}
	if p.waited+wait > p.bound {
		re := &RetryError{Method: p.req.Method, Host: p.req.URL.Host, Path: p.req.URL.Path,
			RetryAfter: asked, Attempts: attempt + 1, Waited: p.waited, Bound: p.bound, Err: err}
		if resp != nil {
			re.Status = resp.StatusCode
		}
		return -1, re
	}
	p.waited += wait
	return wait, nil
}

// backoff is the wait before attempt+1: what the server asked for, plus up
// to a tenth more so that throttled clients do not all come back at once;
// otherwise exponential with equal jitter.
func backoff(attempt int, asked time.Duration) time.Duration {
	if asked > 0 {
		return asked + rand.N(asked/10+time.Millisecond)
	}
	d := retryBase << min(attempt, 10)
	d = min(d, retryStep)
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 section 10.2.3). 0 means none, or a date already past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// repeatable reports whether sending req again cannot apply it twice:
// reads, and token requests (outside /v2/, as denialOf tells them apart),
// which only ask for a token. A publish (POST or PUT of trust data) and
// registry uploads are not.
func repeatable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return !strings.HasPrefix(req.URL.Path, "/v2/") && req.URL.Path != "/v2"
}

// transient reports whether err is a connection that broke or timed out,
// by type: worth another attempt for a repeatable request.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
