package plugin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/notation-go/config"
	"github.com/notaryproject/notation-go/dir"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// notationHome is a notation configuration directory as the notation CLI
// leaves it after `notation cert generate-test --default NAME` and `notation
// policy import`: the key and certificate in localkeys/, the key as the
// default in signingkeys.json, the certificate in the trust store
// truststore/x509/ca/NAME/, and a trust policy that trusts it for scope.
type notationHome struct {
	dir, key, cert string
}

func newNotationHome(t testing.TB, name, scope string) notationHome {
	t.Helper()
	return newNotationHomeIn(t, t.TempDir(), name, scope)
}

// newNotationHomeIn makes the notation home in path.
func newNotationHomeIn(t testing.TB, path, name, scope string) notationHome {
	t.Helper()
	h := notationHome{dir: path}
	tc, err := notationbridge.GenerateTestCertificate(name, time.Now(), time.Hour)
	assert.NilError(t, err)
	h.key = filepath.Join(h.dir, dir.LocalKeysDir, name+dir.LocalKeyExtension)
	h.cert = filepath.Join(h.dir, dir.LocalKeysDir, name+dir.LocalCertificateExtension)
	store := filepath.Join(h.dir, filepath.FromSlash(dir.X509TrustStoreDir("ca", name)))
	for _, f := range []struct {
		path string
		data []byte
	}{{h.key, tc.KeyPEM}, {h.cert, tc.CertPEM}, {filepath.Join(store, name+".crt"), tc.CertPEM}} {
		assert.NilError(t, os.MkdirAll(filepath.Dir(f.path), 0o700))
		assert.NilError(t, os.WriteFile(f.path, f.data, 0o600))
	}
	keys := config.NewSigningKeys()
	assert.NilError(t, keys.Add(name, h.key, h.cert, true))
	h.write(t, dir.PathSigningKeys, keys)
	h.write(t, dir.PathTrustPolicy, map[string]any{
		"version": "1.0",
		"trustPolicies": []map[string]any{{
			"name": "acrtrust-test", "registryScopes": []string{scope},
			"signatureVerification": map[string]string{"level": "strict"},
			"trustStores":           []string{"ca:" + name}, "trustedIdentities": []string{"*"},
		}},
	})
	return h
}

// write writes v as notation-go's config package saves it: JSON indented
// by 4 spaces, mode 0600.
func (h notationHome) write(t testing.TB, name string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "    ")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(h.dir, name), append(b, '\n'), 0o600))
}

// TestSignAndRequireModes pushes with each --sign mode and consumes with
// each --require mode: pull and resolve take the tag exactly when what it
// requires was signed, and the Notation verdicts come from notation-go's
// verifier with the trust policy and store as the notation CLI writes them.
func TestSignAndRequireModes(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	home := newNotationHome(t, "release", "*")
	env := cmdtest.PassphraseEnv()
	env["XDG_CONFIG_HOME"] = filepath.Dir(home.dir) // not notation's: --notation-dir wins
	signer, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, env)

	pushed := map[string]ocispec.Descriptor{}
	for _, mode := range []string{cmdutil.SignDCT, cmdutil.SignNotation, cmdutil.SignBoth} {
		repo := "signed-" + mode
		pushed[mode] = cmdtest.PushImages(t, sb, repo, "v1")["v1"]
		cli := signer.CLI.(*cmdtest.FakeCLI)
		cli.OutBuf.Reset()
		assert.NilError(t, runCommand(t, signer, "push", "--sign", mode, "--notation-dir", home.dir, host+"/"+repo+":v1"))
		out := cli.OutBuf.String()
		assert.Check(t, is.Equal(strings.Contains(out, "Successfully signed "+host+"/"+repo+":v1\n"), cmdutil.SignsDCT(mode)), out)
		assert.Check(t, is.Equal(strings.Contains(out, "Successfully signed "+host+"/"+repo+":v1 with Notation ("+pushed[mode].Digest.String()+")"), cmdutil.SignsNotation(mode)), out)
		_, err := notationVerify(t, sb, home.dir, repo, pushed[mode])
		assert.Check(t, is.Equal(err == nil, cmdutil.SignsNotation(mode)), "notation-go's verdict on --sign %s: %v", mode, err)
		_, err = cmdtest.IndependentResolve(t, sb, host+"/"+repo+":v1")
		assert.Check(t, is.Equal(err == nil, cmdutil.SignsDCT(mode)), "content trust on --sign %s: %v", mode, err)
	}

	for _, mode := range []string{cmdutil.SignDCT, cmdutil.SignNotation, cmdutil.SignBoth} {
		for _, req := range []string{requireDCT, requireNotation, requireBoth} {
			t.Run(fmt.Sprintf("sign %s, require %s", mode, req), func(t *testing.T) {
				image := host + "/signed-" + mode + ":v1"
				ok := (req == requireNotation || cmdutil.SignsDCT(mode)) && (req == requireDCT || cmdutil.SignsNotation(mode))
				d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
				err := runCommand(t, d, "pull", "--require", req, "--notation-dir", home.dir, image)
				assert.Check(t, is.Equal(err == nil, ok), "pull: %v", err)
				if ok {
					assert.Check(t, is.DeepEqual(eng.Pulled, []string{host + "/signed-" + mode + "@" + pushed[mode].Digest.String()}))
				} else {
					assert.Check(t, is.Len(eng.Pulled, 0), "nothing pulled")
				}
				if err != nil && req != requireDCT && cmdutil.SignsDCT(mode) {
					assert.Check(t, is.ErrorContains(err, "no Notation signature that the trust policy accepts on "+pushed[mode].Digest.String()))
				}

				d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{envRequire: req})
				err = runCommand(t, d, "resolve", "--notation-dir", home.dir, image)
				assert.Check(t, is.Equal(err == nil, ok), "resolve: %v", err)
				if ok {
					assert.Check(t, is.Equal(cli.OutBuf.String(), host+"/signed-"+mode+"@"+pushed[mode].Digest.String()+"\n"))
				} else {
					assert.Check(t, is.Equal(cli.OutBuf.String(), ""))
				}
			})
		}
	}
}

