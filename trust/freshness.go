package trust

import (
	"errors"
	"io"
	"net/http"
	"path"
	"regexp"
	"sync"

	"github.com/theupdateframework/notary/tuf/data"
)

// The probe under notary's client: what the trust server answered during one
// call, for fail-closed reads and for error classification (guard.go).

// probe is the http.RoundTripper under notary's client for one
// repository: it records how the last timestamp download went, the last
// failing status, and the last root.json the server presented; after a
// failed timestamp download it refuses the rest of the call's requests.
type probe struct {
	next http.RoundTripper

	mu       sync.Mutex
	tsSeen   bool
	tsStatus int
	tsErr    error
	failed   int    // last status >= 400
	root     []byte // last root.json body presented
	poisoned error
}

// rootName matches root.json, <version>.root.json and root.<checksum>.json.
var rootName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\d+\.)?root(\.[0-9a-f]+)?\.json$`) }) // compiled on first use, not at start-up

// maxRootSize bounds the copy of a presented root.json kept for messages.
const maxRootSize = 1 << 20

func (p *probe) reset() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tsSeen, p.tsStatus, p.tsErr, p.failed, p.root, p.poisoned = false, 0, nil, 0, nil, nil
}

func (p *probe) timestamp() (seen bool, status int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tsSeen, p.tsStatus, p.tsErr
}

func (p *probe) isPoisoned() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.poisoned != nil
}

func (p *probe) lastFailure() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

func (p *probe) presentedRoot() []byte {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.root...)
}

// errStale is what the probe answers once the timestamp download failed.
var errStale = errors.New("not sent: the trust server's timestamp could not be downloaded, so the trust data cannot be confirmed current")

func (p *probe) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	poisoned := p.poisoned
	p.mu.Unlock()
	if poisoned != nil {
		return nil, errStale
	}
	resp, err := p.next.RoundTrip(req)
	base := path.Base(req.URL.Path)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && resp.StatusCode >= 400 {
		p.failed = resp.StatusCode
	}
	if req.Method == http.MethodGet && base == data.CanonicalTimestampRole.String()+".json" {
		p.tsSeen, p.tsErr, p.tsStatus = true, err, 0
		if err == nil {
			p.tsStatus = resp.StatusCode
		}
		// A 404 is a repository without trust data: a first publish goes on.
		if err != nil || resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
			p.poisoned = errStale
		}
	}
	if err == nil && req.Method == http.MethodGet && resp.StatusCode == http.StatusOK && rootName().MatchString(base) {
		p.root = []byte{}
		resp.Body = &rootCopy{ReadCloser: resp.Body, p: p}
	}
	return resp, err
}

// rootCopy keeps a bounded copy of a root.json body as notary reads it
// (notary may stop at the expected length, before EOF).
type rootCopy struct {
	io.ReadCloser
	p *probe
}

func (r *rootCopy) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	if n > 0 {
		r.p.mu.Lock()
		if len(r.p.root)+n <= maxRootSize {
			r.p.root = append(r.p.root, b[:n]...)
		}
		r.p.mu.Unlock()
	}
	return n, err
}
