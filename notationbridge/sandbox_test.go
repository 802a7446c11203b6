package notationbridge

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/notaryproject/notation-go/config"
	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// startSandbox starts the sandbox with content trust off: every request
// under /_trust/ answers 404, as on an ACR registry created after
// 2026-05-31. Nothing here may need a trust server.
func startSandbox(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the in-process sandbox")
	}
	sb, err := sandbox.Start(opts)
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	sb.SetContentTrust(false)
	return sb
}

// sandboxRepository is repo of the sandbox through oras-go with token auth
// as user, notation's view of it.
func sandboxRepository(t testing.TB, sb *sandbox.Sandbox, user, repo string) registry.Repository {
	t.Helper()
	r, err := remote.NewRepository(sb.Host() + "/" + repo)
	assert.NilError(t, err)
	r.Client = &auth.Client{
		Client:     sb.HTTPClient(),
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(sb.Host(), auth.Credential{Username: user, Password: sandbox.Password}),
	}
	return NewRepository(r)
}

// notationConfig is a notation configuration directory with a test key
// in localkeys/NAME.{key,crt} and its certificate in the trust store,
// as `notation cert generate-test NAME` leaves them.
type notationConfig struct {
	dir        string
	key, cert  string
	certsDir   string // localkeys
	commonName string
}

func newNotationConfig(t testing.TB, name string) notationConfig {
	t.Helper()
	c := notationConfig{dir: t.TempDir(), commonName: name}
	tc, err := GenerateTestCertificate(name, time.Now(), time.Hour)
	assert.NilError(t, err)
	c.certsDir = filepath.Join(c.dir, dir.LocalKeysDir)
	c.key = filepath.Join(c.certsDir, name+dir.LocalKeyExtension)
	c.cert = filepath.Join(c.certsDir, name+dir.LocalCertificateExtension)
	store := filepath.Join(c.dir, dir.X509TrustStoreDir("ca", name))
	assert.NilError(t, os.MkdirAll(c.certsDir, 0o700))
	assert.NilError(t, os.MkdirAll(store, 0o700))
	assert.NilError(t, os.WriteFile(c.key, tc.KeyPEM, 0o600))
	assert.NilError(t, os.WriteFile(c.cert, tc.CertPEM, 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(store, name+".crt"), tc.CertPEM, 0o644))
	return c
}

// writeSigningKeys writes signingkeys.json as the notation CLI's
// config.SigningKeys.Save does: notation-go's type, 4-space indented JSON,
// mode 0600.
func (c notationConfig) writeSigningKeys(t testing.TB, keys *config.SigningKeys) {
	t.Helper()
	b, err := json.MarshalIndent(keys, "", "    ")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(c.dir, dir.PathSigningKeys), append(b, '\n'), 0o600))
}

// writePolicy trusts the test certificate for every repository, in
// trustpolicy.json as `notation policy import` writes it.
func (c notationConfig) writePolicy(t testing.TB, scope string) {
	t.Helper()
	policy := map[string]any{
		"version": "1.0",
		"trustPolicies": []map[string]any{{
			"name":                  "test",
			"registryScopes":        []string{scope},
			"signatureVerification": map[string]string{"level": "strict"},
			"trustStores":           []string{"ca:" + c.commonName},
			"trustedIdentities":     []string{"*"},
		}},
	}
	b, err := json.MarshalIndent(policy, "", "    ")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(c.dir, dir.PathTrustPolicy), b, 0o600))
}

// buildTestPlugin builds the test signing plugin (plugin/testdata/
// notation-testkv) where notation looks for a plugin named testkv.
func buildTestPlugin(t testing.TB, configDir string) {
	t.Helper()
	out := filepath.Join(configDir, dir.PathPlugins, "testkv", "notation-testkv")
	cmd := exec.Command("go", "build", "-o", out, "../plugin/testdata/notation-testkv")
	b, err := cmd.CombinedOutput()
	assert.NilError(t, err, "building the test plugin: %s", b)
}

