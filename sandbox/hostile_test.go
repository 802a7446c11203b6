package sandbox

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/theupdateframework/notary/client"
	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	tufutils "github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParseHostility(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Hostility
		wantErr string
	}{
		{in: "off", want: HostileOff},
		{in: "compromise", want: HostileCompromise},
		{in: "rollback", want: HostileRollback},
		{in: "freeze", want: HostileFreeze},
		{in: "expired", want: HostileExpired},
		{in: "tamper", want: HostileTamper},
		{in: "corrupt", want: HostileCorrupt},
		{in: "Tamper", wantErr: `parsing hostile mode "Tamper": want one of off, compromise, rollback, freeze, expired, tamper, corrupt`},
		{in: "", wantErr: `parsing hostile mode ""`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseHostility(tc.in)
			if tc.wantErr != "" {
				assert.Check(t, is.ErrorContains(err, tc.wantErr))
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.Equal(got, tc.want))
			assert.Check(t, is.Equal(got.String(), tc.in))
		})
	}
}

// hostileFixture is a repository signed by its owner (tags v1 and v2 in
// targets, r1 in targets/releases, each naming a real image of the
// registry), with a reader that has read the latest trust data.
type hostileFixture struct {
	sb     *Sandbox
	repo   string
	images map[string]ocispec.Descriptor // tag -> image pushed under that tag
	owner  client.Repository
	warm   client.Repository // its cache holds the latest genuine trust data
	// genuineRoles are the owner's roles and keys, read before any mode.
	genuineRoles []client.RoleWithSignatures
}

func imageTarget(tag string, d ocispec.Descriptor) *client.Target {
	sum, _ := hex.DecodeString(d.Digest.Encoded())
	return &client.Target{Name: tag, Hashes: data.Hashes{"sha256": sum}, Length: d.Size}
}

// newHostileFixture signs v1 (targets) and r1 (targets/releases), lets the
// reader read them, signs v2, and lets the reader read again, so the
// server holds two generations of metadata and the reader the newest.
func newHostileFixture(t *testing.T, sb *Sandbox, repo string) *hostileFixture {
	t.Helper()
	ctx := context.Background()
	f := &hostileFixture{sb: sb, repo: repo, images: map[string]ocispec.Descriptor{}}
	for _, tag := range []string{"v1", "v2"} {
		d, err := sb.PushRandomImage(ctx, repo, tag)
		assert.NilError(t, err)
		f.images[tag] = d
	}
	f.owner = newNotaryRepo(t, sb, sb.testTransport(UserSigner, Password), repo)
	rootKey, err := f.owner.GetCryptoService().Create(data.CanonicalRootRole, "", data.ECDSAKey)
	assert.NilError(t, err)
	assert.NilError(t, f.owner.Initialize([]string{rootKey.ID()}, data.CanonicalSnapshotRole))
	assert.NilError(t, f.owner.AddTarget(imageTarget("v1", f.images["v1"]), data.CanonicalTargetsRole))
	releasesKey, err := tufutils.GenerateKey(data.ECDSAKey)
	assert.NilError(t, err)
	assert.NilError(t, f.owner.GetCryptoService().AddKey(releasesRole, f.owner.GetGUN(), releasesKey))
	assert.NilError(t, f.owner.AddDelegation(releasesRole, []data.PublicKey{data.PublicKeyFromPrivate(releasesKey)}, []string{""}))
	assert.NilError(t, f.owner.AddTarget(imageTarget("r1", f.images["v1"]), releasesRole))
	assert.NilError(t, f.owner.Publish())

	f.warm = newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), repo)
	f.assertGenuine(t, f.warm, "v1", data.CanonicalTargetsRole)

	assert.NilError(t, f.owner.AddTarget(imageTarget("v2", f.images["v2"]), data.CanonicalTargetsRole))
	assert.NilError(t, f.owner.Publish())
	f.assertGenuine(t, f.warm, "v2", data.CanonicalTargetsRole)
	f.assertGenuine(t, f.warm, "r1", releasesRole)
	f.genuineRoles, err = f.owner.ListRoles()
	assert.NilError(t, err)
	return f
}

