package plugin

import (
	"context"
	"strings"
	"testing"

	"github.com/notaryproject/notation-go/config"
	"github.com/notaryproject/notation-go/dir"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/imagecopy"
	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// copier is a machine logged in to src as puller and to dst as user, with
// both CAs trusted and the passphrases of a signing pipeline, and env's
// variables besides.
func copier(t *testing.T, src, dst *sandbox.Sandbox, user string, env ...string) (*cmdutil.Deps, *cmdtest.FakeCLI) {
	t.Helper()
	vars := cmdtest.PassphraseEnv()
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	d, cli, _ := cmdtest.SandboxDeps(t, src, sandbox.UserPull, vars)
	if dst != src {
		cli.Login(dst.Host(), user, sandbox.Password)
		assert.NilError(t, dst.InstallCA(d.ConfigDir))
	}
	return d, cli
}

// TestCopyBetweenRegistries promotes a multi-platform index with its
// Notation signature to another registry: content trust made anew at DST,
// read back by an independent notary client; the copied Notation signature
// verified at DST by notation-go; a second run copies and signs nothing.
func TestCopyBetweenRegistries(t *testing.T) {
	ms, _ := migratedStack(t)
	src, dstSB := ms.sb.Host(), cmdtest.StartSandbox(t)
	dst := dstSB.Host()
	want := ms.pushed["multi"]

	d, cli := copier(t, ms.sb, dstSB, sandbox.UserSigner)
	assert.NilError(t, runCommand(t, d, "copy", "--dry-run", "--sign", "both", src+"/app:multi", dst+"/prod/app"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Would copy "+src+"/app:multi@"+want.Digest.String()+" to "+dst+"/prod/app:multi"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Would copy 1 Notation signature(s)"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Would sign "+dst+"/prod/app:multi with content trust for "+want.Digest.String()))
	st := dstSB.Stats()
	assert.Check(t, is.Equal(st.BlobUploads, 0), "a dry run writes nothing")
	assert.Check(t, is.Equal(st.Publishes, 0))

	d, cli = copier(t, ms.sb, dstSB, sandbox.UserSigner)
	assert.NilError(t, runCommand(t, d, "copy", "--sign", "both", src+"/app:multi", dst+"/prod/app"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Copied "+src+"/app:multi to "+dst+"/prod/app:multi@"+want.Digest.String()))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+dst+"/prod/app:multi"))

	got, err := cmdtest.IndependentResolve(t, dstSB, dst+"/prod/app:multi")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, want.Digest))
	assert.Check(t, is.Equal(got.Size, want.Size))

	signer, err := notationbridge.LocalSigner(ms.key, ms.cert)
	assert.NilError(t, err)
	policy := t.TempDir()
	_, err = notationbridge.WritePolicy(policy, notationbridge.PolicyOptions{Scopes: []string{dst + "/prod/app"}, Chain: signer.Chain})
	assert.NilError(t, err)
	_, err = notationVerify(t, dstSB, policy, "prod/app", want)
	assert.NilError(t, err, "the copied Notation signature verifies at DST")

	t.Run("every signed tag, in one publish", func(t *testing.T) {
		dstSB.ResetStats()
		d, cli := copier(t, ms.sb, dstSB, sandbox.UserSigner)
		assert.NilError(t, runCommand(t, d, "copy", "-a", src+"/app", dst+"/all/app"))
		assert.Check(t, is.Equal(dstSB.Stats().Publishes, 1))
		for _, tag := range []string{"multi", "v1", "v2"} {
			assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+dst+"/all/app:"+tag))
			got, err := cmdtest.IndependentResolve(t, dstSB, dst+"/all/app:"+tag)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(got.Digest, ms.pushed[tag].Digest), tag)
		}
	})

	t.Run("ACRTRUST_SIGN=notation: SRC's signature copied, no content trust", func(t *testing.T) {
		dstSB.ResetStats()
		d, cli := copier(t, ms.sb, dstSB, sandbox.UserSigner, cmdutil.EnvSign, "notation")
		assert.NilError(t, runCommand(t, d, "copy", src+"/app:v1", dst+"/notation/app"))
		assert.Check(t, is.Equal(dstSB.Stats().Publishes, 0), "no content trust at DST")
		assert.Check(t, !strings.Contains(cli.OutBuf.String(), "Signing with Notation"), "no key: nothing signed anew")
		wide := t.TempDir()
		_, err := notationbridge.WritePolicy(wide, notationbridge.PolicyOptions{Scopes: []string{dst + "/notation/app"}, Chain: signer.Chain})
		assert.NilError(t, err)
		_, err = notationVerify(t, dstSB, wide, "notation/app", ms.pushed["v1"])
		assert.Check(t, err, "the copied signature verifies at DST")

		d, _ = copier(t, ms.sb, dstSB, sandbox.UserSigner, cmdutil.EnvSign, "cosign")
		err = runCommand(t, d, "copy", src+"/app:v1", dst+"/notation/app")
		assert.Check(t, is.ErrorContains(err, `invalid ACRTRUST_SIGN "cosign": use dct, notation or both`))
		assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 125))
	})

	dstSB.ResetStats()
	d, cli = copier(t, ms.sb, dstSB, sandbox.UserSigner)
	assert.NilError(t, runCommand(t, d, "copy", "--sign", "both", src+"/app:multi", dst+"/prod/app"))
	st = dstSB.Stats()
	assert.Check(t, is.Equal(st.BlobUploads, 0), "a second run uploads nothing")
	assert.Check(t, is.Equal(st.Publishes, 0), "and publishes nothing")
	assert.Check(t, is.Contains(cli.OutBuf.String(), "is already signed"))
}

