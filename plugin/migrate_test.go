package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/migrate"

	"github.com/notaryproject/notation-core-go/signature/cose"
	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	notationregistry "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// notationRepo is an independent notation-go view of repo in the sandbox,
// through a plain oras-go client logged in as the puller.
func notationRepo(t *testing.T, sb *sandbox.Sandbox, repo string) notationregistry.Repository {
	t.Helper()
	r, err := remote.NewRepository(sb.Host() + "/" + repo)
	assert.NilError(t, err)
	r.Client = &auth.Client{
		Client:     sb.HTTPClient(),
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(sb.Host(), auth.Credential{Username: sandbox.UserPull, Password: sandbox.Password}),
	}
	return notationregistry.NewRepository(r)
}

// notationVerify verifies name@digest with notation-go's own verifier,
// trust policy and trust store read from policyDir, as `notation verify`
// does, and returns the accepted signature's user metadata.
func notationVerify(t *testing.T, sb *sandbox.Sandbox, policyDir, repo string, desc ocispec.Descriptor) (map[string]string, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(policyDir, "trustpolicy.json"))
	assert.NilError(t, err)
	var doc trustpolicy.Document
	assert.NilError(t, json.Unmarshal(b, &doc))
	v, err := verifier.New(&doc, truststore.NewX509TrustStore(dir.NewSysFS(policyDir)), nil)
	assert.NilError(t, err)
	_, outcomes, err := notation.Verify(context.Background(), v, notationRepo(t, sb, repo), notation.VerifyOptions{
		ArtifactReference:    sb.Host() + "/" + repo + "@" + desc.Digest.String(),
		MaxSignatureAttempts: 10,
	})
	if err != nil {
		return nil, err
	}
	return outcomes[0].UserMetadata()
}

// notationSignatures lists the media types of desc's Notation signatures.
func notationSignatures(t *testing.T, sb *sandbox.Sandbox, repo string, desc ocispec.Descriptor) []string {
	t.Helper()
	nr := notationRepo(t, sb, repo)
	var out []string
	err := nr.ListSignatures(context.Background(), desc, func(ms []ocispec.Descriptor) error {
		for _, m := range ms {
			_, blobDesc, err := nr.FetchSignatureBlob(context.Background(), m)
			if err != nil {
				return err
			}
			out = append(out, blobDesc.MediaType)
		}
		return nil
	})
	assert.NilError(t, err)
	sort.Strings(out)
	return out
}

// migrateStack is a sandbox with repository "app": v1 and a multi-platform
// index "multi" signed by the repository admin into targets, v2 signed by
// the signer alice into targets/releases; and a test key made with
// `migrate cert generate-test`.
type migrateStack struct {
	signerStack
	pushed      map[string]ocispec.Descriptor
	notationDir string
	key, cert   string
	alice       delegateKey // the signer of targets/releases
}

func newMigrateStack(t *testing.T) migrateStack {
	t.Helper()
	st := newSignerStack(t)
	host := st.sb.Host()
	pushed := cmdtest.PushImages(t, st.sb, "app", "v1", "v2")
	idx, err := st.sb.PushRandomIndex(context.Background(), "app", "multi")
	assert.NilError(t, err)
	pushed["multi"] = idx

	admin, _ := st.machine(t, sandbox.UserSigner, cmdtest.PassphraseEnv(), "", false)
	assert.NilError(t, runCommand(t, admin, "sign", host+"/app:v1", host+"/app:multi"))
	alice := newDelegateKey(t, "alice")
	d, _ := cmdtest.SameMachine(t, admin)
	assert.NilError(t, runCommand(t, d, "signer", "add", "--key", alice.pubPath, "alice", host+"/app"))
	d, _ = st.delegate(t, alice, map[string]string{"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": cmdtest.TestRepoPass}, "", false)
	assert.NilError(t, runCommand(t, d, "sign", host+"/app:v2"))

	ms := migrateStack{signerStack: st, pushed: pushed, notationDir: t.TempDir(), alice: alice}
	d, cli := st.machine(t, sandbox.UserPull, nil, "", false)
	assert.NilError(t, runCommand(t, d, "migrate", "cert", "generate-test", "--notation-dir", ms.notationDir, "migration-test"))
	ms.key = filepath.Join(ms.notationDir, "localkeys", "migration-test.key")
	ms.cert = filepath.Join(ms.notationDir, "localkeys", "migration-test.crt")
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Sign with: docker acrtrust migrate --key "+ms.key+" --cert "+ms.cert))
	fi, err := os.Stat(ms.key)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)), "the private key is the user's only")
	return ms
}

