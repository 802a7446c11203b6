package sandbox

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	canonicaljson "github.com/docker/go/canonical/json"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	serverErrors "github.com/theupdateframework/notary/server/errors"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/testutils"
	"github.com/theupdateframework/notary/tuf/utils"
)

// Hostility is a way in which the trust server of one repository (or of
// all) lies to its readers. Its value is the mode's name, as
// [ParseHostility] and acrtrust-sandbox --hostile spell it.
//
// A hostile mode changes only what GET requests for TUF metadata
// (/v2/<gun>/_trust/tuf/<name>.json) return; publishes, key requests and
// the changefeed still reach the genuine notary server, and so does
// everything of a repository without trust data yet. The metadata a mode
// serves is built once per activation and repository, with notary's own TUF
// code, the first time it can be (at [Sandbox.SetHostile] when the
// repository has trust data, else at its first metadata request), and is then
// served unchanged under every name notary's client asks for: <role>.json,
// <role>.<sha256>.json and <role>.<sha512>.json, <version>.<role>.json (root
// version walks), delegations such as targets/releases included.
//
// What a notary v0.7.0 client sees, as errors.As must match it (notary
// returns the trustpinning errors as pointers, the signed errors as values):
//
//   - [HostileCompromise]: a client that cached the genuine root gets
//     *trustpinning.ErrRootRotationFail; a fresh client that pins the genuine
//     root certificate gets *trustpinning.ErrValidationFail; a fresh client
//     without pins accepts the forgery (trust on first use) and resolves
//     every signed tag to another image, and having cached the forged root
//     it refuses the genuine one later (*trustpinning.ErrRootRotationFail).
//   - [HostileRollback]: a client that saw newer metadata gets
//     signed.ErrLowVersion (for the timestamp); a fresh client silently gets
//     the old trust data.
//   - [HostileFreeze]: every client gets signed.ErrExpired{Role: "timestamp"}.
//   - [HostileExpired]: every client gets signed.ErrExpired{Role: "snapshot"}.
//   - [HostileTamper]: every client gets signed.ErrRoleThreshold for targets
//     (not a checksum error: the snapshot and timestamp vouch for the
//     tampered bytes). A tampered delegation alone is skipped by notary's
//     client with a warning, so its tags are then not found
//     (client.ErrNoSuchTarget).
//   - [HostileCorrupt]: every client gets data.ErrMismatchedChecksum (or
//     storage.ErrMaliciousServer when the changed file is longer than the
//     snapshot says) for targets.
//
// Notary's client retries once after downloading root again when an update
// fails; the errors above are those of the retry, what the caller gets.
type Hostility string

// The hostile modes.
const (
	// HostileOff serves the genuine trust data.
	HostileOff Hostility = "off"
	// HostileCompromise models a stolen or replaced trust server: a complete,
	// internally consistent TUF repository for the GUN under new keys (a new
	// root certificate for the GUN, new targets, snapshot and timestamp keys;
	// the root one version above the genuine one, like a rotation), in which
	// every tag the genuine targets and delegations sign points to another
	// image of the same registry repository (one pushed as evil-<n> if the
	// repository has no other). It is what trust pinning exists to refuse.
	HostileCompromise Hostility = "compromise"
	// HostileRollback models a server replaying old, validly signed metadata:
	// the first timestamp the server produced for the repository, with the
	// snapshot, targets and delegations it references. It needs a newer
	// timestamp to exist (publish twice).
	HostileRollback Hostility = "rollback"
	// HostileFreeze models a server that stops updating: the timestamp
	// current at activation is served ever after, re-signed with the
	// server's real timestamp key (same version) with an expiry already
	// past, as when a freeze outlives the timestamp's freshness window.
	HostileFreeze Hostility = "freeze"
	// HostileExpired models a server serving a stale snapshot: the current
	// snapshot re-signed with the server's real snapshot key (same version)
	// with an expiry in the past, and a fresh timestamp (server key, same
	// version) referencing it.
	HostileExpired Hostility = "expired"
	// HostileTamper models a server that holds only the snapshot and
	// timestamp keys (as ACR does) and redirects tags: each target of
	// targets and its delegations gets the sha256 and length of another image
	// of the repository, the original signatures are kept (and no longer
	// verify), and the snapshot and timestamp are re-signed with the server's
	// real keys (same versions) so that every checksum matches.
	HostileTamper Hostility = "tamper"
	// HostileCorrupt models targets metadata changed after the snapshot
	// listed it (on the server's disk or in transit): the genuine snapshot
	// and timestamp, and under the names they give the targets file, a
	// targets file whose targets point at other images.
	HostileCorrupt Hostility = "corrupt"
)

