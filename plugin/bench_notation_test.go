package plugin

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/signer"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// The speed targets of signing in both formats (issue 18), on the
// in-process sandbox; docs/benchmarks.md has the figures.
//
//   - push --sign both of a tiny image: at most 1.2x push --sign dct
//     (BenchmarkPushSign/dct and /both);
//   - sign --sign both of 100 new tags: at most 2x sign --sign dct
//     (BenchmarkSign100NewTags/dct and /both);
//   - audit with Notation status of 1,000 repositories x 20 tags: 30 s
//     (BenchmarkAuditNotation with BENCH_AUDIT_REPOS=1000; 100 by default).
//
// The machine these run on is shared, so each also reports cpu-ms/op: the
// CPU time of the whole process (the command and the in-process sandbox)
// per operation, which other load does not inflate as much as wall time.
//
// Each iteration signs images never signed before (the push itself is the
// engine's, faked here: the image is put in the registry beforehand), so
// the signing is measured, not the "already signed" path.

// signedBenchRepo is a sandbox whose repository "bench" is signed in both
// formats already (bench:init), a Notation home that signs it, and a
// signer's deps: what follows is a push or a signing, not the first.
func signedBenchRepo(b *testing.B) (*sandbox.Sandbox, notationHome, *cmdutil.Deps) {
	b.Helper()
	sb := cmdtest.StartSandbox(b)
	home := newNotationHome(b, "bench", "*")
	d, _, _ := cmdtest.SandboxDeps(b, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	_, err := sb.PushRandomImage(context.Background(), "bench", "init")
	assert.NilError(b, err)
	assert.NilError(b, runCommand(b, d, "push", "--sign", "both", "--notation-dir", home.dir, sb.Host()+"/bench:init"))
	return sb, home, d
}

func BenchmarkPushSign(b *testing.B) {
	for _, mode := range []string{"dct", "both", "notation"} {
		b.Run(mode, func(b *testing.B) {
			sb, home, d := signedBenchRepo(b)
			ctx := context.Background()
			var st sandbox.Stats
			cpu := &cpuMeter{b: b}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				tag := fmt.Sprintf("t%d", i)
				_, err := sb.PushRandomImage(ctx, "bench", tag)
				assert.NilError(b, err)
				sb.ResetStats()
				cpu.on()
				b.StartTimer()
				assert.NilError(b, runCommand(b, d, "push", "--sign", mode, "--notation-dir", home.dir, sb.Host()+"/bench:"+tag))
				b.StopTimer()
				cpu.off()
				s := sb.Stats()
				st.TrustRequests += s.TrustRequests
				st.RegistryRequests += s.RegistryRequests
				st.TokenRequests += s.TokenRequests
				b.StartTimer()
			}
			b.ReportMetric(float64(st.TrustRequests)/float64(b.N), "trust-requests/op")
			b.ReportMetric(float64(st.RegistryRequests)/float64(b.N), "registry-requests/op")
			b.ReportMetric(float64(st.TokenRequests)/float64(b.N), "token-requests/op")
			cpu.report()
		})
	}
}

func BenchmarkSign100NewTags(b *testing.B) {
	const n = 100
	for _, mode := range []string{"dct", "both", "notation"} {
		b.Run(mode, func(b *testing.B) {
			sb, home, d := signedBenchRepo(b)
			ctx := context.Background()
			var publishes, registry int
			cpu := &cpuMeter{b: b}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				args := []string{"sign", "--sign", mode, "--notation-dir", home.dir}
				for j := range n {
					tag := fmt.Sprintf("r%d-t%03d", i, j)
					_, err := sb.PushRandomImage(ctx, "bench", tag)
					assert.NilError(b, err)
					args = append(args, sb.Host()+"/bench:"+tag)
				}
				sb.ResetStats()
				cpu.on()
				b.StartTimer()
				assert.NilError(b, runCommand(b, d, args...))
				b.StopTimer()
				cpu.off()
				st := sb.Stats()
				publishes += st.Publishes
				registry += st.RegistryRequests
				b.StartTimer()
			}
			b.ReportMetric(float64(publishes)/float64(b.N), "publishes/op")
			b.ReportMetric(float64(registry)/float64(b.N), "registry-requests/op")
			cpu.report()
		})
	}
}