func TestSignNewWithoutTrustServer(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		opts   sandbox.Options
		format string
		key    func(t *testing.T, c notationConfig) KeySpec
	}{
		{
			name: "notation's default key, Referrers API, JWS",
			key: func(t *testing.T, c notationConfig) KeySpec {
				keys := config.NewSigningKeys()
				assert.NilError(t, keys.Add("other", c.key, c.cert, false))
				assert.NilError(t, keys.Add("release", c.key, c.cert, true))
				c.writeSigningKeys(t, keys)
				return KeySpec{ConfigDir: c.dir}
			},
		},
		{
			name:   "key files, referrers tag schema, COSE",
			opts:   sandbox.Options{NoReferrersAPI: true},
			format: FormatCOSE,
			key: func(t *testing.T, c notationConfig) KeySpec {
				return KeySpec{KeyFile: c.key, CertFile: c.cert, ConfigDir: c.dir}
			},
		},
		{
			name: "a plugin key that is notation's default",
			key: func(t *testing.T, c notationConfig) KeySpec {
				buildTestPlugin(t, c.dir)
				keys := config.NewSigningKeys()
				keys.Keys = append(keys.Keys, config.KeySuite{Name: "kv", ExternalKey: &config.ExternalKey{
					ID: c.commonName, PluginName: "testkv", PluginConfig: map[string]string{"keys": c.certsDir},
				}})
				keys.Default = &keys.Keys[0].Name
				c.writeSigningKeys(t, keys)
				return KeySpec{ConfigDir: c.dir}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := startSandbox(t, tc.opts)
			c := newNotationConfig(t, "release")
			desc, err := sb.PushRandomImage(ctx, "app", "v1")
			assert.NilError(t, err)
			other, err := sb.PushRandomImage(ctx, "app", "v2")
			assert.NilError(t, err)
			s, err := OpenSigner(ctx, tc.key(t, c))
			assert.NilError(t, err)
			repo := sandboxRepository(t, sb, sandbox.UserPush, "app")
			sb.ResetStats()

			opts := SignOptions{Format: tc.format, UserMetadata: map[string]string{"io.acrtrust.tag": "v1"}}
			out, err := SignNew(ctx, s, repo, desc, opts)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(out, Signed))
			out, err = SignNew(ctx, s, repo, desc, opts)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(out, AlreadySigned), "a second run signs nothing again")
			n, err := CountSignatures(ctx, repo, desc)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(n, 1))
			n, err = CountSignatures(ctx, repo, other)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(n, 0), "only the digest that was signed")
			assert.Check(t, is.Equal(sb.Stats().TrustRequests, 0), "nothing asked a trust server")

			c.writePolicy(t, sb.Host()+"/app")
			v, err := LoadVerifier(c.dir)
			assert.NilError(t, err)
			got, err := v.Verify(ctx, repo, sb.Host()+"/app@"+desc.Digest.String())
			assert.NilError(t, err)
			assert.Check(t, is.Equal(got.Digest, desc.Digest))
			assert.Check(t, is.Equal(got.UserMetadata["io.acrtrust.tag"], "v1"))
			_, err = v.Verify(ctx, repo, sb.Host()+"/app@"+other.Digest.String())
			assert.Check(t, IsNoSignature(err), "the unsigned digest: %v", err)
		})
	}
}

func TestSignNewSignsAgainWithAnotherKey(t *testing.T) {
	ctx := context.Background()
	sb := startSandbox(t, sandbox.Options{})
	desc, err := sb.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)
	repo := sandboxRepository(t, sb, sandbox.UserPush, "app")
	for _, name := range []string{"first", "second"} {
		c := newNotationConfig(t, name)
		s, err := OpenSigner(ctx, KeySpec{KeyFile: c.key, CertFile: c.cert})
		assert.NilError(t, err)
		out, err := SignNew(ctx, s, repo, desc, SignOptions{})
		assert.NilError(t, err)
		assert.Check(t, is.Equal(out, Signed), name)
	}
	n, err := CountSignatures(ctx, repo, desc)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(n, 2))
}

