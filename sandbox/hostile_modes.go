package sandbox

// Longer than 400 lines on purpose: one builder per hostile mode, each a
// few lines of notary calls, read side by side.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	canonicaljson "github.com/docker/go/canonical/json"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/testutils"
	"github.com/theupdateframework/notary/tuf/utils"
)

// What each hostile mode serves, built with notary's own TUF code from the
// genuine trust data (hostile.go serves it).

// genuineRepo is a repository's current trust data as the genuine server
// stores it, loaded into a tuf.Repo whose crypto service is the server's
// (it holds the snapshot and timestamp keys).
type genuineRepo struct {
	gun   data.GUN
	repo  *tuf.Repo
	roots []metaFile // every stored root version, oldest first, the current one marked
}

// loadGenuine loads gun's current trust data with notary's RepoBuilder:
// root, timestamp, snapshot, targets, then the delegations the snapshot
// lists, parents first.
func loadGenuine(n *notaryServer, gun data.GUN) (*genuineRepo, error) {
	get := func(role data.RoleName) ([]byte, error) {
		_, b, err := n.store.GetCurrent(gun, role)
		if isNotFound(err) {
			return nil, fmt.Errorf("reading the %s of %s: %w", role, gun, errNoTrustData)
		}
		if err != nil {
			return nil, fmt.Errorf("reading the %s of %s: %w", role, gun, err)
		}
		return b, nil
	}
	builder := tuf.NewRepoBuilder(gun, n.crypto, trustpinning.TrustPinConfig{})
	var snapshot data.SignedSnapshot
	for _, role := range []data.RoleName{data.CanonicalRootRole, data.CanonicalTimestampRole, data.CanonicalSnapshotRole, data.CanonicalTargetsRole} {
		b, err := get(role)
		if err != nil {
			return nil, err
		}
		if err := builder.Load(role, b, 1, true); err != nil {
			return nil, fmt.Errorf("loading the genuine %s of %s: %w", role, gun, err)
		}
		if role == data.CanonicalSnapshotRole {
			if err := canonicaljson.Unmarshal(b, &snapshot); err != nil {
				return nil, fmt.Errorf("decoding the genuine snapshot of %s: %w", gun, err)
			}
		}
	}
	var delegations utils.RoleList
	for role := range snapshot.Signed.Meta {
		if data.IsDelegation(data.RoleName(role)) {
			delegations = append(delegations, role)
		}
	}
	sort.Sort(delegations) // fewer path segments first: parents before children
	for _, role := range delegations {
		b, err := get(data.RoleName(role))
		if err != nil {
			return nil, err
		}
		if err := builder.Load(data.RoleName(role), b, 1, true); err != nil {
			return nil, fmt.Errorf("loading the genuine %s of %s: %w", role, gun, err)
		}
	}
	repo, _, err := builder.Finish()
	if err != nil {
		return nil, fmt.Errorf("loading the genuine trust data of %s: %w", gun, err)
	}
	g := &genuineRepo{gun: gun, repo: repo}
	current := repo.Root.Signed.Version
	for v := current; v >= 1; v-- { // newest first so that the current root wins root.json
		if _, b, err := n.store.GetVersion(gun, data.CanonicalRootRole, v); err == nil {
			g.roots = append(g.roots, metaFile{role: data.CanonicalRootRole, content: b, current: v == current})
		}
	}
	return g, nil
}

// marshal serialises metadata as notary does (canonical JSON of data.Signed).
func marshal(s *data.Signed, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return canonicaljson.Marshal(s)
}

// currentFiles serialises the roots, targets and delegations of g's
// (possibly modified) tuf.Repo, for modes that keep them.
func (g *genuineRepo) currentFiles() ([]metaFile, error) {
	files := append([]metaFile(nil), g.roots...)
	for role, t := range g.repo.Targets {
		b, err := marshal(t.ToSigned())
		if err != nil {
			return nil, fmt.Errorf("serialising %s: %w", role, err)
		}
		files = append(files, metaFile{role: role, content: b, current: true})
	}
	return files, nil
}