// TestPushSignBothAgainDuplicatesNothing: a second push of the same image
// with --sign both publishes no trust data and pushes no signature, and
// says so per format.
func TestPushSignBothAgainDuplicatesNothing(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	home := newNotationHome(t, "release", "*")
	desc := cmdtest.PushImages(t, sb, "app", "v1")["v1"]
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	args := []string{"push", "--sign", "both", "--key", home.key, "--cert", home.cert, host + "/app:v1"}
	assert.NilError(t, runCommand(t, d, args...))
	assert.Check(t, is.Len(notationSignatures(t, sb, "app", desc), 1))

	cli.OutBuf.Reset()
	sb.ResetStats()
	assert.NilError(t, runCommand(t, d, args...))
	out := cli.OutBuf.String()
	assert.Check(t, is.Contains(out, "Tag "+host+"/app:v1 is already signed for "+desc.Digest.String()))
	assert.Check(t, is.Contains(out, "Tag "+host+"/app:v1 is already signed with Notation by this key at "+desc.Digest.String()+"; nothing to sign"))
	assert.Check(t, is.Equal(sb.Stats().Publishes, 0))
	assert.Check(t, is.Len(notationSignatures(t, sb, "app", desc), 1))
}

// TestSignBothCompletesWhatFailed: content trust is refused (a login
// without AcrImageSigner) while Notation signs; the error names the format
// and the tags missing, and the command it gives completes the signing
// without a second Notation signature.
func TestSignBothCompletesWhatFailed(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	home := newNotationHome(t, "release", "*")
	descs := cmdtest.PushImages(t, sb, "app", "v1", "v2")
	args := []string{"sign", "--sign", "both", "--key", home.key, "--cert", home.cert, host + "/app:v1", host + "/app:v2"}

	pusher, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, cmdtest.PassphraseEnv())
	err := runCommand(t, pusher, args...)
	assert.Assert(t, err != nil)
	assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), cmdutil.ExitFailure))
	assert.Check(t, is.ErrorContains(err, "NOT signed with content trust: "+host+"/app:v1, "+host+"/app:v2"))
	complete := "docker acrtrust sign --sign dct " + host + "/app:v1 " + host + "/app:v2"
	assert.Check(t, is.Contains(err.Error(), "`"+complete+"`"))
	assertRemedyNamesExist(t, remedyLines(err), "sign")
	for _, desc := range descs {
		assert.Check(t, is.Len(notationSignatures(t, sb, "app", desc), 1))
	}

	// Running --sign both again, as someone who may sign, completes it.
	signer, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, signer, args...))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+host+"/app:v2\n"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Tag "+host+"/app:v2 is already signed with Notation by this key"))
	for tag, desc := range descs {
		assert.Check(t, is.Len(notationSignatures(t, sb, "app", desc), 1), tag)
		got, err := cmdtest.IndependentResolve(t, sb, host+"/app:"+tag)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got.Digest, desc.Digest))
	}
}

