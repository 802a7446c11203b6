package sandbox

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"sync"

	"github.com/opencontainers/go-digest"
)

// blobLinks sits in front of the registry's blob routes. It counts blob
// uploads and cross-repository mounts (Stats), serves mounts (POST
// .../blobs/uploads/?mount=DIGEST&from=REPO, answered 201 as distribution
// and ACR do; go-containerregistry's registry has no mounts), and with
// Options.RepositoryBlobs it makes a blob visible only in the repositories
// it was uploaded or mounted into, as on ACR. go-containerregistry's
// registry keeps one blob store for all repositories, where a blob pushed
// anywhere exists everywhere: a copy between two repositories would then
// find every blob present and a mount would never be needed.
type blobLinks struct {
	isolate bool
	count   func(func(*Stats))

	mu    sync.Mutex
	links map[string]map[digest.Digest]bool // repository -> blobs it holds
}

var (
	blobPath        = regexp.MustCompile(`^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$`)
	blobUploadStart = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/$`)
	blobUploadPath  = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/[^/]+$`)
)

// wrap returns next with the blob routes served through l.
func (l *blobLinks) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// go-containerregistry's registry reads an upload's body holding
		// the lock of all blobs: over HTTP/2, uploads sent at once (as
		// oras-go and ggcr send layers) then starve each other of the
		// connection's flow-control window. Read the body first.
		if r.Body != nil && (r.Method == http.MethodPatch || r.Method == http.MethodPut || r.Method == http.MethodPost) &&
			(blobUploadStart.MatchString(r.URL.Path) || blobUploadPath.MatchString(r.URL.Path)) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				writeError(w, http.StatusBadRequest, "BLOB_UPLOAD_INVALID", "reading the upload: "+err.Error(), nil)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if !l.serve(w, r, next) {
			next.ServeHTTP(w, r)
		}
	})
}

func (l *blobLinks) serve(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	p, q := r.URL.Path, r.URL.Query()
	if m := blobPath.FindStringSubmatch(p); m != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if l.isolate && !l.has(m[1], digest.Digest(m[2])) {
			writeError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry", m[2])
			return true
		}
		return false
	}
	if m := blobUploadStart.FindStringSubmatch(p); m != nil && r.Method == http.MethodPost && q.Get("mount") != "" && q.Get("from") != "" {
		return l.mount(w, r, next, m[1], digest.Digest(q.Get("mount")), q.Get("from"))
	}
	completes := (r.Method == http.MethodPut && blobUploadPath.MatchString(p)) ||
		(r.Method == http.MethodPost && blobUploadStart.MatchString(p))
	if !completes || q.Get("digest") == "" {
		return false
	}
	repo := blobUploadStart.FindStringSubmatch(p)
	if repo == nil {
		repo = blobUploadPath.FindStringSubmatch(p)
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	if rec.status == http.StatusCreated {
		l.link(repo[1], digest.Digest(q.Get("digest")))
		l.count(func(s *Stats) { s.BlobUploads++ })
	}
	return true
}

// mount links dgst into repo when from holds it; otherwise the registry
// starts an ordinary upload (202), as the distribution spec says.
func (l *blobLinks) mount(w http.ResponseWriter, r *http.Request, next http.Handler, repo string, dgst digest.Digest, from string) bool {
	held := l.has(from, dgst)
	if !l.isolate {
		held = inProcess(next, http.MethodHead, "/v2/"+from+"/blobs/"+dgst.String(), "", nil).Code == http.StatusOK
	}
	if !held {
		return false
	}
	l.link(repo, dgst)
	l.count(func(s *Stats) { s.BlobMounts++ })
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+dgst.String())
	w.Header().Set("Docker-Content-Digest", dgst.String())
	w.WriteHeader(http.StatusCreated)
	return true
}

func (l *blobLinks) link(repo string, dgst digest.Digest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.links[repo] == nil {
		l.links[repo] = map[digest.Digest]bool{}
	}
	l.links[repo][dgst] = true
}

func (l *blobLinks) has(repo string, dgst digest.Digest) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.links[repo][dgst]
}