// freeze re-signs the timestamp current at activation, same version, with
// the server's timestamp key and an expiry in the past.
func freeze(g *genuineRepo, now time.Time) ([]metaFile, error) {
	files, err := g.currentFiles()
	if err != nil {
		return nil, err
	}
	snapshot, err := marshal(g.repo.Snapshot.ToSigned())
	if err != nil {
		return nil, fmt.Errorf("serialising the snapshot: %w", err)
	}
	g.repo.Timestamp.Signed.Version-- // SignTimestamp counts up; a frozen timestamp keeps its version
	timestamp, err := marshal(g.repo.SignTimestamp(now.Add(-time.Minute)))
	if err != nil {
		return nil, fmt.Errorf("re-signing the timestamp: %w", err)
	}
	return append(files,
		metaFile{role: data.CanonicalSnapshotRole, content: snapshot, current: true},
		metaFile{role: data.CanonicalTimestampRole, content: timestamp, current: true}), nil
}

// expire re-signs the snapshot (same version) with the server's snapshot
// key and an expiry in the past, and signs a fresh timestamp over it.
func expire(g *genuineRepo, now time.Time) ([]metaFile, error) {
	return g.resigned(now.Add(-time.Minute))
}

// resigned is the current targets and delegations with a snapshot that
// expires at snapshotExpires and a fresh timestamp, both signed with the
// server's real keys at the genuine versions.
func (g *genuineRepo) resigned(snapshotExpires time.Time) ([]metaFile, error) {
	files, err := g.currentFiles()
	if err != nil {
		return nil, err
	}
	keepVersions(g.repo)
	snapshot, err := marshal(g.repo.SignSnapshot(snapshotExpires))
	if err != nil {
		return nil, fmt.Errorf("signing the snapshot: %w", err)
	}
	timestamp, err := marshal(g.repo.SignTimestamp(data.DefaultExpires(data.CanonicalTimestampRole)))
	if err != nil {
		return nil, fmt.Errorf("signing the timestamp: %w", err)
	}
	return append(files,
		metaFile{role: data.CanonicalSnapshotRole, content: snapshot, current: true},
		metaFile{role: data.CanonicalTimestampRole, content: timestamp, current: true}), nil
}

// redirect points every target of t at another image of the repository,
// keeping t's signatures (which then no longer verify).
func redirect(t *data.SignedTargets, im *imposters) error {
	for _, target := range sortedTargets(t.Signed.Targets) {
		meta := t.Signed.Targets[target]
		other, err := im.other(meta)
		if err != nil {
			return err
		}
		t.Signed.Targets[target] = fileMetaOf(other, meta.Custom)
	}
	return nil
}

// keepVersions makes the next SignSnapshot and SignTimestamp (which count
// up) keep the genuine versions. A client that accepted the re-signed
// snapshot or timestamp must accept the genuine ones again once the mode is
// off; had they a higher version, its cache would refuse the genuine
// metadata as a rollback (signed.ErrLowVersion) until the genuine server
// caught up.
func keepVersions(repo *tuf.Repo) {
	repo.Snapshot.Signed.Version--
	repo.Timestamp.Signed.Version--
}

// tamper points every target of targets and its delegations at another
// image, keeping the original signatures, and signs a snapshot and timestamp
// over the result with the server's keys.
func tamper(g *genuineRepo, im *imposters) ([]metaFile, error) {
	for _, role := range sortedRoles(g.repo.Targets) {
		if err := redirect(g.repo.Targets[role], im); err != nil {
			return nil, err
		}
	}
	return g.resigned(data.DefaultExpires(data.CanonicalSnapshotRole))
}