// hostilities lists the valid modes in the order help texts show them.
var hostilities = []Hostility{HostileOff, HostileCompromise, HostileRollback, HostileFreeze, HostileExpired, HostileTamper, HostileCorrupt}

// Hostilities returns the names of the valid modes.
func Hostilities() []string {
	out := make([]string, len(hostilities))
	for i, h := range hostilities {
		out[i] = string(h)
	}
	return out
}

// ParseHostility parses a mode name: off, compromise, rollback, freeze,
// expired or tamper.
func ParseHostility(s string) (Hostility, error) {
	for _, h := range hostilities {
		if s == string(h) {
			return h, nil
		}
	}
	return "", fmt.Errorf("parsing hostile mode %q: want one of %s", s, strings.Join(Hostilities(), ", "))
}

// String returns the mode's name.
func (h Hostility) String() string { return string(h) }

func (h Hostility) valid() bool {
	for _, v := range hostilities {
		if h == v {
			return true
		}
	}
	return false
}

// errNoTrustData is what building a hostile mode returns for a repository
// without trust data: it stays genuine until there is some.
var errNoTrustData = errors.New("no trust data")

// hostileState is the hostile modes in force and the metadata built for
// them. Its zero value has every repository genuine.
type hostileState struct {
	mu      sync.Mutex
	every   Hostility                  // for repo "": every repository without a mode of its own
	repos   map[string]Hostility       // per repository (path without host)
	entries map[data.GUN]*hostileEntry // metadata of this activation, per GUN as requested
}

// hostileEntry is one activation's metadata for one GUN.
type hostileEntry struct {
	repo string
	mode Hostility

	mu    sync.Mutex
	files map[string][]byte // request name -> content; nil until built
}

func (hs *hostileState) modeLocked(repo string) Hostility {
	if h, ok := hs.repos[repo]; ok {
		return h
	}
	if hs.every == "" {
		return HostileOff
	}
	return hs.every
}

// entry returns the entry for gun under the mode in force for repo, or nil
// if that mode is off.
func (hs *hostileState) entry(gun data.GUN, repo string) *hostileEntry {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	mode := hs.modeLocked(repo)
	if mode == HostileOff {
		return nil
	}
	e := hs.entries[gun]
	if e == nil || e.mode != mode || e.repo != repo {
		e = &hostileEntry{repo: repo, mode: mode}
		if hs.entries == nil {
			hs.entries = map[data.GUN]*hostileEntry{}
		}
		hs.entries[gun] = e
	}
	return e
}

// set puts mode h in force for repo ("" = every repository) and starts a
// new activation there; files, when not nil, is the metadata already built
// for gun.
func (hs *hostileState) set(repo string, h Hostility, gun data.GUN, files map[string][]byte) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if repo == "" {
		hs.every, hs.repos, hs.entries = h, nil, nil
		return
	}
	if hs.repos == nil {
		hs.repos = map[string]Hostility{}
	}
	hs.repos[repo] = h
	for g, e := range hs.entries {
		if e.repo == repo {
			delete(hs.entries, g)
		}
	}
	if files != nil {
		if hs.entries == nil {
			hs.entries = map[data.GUN]*hostileEntry{}
		}
		hs.entries[gun] = &hostileEntry{repo: repo, mode: h, files: files}
	}
}

// forget drops all built metadata, keeping the modes: the trust data it was
// built from is gone.
func (hs *hostileState) forget() {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.entries = nil
}

// SetHostile puts mode h in force for repo, the repository path without
// host ("app", "team/app"); repo "" means every repository, and replaces
// the modes set for single repositories. Setting a mode again, even the same
// one, starts a new activation: its metadata is built anew from the genuine
// trust data of that moment. HostileOff restores the genuine trust data.
//
// When repo has trust data under <host>/<repo>, the hostile metadata is built
// now, and an error (for example rollback without an older timestamp) leaves
// the modes unchanged. Otherwise, and for repo "" and other host names of
// the sandbox, it is built at the first metadata request that finds trust
// data; until it can be built, that repository is served genuinely.
//
// Publishes still reach the genuine server, but a notary client reads the
// trust data before it publishes, so under a mode that it refuses its
// publish fails with the same error (the first publish to a repository
// without trust data is not affected).
//
// Turning content trust off ([Sandbox.SetContentTrust]) deletes the trust
// data, and with it the hostile metadata built from it; the modes stay.
func (s *Sandbox) SetHostile(repo string, h Hostility) error {
	if !h.valid() {
		return fmt.Errorf("setting hostile mode %q: unknown mode", h)
	}
	repo = strings.Trim(repo, "/")
	gun := data.GUN(s.host + "/" + repo)
	var files map[string][]byte
	if repo != "" && h != HostileOff {
		if _, err := name.NewRepository(gun.String(), name.StrictValidation); err != nil {
			return fmt.Errorf("setting hostile mode %s for %q: %w", h, repo, err)
		}
		s.mu.Lock()
		n, ok := s.notary.(*notaryServer)
		s.mu.Unlock()
		if !ok {
			return fmt.Errorf("setting hostile mode %s for %q: the trust server is not notary's", h, repo)
		}
		built, err := s.buildHostile(context.Background(), n, gun, repo, h)
		switch {
		case errors.Is(err, errNoTrustData):
		case err != nil:
			return fmt.Errorf("setting hostile mode %s for %q: %w", h, repo, err)
		default:
			files = built
		}
	}
	s.hostile.set(repo, h, gun, files)
	return nil
}