// fresh is a reader with an empty cache: trust on first use.
func (f *hostileFixture) fresh(t *testing.T) client.Repository {
	t.Helper()
	return newNotaryRepo(t, f.sb, f.sb.testTransport(UserPull, Password), f.repo)
}

// genuine is the image the owner signed as tag.
func (f *hostileFixture) genuine(tag string) ocispec.Descriptor {
	if tag == "r1" {
		return f.images["v1"]
	}
	return f.images[tag]
}

func (f *hostileFixture) assertGenuine(t *testing.T, r client.Repository, tag string, role data.RoleName) {
	t.Helper()
	got, err := r.GetTargetByName(tag, role)
	assert.NilError(t, err, "reading %s", tag)
	want := imageTarget(tag, f.genuine(tag))
	assert.Check(t, is.DeepEqual(got.Hashes["sha256"], want.Hashes["sha256"]), "%s resolves to the signed image", tag)
	assert.Check(t, is.Equal(got.Length, want.Length))
	assert.Check(t, is.Equal(got.Role, role))
}

// assertRestored switches the mode off and checks that a fresh client
// gets the genuine trust data again.
func (f *hostileFixture) assertRestored(t *testing.T) {
	t.Helper()
	assert.NilError(t, f.sb.SetHostile(f.repo, HostileOff))
	fresh := f.fresh(t)
	f.assertGenuine(t, fresh, "v1", data.CanonicalTargetsRole)
	f.assertGenuine(t, fresh, "v2", data.CanonicalTargetsRole)
	f.assertGenuine(t, fresh, "r1", releasesRole)
}

// TestHostileModes sets each hostile mode on a repository that a warm
// client (its cache holds the genuine trust data) and fresh clients read,
// checks what they get, then switches the mode off and checks that the
// genuine trust data is back.
func TestHostileModes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	for _, tc := range []struct {
		mode Hostility
		repo string
		// on checks the clients while the mode is on; it returns what to
		// check once it is off again (nil: nothing more).
		on func(t *testing.T, f *hostileFixture) func(t *testing.T)
	}{
		{mode: HostileCompromise, repo: "team/app", on: compromised},
		{mode: HostileRollback, repo: "app", on: func(t *testing.T, f *hostileFixture) func(t *testing.T) {
			_, err := f.warm.GetTargetByName("v1")
			var low signed.ErrLowVersion
			assert.Assert(t, errors.As(err, &low), "a client that saw newer metadata refuses the old: %#v", err)
			assert.Check(t, low.Actual < low.Current, "%+v", low)
			// A fresh client cannot tell: it gets the first trust data, in
			// which v2 was not signed yet.
			fresh := f.fresh(t)
			f.assertGenuine(t, fresh, "v1", data.CanonicalTargetsRole)
			_, err = fresh.GetTargetByName("v2")
			var notSigned client.ErrNoSuchTarget
			assert.Check(t, errors.As(err, &notSigned), "v2 is not in the old trust data: %v", err)
			return func(t *testing.T) { f.assertGenuine(t, f.warm, "v2", data.CanonicalTargetsRole) }
		}},
		{mode: HostileFreeze, repo: "app", on: func(t *testing.T, f *hostileFixture) func(t *testing.T) {
			f.assertExpired(t, data.CanonicalTimestampRole)
			return func(t *testing.T) { f.assertGenuine(t, f.warm, "v2", data.CanonicalTargetsRole) }
		}},
		{mode: HostileExpired, repo: "app", on: func(t *testing.T, f *hostileFixture) func(t *testing.T) {
			f.assertExpired(t, data.CanonicalSnapshotRole)
			return func(t *testing.T) { f.assertGenuine(t, f.warm, "v1", data.CanonicalTargetsRole) }
		}},
		{mode: HostileTamper, repo: "app", on: tampered},
		{mode: HostileCorrupt, repo: "app", on: func(t *testing.T, f *hostileFixture) func(t *testing.T) {
			// A fresh client downloads targets.json by the checksum the
			// genuine snapshot gives, and gets other bytes.
			_, err := f.fresh(t).GetTargetByName("v1")
			var checksum data.ErrMismatchedChecksum
			var tooLong store.ErrMaliciousServer
			assert.Check(t, errors.As(err, &checksum) || errors.As(err, &tooLong), "%#v", err)
			// A warm client keeps its verified copy: the snapshot still lists it.
			f.assertGenuine(t, f.warm, "v1", data.CanonicalTargetsRole)
			return nil
		}},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			t.Parallel() // each mode has a sandbox of its own
			sb := start(t, Options{})
			f := newHostileFixture(t, sb, tc.repo)
			assert.NilError(t, sb.SetHostile(tc.repo, tc.mode))
			after := tc.on(t, f)
			f.assertRestored(t)
			if after != nil {
				after(t)
			}
		})
	}
}