func TestSignNewRefusesAPullOnlyLogin(t *testing.T) {
	ctx := context.Background()
	sb := startSandbox(t, sandbox.Options{})
	desc, err := sb.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)
	c := newNotationConfig(t, "k")
	s, err := OpenSigner(ctx, KeySpec{KeyFile: c.key, CertFile: c.cert})
	assert.NilError(t, err)
	_, err = SignNew(ctx, s, sandboxRepository(t, sb, sandbox.UserPull, "app"), desc, SignOptions{})
	assert.Check(t, is.ErrorContains(err, "signing "+desc.Digest.String()+" with Notation"))
	n, err := CountSignatures(ctx, sandboxRepository(t, sb, sandbox.UserPull, "app"), desc)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(n, 0), "nothing half-written")
}

func TestSignNewAll(t *testing.T) {
	ctx := context.Background()
	sb := startSandbox(t, sandbox.Options{})
	var descs []ocispec.Descriptor
	for _, tag := range []string{"v1", "v2", "v3"} {
		d, err := sb.PushRandomImage(ctx, "app", tag)
		assert.NilError(t, err)
		descs = append(descs, d)
	}
	gone := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("gone"), Size: 2}
	c := newNotationConfig(t, "k")
	s, err := OpenSigner(ctx, KeySpec{KeyFile: c.key, CertFile: c.cert})
	assert.NilError(t, err)
	repo := sandboxRepository(t, sb, sandbox.UserPush, "app")
	_, err = SignNew(ctx, s, repo, descs[1], SignOptions{})
	assert.NilError(t, err)

	results := SignNewAll(ctx, s, repo, append(descs, gone), SignOptions{}, 2)
	assert.Assert(t, is.Len(results, 4))
	for i, want := range []Outcome{Signed, AlreadySigned, Signed} {
		assert.Check(t, results[i].Err == nil, "%d: %v", i, results[i].Err)
		assert.Check(t, is.Equal(results[i].Desc.Digest, descs[i].Digest))
		assert.Check(t, is.Equal(results[i].Outcome, want), "%d", i)
		n, err := CountSignatures(ctx, repo, descs[i])
		assert.NilError(t, err)
		assert.Check(t, is.Equal(n, 1), "%d: one signature, whatever the runs", i)
	}
	assert.Check(t, results[3].Err != nil, "a digest the registry does not have fails alone")
}

func TestCheckDigest(t *testing.T) {
	ctx := context.Background()
	sb := startSandbox(t, sandbox.Options{})
	signed, err := sb.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)
	untrusted, err := sb.PushRandomImage(ctx, "app", "v2")
	assert.NilError(t, err)
	unsigned, err := sb.PushRandomImage(ctx, "app", "v3")
	assert.NilError(t, err)
	repo := sandboxRepository(t, sb, sandbox.UserPush, "app")
	trusted, stranger := newNotationConfig(t, "trusted"), newNotationConfig(t, "stranger")
	for _, x := range []struct {
		c    notationConfig
		desc ocispec.Descriptor
	}{{trusted, signed}, {stranger, untrusted}} {
		s, err := OpenSigner(ctx, KeySpec{KeyFile: x.c.key, CertFile: x.c.cert})
		assert.NilError(t, err)
		_, err = SignNew(ctx, s, repo, x.desc, SignOptions{})
		assert.NilError(t, err)
	}
	trusted.writePolicy(t, sb.Host()+"/app")
	v, err := LoadVerifier(trusted.dir)
	assert.NilError(t, err)
	name := sb.Host() + "/app"

	for _, tc := range []struct {
		name string
		desc ocispec.Descriptor
		v    *Verifier
		want Status
	}{
		{"signed by a trusted key", signed, v, Status{Signatures: 1, Checked: true, Verified: true}},
		{"signed by a key the policy does not trust", untrusted, v, Status{Signatures: 1, Checked: true}},
		{"unsigned", unsigned, v, Status{}},
		{"no verifier: counted only", signed, nil, Status{Signatures: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckDigest(ctx, repo, name, tc.desc, tc.v)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(got.Problem != "", tc.want.Checked && !tc.want.Verified), got.Problem)
			got.Problem = ""
			assert.Check(t, is.DeepEqual(got, tc.want))
		})
	}
}
