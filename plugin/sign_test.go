package plugin

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

func TestGroupByRepository(t *testing.T) {
	for _, tc := range []struct {
		name    string
		images  []string
		want    [][]string
		wantErr string
	}{
		{
			name:   "tags of one repository together, first appearance first, each once",
			images: []string{"reg.example/a:v1", "reg.example/b:v1", "reg.example/a:v2", "reg.example/a:v1"},
			want:   [][]string{{"reg.example/a:v1", "reg.example/a:v2"}, {"reg.example/b:v1"}},
		},
		{name: "no tag", images: []string{"reg.example/a:v1", "reg.example/a"}, wantErr: "no tag specified for reg.example/a"},
		{name: "digest", images: []string{"reg.example/a@sha256:" + strings.Repeat("a", 64)}, wantErr: "cannot use a digest reference for IMAGE:TAG"},
		{name: "tag and digest", images: []string{"reg.example/a:v1@sha256:" + strings.Repeat("a", 64)}, wantErr: "cannot use a digest reference for IMAGE:TAG"},
		{name: "invalid", images: []string{"reg.example/A:v1"}, wantErr: "parsing reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groups, err := groupByRepository(tc.images)
			if tc.wantErr != "" {
				assert.Check(t, is.ErrorContains(err, tc.wantErr))
				return
			}
			assert.NilError(t, err)
			var got [][]string
			for _, g := range groups {
				var refs []string
				for _, r := range g {
					refs = append(refs, r.String())
				}
				got = append(got, refs)
			}
			assert.Check(t, is.DeepEqual(got, tc.want))
		})
	}
}

func TestSignBadInputSignsNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no tag on one of several", args: []string{"sign", "reg.example/a:v1", "reg.example/b"}, wantErr: "no tag specified for reg.example/b"},
		{name: "digest", args: []string{"sign", "reg.example/a@sha256:" + strings.Repeat("a", 64)}, wantErr: "cannot use a digest reference for IMAGE:TAG"},
		{name: "no argument", args: []string{"sign"}, wantErr: "requires at least 1 argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, nil)
			eng := &cmdtest.FakeEngine{}
			d.Engine, d.Registry = eng, cmdtest.FakeRegistry{Descs: map[string]ocispec.Descriptor{"reg.example/a:v1": cmdtest.DescriptorOf("a")}}
			d.OpenRepo = func(context.Context, trust.Ref, bool) (trust.Repository, error) {
				t.Fatal("no trust data may be opened on bad input")
				return nil, nil
			}
			err := runCommand(t, d, tc.args...)
			assert.Check(t, is.ErrorContains(err, tc.wantErr))
			assert.Check(t, is.Len(eng.Pushed, 0))
			assert.Check(t, !strings.Contains(cli.OutBuf.String(), "Signing"))
		})
	}
}

// independentRepo opens repo's trust data with a plain notary client, its
// own empty cache and the puller's login: a consumer on another machine.
func independentRepo(t *testing.T, sb *sandbox.Sandbox, repo string) client.Repository {
	t.Helper()
	base := sb.HTTPClient().Transport
	rt := roundTripper(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.SetBasicAuth(sandbox.UserPull, sandbox.Password)
		return base.RoundTrip(req)
	})
	r, err := client.NewFileCachedRepository(t.TempDir(), data.GUN(sb.Host()+"/"+repo), sb.URL(), rt,
		passphrase.ConstantRetriever("unused"), trustpinning.TrustPinConfig{})
	assert.NilError(t, err)
	return r
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// signedRoles returns, for each role that signed tag, the digest it signed,
// as an independent client reads it.
func signedRoles(t *testing.T, sb *sandbox.Sandbox, repo, tag string) map[data.RoleName]digest.Digest {
	t.Helper()
	all, err := independentRepo(t, sb, repo).GetAllTargetMetadataByName(tag)
	assert.NilError(t, err)
	out := map[data.RoleName]digest.Digest{}
	for _, s := range all {
		out[s.Role.Name] = digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(s.Target.Hashes["sha256"]))
	}
	return out
}

func TestSignRemoteImage(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	pushed := cmdtest.PushImages(t, sb, "app", "v1")

	d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, d, "sign", host+"/app:v1"))

	ref := host + "/app:v1"
	assert.Equal(t, cli.OutBuf.String(), "Signing and pushing trust metadata for "+ref+"\n"+
		"Finished initializing signed repository for "+ref+"\n"+
		"Successfully signed "+ref+"\n")
	assert.Check(t, is.Len(eng.Pushed, 0), "remote signing pushes nothing")

	// A fresh repository is signed by its admin into targets: no signer
	// named after the login, no delegation at all.
	assert.Check(t, is.DeepEqual(signedRoles(t, sb, "app", "v1"), map[data.RoleName]digest.Digest{data.CanonicalTargetsRole: pushed["v1"].Digest}))
	delegations, err := independentRepo(t, sb, "app").GetDelegationRoles()
	assert.NilError(t, err)
	assert.Check(t, is.Len(delegations, 0))

	got, err := cmdtest.IndependentResolve(t, sb, ref)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, pushed["v1"].Digest))
	assert.Check(t, is.Equal(got.Size, pushed["v1"].Size))
}

func TestSignFreshRepositoryWithIdentityToken(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	cmdtest.PushImages(t, sb, "app", "v1")

	cli := cmdtest.NewFakeCLI(t, "")
	cli.LoginIdentityToken(host, sb.IdentityToken())
	d := cmdtest.NewTestDeps(t, cli, cmdtest.PassphraseEnv())
	assert.NilError(t, sb.InstallCA(d.ConfigDir))
	d.Engine = &cmdtest.FakeEngine{}
	assert.NilError(t, runCommand(t, d, "sign", host+"/app:v1"))

	assert.Check(t, !strings.Contains(cli.OutBuf.String(), "Created signer"), "docker named a signer after the login (00000000-...)")
	roles := signedRoles(t, sb, "app", "v1")
	_, inTargets := roles[data.CanonicalTargetsRole]
	assert.Check(t, inTargets && len(roles) == 1, "signed into targets only: %v", roles)
}