// assertExpired checks that the warm and a fresh client both refuse the
// trust data because role has expired.
func (f *hostileFixture) assertExpired(t *testing.T, role data.RoleName) {
	t.Helper()
	for name, r := range map[string]client.Repository{"warm": f.warm, "fresh": f.fresh(t)} {
		_, err := r.GetTargetByName("v1")
		var expired signed.ErrExpired
		assert.Check(t, errors.As(err, &expired), "%s: %#v", name, err)
		assert.Check(t, is.Equal(expired.Role, role), name)
	}
}

// compromised checks a server that serves a forged root and forged
// metadata signed by it.
func compromised(t *testing.T, f *hostileFixture) func(t *testing.T) {
	_, err := f.warm.GetTargetByName("v1")
	var rotation *trustpinning.ErrRootRotationFail
	assert.Check(t, errors.As(err, &rotation), "a client that cached the genuine root refuses the forged one: %#v", err)

	// A fresh client trusts the forged root on first use, and every signed
	// tag leads it to the other image of the repository.
	fresh := f.fresh(t)
	for tag, want := range map[string]ocispec.Descriptor{"v1": f.images["v2"], "v2": f.images["v1"], "r1": f.images["v2"]} {
		role := data.CanonicalTargetsRole
		if tag == "r1" {
			role = releasesRole
		}
		got, err := fresh.GetTargetByName(tag, role)
		assert.NilError(t, err, tag)
		assert.Check(t, is.DeepEqual(got.Hashes["sha256"], imageTarget(tag, want).Hashes["sha256"]), "%s leads to the attacker's choice", tag)
		assert.Check(t, is.Equal(got.Length, want.Size), tag)
		assert.Check(t, is.Equal(got.Role, role), tag)
	}
	roles, err := fresh.ListRoles()
	assert.NilError(t, err)
	var rootIDs []string
	for _, g := range f.genuineRoles {
		if g.Name == data.CanonicalRootRole {
			rootIDs = g.KeyIDs
		}
		for _, r := range roles {
			if g.Name == r.Name {
				assert.Check(t, !sameKeys(g.KeyIDs, r.KeyIDs), "the forged %s has new keys", r.Name)
			}
		}
	}

	// A fresh client that pins the genuine root certificate (trust pinning,
	// no cache) refuses the forged root.
	assert.Assert(t, is.Len(rootIDs, 1))
	pinned, err := client.NewFileCachedRepository(t.TempDir(), f.owner.GetGUN(), f.sb.URL(), f.sb.testTransport(UserPull, Password),
		nil, trustpinning.TrustPinConfig{Certs: map[string][]string{f.owner.GetGUN().String(): rootIDs}})
	assert.NilError(t, err)
	_, err = pinned.GetTargetByName("v1")
	var pinFail *trustpinning.ErrValidationFail
	assert.Check(t, errors.As(err, &pinFail), "a client pinning the genuine root refuses the forged one: %#v", err)

	// The mode is stable: the warm client still refuses, the fresh one
	// (now holding the forged root) still reads.
	_, err = f.warm.GetTargetByName("v1")
	assert.Check(t, errors.As(err, &rotation), "%v", err)
	_, err = fresh.GetTargetByName("v1")
	assert.Check(t, err)

	return func(t *testing.T) {
		f.assertGenuine(t, f.warm, "v1", data.CanonicalTargetsRole)
		_, err := fresh.GetTargetByName("v1")
		assert.Check(t, errors.As(err, &rotation), "the client that trusted the forged root refuses the genuine one: %#v", err)
	}
}