// corrupt serves, under the names the genuine snapshot gives targets.json,
// a targets.json whose targets point at other images, with the genuine
// snapshot and timestamp: the checksums no longer match.
func corrupt(g *genuineRepo, im *imposters) ([]metaFile, error) {
	t, ok := g.repo.Targets[data.CanonicalTargetsRole]
	if !ok {
		return nil, errors.New("no targets metadata")
	}
	genuine, err := marshal(t.ToSigned())
	if err != nil {
		return nil, fmt.Errorf("serialising targets: %w", err)
	}
	if err := redirect(t, im); err != nil {
		return nil, err
	}
	changed, err := marshal(t.ToSigned())
	if err != nil {
		return nil, fmt.Errorf("serialising targets: %w", err)
	}
	files := append([]metaFile(nil), g.roots...)
	for role, d := range g.repo.Targets {
		if role == data.CanonicalTargetsRole {
			continue
		}
		b, err := marshal(d.ToSigned())
		if err != nil {
			return nil, fmt.Errorf("serialising %s: %w", role, err)
		}
		files = append(files, metaFile{role: role, content: b, current: true})
	}
	snapshot, err := marshal(g.repo.Snapshot.ToSigned())
	if err != nil {
		return nil, fmt.Errorf("serialising the snapshot: %w", err)
	}
	timestamp, err := marshal(g.repo.Timestamp.ToSigned())
	if err != nil {
		return nil, fmt.Errorf("serialising the timestamp: %w", err)
	}
	return append(files,
		metaFile{role: data.CanonicalTargetsRole, content: changed, current: true, as: genuine},
		metaFile{role: data.CanonicalSnapshotRole, content: snapshot, current: true},
		metaFile{role: data.CanonicalTimestampRole, content: timestamp, current: true}), nil
}

// compromise builds a new TUF repository for the GUN under new keys, with
// the same targets roles, every target pointing at another image.
func compromise(g *genuineRepo, im *imposters) ([]metaFile, error) {
	var delegations []data.RoleName
	for _, role := range sortedRoles(g.repo.Targets) {
		if role != data.CanonicalTargetsRole {
			delegations = append(delegations, role)
		}
	}
	// New keys for every role; the root key's certificate has CN = GUN, as
	// notary makes it.
	evil, _, err := testutils.EmptyRepo(g.gun, delegations...)
	if err != nil {
		return nil, fmt.Errorf("creating the forged repository: %w", err)
	}
	for _, role := range sortedRoles(g.repo.Targets) {
		files := data.Files{}
		t := g.repo.Targets[role]
		for _, target := range sortedTargets(t.Signed.Targets) {
			meta := t.Signed.Targets[target]
			other, err := im.other(meta)
			if err != nil {
				return nil, err
			}
			files[target] = fileMetaOf(other, meta.Custom)
		}
		if len(files) == 0 {
			continue
		}
		if _, err := evil.AddTargets(role, files); err != nil {
			return nil, fmt.Errorf("adding forged targets to %s: %w", role, err)
		}
	}
	// SignRoot counts up: the forged root comes one version above the
	// genuine one, as a rotation would.
	evil.Root.Signed.Version = g.repo.Root.Signed.Version
	meta, err := testutils.SignAndSerialize(evil)
	if err != nil {
		return nil, fmt.Errorf("signing the forged repository: %w", err)
	}
	var files []metaFile
	for _, role := range sortedRoles(meta) {
		files = append(files, metaFile{role: role, content: meta[role], current: true})
	}
	return files, nil
}

