package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var specsVersioned = specs.Versioned{SchemaVersion: 2}

// referrerIndex serves the OCI Referrers API from an index kept as
// manifests with a subject are pushed. go-containerregistry's registry
// answers a referrers request by decoding every manifest of the repository,
// so a migration of 1,000 tags cost the sandbox a million JSON decodes;
// ACR, like any production registry, keeps an index. The registry itself
// still stores the manifests (and serves them by digest).
type referrerIndex struct {
	mu sync.Mutex
	// bySubject holds the referrers of repo@subject, in push order.
	bySubject map[string][]ocispec.Descriptor
}

var manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)

// serve handles r when it is a referrers request, a manifest push or a
// manifest delete, and reports whether it did; next is the registry.
func (x *referrerIndex) serve(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	if m := referrersPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
		x.list(w, r, m[1], r.URL.Path[len("/v2/"+m[1]+"/referrers/"):])
		return true
	}
	m := manifestPath.FindStringSubmatch(r.URL.Path)
	if m == nil || (r.Method != http.MethodPut && r.Method != http.MethodDelete) {
		return false
	}
	repo, ref := m[1], m[2]
	var body []byte
	if r.Method == http.MethodPut {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", "reading the manifest", nil)
			return true
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	if rec.status/100 != 2 {
		return true
	}
	if r.Method == http.MethodPut {
		x.add(repo, r.Header.Get("Content-Type"), body)
	} else {
		x.remove(repo, digest.Digest(ref))
	}
	return true
}

func (x *referrerIndex) add(repo, contentType string, body []byte) {
	var m struct {
		MediaType    string              `json:"mediaType"`
		ArtifactType string              `json:"artifactType"`
		Config       ocispec.Descriptor  `json:"config"`
		Subject      *ocispec.Descriptor `json:"subject"`
		Annotations  map[string]string   `json:"annotations"`
	}
	if json.Unmarshal(body, &m) != nil || m.Subject == nil {
		return
	}
	mediaType := m.MediaType
	if mediaType == "" {
		mediaType = contentType
	}
	artifactType := m.ArtifactType
	if artifactType == "" {
		artifactType = m.Config.MediaType // OCI distribution spec: the config's media type
	}
	desc := ocispec.Descriptor{
		MediaType:    mediaType,
		ArtifactType: artifactType,
		Digest:       digest.FromBytes(body),
		Size:         int64(len(body)),
		Annotations:  m.Annotations,
	}
	key := repo + "@" + m.Subject.Digest.String()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.bySubject == nil {
		x.bySubject = map[string][]ocispec.Descriptor{}
	}
	for _, d := range x.bySubject[key] {
		if d.Digest == desc.Digest {
			return // pushed again
		}
	}
	x.bySubject[key] = append(x.bySubject[key], desc)
}

func (x *referrerIndex) remove(repo string, dgst digest.Digest) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for key, descs := range x.bySubject {
		if len(key) <= len(repo) || key[:len(repo)+1] != repo+"@" {
			continue
		}
		kept := descs[:0]
		for _, d := range descs {
			if d.Digest != dgst {
				kept = append(kept, d)
			}
		}
		x.bySubject[key] = kept
	}
}

func (x *referrerIndex) list(w http.ResponseWriter, r *http.Request, repo, subject string) {
	if _, err := digest.Parse(subject); err != nil {
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", "the subject must be a digest", nil)
		return
	}
	filter := r.URL.Query().Get("artifactType")
	x.mu.Lock()
	manifests := []ocispec.Descriptor{}
	for _, d := range x.bySubject[repo+"@"+subject] {
		if filter == "" || d.ArtifactType == filter {
			manifests = append(manifests, d)
		}
	}
	x.mu.Unlock()
	b, _ := json.Marshal(ocispec.Index{
		Versioned: specsVersioned,
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: manifests,
	})
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