// tampered checks a server that changes what the signed metadata names
// and keeps the original signatures.
func tampered(t *testing.T, f *hostileFixture) func(t *testing.T) {
	for name, r := range map[string]client.Repository{"warm": f.warm, "fresh": f.fresh(t)} {
		_, err := r.GetTargetByName("v1")
		var threshold signed.ErrRoleThreshold
		assert.Check(t, errors.As(err, &threshold), "%s: %#v", name, err)
		var checksum data.ErrMismatchedChecksum
		assert.Check(t, !errors.As(err, &checksum), "%s: the snapshot vouches for the tampered bytes, only the signature is wrong: %v", name, err)
	}
	// The tampered targets really name other images: what a client that
	// checked only checksums would have pulled.
	for _, role := range []string{"targets", "targets/releases"} {
		var tampered data.SignedTargets
		assert.NilError(t, json.Unmarshal(getTrust(t, f.sb, f.repo, role+".json"), &tampered))
		assert.Check(t, len(tampered.Signed.Targets) > 0, role)
		for tag, meta := range tampered.Signed.Targets {
			assert.Check(t, hex.EncodeToString(meta.Hashes["sha256"]) != f.genuine(tag).Digest.Encoded(), "%s %s", role, tag)
			assert.Check(t, is.Equal(meta.Length, f.images["v1"].Size+f.images["v2"].Size-f.genuine(tag).Size), "%s %s has the other image's length", role, tag)
		}
		assert.Check(t, len(tampered.Signatures) > 0, "%s: the original signatures are kept", role)
	}
	return func(t *testing.T) { f.assertGenuine(t, f.warm, "v1", data.CanonicalTargetsRole) }
}