// serveHostile answers a metadata GET of gun from the hostile mode in force,
// if any, and reports whether it did. n is the genuine server.
func (s *Sandbox) serveHostile(w http.ResponseWriter, r *http.Request, n http.Handler, gun string) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	_, file, ok := strings.Cut(r.URL.Path, "/_trust/tuf/")
	if !ok || !strings.HasSuffix(file, ".json") {
		return false
	}
	repo, ok := s.trustRepo(gun)
	genuine, isNotary := n.(*notaryServer)
	if !ok || !isNotary {
		return false
	}
	e := s.hostile.entry(data.GUN(gun), repo)
	if e == nil {
		return false
	}
	e.mu.Lock()
	if e.files == nil {
		files, err := s.buildHostile(r.Context(), genuine, data.GUN(gun), repo, e.mode)
		if err != nil {
			e.mu.Unlock()
			if !errors.Is(err, errNoTrustData) && s.opts.Log != nil {
				s.logMu.Lock()
				fmt.Fprintf(s.opts.Log, "sandbox: hostile mode %s for %s, serving genuine trust data: %v\n", e.mode, gun, err)
				s.logMu.Unlock()
			}
			return false
		}
		e.files = files
	}
	content, found := e.files[file]
	e.mu.Unlock()
	if !found {
		_ = errcode.ServeJSON(w, serverErrors.ErrMetadataNotFound.WithDetail(nil))
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(content)
	}
	return true
}

// metaFile is one metadata file a hostile mode serves.
type metaFile struct {
	role    data.RoleName
	content []byte
	current bool // served as <role>.json too
	// as, when set, is the content whose names this file is served under
	// instead of its own (a file swapped for another after it was listed).
	as []byte
}

// buildHostile builds the metadata mode serves for gun and indexes it by
// the names notary's client requests.
func (s *Sandbox) buildHostile(ctx context.Context, n *notaryServer, gun data.GUN, repo string, mode Hostility) (map[string][]byte, error) {
	g, err := loadGenuine(n, gun)
	if err != nil {
		return nil, err
	}
	var files []metaFile
	switch mode {
	case HostileCompromise:
		files, err = compromise(g, &imposters{s: s, ctx: ctx, repo: repo})
	case HostileRollback:
		files, err = rollback(n, g)
	case HostileFreeze:
		files, err = freeze(g, time.Now())
	case HostileExpired:
		files, err = expire(g, time.Now())
	case HostileTamper:
		files, err = tamper(g, &imposters{s: s, ctx: ctx, repo: repo})
	case HostileCorrupt:
		files, err = corrupt(g, &imposters{s: s, ctx: ctx, repo: repo})
	default:
		return nil, fmt.Errorf("building hostile mode %q: unknown mode", mode)
	}
	if err != nil {
		return nil, fmt.Errorf("building hostile mode %s for %s: %w", mode, gun, err)
	}
	return indexMeta(files)
}

// indexMeta maps every name notary's client may request to its file:
// <role>.json for the current ones, and for all <role>.<sha256>.json,
// <role>.<sha512>.json and <version>.<role>.json. Earlier files win.
func indexMeta(files []metaFile) (map[string][]byte, error) {
	out := map[string][]byte{}
	add := func(name string, content []byte) {
		if _, ok := out[name]; !ok {
			out[name] = content
		}
	}
	for _, f := range files {
		var meta data.SignedMeta
		if err := canonicaljson.Unmarshal(f.content, &meta); err != nil {
			return nil, fmt.Errorf("decoding hostile %s: %w", f.role, err)
		}
		if f.current {
			add(f.role.String()+".json", f.content)
		}
		named := f.content
		if f.as != nil {
			named = f.as
		}
		s256 := sha256.Sum256(named)
		s512 := sha512.Sum512(named)
		add(utils.ConsistentName(f.role.String(), s256[:])+".json", f.content)
		add(utils.ConsistentName(f.role.String(), s512[:])+".json", f.content)
		add(fmt.Sprintf("%d.%s.json", meta.Signed.Version, f.role), f.content)
	}
	return out, nil
}

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
