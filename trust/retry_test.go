package trust

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, header string
		want         time.Duration
	}{
		{name: "seconds", header: "3", want: 3 * time.Second},
		{name: "HTTP date", header: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{name: "date in the past", header: now.Add(-time.Minute).Format(http.TimeFormat), want: 0},
		{name: "absent", header: "", want: 0},
		{name: "garbage", header: "soon", want: 0},
		{name: "negative", header: "-5", want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Check(t, is.Equal(retryAfter(tc.header, now), tc.want))
		})
	}
}

// answering returns a loopback server that answers the statuses in order
// (the last one from then on) and counts the requests.
func answering(t *testing.T, header http.Header, statuses ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(statuses[min(i, len(statuses)-1)])
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func send(t *testing.T, ctx context.Context, bound time.Duration, method, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader("body"))
	assert.NilError(t, err)
	resp, err := newRetryTransport(http.DefaultTransport, bound).RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

// TestRetryTransientThenSuccess: a read survives 502, 503, 504 and 429
// (no Retry-After: back-off), sending the request until it succeeds.
func TestRetryTransientThenSuccess(t *testing.T) {
	srv, n := answering(t, nil, 502, 503, 504, 429, 200)
	resp, err := send(t, context.Background(), time.Minute, http.MethodGet, srv.URL+"/v2/app/_trust/tuf/timestamp.json")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(resp.StatusCode, 200))
	assert.Check(t, is.Equal(n.Load(), int32(5)))
}

// TestRetryPublishOnlyOn429: a publish is sent again after a 429 (nothing
// was applied) but not after a 503, which it may have been.
func TestRetryPublishOnlyOn429(t *testing.T) {
	publish := "/v2/reg/app/_trust/tuf/"
	srv, n := answering(t, nil, 429, 200)
	resp, err := send(t, context.Background(), time.Minute, http.MethodPost, srv.URL+publish)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(resp.StatusCode, 200))
	assert.Check(t, is.Equal(n.Load(), int32(2)))

	srv, n = answering(t, nil, 503, 200)
	resp, err = send(t, context.Background(), time.Minute, http.MethodPost, srv.URL+publish)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(resp.StatusCode, 503), "the publish may have been applied: not sent again")
	assert.Check(t, is.Equal(n.Load(), int32(1)))

	// A token request is a POST outside /v2/, and only asks for a token.
	srv, n = answering(t, nil, 503, 200)
	resp, err = send(t, context.Background(), time.Minute, http.MethodPost, srv.URL+"/oauth2/token")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(resp.StatusCode, 200))
	assert.Check(t, is.Equal(n.Load(), int32(2)))
}

// TestRetryBound: when the server asks for a wait that would pass the
// bound, the request gives up at once with an error that says so, and
// that is throttling.
func TestRetryBound(t *testing.T) {
	srv, n := answering(t, http.Header{"Retry-After": {"30"}}, 429)
	_, err := send(t, context.Background(), 2*time.Second, http.MethodGet, srv.URL+"/v2/app/tags/list")
	var re *RetryError
	assert.Assert(t, errors.As(err, &re), "%v", err)
	assert.Check(t, re.Throttled())
	assert.Check(t, is.Equal(re.RetryAfter, 30*time.Second))
	assert.Check(t, is.Equal(re.Attempts, 1))
	assert.Check(t, is.ErrorContains(err, "the limit is 2s"))
	assert.Check(t, is.ErrorContains(err, "429 Too Many Requests"))
	assert.Check(t, is.Equal(n.Load(), int32(1)))
	_, ok := Throttling(err)
	assert.Check(t, ok)

	// Server errors run into the bound as well, but are no throttling.
	srv, _ = answering(t, nil, 503)
	_, err = send(t, context.Background(), 300*time.Millisecond, http.MethodGet, srv.URL+"/v2/app/tags/list")
	assert.Assert(t, errors.As(err, &re), "%v", err)
	assert.Check(t, is.Equal(re.Status, 503))
	assert.Check(t, re.Attempts > 1, "back-off retried within the bound")
	_, ok = Throttling(err)
	assert.Check(t, !ok)
}

// TestRetryCancelled: Ctrl-C (the context ending) cuts a wait short.
func TestRetryCancelled(t *testing.T) {
	srv, _ := answering(t, http.Header{"Retry-After": {"30"}}, 429)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := send(t, ctx, time.Hour, http.MethodGet, srv.URL+"/v2/app/tags/list")
	assert.Check(t, errors.Is(err, context.Canceled), "%v", err)
}

// TestRetryConnectionReset: a read whose connection is dropped is sent
// again; a publish is not.
func TestRetryConnectionReset(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	resp, err := send(t, context.Background(), time.Minute, http.MethodGet, srv.URL+"/v2/app/manifests/v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(resp.StatusCode, 200))
	assert.Check(t, is.Equal(n.Load(), int32(2)))

	n.Store(0)
	_, err = send(t, context.Background(), time.Minute, http.MethodPost, srv.URL+"/v2/reg/app/_trust/tuf/")
	assert.Check(t, err != nil, "the publish is not sent again")
	assert.Check(t, is.Equal(n.Load(), int32(1)))
}

func TestRetryOff(t *testing.T) {
	srv, n := answering(t, nil, 429, 200)
	resp, err := send(t, context.Background(), -1, http.MethodGet, srv.URL+"/v2/")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(resp.StatusCode, 429))
	assert.Check(t, is.Equal(n.Load(), int32(1)))
}

// TestWaitObserver: each 429 is reported with its wait, through the
// request's context; other retries are not throttling.
func TestWaitObserver(t *testing.T) {
	srv, _ := answering(t, nil, 429, 503, 429, 200)
	var waits []time.Duration
	ctx := WithWaitObserver(context.Background(), func(d time.Duration) { waits = append(waits, d) })
	_, err := send(t, ctx, time.Minute, http.MethodGet, srv.URL+"/v2/app/tags/list")
	assert.NilError(t, err)
	assert.Assert(t, is.Len(waits, 2))
	for _, w := range waits {
		assert.Check(t, w > 0)
	}
}