// TestCopyRefusals: an unsigned or drifted SRC tag copies nothing, and a
// copy that fails part way says what DST holds and what to run; run again,
// it finishes.
func TestCopyRefusals(t *testing.T) {
	ctx := context.Background()
	srcSB, dstSB := cmdtest.StartSandbox(t), cmdtest.StartSandbox(t)
	assert.NilError(t, srcSB.Seed(ctx, []sandbox.SeedRepo{{Name: "app", Signed: []string{"v1", "v2"}, Unsigned: []string{"dev"}, Drifted: []string{"old"}}}, 1))
	src, dst := srcSB.Host(), dstSB.Host()

	for _, tc := range []struct {
		name, image, wantErr string
		all                  bool
	}{
		{name: "unsigned", image: src + "/app:dev", wantErr: "No valid trust data for dev"},
		{name: "drifted", image: src + "/app:old", wantErr: "is signed for"},
		{name: "every tag, one drifted", image: src + "/app", all: true, wantErr: "is signed for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dstSB.ResetStats()
			d, _ := copier(t, srcSB, dstSB, sandbox.UserSigner)
			args := []string{"copy", tc.image, dst + "/prod/app"}
			if tc.all {
				args = []string{"copy", "-a", tc.image, dst + "/prod/app"}
			}
			err := runCommand(t, d, args...)
			assert.Check(t, is.ErrorContains(err, tc.wantErr))
			assert.Check(t, is.Contains(err.Error(), "nothing was copied"))
			assert.Check(t, is.Equal(dstSB.Stats().RegistryRequests, 0), "DST was not touched")
		})
	}

	t.Run("--sign notation with nothing to sign with", func(t *testing.T) {
		dstSB.ResetStats()
		d, _ := copier(t, srcSB, dstSB, sandbox.UserSigner)
		err := runCommand(t, d, "copy", "--sign", "notation", src+"/app:v1", dst+"/prod/other")
		assert.Check(t, is.ErrorContains(err, "has no Notation signature to copy, and no Notation key was given, so nothing was copied"))
		assert.Check(t, is.Contains(err.Error(), "--key and --cert, --plugin and --id, --key-name, or notation's default key"))
		assert.Check(t, is.Equal(dstSB.Stats().RegistryRequests, 0), "DST was not touched")
		err = runCommand(t, d, "copy", "--sign", "notation", "--no-referrers", src+"/app:v1", dst+"/prod/other")
		assert.Check(t, is.ErrorContains(err, "--sign notation with --no-referrers leaves nothing to give DST a Notation signature"))
		assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 125))
		assert.Check(t, is.Equal(dstSB.Stats().RegistryRequests, 0), "DST was not touched")
		err = runCommand(t, d, "copy", "--key", "k.pem", "--cert", "c.pem", src+"/app:v1", dst+"/prod/other")
		assert.Check(t, is.ErrorContains(err, "add --sign notation or --sign both"))
		assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), 125))
		err = runCommand(t, d, "copy", "--sign", "notation", "--signature-format", "pgp", src+"/app:v1", dst+"/prod/other")
		assert.Check(t, is.ErrorContains(err, "invalid --signature-format"))
	})

	t.Run("a copy that fails part way", func(t *testing.T) {
		d, _ := copier(t, srcSB, dstSB, sandbox.UserPull) // cannot push to DST
		err := runCommand(t, d, "copy", src+"/app:v1", dst+"/prod/app")
		assert.Check(t, is.ErrorContains(err, "copying "+src+"/app:v1 to "+dst+"/prod/app:v1"))
		assert.Check(t, is.Contains(err.Error(), "Not in DST: "+dst+"/prod/app:v1"))
		assert.Check(t, is.Contains(err.Error(), "run the same `docker acrtrust copy` command again"))

		d, cli := copier(t, srcSB, dstSB, sandbox.UserSigner)
		assert.NilError(t, runCommand(t, d, "copy", src+"/app:v1", dst+"/prod/app"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+dst+"/prod/app:v1"))
	})

	t.Run("copied, but content trust at DST fails: the copy that completes it", func(t *testing.T) {
		home := newNotationHome(t, "release", "*")
		dstSB.SetContentTrust(false)
		t.Cleanup(func() { dstSB.SetContentTrust(true) })
		d, cli := copier(t, srcSB, dstSB, sandbox.UserSigner)
		err := runCommand(t, d, "copy", "--sign", "both", "--notation-dir", home.dir, src+"/app:v2", dst+"/notrust/app")
		v2, rerr := cmdtest.IndependentResolve(t, srcSB, src+"/app:v2")
		assert.NilError(t, rerr)
		assert.Check(t, is.ErrorContains(err, "the copy is in DST ("+dst+"/notrust/app:v2@"+v2.Digest.String()+"), but it is NOT signed with content trust: "+dst+"/notrust/app:v2"))
		assert.Check(t, !strings.Contains(err.Error(), "NOT signed with Notation"), "the default key signed it anew")
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+dst+"/notrust/app:v2 with Notation"))
		complete := "`docker acrtrust copy --sign dct " + src + "/app:v2 " + dst + "/notrust/app`"
		assert.Check(t, is.Contains(err.Error(), complete))

		dstSB.SetContentTrust(true)
		dstSB.ResetStats()
		d, cli = copier(t, srcSB, dstSB, sandbox.UserSigner)
		assert.NilError(t, runCommand(t, d, "copy", "--sign", "dct", src+"/app:v2", dst+"/notrust/app"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+dst+"/notrust/app:v2"))
		assert.Check(t, is.Equal(dstSB.Stats().BlobUploads, 0), "the completing copy uploads nothing")

		dstSB.ResetStats()
		d, cli = copier(t, srcSB, dstSB, sandbox.UserSigner)
		assert.NilError(t, runCommand(t, d, "copy", "--sign", "both", "--notation-dir", home.dir, src+"/app:v2", dst+"/notrust/app"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "is already signed with Notation by this key"))
		assert.Check(t, is.Equal(dstSB.Stats().Publishes, 0), "a re-run duplicates nothing")
		desc := ocispec.Descriptor{Digest: v2.Digest, Size: v2.Size}
		assert.Check(t, is.Len(notationSignatures(t, dstSB, "notrust/app", desc), 1))
		_, err = notationVerify(t, dstSB, home.dir, "notrust/app", desc)
		assert.Check(t, err, "signed anew at DST by notation's default key")
	})

	t.Run("--key-name signs DST anew with that key of notation's configuration", func(t *testing.T) {
		home := newNotationHome(t, "release", "*")
		other := newNotationHome(t, "other", "*")
		keys := config.NewSigningKeys()
		assert.NilError(t, keys.Add("release", home.key, home.cert, true))
		assert.NilError(t, keys.Add("other", other.key, other.cert, false))
		home.write(t, dir.PathSigningKeys, keys)
		d, cli := copier(t, srcSB, dstSB, sandbox.UserSigner)
		assert.NilError(t, runCommand(t, d, "copy", "--sign", "notation", "--no-referrers", "--notation-dir", home.dir, "--key-name", "other", src+"/app:v1", dst+"/named/app"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), `Signing with Notation (notation key "other": `+other.key+")"))
		v1, err := cmdtest.IndependentResolve(t, srcSB, src+"/app:v1")
		assert.NilError(t, err)
		desc := ocispec.Descriptor{Digest: v1.Digest, Size: v1.Size}
		_, err = notationVerify(t, dstSB, other.dir, "named/app", desc)
		assert.Check(t, err, "signed at DST by the named key")
		_, err = notationVerify(t, dstSB, home.dir, "named/app", desc)
		assert.Check(t, err != nil, "not by the default one")
	})

	t.Run("DST is never signed for a digest it does not serve", func(t *testing.T) {
		d, _ := copier(t, srcSB, dstSB, sandbox.UserSigner)
		d.Init()
		other := cmdtest.DescriptorOf("another image")
		dstSB.ResetStats()
		err := signCopies(ctx, d, []copyJob{{
			src:    mustParseRef(t, src+"/app:v1"),
			dst:    mustParseRef(t, dst+"/prod/app:v1"),
			target: trust.Target{Name: "v1", Digest: other.Digest, Size: other.Size},
		}})
		assert.Check(t, is.ErrorContains(err, "not signing it"))
		assert.Check(t, is.Equal(dstSB.Stats().Publishes, 0))
	})
}

