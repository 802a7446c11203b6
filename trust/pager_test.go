package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// pagingRegistry serves /v2/app/tags/list and /v2/_catalog from page:
// given the request's "last", the names of the page and the next link
// ("" for none). It counts the listing requests.
type pagingRegistry struct {
	page     func(last string) ([]string, string)
	requests atomic.Int32
	delay    time.Duration
}

func (pr *pagingRegistry) start(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		pr.requests.Add(1)
		if pr.delay > 0 {
			select {
			case <-time.After(pr.delay):
			case <-r.Context().Done():
				return
			}
		}
		names, next := pr.page(r.URL.Query().Get("last"))
		next = strings.Replace(next, "/v2/_catalog", r.URL.Path, 1)
		if next != "" {
			w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next))
		}
		w.Header().Set("Content-Type", "application/json")
		key := "tags"
		if r.URL.Path == "/v2/_catalog" {
			key = "repositories"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "app", key: names})
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestListingsAreBounded: each way a registry's pages can fail to end
// stops the listing with a *ListingError naming why, after a bounded
// number of requests; repeats across pages are listed once.
func TestListingsAreBounded(t *testing.T) {
	endless := func(last string) ([]string, string) {
		n := 0
		fmt.Sscanf(last, "t%d", &n)
		return []string{fmt.Sprintf("t%09d", n+1)}, fmt.Sprintf("/v2/app/tags/list?last=t%09d", n+1)
	}
	for _, tc := range []struct {
		name   string
		page   func(last string) ([]string, string)
		limits ListLimits
		delay  time.Duration
		want   error
		most   int32 // listing requests at most
	}{
		{
			name: "a next link to the same page",
			page: func(string) ([]string, string) { return []string{"v1", "v2"}, "/v2/app/tags/list" },
			want: ErrPageRepeated, most: 2,
		},
		{
			name: "a next link to the same page under another link",
			page: func(last string) ([]string, string) {
				return []string{"v1"}, "/v2/app/tags/list?last=v" + fmt.Sprint(len(last)+1) + "&junk=" + last
			},
			want: ErrPageRepeated, most: 2,
		},
		{
			name: "a next link that goes backwards",
			page: func(last string) ([]string, string) {
				if last == "" {
					return []string{"a", "m"}, "/v2/app/tags/list?last=m"
				}
				return []string{"n", "z"}, "/v2/app/tags/list?last=b"
			},
			want: ErrPageBackwards, most: 3,
		},
		{
			name: "a next link that goes backwards, names out of order",
			page: func(last string) ([]string, string) {
				switch last {
				case "":
					return []string{"m", "a"}, "/v2/app/tags/list?last=m"
				case "m":
					return []string{"z"}, "/v2/app/tags/list?last=b"
				}
				return []string{"a"}, "/v2/app/tags/list?last=c"
			},
			want: ErrPageRepeated, most: 3, // not called backwards: the registry does not sort
		},
		{
			name: "pages without end",
			page: endless, limits: ListLimits{MaxPages: 5},
			want: ErrTooManyPages, most: 6,
		},
		{
			name: "more names than one listing may hold",
			page: endless, limits: ListLimits{MaxBytes: 3 * (nameCost + 10)},
			want: ErrListingTooLarge, most: 4,
		},
		{
			name: "a registry slower than the deadline",
			page: endless, limits: ListLimits{Timeout: 300 * time.Millisecond}, delay: 100 * time.Millisecond,
			want: ErrListingTimeout, most: 4,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := &pagingRegistry{page: tc.page, delay: tc.delay}
			host := pr.start(t)
			reg := NewRegistry(Network{}, nil)
			reg.Limits = tc.limits
			ref, err := ParseRef(host + "/app")
			assert.NilError(t, err)
			_, err = reg.Tags(context.Background(), ref)
			var le *ListingError
			assert.Assert(t, errors.As(err, &le), "%v", err)
			assert.Check(t, errors.Is(err, tc.want), "%v", err)
			assert.Check(t, is.ErrorContains(err, "listing the tags of "+host+"/app: "+tc.want.Error()))
			assert.Check(t, pr.requests.Load() <= tc.most, "%d requests", pr.requests.Load())
		})
	}
}

// TestListingDropsRepeatedNames: a name on two pages is listed once, in
// the tag list and in the catalog (where it would be audited twice).
func TestListingDropsRepeatedNames(t *testing.T) {
	pr := &pagingRegistry{page: func(last string) ([]string, string) {
		switch last {
		case "":
			return []string{"a", "b", "b"}, "/v2/_catalog?last=b"
		case "b":
			return []string{"b", "c"}, "/v2/_catalog?last=c"
		}
		return []string{"c", "d"}, ""
	}}
	host := pr.start(t)
	reg := NewRegistry(Network{}, nil)
	var got []string
	assert.NilError(t, reg.Repositories(context.Background(), host, func(page []string) error {
		got = append(got, page...)
		return nil
	}))
	assert.Check(t, is.DeepEqual(got, []string{"a", "b", "c", "d"}))

	ref, err := ParseRef(host + "/app")
	assert.NilError(t, err)
	tags, err := reg.Tags(context.Background(), ref)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(tags, []string{"a", "b", "c", "d"}))
}

// TestListBudgetIsSharedByACommand: listings under one budget together
// stay within it, however many run; a held listing keeps its charge until
// released, an unheld one gives it back when it returns.
func TestListBudgetIsSharedByACommand(t *testing.T) {
	pr := &pagingRegistry{page: func(last string) ([]string, string) {
		if last == "" {
			return []string{"v1", "v2"}, "/v2/app/tags/list?last=v2"
		}
		return []string{"v3"}, ""
	}}
	host := pr.start(t)
	ref, err := ParseRef(host + "/app")
	assert.NilError(t, err)
	one := int64(3 * (nameCost + 2)) // what one listing of v1, v2, v3 takes
	budget := NewListBudget(2 * one)
	reg := NewRegistry(Network{}, nil)
	reg.Limits = ListLimits{Budget: budget}

	_, err = reg.Tags(context.Background(), ref)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(budget.Used(), int64(0)), "an unheld listing gives its charge back")

	ctx, release := budget.Hold(context.Background())
	for range 2 {
		_, err = reg.Tags(ctx, ref)
		assert.NilError(t, err)
	}
	assert.Check(t, is.Equal(budget.Used(), 2*one))
	_, err = reg.Tags(ctx, ref)
	assert.Check(t, errors.Is(err, ErrListBudget), "%v", err)
	release()
	assert.Check(t, is.Equal(budget.Used(), int64(0)))
	_, err = reg.Tags(ctx, ref)
	assert.NilError(t, err)
}

// TestListingErrorEscapesTheLink: the link at fault is the server's text.
func TestListingErrorEscapesTheLink(t *testing.T) {
	e := &ListingError{Listing: "the tags of r.example/app", Err: ErrPageRepeated, Pages: 1, Link: "/v2/app/tags/list?x=\x1b[2J"}
	assert.Check(t, is.Equal(e.Error(), `listing the tags of r.example/app: the registry's next-page link repeats a page already fetched: /v2/app/tags/list?x=\x1b[2J, after 1 pages`))
}