func sameKeys(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// TestHostileCompromisePushesImposter: a repository with one image only
// gets a random one pushed as evil-1, for the forged tags to point at.
func TestHostileCompromisePushesImposter(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	ctx := context.Background()
	sb := start(t, Options{})
	only, err := sb.PushRandomImage(ctx, "solo", "v1")
	assert.NilError(t, err)
	owner := newNotaryRepo(t, sb, sb.testTransport(UserSigner, Password), "solo")
	rootKey, err := owner.GetCryptoService().Create(data.CanonicalRootRole, "", data.ECDSAKey)
	assert.NilError(t, err)
	assert.NilError(t, owner.Initialize([]string{rootKey.ID()}, data.CanonicalSnapshotRole))
	assert.NilError(t, owner.AddTarget(imageTarget("v1", only)))
	assert.NilError(t, owner.Publish())

	assert.NilError(t, sb.SetHostile("solo", HostileCompromise))
	evil, err := sb.head(ctx, mustTag(t, sb, "solo", "evil-1"))
	assert.NilError(t, err, "an imposter image was pushed")
	assert.Check(t, evil.Digest != only.Digest)
	got, err := newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "solo").GetTargetByName("v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(hex.EncodeToString(got.Hashes["sha256"]), evil.Digest.Encoded()))
}

// TestHostileTamperDelegationOnly: when targets signs no tag itself, its
// signature still verifies, and notary's client skips the tampered
// targets/releases with a warning: the tag is then not found, and nothing
// is resolved.
func TestHostileTamperDelegationOnly(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	ctx := context.Background()
	sb := start(t, Options{})
	img, err := sb.PushRandomImage(ctx, "app", "r1")
	assert.NilError(t, err)
	owner := newNotaryRepo(t, sb, sb.testTransport(UserSigner, Password), "app")
	rootKey, err := owner.GetCryptoService().Create(data.CanonicalRootRole, "", data.ECDSAKey)
	assert.NilError(t, err)
	assert.NilError(t, owner.Initialize([]string{rootKey.ID()}, data.CanonicalSnapshotRole))
	key, err := tufutils.GenerateKey(data.ECDSAKey)
	assert.NilError(t, err)
	assert.NilError(t, owner.GetCryptoService().AddKey(releasesRole, owner.GetGUN(), key))
	assert.NilError(t, owner.AddDelegation(releasesRole, []data.PublicKey{data.PublicKeyFromPrivate(key)}, []string{""}))
	assert.NilError(t, owner.AddTarget(imageTarget("r1", img), releasesRole))
	assert.NilError(t, owner.Publish())
	warm := newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "app")
	_, err = warm.GetTargetByName("r1", releasesRole)
	assert.NilError(t, err)

	assert.NilError(t, sb.SetHostile("app", HostileTamper))
	for name, r := range map[string]client.Repository{"warm": warm, "fresh": newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "app")} {
		_, err := r.GetTargetByName("r1", releasesRole)
		var notFound client.ErrNoSuchTarget
		assert.Check(t, errors.As(err, &notFound), "%s: %#v", name, err)
	}
}

// getTrust GETs /v2/<host>/<repo>/_trust/tuf/<file> as the puller and
// returns the body of a 200.
func getTrust(t *testing.T, sb *Sandbox, repo, file string) []byte {
	t.Helper()
	status, body := getTrustStatus(t, sb, repo, file)
	assert.Equal(t, status, http.StatusOK, "%s: %s", file, body)
	return body
}

func getTrustStatus(t *testing.T, sb *Sandbox, repo, file string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, sb.URL()+"/v2/"+sb.Host()+"/"+repo+"/_trust/tuf/"+file, nil)
	assert.NilError(t, err)
	resp, err := (&http.Client{Transport: sb.testTransport(UserPull, Password)}).Do(req)
	assert.NilError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return resp.StatusCode, body
}

// TestHostileServesEveryName: the forged metadata answers every name
// notary's client may ask for, the same bytes each time.
func TestHostileServesEveryName(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb := start(t, Options{})
	newHostileFixture(t, sb, "app")
	genuineRoot := getTrust(t, sb, "app", "root.json")
	assert.NilError(t, sb.SetHostile("app", HostileCompromise))

	root := getTrust(t, sb, "app", "root.json")
	assert.Check(t, string(root) != string(genuineRoot), "root.json is forged")
	var meta data.SignedMeta
	assert.NilError(t, json.Unmarshal(root, &meta))
	assert.Check(t, is.Equal(meta.Signed.Version, 2), "the forged root is the genuine one's next version")
	s256, s512 := sha256.Sum256(root), sha512.Sum512(root)
	for _, name := range []string{
		"root." + hex.EncodeToString(s256[:]) + ".json",
		"root." + hex.EncodeToString(s512[:]) + ".json",
		"2.root.json",
	} {
		assert.Check(t, is.Equal(string(getTrust(t, sb, "app", name)), string(root)), name)
	}
	for _, role := range []string{"timestamp", "snapshot", "targets", "targets/releases"} {
		body := getTrust(t, sb, "app", role+".json")
		sum := sha256.Sum256(body)
		assert.Check(t, is.Equal(string(getTrust(t, sb, "app", role+"."+hex.EncodeToString(sum[:])+".json")), string(body)), role)
		assert.Check(t, is.Equal(string(getTrust(t, sb, "app", role+".json")), string(body)), "%s is stable", role)
	}
	status, _ := getTrustStatus(t, sb, "app", "1.root.json")
	assert.Check(t, is.Equal(status, http.StatusNotFound), "the forged repository has no root version 1")
}

