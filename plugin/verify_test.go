package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var st cli.StatusError
	assert.Assert(t, errors.As(err, &st), "not a StatusError: %v", err)
	return st.StatusCode
}

func TestResolve(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, signed := signedSandbox(t)
	host := sb.Host()

	t.Run("prints pinned references", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "resolve", host+"/app:v1", host+"/app:v2"))
		assert.Equal(t, cli.OutBuf.String(), host+"/app@"+signed["v1"]+"\n"+host+"/app@"+signed["v2"]+"\n")
	})

	t.Run("a failing argument prints nothing on stdout and fails the run", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "resolve", host+"/app:dev", host+"/app:v1", host+"/plain:v1")
		assert.Equal(t, exitCode(t, err), 1)
		assert.ErrorContains(t, err, "2 of 3 references could not be resolved")
		assert.Equal(t, cli.OutBuf.String(), host+"/app@"+signed["v1"]+"\n")
		assert.Check(t, is.Contains(cli.ErrBuf.String(), host+"/app:dev: No valid trust data for dev"))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "remote trust data does not exist for "+host+"/plain"))
	})

	t.Run("json", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "resolve", "--format", "json", host+"/app:v2"))
		var got []map[string]any
		assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &got))
		assert.Equal(t, len(got), 1)
		assert.DeepEqual(t, keys(got[0]), []string{"Digest", "Name", "Pinned", "Reference", "Role", "Size", "Tag"})
		assert.Equal(t, got[0]["Pinned"], host+"/app@"+signed["v2"])
		assert.Equal(t, got[0]["Role"], "targets")
		assert.Equal(t, got[0]["Reference"], host+"/app:v2")
	})

	t.Run("template", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "resolve", "--format", "{{.Tag}} {{.Digest}}", host+"/app:v1"))
		assert.Equal(t, cli.OutBuf.String(), "v1 "+signed["v1"]+"\n")
	})

	t.Run("bad template is a usage error", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "resolve", "--format", "{{.Tag", host+"/app:v1")
		assert.Equal(t, exitCode(t, err), 125)
	})

	t.Run("no tag", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "resolve", host+"/app")
		assert.ErrorContains(t, err, "could not be resolved")
	})
}

func keys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

func TestVerifyDrift(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, signed := signedSandbox(t)
	host := sb.Host()
	ctx := context.Background()

	t.Run("unsigned tag fails unless allowed", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "verify", host+"/app")
		assert.Equal(t, exitCode(t, err), 1)
		assert.ErrorContains(t, err, host+"/app: unsigned: dev")
		out := cli.OutBuf.String()
		// docker's table alignment: at least 10 wide, 3 spaces between columns.
		assert.Check(t, is.Contains(out, "v1        signed     "+signed["v1"]+"   "+signed["v1"]))
		assert.Check(t, is.Contains(out, "dev       unsigned   -"))

		d, _, _ = cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "verify", "--allow-unsigned", host+"/app"))
	})

	// Someone pushes another image to v1 without signing; v2 is deleted.
	drifted, err := sb.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)

	t.Run("drift names the tag even with --allow-unsigned", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "verify", "--allow-unsigned", "--format", "json", host+"/app")
		assert.Equal(t, exitCode(t, err), 1)
		assert.ErrorContains(t, err, "drifted: v1")
		var reps []verifyReport
		assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &reps))
		assert.Equal(t, len(reps), 1)
		assert.Check(t, !reps[0].OK)
		assert.Equal(t, reps[0].Repository, host+"/app")
		byTag := map[string]trust.TagReport{}
		for _, tr := range reps[0].Tags {
			byTag[tr.Tag] = tr
		}
		assert.Equal(t, byTag["v1"].Status, trust.StatusDrifted)
		assert.Equal(t, byTag["v1"].SignedDigest.String(), signed["v1"])
		assert.Equal(t, byTag["v1"].RegistryDigest, drifted.Digest)
		assert.Equal(t, byTag["v2"].Status, trust.StatusSigned)
		assert.Equal(t, byTag["dev"].Status, trust.StatusUnsigned)
	})

	t.Run("one tag", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "verify", host+"/app:v2"))
		err := runCommand(t, d, "verify", host+"/app:v1")
		assert.ErrorContains(t, err, "drifted: v1")
	})

	t.Run("repository without trust data: every tag unsigned", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "verify", host+"/plain")
		assert.ErrorContains(t, err, "unsigned: v1")
		assert.Check(t, is.Contains(cli.OutBuf.String(), "v1        unsigned   -"))
	})

	t.Run("expiry warning", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		// Targets expire after about three years: a 4-year window reports them.
		assert.NilError(t, runCommand(t, d, "verify", "--expiry-warning", "1500d", host+"/app:v2"))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "WARNING: the targets trust metadata of "+host+"/app expires on"))
		d, cli, _ = cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "verify", host+"/app:v2"))
		assert.Check(t, !strings.Contains(cli.ErrBuf.String(), "expires"))
	})

	t.Run("bad expiry window", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.Equal(t, exitCode(t, runCommand(t, d, "verify", "--expiry-warning", "soon", host+"/app")), 125)
	})
}

func TestCompareStatuses(t *testing.T) {
	// Unit level: the four statuses from plain data.
	a, b, c := cmdtest.DescriptorOf("a").Digest, cmdtest.DescriptorOf("b").Digest, cmdtest.DescriptorOf("c").Digest
	got := trust.Compare(map[string]digest.Digest{"same": a, "moved": b, "new": c},
		[]trust.Target{{Name: "same", Digest: a}, {Name: "moved", Digest: a}, {Name: "gone", Digest: c}})
	want := []trust.TagReport{
		{Tag: "gone", Status: trust.StatusMissing, SignedDigest: c},
		{Tag: "moved", Status: trust.StatusDrifted, SignedDigest: a, RegistryDigest: b},
		{Tag: "new", Status: trust.StatusUnsigned, RegistryDigest: c},
		{Tag: "same", Status: trust.StatusSigned, SignedDigest: a, RegistryDigest: a},
	}
	assert.DeepEqual(t, got, want)
}

func TestVerifyOneTagMissingVersusRefused(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, _ := signedSandbox(t)
	host := sb.Host()

	t.Run("signed tag deleted from the registry is missing", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		d.Init()
		d.Registry = gone{RegistryReader: d.Registry, tag: "v1", err: cmdtest.ErrNotFound}
		err := runCommand(t, d, "verify", host+"/app:v1")
		assert.ErrorContains(t, err, "missing: v1")
	})

	t.Run("a refused registry read is an error, not a missing tag", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		d.Init()
		d.Registry = gone{RegistryReader: d.Registry, tag: "v1", err: errors.New("response status code 401: Unauthorized")}
		err := runCommand(t, d, "verify", host+"/app:v1")
		assert.Assert(t, err != nil)
		assert.Check(t, !strings.Contains(err.Error(), "missing: v1"), err.Error())
	})
}

// gone is a registry that answers err for one tag.
type gone struct {
	cmdutil.RegistryReader
	tag string
	err error
}

func (g gone) Resolve(ctx context.Context, ref trust.Ref) (ocispec.Descriptor, error) {
	if ref.Tag == g.tag {
		return ocispec.Descriptor{}, g.err
	}
	return g.RegistryReader.Resolve(ctx, ref)
}
