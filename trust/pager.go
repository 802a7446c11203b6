package trust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
)

// Bounded listings (issue 21): the registry's catalog, /v2/<repo>/tags/list
// and ACR's /acr/v1/<repo>/_tags hand out pages with a Link to the next one,
// and a hostile or broken registry can make that chain endless. Every
// listing therefore stops, with a *ListingError, at a next link that repeats
// a page already fetched or goes backwards, at a page limit, at a deadline,
// and at a memory cap per listing and per command; names repeated across
// pages are kept once.

// Defaults of ListLimits.
const (
	DefaultMaxPages     = 10000
	DefaultListTimeout  = 10 * time.Minute
	DefaultListMaxBytes = 128 << 20
)

// nameCost is what one listed name is charged beyond its bytes: its slice
// element and its entry in the set that removes repeats.
const nameCost = 64

// ListLimits bound each listing a Registry makes. The zero value applies
// the defaults.
type ListLimits struct {
	// MaxPages is the most pages one listing reads. Zero means
	// DefaultMaxPages.
	MaxPages int
	// Timeout bounds the time one listing spends waiting on the registry
	// (not the time its caller spends on pages it was handed). Zero means
	// DefaultListTimeout.
	Timeout time.Duration
	// MaxBytes caps the memory one listing's names take. Zero means
	// DefaultListMaxBytes.
	MaxBytes int64
	// Budget, when not nil, caps the memory of all the listings of a
	// command together, however many run at once (--parallel). Nil means
	// no cap beyond MaxBytes per listing.
	Budget *ListBudget
}

func (l ListLimits) maxPages() int {
	if l.MaxPages > 0 {
		return l.MaxPages
	}
	return DefaultMaxPages
}

func (l ListLimits) timeout() time.Duration {
	if l.Timeout > 0 {
		return l.Timeout
	}
	return DefaultListTimeout
}

func (l ListLimits) maxBytes() int64 {
	if l.MaxBytes > 0 {
		return l.MaxBytes
	}
	return DefaultListMaxBytes
}

// The reasons a listing stops; a *ListingError wraps one of them.
var (
	ErrPageRepeated    = errors.New("the registry's next-page link repeats a page already fetched")
	ErrPageBackwards   = errors.New("the registry's next-page link goes backwards")
	ErrTooManyPages    = errors.New("the registry's listing has more pages than the limit")
	ErrListingTimeout  = errors.New("the registry's listing did not end within its deadline")
	ErrListingTooLarge = errors.New("the registry's listing is larger than the memory allowed for one listing")
	ErrListBudget      = errors.New("the registry's listings are larger than the memory allowed for them in one command")
)

// ListingError is a listing stopped before the registry said it ended.
type ListingError struct {
	// Listing says what was listed: "the repositories of HOST" or "the tags
	// of REPOSITORY".
	Listing string
	// Catalog is true for a listing of the registry's repositories.
	Catalog bool
	// Err is ErrPageRepeated, ErrPageBackwards, ErrTooManyPages,
	// ErrListingTimeout, ErrListingTooLarge or ErrListBudget.
	Err error
	// Pages is how many pages were read.
	Pages int
	// Link is the next-page link at fault, if one is.
	Link string
	// Limit is the limit that was reached (pages, bytes or a duration),
	// for the message.
	Limit string
}

func (e *ListingError) Error() string {
	msg := fmt.Sprintf("listing %s: %v", safetext.Escape(e.Listing), e.Err)
	if e.Limit != "" {
		msg += " (" + e.Limit + ")"
	}
	if e.Link != "" {
		msg += fmt.Sprintf(": %s", safetext.Escape(e.Link))
	}
	return msg + fmt.Sprintf(", after %d pages", e.Pages)
}

func (e *ListingError) Unwrap() error { return e.Err }

// ListBudget is the memory all listings of one command may take together.
// Safe for concurrent use; make it with NewListBudget.
type ListBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

// NewListBudget returns a budget of limit bytes.
func NewListBudget(limit int64) *ListBudget { return &ListBudget{limit: limit} }

func (b *ListBudget) take(n int64) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

func (b *ListBudget) give(n int64) {
	if b == nil || n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
}

