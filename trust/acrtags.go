package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
)

// TagDigester is what a registry reader offers when it can list a
// repository's tags with their digests at once; Check uses it when there.
type TagDigester interface {
	TagDigests(ctx context.Context, ref Ref) (map[string]digest.Digest, error)
}

// errNoACRTags says the registry does not serve ACR's tag listing.
var errNoACRTags = errors.New("registry has no ACR tag listing")

// acrTagsPageSize is how many tags one ACR tag listing page asks for.
const acrTagsPageSize = 1000

// TagDigests returns every tag of ref's repository with the digest the
// registry serves for it. On ACR it reads ACR's tag listing (GET
// /acr/v1/<repository>/_tags, what `az acr repository show-tags --detail`
// reads; scope metadata_read, which AcrPull grants): one request per page
// instead of one per tag. Elsewhere, or when that listing is refused, it
// lists the tags and resolves each. A host found without the listing is
// not asked again during the run.
func (r *Registry) TagDigests(ctx context.Context, ref Ref) (map[string]digest.Digest, error) {
	host := registryHost(ref.Registry())
	r.mu.Lock()
	supported, tried := r.acrTags[host]
	r.mu.Unlock()
	if !tried || supported {
		out, err := r.acrTagDigests(ctx, ref, host)
		if err == nil || !errors.Is(err, errNoACRTags) {
			if err == nil && !tried {
				r.noteACRTags(host, true)
			}
			return out, err
		}
		if !tried {
			r.noteACRTags(host, false)
		}
	}
	tags, err := r.Tags(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := make(map[string]digest.Digest, len(tags))
	for _, tag := range tags {
		desc, err := r.Resolve(ctx, ref.WithTag(tag))
		if IsNotFound(err) {
			continue // deleted since it was listed
		}
		if err != nil {
			return nil, err
		}
		out[tag] = desc.Digest
	}
	return out, nil
}

func (r *Registry) noteACRTags(host string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.acrTags == nil {
		r.acrTags = map[string]bool{}
	}
	r.acrTags[host] = ok
}

// acrTagsPage is a page of ACR's tag listing.
type acrTagsPage struct {
	Tags []struct {
		Name   string `json:"name"`
		Digest string `json:"digest"`
	} `json:"tags"`
}

func (r *Registry) acrTagDigests(ctx context.Context, ref Ref, host string) (map[string]digest.Digest, error) {
	tlsCfg, insecure, err := r.tlsFor(host)
	if err != nil {
		return nil, err
	}
	ctx = auth.AppendScopes(withNeedsScopes(ctx, ref), auth.ScopeRepository(ref.Path(), "metadata_read"))
	p := newPager(ctx, "the tags of "+ref.Name.Name(), r.Limits)
	scheme, client := "https", p.watch(r.client(ref.Registry(), tlsCfg), host)
	next := fmt.Sprintf("/acr/v1/%s/_tags?n=%d", ref.Path(), acrTagsPageSize)
	out := map[string]digest.Digest{}
	for next != "" {
		u := scheme + "://" + host + next
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, p.done(ctx, err)
		}
		resp, err := client.Do(req)
		if err != nil && insecure && scheme == "https" && speaksHTTP(err) {
			scheme, client = "http", p.watch(r.client(ref.Registry(), nil), host)
			continue
		}
		if err != nil {
			return nil, p.done(ctx, fmt.Errorf("listing tags of %s: %w", ref.Name.Name(), err))
		}
		link, err := readACRTags(resp, p, out)
		if err != nil {
			return nil, p.done(ctx, fmt.Errorf("listing tags of %s: %w", ref.Name.Name(), err))
		}
		next = link
	}
	return out, p.done(ctx, nil)
}

// readACRTags reads one page into out, each tag once (pager p), and
// returns the path of the next one ("" at the end). Anything but a 200
// with JSON means the registry has no such listing, or refuses it: the
// caller then uses the distribution API.
func readACRTags(resp *http.Response, p *pager, out map[string]digest.Digest) (string, error) {
	defer resp.Body.Close()
	var page acrTagsPage
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return "", fmt.Errorf("%w (%s)", errNoACRTags, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&page); err != nil {
		return "", fmt.Errorf("%w: %w", errNoACRTags, err)
	}
	names := make([]string, len(page.Tags))
	for i, t := range page.Tags {
		names[i] = t.Name
	}
	fresh, err := p.names(names)
	if err != nil {
		return "", err
	}
	keep := make(map[string]bool, len(fresh))
	for _, n := range fresh {
		keep[n] = true
	}
	for _, t := range page.Tags {
		if !keep[t.Name] {
			continue
		}
		d, err := digest.Parse(t.Digest)
		if err != nil {
			return "", fmt.Errorf("tag %q: %w", safetext.Escape(t.Name), err)
		}
		out[t.Name] = d
	}
	return nextLink(resp.Header.Get("Link")), nil
}

// nextLink returns the path and query of a Link header's rel="next" target.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(params, `rel="next"`) {
			continue
		}
		u, err := url.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		if err != nil {
			return ""
		}
		return u.RequestURI()
	}
	return ""
}