// TestSetHostileEveryRepository: repo "" applies to every repository,
// including one signed after the mode was set; a repository's own mode
// wins.
func TestSetHostileEveryRepository(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb := start(t, Options{})
	app := newHostileFixture(t, sb, "app")
	team := newHostileFixture(t, sb, "team/app")
	assert.NilError(t, sb.SetHostile("", HostileExpired))

	expiredSnapshot := func(t *testing.T, r client.Repository) {
		t.Helper()
		_, err := r.GetTargetByName("v1")
		var expired signed.ErrExpired
		assert.Check(t, errors.As(err, &expired), "%#v", err)
		assert.Check(t, is.Equal(expired.Role, data.CanonicalSnapshotRole))
	}
	expiredSnapshot(t, app.warm)
	expiredSnapshot(t, team.warm)

	// Signed under the mode: the first publish finds no trust data to
	// read, so it meets nothing hostile; readers then get the hostile
	// metadata, built at their first request.
	later := newNotaryRepo(t, sb, sb.testTransport(UserSigner, Password), "later")
	assert.NilError(t, publishTarget(t, later, []byte("later v1")))
	expiredSnapshot(t, newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "later"))

	assert.NilError(t, sb.SetHostile("team/app", HostileOff))
	team.assertGenuine(t, team.fresh(t), "v1", data.CanonicalTargetsRole)
	expiredSnapshot(t, app.fresh(t))

	assert.NilError(t, sb.SetHostile("", HostileOff))
	app.assertGenuine(t, app.fresh(t), "v1", data.CanonicalTargetsRole)
	_, err := newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "later").GetTargetByName("v1")
	assert.Check(t, err)
}

func TestSetHostileErrors(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb := start(t, Options{})
	assert.Check(t, is.ErrorContains(sb.SetHostile("app", Hostility("sneaky")), `setting hostile mode "sneaky": unknown mode`))
	assert.Check(t, is.ErrorContains(sb.SetHostile("App", HostileFreeze), `setting hostile mode freeze for "App"`))

	// One publish: no older timestamp to roll back to. The mode stays off.
	owner := newNotaryRepo(t, sb, sb.testTransport(UserSigner, Password), "app")
	assert.NilError(t, publishTarget(t, owner, []byte("v1")))
	err := sb.SetHostile("app", HostileRollback)
	assert.Check(t, is.ErrorContains(err, `setting hostile mode rollback for "app"`))
	assert.Check(t, is.ErrorContains(err, "publish again first"))
	_, err = newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "app").GetTargetByName("v1")
	assert.Check(t, err, "the failed activation left the repository genuine")
}

// TestSetContentTrustForgetsHostileData: switching content trust off
// deletes the trust data the hostile metadata was built from, so the forged
// metadata goes with it: nothing is served for a repository without trust
// data.
func TestSetContentTrustForgetsHostileData(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb := start(t, Options{})
	newHostileFixture(t, sb, "app")
	assert.NilError(t, sb.SetHostile("app", HostileCompromise))
	sb.SetContentTrust(false)
	sb.SetContentTrust(true)
	status, _ := getTrustStatus(t, sb, "app", "root.json")
	assert.Check(t, is.Equal(status, http.StatusNotFound), "no trust data: nothing to forge")
}

func mustTag(t *testing.T, sb *Sandbox, repo, tag string) name.Tag {
	t.Helper()
	ref, err := sb.tag(repo, tag)
	assert.NilError(t, err)
	return ref
}
