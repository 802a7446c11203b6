package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// acrTagsPageSize is ACR's default page of its tag listing.
const acrTagsPageSize = 100

// acrTag is one element of ACR's tag listing (GET /acr/v1/{name}/_tags),
// the fields `az acr repository show-tags --detail` prints.
type acrTag struct {
	Name           string    `json:"name"`
	Digest         string    `json:"digest"`
	CreatedTime    time.Time `json:"createdTime"`
	LastUpdateTime time.Time `json:"lastUpdateTime"`
	Signed         bool      `json:"signed"`
}

// serveACRTags answers ACR's tag listing: every tag of a repository with
// its manifest digest, sorted, in pages of n (default 100) after last, with
// a Link header to the next page. Its scope is repository:NAME:metadata_read,
// which every identity that may pull has (ACR: AcrPull).
func (s *Sandbox) serveACRTags(w http.ResponseWriter, r *http.Request) string {
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/acr/v1/"), "/_tags")
	if !ok || name == "" || r.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "not found", nil)
		return ""
	}
	who, allowed := s.authorize(w, r, &scope{Type: "repository", Name: name, Actions: []string{"metadata_read"}})
	if !allowed {
		return who
	}
	s.count(func(st *Stats) { st.RegistryRequests++ })
	rec := inProcess(s.registry, http.MethodGet, "/v2/"+name+"/tags/list?n=100000000", "", nil)
	if rec.Code != http.StatusOK {
		writeError(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("repository %s is not found", name), nil)
		return who
	}
	var list struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", "listing tags failed", nil)
		return who
	}
	tags := list.Tags
	sort.Strings(tags)
	q := r.URL.Query()
	n := acrTagsPageSize
	if v, err := strconv.Atoi(q.Get("n")); err == nil && v > 0 {
		n = v
	}
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(tags, last)
		for i < len(tags) && tags[i] <= last {
			i++
		}
		tags = tags[i:]
	}
	if len(tags) > n {
		tags = tags[:n]
		next := url.Values{"n": {strconv.Itoa(n)}, "last": {tags[n-1]}}
		w.Header().Set("Link", fmt.Sprintf(`</acr/v1/%s/_tags?%s>; rel="next"`, name, next.Encode()))
	}
	out := struct {
		Registry  string   `json:"registry"`
		ImageName string   `json:"imageName"`
		Tags      []acrTag `json:"tags"`
	}{Registry: s.hostFor(r), ImageName: name, Tags: []acrTag{}}
	for _, t := range tags {
		head := inProcess(s.registry, http.MethodHead, "/v2/"+name+"/manifests/"+t, "", nil)
		if head.Code != http.StatusOK {
			continue // deleted meanwhile
		}
		out.Tags = append(out.Tags, acrTag{Name: t, Digest: head.Header().Get("Docker-Content-Digest")})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(out)
	return who
}