// signAsAlice signs tags of app with content trust, as the signer alice.
func (ms migrateStack) signAsAlice(t *testing.T, tags ...string) {
	t.Helper()
	d, _ := ms.delegate(t, ms.alice, map[string]string{"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": cmdtest.TestRepoPass}, "", false)
	args := []string{"sign"}
	for _, tag := range tags {
		args = append(args, ms.sb.Host()+"/app:"+tag)
	}
	assert.NilError(t, runCommand(t, d, args...))
}

// migrate runs migrate as a machine with push rights (signatures are pushed
// to the registry) and returns its JSON report.
func (ms migrateStack) migrate(t *testing.T, args ...string) (migrate.MigrateReport, error) {
	t.Helper()
	d, cli := ms.machine(t, sandbox.UserPush, nil, "", false)
	full := append([]string{"migrate", "--key", ms.key, "--cert", ms.cert, "--format", "json"}, args...)
	err := runCommand(t, d, full...)
	var rep migrate.MigrateReport
	assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &rep), "stdout: %s\nstderr: %s", cli.OutBuf.String(), cli.ErrBuf.String())
	return rep, err
}

func tagStatuses(rep migrate.MigrateReport) map[string]string {
	out := map[string]string{}
	for _, r := range rep.Repositories {
		for _, t := range r.Tags {
			out[t.Tag] = t.Status
		}
	}
	return out
}