func TestSignMultiPlatformIndex(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	index, err := sb.PushRandomIndex(context.Background(), "multi", "v1")
	assert.NilError(t, err)
	assert.Equal(t, index.MediaType, ocispec.MediaTypeImageIndex)

	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, d, "sign", host+"/multi:v1"))

	got, err := cmdtest.IndependentResolve(t, sb, host+"/multi:v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, index.Digest), "the index is signed, not one platform's manifest")
	assert.Check(t, is.Equal(got.Size, index.Size))
}

func TestSignManyTagsOnePublishPerRepository(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	const n = 100
	var tags, args []string
	for i := range n {
		tags = append(tags, fmt.Sprintf("v%d", i))
		args = append(args, fmt.Sprintf("%s/app:v%d", host, i))
	}
	pushed := cmdtest.PushImages(t, sb, "app", tags...)
	other := cmdtest.PushImages(t, sb, "other", "v1")
	args = append(args, host+"/other:v1")

	// The repository exists already, as in a pipeline that signs a release.
	first, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, first, "sign", host+"/app:v0"))

	sb.ResetStats()
	d, cli := cmdtest.SameMachine(t, first)
	start := time.Now()
	assert.NilError(t, runCommand(t, d, append([]string{"sign"}, args...)...))
	elapsed := time.Since(start)
	st := sb.Stats()
	t.Logf("signed %d tags of 2 repositories in %s: %+v", n+1, elapsed, st)

	assert.Check(t, is.Equal(st.Publishes, 2), "one publish per repository")
	assert.Check(t, is.Equal(strings.Count(cli.OutBuf.String(), "Successfully signed "), n), "v0 was signed before")
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Tag "+host+"/app:v0 is already signed for "+pushed["v0"].Digest.String()+" by targets (Repo Admin); nothing to sign\n"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Existing signatures for tag v0 digest "+pushed["v0"].Digest.Encoded()+" from:\nRepo Admin\n"))

	all, err := trust.ResolveAll(context.Background(), mustOpen(t, sb, "app"))
	assert.NilError(t, err)
	assert.Check(t, is.Len(all, n))
	for _, tgt := range all {
		assert.Check(t, is.Equal(tgt.Digest, pushed[tgt.Name].Digest), tgt.Name)
	}
	got, err := cmdtest.IndependentResolve(t, sb, host+"/other:v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, other["v1"].Digest))
}

// mustOpen opens repo as an independent reader through trust.Repository.
func mustOpen(t *testing.T, sb *sandbox.Sandbox, repo string) trust.Repository {
	t.Helper()
	return independentRepo(t, sb, repo)
}

func TestSignReplacedDigestIsReported(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	first := cmdtest.PushImages(t, sb, "app", "v1")
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, d, "sign", host+"/app:v1"))

	second := cmdtest.PushImages(t, sb, "app", "v1") // the tag moved
	d, cli := cmdtest.SameMachine(t, d)
	assert.NilError(t, runCommand(t, d, "sign", host+"/app:v1"))
	out := cli.OutBuf.String()
	assert.Check(t, is.Contains(out, "Existing signatures for tag v1 digest "+first["v1"].Digest.Encoded()+" from:\nRepo Admin\n"))
	assert.Check(t, is.Contains(out, fmt.Sprintf("Tag v1 was signed for %s; it is now signed for %s\n", first["v1"].Digest, second["v1"].Digest)))

	got, err := cmdtest.IndependentResolve(t, sb, host+"/app:v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, second["v1"].Digest))
}

func TestSignTagNotInRegistry(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	cmdtest.PushImages(t, sb, "app", "v1")
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	sb.ResetStats()
	err := runCommand(t, d, "sign", host+"/app:v1", host+"/app:nope")
	assert.Check(t, is.ErrorContains(err, host+"/app:nope is not in the registry, so there is nothing to sign"))
	assert.Check(t, is.ErrorContains(err, "--local"), "the remedy names --local")
	assert.Check(t, is.Equal(sb.Stats().Publishes, 0), "nothing of the repository is signed when one tag is missing")
}

func TestSignLocalPushesThenSigns(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	ref := host + "/app:v1"
	d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	// The fake engine's push is stood in for by the sandbox: after it, the
	// registry serves the image.
	pushed := cmdtest.PushImages(t, sb, "app", "v1")
	eng.Reported = pushed["v1"].Digest.String()

	assert.NilError(t, runCommand(t, d, "sign", "--local", ref))
	assert.Check(t, is.DeepEqual(eng.Pushed, []string{ref}))
	assert.Check(t, is.Contains(cli.ErrBuf.String(), "Signing and pushing trust data for local image "+ref+", may overwrite remote trust data\n"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "pushing "+ref+"\nSigning and pushing trust metadata\n"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+ref+"\n"))
	got, err := cmdtest.IndependentResolve(t, sb, ref)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, pushed["v1"].Digest))

	// The engine reports a digest the registry does not serve: not signed.
	eng.Reported = digest.FromString("something else").String()
	d, _ = cmdtest.SameMachine(t, d)
	err = runCommand(t, d, "sign", "--local", ref)
	assert.Check(t, is.ErrorContains(err, ref+" was pushed to the registry but is NOT signed"))
	assert.Check(t, is.ErrorContains(err, "the tag changed in between"))
}
