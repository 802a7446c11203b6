package plugin

import (
	"context"
	"fmt"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

func parseRefB(b *testing.B, s string) trust.Ref {
	b.Helper()
	ref, err := trust.ParseRef(s)
	assert.NilError(b, err)
	return ref
}

// BenchmarkCopy64MiBWithinRegistry copies a signed 64 MiB image (4 layers)
// between two repositories of one registry whose blobs belong to
// repositories, as on ACR, into a new repository each time: `docker
// acrtrust copy` (verify, mount, sign anew with content trust) next to an
// oras-go copy of the same digest, with and without mounts, followed by
// one publish (`docker acrtrust sign`). Issue 19's target: copy at most
// 1.1x the oras-go copy plus one publish. Reported: blob uploads, mounts
// and publishes per op from the sandbox's counters.
func BenchmarkCopy64MiBWithinRegistry(b *testing.B) {
	if testing.Short() {
		b.Skip("integration: needs the in-process sandbox")
	}
	sb, err := sandbox.Start(sandbox.Options{RepositoryBlobs: true})
	assert.NilError(b, err)
	b.Cleanup(func() { _ = sb.Close() })
	ctx := context.Background()
	host := sb.Host()
	root, err := sb.PushRandomImageOfSize(ctx, "build/app", "v1", 16<<20, 4)
	assert.NilError(b, err)
	d, _, _ := cmdtest.SandboxDeps(b, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(b, runCommand(b, d, "sign", host+"/build/app:v1"))

	orasCopy := func(b *testing.B, i int, mount bool) {
		var err error
		d.Init()
		src, dst := parseRefB(b, host+"/build/app:v1"), parseRefB(b, fmt.Sprintf("%s/oras%v%d/app:v1", host, mount, i))
		err = d.ORAS.WithRepository(src, func(sr *remote.Repository) error {
			return d.ORAS.WithRepository(dst, func(dr *remote.Repository) error {
				o := oras.DefaultCopyOptions
				if mount {
					o.MountFrom = func(context.Context, ocispec.Descriptor) ([]string, error) { return []string{"build/app"}, nil }
				}
				_, err := oras.Copy(ctx, sr, root.Digest.String(), dr, "v1", o)
				return err
			})
		})
		assert.NilError(b, err)
		assert.NilError(b, runCommand(b, d, "sign", dst.String()))
	}
	for _, bc := range []struct {
		name string
		run  func(b *testing.B, i int)
	}{
		{"acrtrust-copy", func(b *testing.B, i int) {
			assert.NilError(b, runCommand(b, d, "copy", host+"/build/app:v1", fmt.Sprintf("%s/copy%d/app", host, i)))
		}},
		{"oras-copy+sign", func(b *testing.B, i int) { orasCopy(b, i, false) }},
		{"oras-copy-mount+sign", func(b *testing.B, i int) { orasCopy(b, i, true) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sb.ResetStats()
			b.ResetTimer()
			for i := range b.N {
				bc.run(b, i+b.N*1000)
			}
			b.StopTimer()
			st := sb.Stats()
			b.ReportMetric(float64(st.BlobUploads)/float64(b.N), "uploads/op")
			b.ReportMetric(float64(st.BlobMounts)/float64(b.N), "mounts/op")
			b.ReportMetric(float64(st.Publishes)/float64(b.N), "publishes/op")
		})
	}
}