// rollback serves the first timestamp the server produced for the
// repository and the metadata it references, with the genuine root
// versions for version walks.
func rollback(n *notaryServer, g *genuineRepo) ([]metaFile, error) {
	current := g.repo.Timestamp.Signed.Version
	var old []byte
	for v := 1; v < current && old == nil; v++ {
		if _, b, err := n.store.GetVersion(g.gun, data.CanonicalTimestampRole, v); err == nil {
			old = b
		}
	}
	if old == nil {
		return nil, fmt.Errorf("finding a timestamp older than version %d: none stored (publish again first)", current)
	}
	var ts data.SignedTimestamp
	if err := canonicaljson.Unmarshal(old, &ts); err != nil {
		return nil, fmt.Errorf("decoding the old timestamp: %w", err)
	}
	byChecksum := func(role data.RoleName, meta data.FileMeta) ([]byte, error) {
		_, b, err := n.store.GetChecksum(g.gun, role, hex.EncodeToString(meta.Hashes["sha256"]))
		if err != nil {
			return nil, fmt.Errorf("reading the %s the old timestamp references: %w", role, err)
		}
		return b, nil
	}
	snapshot, err := byChecksum(data.CanonicalSnapshotRole, ts.Signed.Meta[data.CanonicalSnapshotRole.String()])
	if err != nil {
		return nil, err
	}
	var sn data.SignedSnapshot
	if err := canonicaljson.Unmarshal(snapshot, &sn); err != nil {
		return nil, fmt.Errorf("decoding the old snapshot: %w", err)
	}
	files := []metaFile{
		{role: data.CanonicalTimestampRole, content: old, current: true},
		{role: data.CanonicalSnapshotRole, content: snapshot, current: true},
	}
	roles := make([]string, 0, len(sn.Signed.Meta))
	for role := range sn.Signed.Meta {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	for _, role := range roles {
		b, err := byChecksum(data.RoleName(role), sn.Signed.Meta[role])
		if err != nil {
			return nil, err
		}
		// The root the old snapshot names is the one root.json serves.
		files = append(files, metaFile{role: data.RoleName(role), content: b, current: true})
	}
	for _, r := range g.roots { // the other root versions, for version walks
		r.current = false
		files = append(files, r)
	}
	return files, nil
}

// imposters hands out, for a target, another image of the same registry
// repository, pushing a random one as evil-<n> when there is no other.
type imposters struct {
	s    *Sandbox
	ctx  context.Context
	repo string

	loaded    bool
	manifests []ocispec.Descriptor // distinct manifests, by tag order
	tags      map[string]bool
}

// other returns a manifest whose digest differs from the target's sha256.
func (im *imposters) other(target data.FileMeta) (ocispec.Descriptor, error) {
	if !im.loaded {
		if err := im.load(); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	genuine := hex.EncodeToString(target.Hashes["sha256"])
	for _, m := range im.manifests {
		if m.Digest.Encoded() != genuine {
			return m, nil
		}
	}
	for i := 1; ; i++ {
		tag := fmt.Sprintf("evil-%d", i)
		if im.tags[tag] {
			continue
		}
		d, err := im.s.PushRandomImage(im.ctx, im.repo, tag)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("pushing an imposter image: %w", err)
		}
		im.tags[tag] = true
		im.manifests = append(im.manifests, d)
		return d, nil
	}
}

// load lists the manifests the repository's tags name.
func (im *imposters) load() error {
	ref, err := name.NewRepository(im.s.host+"/"+im.repo, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("listing the images of %q: %w", im.repo, err)
	}
	im.tags = map[string]bool{}
	tags, err := remote.List(ref, im.s.remoteOptions(im.ctx)...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		tags, err = nil, nil // no image yet
	}
	if err != nil {
		return fmt.Errorf("listing the images of %q: %w", im.repo, err)
	}
	sort.Strings(tags)
	seen := map[digest.Digest]bool{}
	for _, tag := range tags {
		im.tags[tag] = true
		d, err := im.s.head(im.ctx, ref.Tag(tag))
		if err != nil {
			return err
		}
		if !seen[d.Digest] {
			seen[d.Digest] = true
			im.manifests = append(im.manifests, d)
		}
	}
	im.loaded = true
	return nil
}

// fileMetaOf is the target metadata of manifest d, as docker signs it
// (sha256 and length), keeping custom data.
func fileMetaOf(d ocispec.Descriptor, custom *canonicaljson.RawMessage) data.FileMeta {
	sum, _ := hex.DecodeString(d.Digest.Encoded()) // a registry digest is hex
	return data.FileMeta{Length: d.Size, Hashes: data.Hashes{"sha256": sum}, Custom: custom}
}

func sortedRoles[T any](m map[data.RoleName]T) []data.RoleName {
	out := make([]data.RoleName, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortedTargets(m data.Files) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
