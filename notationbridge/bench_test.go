package notationbridge

import (
	"context"
	"fmt"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// BenchmarkSignNew100 signs 100 new digests of one repository with
// SignNewAll at its default parallelism (for each, one check for an existing signature, then the signature), with a new key
// each iteration so that nothing is skipped: the Notation half of `sign
// --sign both` of 100 tags (target: both at most 2x dct alone; the plugin's
// BenchmarkSign100Tags* compare the whole commands). Reported: ns/op and
// the registry and referrers requests per digest.
func BenchmarkSignNew100(b *testing.B) {
	benchmarkSignNew(b, 100, false)
}

// BenchmarkSignNew100AlreadySigned is a re-run: every digest is already
// signed by the key, so each costs one referrers lookup and a fetch.
func BenchmarkSignNew100AlreadySigned(b *testing.B) {
	benchmarkSignNew(b, 100, true)
}

func benchmarkSignNew(b *testing.B, n int, again bool) {
	ctx := context.Background()
	sb := startSandbox(b, sandbox.Options{})
	descs := make([]ocispec.Descriptor, n)
	for i := range descs {
		d, err := sb.PushRandomImage(ctx, "bench", fmt.Sprintf("t%03d", i))
		assert.NilError(b, err)
		descs[i] = d
	}
	repo := sandboxRepository(b, sb, sandbox.UserPush, "bench")
	open := func(i int) *Signer {
		c := newNotationConfig(b, fmt.Sprintf("bench%d", i))
		s, err := OpenSigner(ctx, KeySpec{KeyFile: c.key, CertFile: c.cert})
		assert.NilError(b, err)
		return s
	}
	var s *Signer
	if again {
		s = open(0)
		for _, d := range descs {
			_, err := SignNew(ctx, s, repo, d, SignOptions{})
			assert.NilError(b, err)
		}
	}
	var registry, referrers int
	b.ResetTimer()
	for i := range b.N {
		if !again {
			b.StopTimer()
			s = open(i)
			b.StartTimer()
		}
		sb.ResetStats()
		for _, r := range SignNewAll(ctx, s, repo, descs, SignOptions{}, 0) {
			assert.NilError(b, r.Err)
		}
		st := sb.Stats()
		registry += st.RegistryRequests
		referrers += st.ReferrersRequests
	}
	b.StopTimer()
	per := float64(b.N * n)
	b.ReportMetric(float64(registry)/per, "registry-requests/digest")
	b.ReportMetric(float64(referrers)/per, "referrers-requests/digest")
}
