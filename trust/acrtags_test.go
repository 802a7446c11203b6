package trust

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"gotest.tools/v3/assert"
)

// TestTagDigestsWithoutACRListing: a registry that is not ACR gets the tag
// list and one HEAD per tag, and is asked for ACR's listing only once.
func TestTagDigestsWithoutACRListing(t *testing.T) {
	var acrAsked atomic.Int32
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/acr/") {
			acrAsked.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	want := map[string]digest.Digest{}
	for _, tag := range []string{"v1", "v2"} {
		img, err := random.Image(64, 1)
		assert.NilError(t, err)
		ref, err := name.NewTag(host + "/app:" + tag)
		assert.NilError(t, err)
		assert.NilError(t, remote.Write(ref, img))
		d, err := img.Digest()
		assert.NilError(t, err)
		want[tag] = digest.Digest(d.String())
	}
	r := NewRegistry(Network{}, nil)
	ref, err := ParseRef(host + "/app")
	assert.NilError(t, err)
	for range 2 {
		got, err := r.TagDigests(context.Background(), ref)
		assert.NilError(t, err)
		assert.DeepEqual(t, got, want)
	}
	assert.Equal(t, acrAsked.Load(), int32(1))
}