// TestSignNotationWithoutContentTrust: on a registry without content
// trust, push and sign --sign notation sign with notation's default key
// (found through XDG_CONFIG_HOME, as notation finds it) and never ask a
// trust server; the default --sign dct fails with the registry setting and
// the --sign notation alternative.
func TestSignNotationWithoutContentTrust(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	sb.SetContentTrust(false)
	host := sb.Host()
	xdg := t.TempDir()
	newNotationHomeIn(t, filepath.Join(xdg, "notation"), "release", "*")
	descs := cmdtest.PushImages(t, sb, "app", "v1", "v2")

	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, map[string]string{"XDG_CONFIG_HOME": xdg, cmdutil.EnvSign: "notation"})
	sb.ResetStats()
	assert.NilError(t, runCommand(t, d, "push", host+"/app:v1"))
	assert.NilError(t, runCommand(t, d, "sign", host+"/app:v2"))
	assert.Check(t, is.Equal(sb.Stats().TrustRequests, 0))
	assert.Check(t, !strings.Contains(cli.OutBuf.String(), "trust metadata"), cli.OutBuf.String())
	for tag, desc := range descs {
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+host+"/app:"+tag+" with Notation ("+desc.Digest.String()+")"))
		_, err := notationVerify(t, sb, filepath.Join(xdg, "notation"), "app", desc)
		assert.Check(t, err, "%s", tag)
	}

	t.Run("pull --require notation", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, map[string]string{"XDG_CONFIG_HOME": xdg, envRequire: "notation"})
		assert.NilError(t, runCommand(t, d, "pull", host+"/app:v2"))
		assert.Check(t, is.DeepEqual(eng.Pulled, []string{host + "/app@" + descs["v2"].Digest.String()}))
	})

	t.Run("the default --sign dct names the setting and the alternative", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
		err := runCommand(t, d, "push", host+"/app:v1")
		assert.Assert(t, err != nil)
		assert.Check(t, is.Contains(err.Error(), "content trust"))
		assert.Check(t, is.Contains(err.Error(), "--sign notation"))
		assertRemedyNamesExist(t, remedyLines(err), "push")
	})

	t.Run("no Notation key anywhere", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, map[string]string{"XDG_CONFIG_HOME": t.TempDir()})
		err := runCommand(t, d, "push", "--sign", "notation", host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, "no Notation signing key"))
		assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), cmdutil.ExitUsage))
		assert.Check(t, is.Len(eng.Pushed, 0), "refused before the push")
	})
}

// TestPushSignNotationWithPluginKey signs through the plugin protocol, with
// the test plugin standing in for notation-azure-kv.
func TestPushSignNotationWithPluginKey(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	home := newNotationHome(t, "kvkey", "*")
	buildTestPlugin(t, home.dir)
	desc := cmdtest.PushImages(t, sb, "app", "v1")["v1"]
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, nil)
	assert.NilError(t, runCommand(t, d, "push", "--sign", "notation", "--notation-dir", home.dir, "--signature-format", "cose",
		"--plugin", "testkv", "--id", "kvkey", "--plugin-config", "keys="+filepath.Dir(home.key), host+"/app:v1"))
	_, err := notationVerify(t, sb, home.dir, "app", desc)
	assert.Check(t, err)
}

func TestSignModeArguments(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "unknown mode", args: []string{"push", "--sign", "cosign", "r.example/a:v1"}, wantErr: `invalid --sign "cosign": use dct, notation or both`},
		{name: "unknown mode from the environment", args: []string{"sign", "r.example/a:v1"}, env: map[string]string{cmdutil.EnvSign: "x"}, wantErr: `invalid ACRTRUST_SIGN "x"`},
		{name: "a Notation key with content trust only", args: []string{"push", "--key", "k", "--cert", "c", "r.example/a:v1"}, wantErr: "add --sign notation or --sign both"},
		{name: "a key without its certificate", args: []string{"push", "--sign", "both", "--key", "k", "r.example/a:v1"}, wantErr: "--key and --cert go together"},
		{name: "bad envelope format", args: []string{"push", "--sign", "notation", "--signature-format", "x", "r.example/a:v1"}, wantErr: "invalid --signature-format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), tc.env)
			eng := &cmdtest.FakeEngine{}
			d.Engine, d.Registry = eng, cmdtest.FakeRegistry{}
			err := runCommand(t, d, tc.args...)
			assert.Check(t, is.ErrorContains(err, tc.wantErr))
			assert.Check(t, is.Equal(cmdtest.StatusCode(t, err), cmdutil.ExitUsage))
			assert.Check(t, is.Len(eng.Pushed, 0))
		})
	}
}