func TestMigrateSignsWhatContentTrustVerified(t *testing.T) {
	t.Parallel() // it owns its sandbox
	ms := newMigrateStack(t)
	host := ms.sb.Host()
	policyDir := t.TempDir()

	// Resumable: a run cut short after v1 ...
	rep, err := ms.migrate(t, host+"/app:v1")
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(tagStatuses(rep), map[string]string{"v1": migrate.MigrateSigned}))

	// ... and the whole repository afterwards: v1 is not signed twice.
	rep, err = ms.migrate(t, "--all-tags", "--emit-policy", policyDir, host+"/app")
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(tagStatuses(rep), map[string]string{"v1": migrate.MigrateSkipped, "v2": migrate.MigrateSigned, "multi": migrate.MigrateSigned}))
	assert.Check(t, is.DeepEqual(rep.Summary, migrate.MigrateSummary{Signed: 2, AlreadySigned: 1}))
	for _, tr := range rep.Repositories[0].Tags {
		assert.Check(t, is.Equal(tr.Digest, ms.pushed[tr.Tag].Digest.String()), tr.Tag)
	}

	rootIDs := notaryRootKeyIDs(t, ms.sb, "app")
	for tag, wantRole := range map[string]string{"v1": "targets", "multi": "targets", "v2": "targets/releases"} {
		t.Run("notation verifies "+tag, func(t *testing.T) {
			md, err := notationVerify(t, ms.sb, policyDir, "app", ms.pushed[tag])
			assert.NilError(t, err)
			assert.Check(t, is.Equal(md[notationbridge.MetaTag], tag))
			assert.Check(t, is.Equal(md[notationbridge.MetaRole], wantRole))
			assert.Check(t, is.Equal(md[notationbridge.MetaRepository], host+"/app"))
			assert.Check(t, is.Equal(md[notationbridge.MetaRootKeyID], strings.Join(rootIDs, ",")))
			assert.Check(t, md[notationbridge.MetaTargetsVersion] != "" && md[notationbridge.MetaTargetsVersion] != "0", md[notationbridge.MetaTargetsVersion])
			if tag == "v2" {
				assert.Check(t, is.Equal(md[notationbridge.MetaSigners], "alice"))
			} else {
				_, ok := md[notationbridge.MetaSigners]
				assert.Check(t, !ok, "the admin signed %s: no signer names", tag)
			}
			assert.Check(t, is.DeepEqual(notationSignatures(t, ms.sb, "app", ms.pushed[tag]), []string{jws.MediaTypeEnvelope}))
		})
	}

	t.Run("a re-run changes nothing", func(t *testing.T) {
		rep, err := ms.migrate(t, "--all-tags", host+"/app")
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(rep.Summary, migrate.MigrateSummary{AlreadySigned: 3}))
		for tag, desc := range ms.pushed {
			assert.Check(t, is.Len(notationSignatures(t, ms.sb, "app", desc), 1), tag)
		}
	})

	t.Run("another key signs again, as COSE", func(t *testing.T) {
		other := t.TempDir()
		d, _ := ms.machine(t, sandbox.UserPull, nil, "", false)
		assert.NilError(t, runCommand(t, d, "migrate", "cert", "generate-test", "--notation-dir", other, "other"))
		d, cli := ms.machine(t, sandbox.UserPush, nil, "", false)
		assert.NilError(t, runCommand(t, d, "migrate", "--signature-format", "cose",
			"--key", filepath.Join(other, "localkeys", "other.key"), "--cert", filepath.Join(other, "localkeys", "other.crt"), host+"/app:v1"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "(1 of 1) "+host+"/app@"+ms.pushed["v1"].Digest.String()+" (v1): signed"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Summary: 1 tags signed, 0 already signed, 0 refused, 0 failed"))
		assert.Check(t, is.DeepEqual(notationSignatures(t, ms.sb, "app", ms.pushed["v1"]), []string{cose.MediaTypeEnvelope, jws.MediaTypeEnvelope}))
	})
}

// notaryRootKeyIDs is what an independent notary client reads as the root
// role's key IDs.
func notaryRootKeyIDs(t *testing.T, sb *sandbox.Sandbox, repo string) []string {
	t.Helper()
	roles, err := independentRepo(t, sb, repo).ListRoles()
	assert.NilError(t, err)
	for _, r := range roles {
		if r.Name == "root" {
			ids := append([]string{}, r.KeyIDs...)
			sort.Strings(ids)
			return ids
		}
	}
	t.Fatal("no root role")
	return nil
}

func TestMigrateRefusesWhatContentTrustDoesNotVerify(t *testing.T) {
	t.Parallel() // it owns its sandbox
	ms := newMigrateStack(t)
	host := ms.sb.Host()
	// v1 drifts: someone pushed over the signed tag without signing.
	drifted, err := ms.sb.PushRandomImage(context.Background(), "app", "v1")
	assert.NilError(t, err)
	unsigned, err := ms.sb.PushRandomImage(context.Background(), "app", "dev")
	assert.NilError(t, err)

	t.Run("dry run", func(t *testing.T) {
		rep, err := ms.migrate(t, "--dry-run", "--all-tags", host+"/app")
		assert.Check(t, is.ErrorContains(err, "migration incomplete"))
		assert.Check(t, is.DeepEqual(tagStatuses(rep), map[string]string{
			"v1": migrate.MigrateDrifted, "dev": migrate.MigrateUnsigned, "v2": migrate.MigratePlanned, "multi": migrate.MigratePlanned,
		}))
		for tag, desc := range ms.pushed {
			assert.Check(t, is.Len(notationSignatures(t, ms.sb, "app", desc), 0), "a dry run writes nothing (%s)", tag)
		}
	})

	t.Run("refused", func(t *testing.T) {
		rep, err := ms.migrate(t, "--all-tags", host+"/app")
		assert.Check(t, is.ErrorContains(err, host+"/app:v1: drifted"))
		assert.Check(t, is.ErrorContains(err, host+"/app:dev: unsigned"))
		assert.Check(t, is.DeepEqual(rep.Summary, migrate.MigrateSummary{Signed: 2, Refused: 2}))
		for _, tr := range rep.Repositories[0].Tags {
			if tr.Tag == "v1" {
				assert.Check(t, is.Equal(tr.Digest, ms.pushed["v1"].Digest.String()), "the signed digest")
				assert.Check(t, is.Equal(tr.RegistryDigest, drifted.Digest.String()))
			}
		}
		assert.Check(t, is.Len(notationSignatures(t, ms.sb, "app", drifted), 0), "the drifted digest is not signed")
		assert.Check(t, is.Len(notationSignatures(t, ms.sb, "app", ms.pushed["v1"]), 0), "nor the one the tag left")
		assert.Check(t, is.Len(notationSignatures(t, ms.sb, "app", unsigned), 0))
	})

	t.Run("--include-unsigned signs unsigned tags and says so; drifted stays refused", func(t *testing.T) {
		policyDir := t.TempDir()
		rep, err := ms.migrate(t, "--include-unsigned", "--emit-policy", policyDir, "--all-tags", host+"/app")
		assert.Check(t, is.ErrorContains(err, host+"/app:v1: drifted"))
		assert.Check(t, is.DeepEqual(rep.Summary, migrate.MigrateSummary{Signed: 1, AlreadySigned: 2, Refused: 1}))
		for _, tr := range rep.Repositories[0].Tags {
			assert.Check(t, is.Equal(tr.Unsigned, tr.Tag == "dev"), tr.Tag)
		}
		md, err := notationVerify(t, ms.sb, policyDir, "app", unsigned)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(md[notationbridge.MetaUnsigned], "true"))
		assert.Check(t, is.Equal(md[notationbridge.MetaTag], "dev"))
		_, hasRole := md[notationbridge.MetaRole]
		assert.Check(t, !hasRole, "no content trust role for an unsigned tag")
	})

	t.Run("a tag that content trust does not know is refused by name", func(t *testing.T) {
		rep, err := ms.migrate(t, host+"/app:nope")
		assert.Check(t, is.ErrorContains(err, "migration incomplete"))
		assert.Check(t, is.DeepEqual(tagStatuses(rep), map[string]string{"nope": migrate.MigrateUnsigned}))
	})
}