// TestCopyWithinRegistryMounts copies between two repositories of one
// registry whose blobs belong to repositories, as on ACR: every blob is
// mounted, none uploaded.
func TestCopyWithinRegistryMounts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox (run without -short)")
	}
	sb, err := sandbox.Start(sandbox.Options{RepositoryBlobs: true})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	assert.NilError(t, sb.Seed(context.Background(), []sandbox.SeedRepo{{Name: "build/app", Signed: []string{"v1"}}}, 1))
	d, cli := copier(t, sb, sb, sandbox.UserSigner)
	cli.Login(sb.Host(), sandbox.UserSigner, sandbox.Password)
	sb.ResetStats()
	assert.NilError(t, runCommand(t, d, "copy", sb.Host()+"/build/app:v1", sb.Host()+"/prod/app"))
	st := sb.Stats()
	assert.Check(t, is.Equal(st.BlobUploads, 0))
	assert.Check(t, is.Equal(st.BlobMounts, 2), "the config and the layer")
	assert.Check(t, is.Contains(cli.OutBuf.String(), "2 mounted"))
}

// TestCopyProgress is the one-line display on a terminal, cleared at the
// end; without a terminal nothing is shown.
func TestCopyProgress(t *testing.T) {
	var buf strings.Builder
	p := newCopyProgress(&buf, true, "r.example/app:v1")
	layer := ocispec.Descriptor{Digest: digest.FromString("layer"), Size: 2048}
	p.event(imagecopy.Event{Kind: imagecopy.Bytes, Desc: layer, Done: 2048})
	p.event(imagecopy.Event{Kind: imagecopy.Copied, Desc: layer})
	p.event(imagecopy.Event{Kind: imagecopy.Mounted, Desc: ocispec.Descriptor{Digest: digest.FromString("other")}})
	p.end()
	assert.Check(t, is.Contains(buf.String(), "Copying to r.example/app:v1: 1 copied, 1 mounted, 0 already there, 2.048kB read"))
	assert.Check(t, strings.HasSuffix(buf.String(), "\r\033[K"), "the line is cleared: %q", buf.String())

	buf.Reset()
	p = newCopyProgress(&buf, false, "r.example/app:v1")
	p.event(imagecopy.Event{Kind: imagecopy.Copied, Desc: layer})
	p.end()
	assert.Check(t, is.Equal(buf.String(), ""))
}