// BenchmarkAuditNotation audits BENCH_AUDIT_REPOS repositories (100 by
// default; the target is for 1,000) of 20 signed tags each, every digest
// with a Notation signature seeded as an OCI referrer, verified against a
// trust policy. Reported: ns/op for the whole run, and the registry and
// referrers requests per repository.
func BenchmarkAuditNotation(b *testing.B) {
	repos := 100
	if v, err := strconv.Atoi(os.Getenv("BENCH_AUDIT_REPOS")); err == nil && v > 0 {
		repos = v
	}
	const tags = 20
	sb := cmdtest.StartSandbox(b)
	home := newNotationHome(b, "bench", "*")
	s, err := signer.NewGenericSignerFromFiles(home.key, home.cert)
	assert.NilError(b, err)
	seed := make([]sandbox.SeedRepo, repos)
	signed := make([]string, tags)
	for i := range signed {
		signed[i] = fmt.Sprintf("t%02d", i)
	}
	for i := range seed {
		seed[i] = sandbox.SeedRepo{Name: fmt.Sprintf("bench/r%04d", i), Signed: signed,
			Referrers: func(_ string, desc ocispec.Descriptor) ([]sandbox.Referrer, error) {
				env, _, err := s.Sign(context.Background(), desc, notation.SignerSignOptions{SignatureMediaType: jws.MediaTypeEnvelope})
				if err != nil {
					return nil, err
				}
				return []sandbox.Referrer{{ArtifactType: "application/vnd.cncf.notary.signature", MediaType: jws.MediaTypeEnvelope, Blob: env}}, nil
			}}
	}
	assert.NilError(b, sb.Seed(context.Background(), seed, 4))
	reader, _, _ := cmdtest.SandboxDeps(b, sb, sandbox.UserPull, nil)
	if os.Getenv("BENCH_AUDIT_BASELINE") != "" {
		start := time.Now()
		assert.NilError(b, runCommand(b, reader, "audit", "--format", "json", "--notation=false", sb.Host()))
		b.Logf("without Notation: %s", time.Since(start))
		start = time.Now()
		assert.NilError(b, runCommand(b, reader, "audit", "--format", "json", sb.Host()))
		b.Logf("counting only: %s", time.Since(start))
	}
	sb.ResetStats()
	cpu := &cpuMeter{b: b}
	cpu.on()
	b.ResetTimer()
	for range b.N {
		d := cmdtest.NewTestDeps(b, cmdtest.NewFakeCLI(b, ""), nil)
		d.CLI.(*cmdtest.FakeCLI).Cfg = reader.CLI.ConfigFile()
		d.ConfigDir = reader.ConfigDir
		args := []string{"audit", "--format", "json", "--notation-dir", home.dir, "--fail-on", "notation-missing,notation-invalid", sb.Host()}
		if os.Getenv("BENCH_AUDIT_COUNT_ONLY") != "" {
			args = []string{"audit", "--format", "json", "--fail-on", "notation-missing", sb.Host()}
		}
		assert.NilError(b, runCommand(b, d, args...))
	}
	b.StopTimer()
	cpu.off()
	cpu.report()
	st := sb.Stats()
	per := float64(b.N * repos)
	b.ReportMetric(float64(st.RegistryRequests)/per, "registry-requests/repo")
	b.ReportMetric(float64(st.ReferrersRequests)/per, "referrers-requests/repo")
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	assert.NilError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter adds the CPU time of the measured parts, as b's timer does.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
	total time.Duration
}

func (m *cpuMeter) on()  { m.start = cpuTime(m.b) }
func (m *cpuMeter) off() { m.total += cpuTime(m.b) - m.start }
func (m *cpuMeter) report() {
	m.b.ReportMetric(float64(m.total.Milliseconds())/float64(m.b.N), "cpu-ms/op")
}