func TestMigrateUsage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no key", args: []string{"migrate", "reg.example/a:v1"}, wantErr: "no Notation signing key: use --key FILE --cert FILE"},
		{name: "key without cert", args: []string{"migrate", "--key", "k", "reg.example/a:v1"}, wantErr: "--key and --cert go together"},
		{name: "both kinds of key", args: []string{"migrate", "--key", "k", "--cert", "c", "--plugin", "p", "--id", "i", "reg.example/a:v1"}, wantErr: "not both"},
		{name: "no tag", args: []string{"migrate", "--key", "k", "--cert", "c", "reg.example/a"}, wantErr: "no tag specified for reg.example/a: name a tag, or migrate every tag with --all-tags"},
		{name: "tag and --all-tags", args: []string{"migrate", "-a", "reg.example/a:v1"}, wantErr: "a tag can't be used with --all-tags"},
		{name: "signature format", args: []string{"migrate", "--signature-format", "pgp", "reg.example/a:v1"}, wantErr: `unknown signature format "pgp": use jws or cose`},
		{name: "template", args: []string{"migrate", "--format", "{{.Tag}}", "reg.example/a:v1"}, wantErr: `migrate writes text, or "json"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), nil)
			err := runCommand(t, d, tc.args...)
			assert.Check(t, is.ErrorContains(err, tc.wantErr))
		})
	}
}

// On a registry without the Referrers API, signatures go through the
// referrers tag schema, as notation does, and are found again there.
func TestMigrateReferrersTagSchema(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox (run without -short)")
	}
	sb, err := sandbox.Start(sandbox.Options{NoReferrersAPI: true})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	host := sb.Host()
	pushed := cmdtest.PushImages(t, sb, "app", "v1")
	admin, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, admin, "sign", host+"/app:v1"))

	dir, policyDir := t.TempDir(), t.TempDir()
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "migrate", "cert", "generate-test", "--notation-dir", dir, "k"))
	key := []string{"migrate", "--key", filepath.Join(dir, "localkeys", "k.key"), "--cert", filepath.Join(dir, "localkeys", "k.crt")}
	for i, want := range []string{"Summary: 1 tags signed", "Summary: 0 tags signed, 1 already signed"} {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, nil)
		assert.NilError(t, runCommand(t, d, append(key, "--emit-policy", policyDir, host+"/app:v1")...))
		assert.Check(t, is.Contains(cli.OutBuf.String(), want), "run %d", i+1)
	}
	assert.Check(t, is.Equal(sb.Stats().ReferrersRequests > 0, true), "the API was tried")
	_, err = notationVerify(t, sb, policyDir, "app", pushed["v1"])
	assert.NilError(t, err)
	// The tag schema: the referrers index is tagged sha256-<hex>.
	tags, err := d.Registry.Tags(context.Background(), mustParseRef(t, host+"/app"))
	assert.NilError(t, err)
	assert.Check(t, is.Contains(tags, "sha256-"+pushed["v1"].Digest.Encoded()))

	// That tag is no image tag: --all-tags, verify and pull -a pass it over.
	d, cli, eng := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, nil)
	assert.NilError(t, runCommand(t, d, append(key, "--all-tags", host+"/app")...))
	assert.Check(t, is.Contains(cli.OutBuf.String(), "Summary: 0 tags signed, 1 already signed, 0 refused, 0 failed"))
	d, _, _ = cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "verify", host+"/app"))
	d, _, _ = cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "verify", "--require", "both", "--notation-dir", policyDir, host+"/app"))
	d, _, eng = cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, d, "pull", "-a", "--require", "notation", "--notation-dir", policyDir, host+"/app"))
	assert.Check(t, is.DeepEqual(eng.Pulled, []string{host + "/app@" + pushed["v1"].Digest.String()}))
}

// An interrupted migration reports what it left undone, and the same
// command run again signs exactly the rest.
func TestMigrateInterruptedResumes(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := cmdtest.StartSandbox(t)
	host := sb.Host()
	const n = 30
	args := []string{"sign"}
	for i := range n {
		tag := fmt.Sprintf("t%02d", i)
		cmdtest.PushImages(t, sb, "app", tag)
		args = append(args, host+"/app:"+tag)
	}
	admin, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	assert.NilError(t, runCommand(t, admin, args...))
	dir := t.TempDir()
	gen, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
	assert.NilError(t, runCommand(t, gen, "migrate", "cert", "generate-test", "--notation-dir", dir, "k"))
	migrateArgs := []string{"migrate", "--parallel", "1", "--format", "json", "--all-tags",
		"--key", filepath.Join(dir, "localkeys", "k.key"), "--cert", filepath.Join(dir, "localkeys", "k.crt"), host + "/app"}

	run := func(ctx context.Context) (migrate.MigrateReport, error) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPush, nil)
		cmd := newRootCommand(d, "test")
		cmd.SetArgs(migrateArgs)
		cmd.SetOut(cli.Out())
		cmd.SetErr(cli.Err())
		err := cmd.ExecuteContext(ctx)
		var rep migrate.MigrateReport
		assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &rep), cli.OutBuf.String())
		return rep, err
	}

	// Interrupt once a few digests were looked up.
	ctx, cancel := context.WithCancel(context.Background())
	sb.ResetStats()
	go func() {
		defer cancel()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		deadline := time.After(30 * time.Second) // the run ends first, or fails the checks below
		for sb.Stats().ReferrersRequests < 3 {
			select {
			case <-tick.C:
			case <-ctx.Done(): // the run is over
				return
			case <-deadline:
				return
			}
		}
	}()
	first, err := run(ctx)
	cancel()
	assert.Check(t, is.ErrorContains(err, "migration interrupted: run the same command again to resume"))
	assert.Check(t, first.Summary.Failed > 0, "something was left undone: %+v", first.Summary)
	assert.Check(t, is.Equal(first.Summary.Signed+first.Summary.Failed, n))

	second, err := run(context.Background())
	assert.NilError(t, err)
	assert.Check(t, second.Summary.AlreadySigned >= first.Summary.Signed, "%+v after %+v", second.Summary, first.Summary)
	assert.Check(t, is.Equal(second.Summary.Signed+second.Summary.AlreadySigned, n))

	third, err := run(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(third.Summary, migrate.MigrateSummary{AlreadySigned: n}))
}