// Used is the memory charged to the budget now.
func (b *ListBudget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// holdKey carries a *hold in a context.
type holdKey struct{}

// hold keeps the charges of the listings made under a context until its
// release: a caller that keeps what a listing returned (audit checks a
// repository's tags against its trust data) holds them until it is done.
type hold struct {
	b       *ListBudget
	mu      sync.Mutex
	charged int64
}

// Hold returns a context under which the listings charged to b stay
// charged after they return, until release is called. Without it a
// listing's charge ends when it returns.
func (b *ListBudget) Hold(ctx context.Context) (context.Context, func()) {
	h := &hold{b: b}
	return context.WithValue(ctx, holdKey{}, h), func() {
		h.mu.Lock()
		n := h.charged
		h.charged = 0
		h.mu.Unlock()
		b.give(n)
	}
}

// pager bounds one listing: the pages it reads and the names it keeps.
type pager struct {
	what    string
	catalog bool
	limits  ListLimits
	hold    *hold // nil: the charge ends with the listing

	mu       sync.Mutex
	start    time.Time
	away     time.Duration // time spent in the caller's hands, not waiting on the registry
	pages    int
	fetched  map[string]bool // request URIs answered with a page
	last     string          // the previous page request's "last" parameter
	unsorted bool            // some name came before one listed earlier
	greatest string          // the greatest name listed so far
	seen     map[string]struct{}
	charged  int64 // bytes of this listing
	failed   error // the first limit reached, reported even if wrapped away
}

func newPager(ctx context.Context, what string, limits ListLimits) *pager {
	p := &pager{what: what, limits: limits, start: time.Now(), fetched: map[string]bool{}, seen: map[string]struct{}{}}
	if h, ok := ctx.Value(holdKey{}).(*hold); ok && h.b == limits.Budget {
		p.hold = h
	}
	return p
}

func (p *pager) stop(err error, link, limit string) error {
	if p.failed == nil {
		p.failed = &ListingError{Listing: p.what, Catalog: p.catalog, Err: err, Pages: p.pages, Link: link, Limit: limit}
	}
	return p.failed
}

// remaining is the time left of the deadline.
func (p *pager) remaining() time.Duration {
	return p.limits.timeout() - (time.Since(p.start) - p.away)
}

// page is called for each page the registry answers (a 200 to a listing
// request), before its names are read.
func (p *pager) page(u *url.URL) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	uri := u.RequestURI()
	if p.fetched[uri] {
		return p.stop(ErrPageRepeated, uri, "")
	}
	// Pages follow each other in lexical order of "last" (the distribution
	// spec's pagination). Links without it (opaque tokens), and registries
	// whose names do not come in lexical order, are not compared.
	last := u.Query().Get("last")
	if p.pages > 0 && !p.unsorted && (last != "" || p.last != "") && last <= p.last {
		return p.stop(ErrPageBackwards, uri, "")
	}
	if p.pages >= p.limits.maxPages() {
		return p.stop(ErrTooManyPages, uri, fmt.Sprintf("%d pages", p.limits.maxPages()))
	}
	if p.remaining() <= 0 {
		return p.stop(ErrListingTimeout, "", p.limits.timeout().String())
	}
	p.fetched[uri] = true
	p.last = last
	p.pages++
	return nil
}

// names keeps the names of a page that were not listed before, charging
// their memory, and returns them. A page of names that were all listed
// before is a page repeated under another link.
func (p *pager) names(page []string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fresh := page[:0:0]
	var cost int64
	for _, n := range page {
		if n < p.greatest {
			p.unsorted = true
		} else {
			p.greatest = n
		}
		if _, dup := p.seen[n]; dup {
			continue
		}
		p.seen[n] = struct{}{}
		fresh = append(fresh, n)
		cost += int64(len(n)) + nameCost
	}
	if len(page) > 0 && len(fresh) == 0 {
		return nil, p.stop(ErrPageRepeated, "", "")
	}
	if p.charged+cost > p.limits.maxBytes() {
		return nil, p.stop(ErrListingTooLarge, "", fmt.Sprintf("%d MiB", p.limits.maxBytes()>>20))
	}
	if !p.limits.Budget.take(cost) {
		return nil, p.stop(ErrListBudget, "", fmt.Sprintf("%d MiB", p.limits.Budget.limit>>20))
	}
	p.charged += cost
	return fresh, nil
}

// handed runs fn, the caller's work on a page, off the deadline's clock.
func (p *pager) handed(fn func() error) error {
	t := time.Now()
	err := fn()
	p.mu.Lock()
	p.away += time.Since(t)
	p.mu.Unlock()
	return err
}

// done ends the listing: its charge moves to the context's hold, or ends.
// It returns err, or the limit that stopped the listing when err came from
// it however wrapped (oras-go wraps what the transport returns).
func (p *pager) done(ctx context.Context, err error) error {
	p.mu.Lock()
	if err != nil && p.failed == nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && p.remaining() <= 0 {
		// The deadline ran out while a page was being read.
		_ = p.stop(ErrListingTimeout, "", p.limits.timeout().String())
	}
	charged, failed := p.charged, p.failed
	p.charged = 0
	p.mu.Unlock()
	if p.hold != nil {
		p.hold.mu.Lock()
		p.hold.charged += charged
		p.hold.mu.Unlock()
	} else {
		p.limits.Budget.give(charged)
	}
	if err != nil && failed != nil {
		return failed
	}
	return err
}

// watch returns a copy of c whose listing requests (a GET of the registry
// API on host) are checked by the pager: each page answered is passed to
// page, and each request is bounded by what is left of the deadline. Token
// requests pass unchecked.
func (p *pager) watch(c *auth.Client, host string) *auth.Client {
	cc := *c
	hc := *c.Client
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		api := strings.HasPrefix(req.URL.Path, "/v2/") || strings.HasPrefix(req.URL.Path, "/acr/")
		if req.Method != http.MethodGet || req.URL.Host != host || !api {
			return next.RoundTrip(req)
		}
		return p.roundTrip(next, req)
	})
	cc.Client = &hc
	return &cc
}

func (p *pager) roundTrip(next http.RoundTripper, req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	left := p.remaining()
	p.mu.Unlock()
	if left <= 0 {
		p.mu.Lock()
		defer p.mu.Unlock()
		return nil, p.stop(ErrListingTimeout, "", p.limits.timeout().String())
	}
	ctx, cancel := context.WithTimeout(req.Context(), left)
	resp, err := next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && req.Context().Err() == nil {
			p.mu.Lock()
			defer p.mu.Unlock()
			return nil, p.stop(ErrListingTimeout, "", p.limits.timeout().String())
		}
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		if perr := p.page(req.URL); perr != nil {
			resp.Body.Close()
			cancel()
			return nil, perr
		}
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody ends a request's deadline when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
