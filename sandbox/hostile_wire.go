package sandbox

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

// Hostile modes of the wire rather than of the trust data (issue 21): a
// registry whose listings never end or carry names made to attack a
// terminal, and a trust server that redirects its metadata away from
// verified TLS. They go through the same SetHostile and --hostile as the
// trust data modes, and a client meets them on its real code paths.
const (
	// HostileLoopLink answers every page of the catalog, of
	// /v2/<repo>/tags/list and of ACR's /acr/v1/<repo>/_tags with a
	// Link rel="next" to that same page: a listing that follows it never
	// ends. For the catalog it takes the mode for every repository.
	HostileLoopLink Hostility = "loop-link"
	// HostileEscapeNames adds names with terminal escape sequences (clear
	// the screen, set the window title, recolour) to the catalog and to
	// the tag listings: EscapeNames.
	HostileEscapeNames Hostility = "escape-names"
	// HostileRedirectHTTP answers every trust metadata request with a
	// redirect to the same URL over plain http://.
	HostileRedirectHTTP Hostility = "redirect-http"
	// HostileRedirectHost answers every trust metadata request with a
	// redirect to the same path over https on the sandbox's other name
	// (localhost for 127.0.0.1), which its certificate also covers, and
	// serves the genuine data there without a login: from a host the
	// client did not ask.
	HostileRedirectHost Hostility = "redirect-host"
)

// EscapeNames are the names HostileEscapeNames adds to listings, as
// repositories and as tags.
var EscapeNames = []string{
	"cleared\x1b[2J\x1b[H",
	"title\x1b]0;pwned\x07",
	"red\x1b[31m",
	"overwrite\rsigned",
}

// escapeDigest is the digest the ACR tag listing gives the added names.
const escapeDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

func (h Hostility) wire() bool {
	switch h {
	case HostileLoopLink, HostileEscapeNames, HostileRedirectHTTP, HostileRedirectHost:
		return true
	}
	return false
}

// serveWire is the front handler's router with the wire modes in force.
func (s *Sandbox) serveWire(w http.ResponseWriter, r *http.Request) string {
	p := r.URL.Path
	if strings.HasPrefix(p, "/v2/") && strings.Contains(p, "/_trust/tuf/") {
		gun, _, _ := strings.Cut(strings.TrimPrefix(p, "/v2/"), "/_trust/")
		repo, _ := s.trustRepo(gun)
		switch mode := s.hostile.mode(repo); {
		case mode == HostileRedirectHTTP || mode == HostileRedirectHost && r.Host == s.host:
			s.redirectTrust(w, r, mode)
			return "-"
		case mode == HostileRedirectHost:
			// The other name serves the genuine data without a login,
			// as a storage host behind a signed redirect would.
			s.mu.Lock()
			h := s.notary
			s.mu.Unlock()
			h.ServeHTTP(w, r)
			return "-"
		}
		return s.route(w, r)
	}
	repo, key, listing := listingOf(p)
	if !listing || r.Method != http.MethodGet {
		return s.route(w, r)
	}
	mode := s.hostile.mode(repo)
	if mode != HostileLoopLink && mode != HostileEscapeNames {
		return s.route(w, r)
	}
	rec := httptest.NewRecorder()
	who := s.route(rec, r)
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	if rec.Code == http.StatusOK {
		switch mode {
		case HostileLoopLink:
			w.Header().Set("Link", "<"+r.URL.RequestURI()+`>; rel="next"`)
		case HostileEscapeNames:
			body = addEscapeNames(body, key)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
	return who
}

// listingOf says whether path is a listing, of which repository ("" for
// the catalog), and under which JSON key its names are.
func listingOf(path string) (repo, key string, ok bool) {
	switch {
	case path == "/v2/_catalog":
		return "", "repositories", true
	case strings.HasPrefix(path, "/v2/") && strings.HasSuffix(path, "/tags/list"):
		return strings.TrimSuffix(strings.TrimPrefix(path, "/v2/"), "/tags/list"), "tags", true
	case strings.HasPrefix(path, "/acr/v1/") && strings.HasSuffix(path, "/_tags"):
		return strings.TrimSuffix(strings.TrimPrefix(path, "/acr/v1/"), "/_tags"), "acrtags", true
	}
	return "", "", false
}

// addEscapeNames adds EscapeNames to a listing's JSON body.
func addEscapeNames(body []byte, key string) []byte {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	if key == "acrtags" {
		tags, _ := doc["tags"].([]any)
		for _, n := range EscapeNames {
			tags = append(tags, map[string]any{"name": n, "digest": escapeDigest})
		}
		doc["tags"] = tags
	} else {
		names, _ := doc[key].([]any)
		for _, n := range EscapeNames {
			names = append(names, n)
		}
		doc[key] = names
	}
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(doc)
	return b.Bytes()
}

// redirectTrust sends a trust metadata request elsewhere: to plain http
// on the same host, or to https on the sandbox's other name.
func (s *Sandbox) redirectTrust(w http.ResponseWriter, r *http.Request, mode Hostility) {
	host := r.Host
	scheme := "http"
	if mode == HostileRedirectHost {
		scheme = "https"
		name, port, err := net.SplitHostPort(host)
		if err != nil {
			name, port = host, "443"
		}
		other := "localhost"
		if name == "localhost" {
			other = "127.0.0.1"
		}
		host = net.JoinHostPort(other, port)
	}
	http.Redirect(w, r, scheme+"://"+host+r.URL.RequestURI(), http.StatusTemporaryRedirect)
}

// mode is the mode in force for repo (path without host; "" for what
// applies to every repository).
func (hs *hostileState) mode(repo string) Hostility {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if repo == "" {
		if hs.every == "" {
			return HostileOff
		}
		return hs.every
	}
	return hs.modeLocked(repo)
}