// TestRefreshSignBoth: refresh --sign both gives every tag content trust
// signs a Notation signature on the signed digest, once; an unsigned tag
// gets none.
func TestRefreshSignBoth(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	home := newNotationHome(t, "release", "*")
	descs := cmdtest.PushImages(t, sb, "app", "v1", "v2", "dev")
	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, d, "sign", host+"/app:v1", host+"/app:v2"))

	args := []string{"refresh", "--sign", "both", "--notation-dir", home.dir, host + "/app"}
	cli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, d, args...))
	assert.Check(t, is.Contains(cli.OutBuf.String(), host+"/app: nothing expires within 30d"))
	for _, tag := range []string{"v1", "v2"} {
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+host+"/app:"+tag+" with Notation ("+descs[tag].Digest.String()+")"))
		_, err := notationVerify(t, sb, home.dir, "app", descs[tag])
		assert.Check(t, err, tag)
	}
	assert.Check(t, is.Len(notationSignatures(t, sb, "app", descs["dev"]), 0), "content trust did not sign dev")

	cli.OutBuf.Reset()
	assert.NilError(t, runCommand(t, d, args...))
	assert.Check(t, is.Equal(strings.Count(cli.OutBuf.String(), "is already signed with Notation by this key"), 2), cli.OutBuf.String())
	for _, tag := range []string{"v1", "v2"} {
		assert.Check(t, is.Len(notationSignatures(t, sb, "app", descs[tag]), 1), tag)
	}
}

// remedyLines is what follows the first line of err's message: its remedy.
func remedyLines(err error) string {
	_, rest, _ := strings.Cut(err.Error(), "\n")
	return rest
}

// TestPushSignBothPartialFailure: the image is pushed, Notation signs it,
// content trust refuses the login: the push fails, says the image is in the
// registry without content trust, and names the sign command that adds it.
// With DOCKER_CONTENT_TRUST=0, asking for Notation still signs.
func TestPushSignBothPartialFailure(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	home := newNotationHome(t, "release", "*")
	descs := cmdtest.PushImages(t, sb, "app", "v1", "v2")

	env := cmdtest.PassphraseEnv()
	env["DOCKER_CONTENT_TRUST"] = "0"
	d, _, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, env)
	err := runCommand(t, d, "push", "--sign", "both", "--notation-dir", home.dir, host+"/app:v1")
	assert.Assert(t, err != nil)
	assert.Check(t, is.DeepEqual(eng.Pushed, []string{host + "/app:v1"}))
	assert.Check(t, is.ErrorContains(err, "the image was pushed to the registry, but it is NOT signed with content trust: "+host+"/app:v1"))
	assert.Check(t, is.Contains(err.Error(), "`docker acrtrust sign --sign dct "+host+"/app:v1`"))
	assertRemedyNamesExist(t, remedyLines(err), "push")
	assert.Check(t, is.Len(notationSignatures(t, sb, "app", descs["v1"]), 1))

	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, map[string]string{"DOCKER_CONTENT_TRUST": "0", cmdutil.EnvSign: "notation"})
	assert.NilError(t, runCommand(t, d, "push", "--notation-dir", home.dir, host+"/app:v2"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Successfully signed "+host+"/app:v2 with Notation"))
	assert.Check(t, !strings.Contains(cli.ErrBuf.String(), "WARNING"), cli.ErrBuf.String())
}

// TestSignWithANamedNotationKey: --key-name picks a key of notation's
// signingkeys.json other than its default, as notation sign --key NAME.
func TestSignWithANamedNotationKey(t *testing.T) {
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	home := newNotationHome(t, "release", "*")
	other := newNotationHome(t, "other", "*")
	keys := config.NewSigningKeys()
	assert.NilError(t, keys.Add("release", home.key, home.cert, true))
	assert.NilError(t, keys.Add("other", other.key, other.cert, false))
	home.write(t, dir.PathSigningKeys, keys)
	desc := cmdtest.PushImages(t, sb, "app", "v1")["v1"]

	d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, nil)
	assert.NilError(t, runCommand(t, d, "sign", "--sign", "notation", "--notation-dir", home.dir, "--key-name", "other", host+"/app:v1"))
	assert.Check(t, is.Contains(cli.OutBuf.String(), `Signing with Notation (notation key "other": `+other.key+")"))
	_, err := notationVerify(t, sb, other.dir, "app", desc)
	assert.Check(t, err, "signed by the named key")
	_, err = notationVerify(t, sb, home.dir, "app", desc)
	assert.Check(t, err != nil, "not by the default one")

	err = runCommand(t, d, "sign", "--sign", "notation", "--notation-dir", home.dir, "--key-name", "nope", host+"/app:v1")
	assert.Check(t, is.ErrorContains(err, `signing key nope not found`))
	err = runCommand(t, d, "sign", "--sign", "notation", "--key-name", "other", "--key", home.key, "--cert", home.cert, host+"/app:v1")
	assert.Check(t, is.ErrorContains(err, "--key-name names a key of notation's configuration"))
}
