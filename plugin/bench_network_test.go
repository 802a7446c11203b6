package plugin

import (
	"context"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// The benchmarks of issue 20: the sandbox as a network, 20 ms per request
// (a CI runner in another region than its ACR), and a registry that
// throttles above 100 requests per second. docs/benchmarks.md has the
// figures; scripts/bench-peers.sh puts the binaries next to Docker 28.

// freshProcess is deps for another run of the plugin over reader's
// DOCKER_CONFIG (trust cache, token cache, login).
func freshProcess(b *testing.B, reader *cmdutil.Deps) *cmdutil.Deps {
	d := cmdtest.NewTestDeps(b, cmdtest.NewFakeCLI(b, ""), nil)
	d.CLI.(*cmdtest.FakeCLI).Cfg = reader.CLI.ConfigFile()
	d.ConfigDir = reader.ConfigDir
	return d
}

// BenchmarkResolveWarm20ms: a warm trusted resolution, what a trusted pull
// does before the engine pulls by digest, 20 ms away: one trust request
// (the timestamp) and no token request (the token cache).
func BenchmarkResolveWarm20ms(b *testing.B) {
	sb := cmdtest.StartSandbox(b)
	assert.NilError(b, sb.Seed(context.Background(), []sandbox.SeedRepo{{Name: "app", Signed: []string{"v1"}}}, 1))
	reader, _, _ := cmdtest.SandboxDeps(b, sb, sandbox.UserPull, nil)
	assert.NilError(b, runCommand(b, reader, "resolve", sb.Host()+"/app:v1"))
	sb.SetNetwork(sandbox.Network{Latency: 20 * time.Millisecond})
	sb.ResetStats()
	b.ResetTimer()
	for range b.N {
		assert.NilError(b, runCommand(b, freshProcess(b, reader), "resolve", sb.Host()+"/app:v1"))
	}
	b.StopTimer()
	st := sb.Stats()
	b.ReportMetric(float64(st.TrustRequests)/float64(b.N), "trust-requests/op")
	b.ReportMetric(float64(st.TokenRequests)/float64(b.N), "token-requests/op")
}

// BenchmarkAudit20ms audits 100 repositories of 20 signed tags, 20 ms
// away, each run a fresh process without cached tokens (audit never writes
// the trust cache): at most 6 requests per repository (token, root,
// timestamp, snapshot, targets, one tag-listing page).
func BenchmarkAudit20ms(b *testing.B) {
	benchmarkAuditNetwork(b, 100, sandbox.Network{Latency: 20 * time.Millisecond})
}

// BenchmarkAuditRate100 audits 100 repositories of 20 signed tags against
// a registry that answers 429 above 100 requests per second: every
// repository is audited, and throttled/op says how often it was told to
// wait.
func BenchmarkAuditRate100(b *testing.B) {
	benchmarkAuditNetwork(b, 100, sandbox.Network{Rate: 100})
}

func benchmarkAuditNetwork(b *testing.B, repos int, n sandbox.Network) {
	sb := cmdtest.StartSandbox(b)
	_, err := sb.SeedMany(context.Background(), "bench/r", repos, 20)
	assert.NilError(b, err)
	reader, _, _ := cmdtest.SandboxDeps(b, sb, sandbox.UserPull, map[string]string{"ACRTRUST_NO_TOKEN_CACHE": "1"})
	sb.SetNetwork(n)
	sb.ResetStats()
	b.ResetTimer()
	for range b.N {
		d := freshProcess(b, reader)
		d.Getenv = reader.Getenv
		assert.NilError(b, runCommand(b, d, "audit", "--format", "json", sb.Host()))
	}
	b.StopTimer()
	st := sb.Stats()
	per := float64(b.N * repos)
	b.ReportMetric(float64(st.TrustRequests+st.TokenRequests+st.RegistryRequests)/per, "requests/repo")
	b.ReportMetric(float64(st.TokenRequests)/per, "token-requests/repo")
	b.ReportMetric(float64(sb.Throttled())/float64(b.N), "throttled/op")
}
