package sandbox

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	canonicaljson "github.com/docker/go/canonical/json"
	"github.com/google/go-containerregistry/pkg/name"
	serverErrors "github.com/theupdateframework/notary/server/errors"
	"github.com/theupdateframework/notary/tuf/data"
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
var hostilities = []Hostility{HostileOff, HostileCompromise, HostileRollback, HostileFreeze, HostileExpired, HostileTamper, HostileCorrupt,
	HostileLoopLink, HostileEscapeNames, HostileRedirectHTTP, HostileRedirectHost} // the last four: hostile_wire.go

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
	if repo != "" && h != HostileOff && !h.wire() {
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
	if e == nil || e.mode.wire() {
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
