package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
)

// guardedRepo is notary's repository with the checks Docker lacked, around
// every call that reads or writes trust data (docs/security.md):
//
//   - fail closed: notary's client quietly answers from its cache when the
//     timestamp cannot be downloaded (tufclient.downloadTimestamp). The
//     probe below sees that exchange; a call during which it failed is an
//     error, and once it has failed the probe sends nothing more for that
//     call, so nothing is published on top of stale data. --offline opens
//     the repository without a server instead (Opener.Offline).
//   - pins are authoritative: notary checks pins only on a first download
//     and trusts a cached root as it is ("the root on disk is the source of
//     trust pinning", client.bootstrapClient). The guard also checks the
//     cached root against the pin, with notary's own trustpinning.ValidateRoot.
//   - required pins: with RequirePin, data of an unpinned repository is
//     refused, except a root this command made itself (a first signing, a
//     root rotation).
//   - errors classified with what the probe saw (status codes, the root
//     the server presented), which notary's errors do not carry.
type guardedRepo struct {
	Repository
	gun        data.GUN
	trustDir   string
	probe      *probe // nil when offline
	pins       Pins
	requirePin bool
	// passFailure says why the passphrase retriever gave up, if it did:
	// notary reports only "maximum number of passphrase attempts exceeded".
	passFailure func() error
	ownRoot     bool // Initialize or a root rotation ran here: the cached root is this command's own
	// cachedRoot returns the root notary trusts now; nil means the file
	// cache's (CachedRoot). A read-only repository (audit) keeps it in memory.
	cachedRoot func() ([]byte, error)
}

func (g *guardedRepo) trustedRoot() ([]byte, error) {
	if g.cachedRoot != nil {
		return g.cachedRoot()
	}
	return CachedRoot(g.trustDir, g.gun)
}

// read runs one notary call that reads trust data.
func (g *guardedRepo) read(call func() error) error {
	g.probe.reset()
	if err := call(); err != nil {
		return g.classify(err)
	}
	if err := g.fresh(false); err != nil {
		return err
	}
	return g.trusted()
}

// write runs one notary call that publishes: the root it would publish on
// top of must pass the pin first.
func (g *guardedRepo) write(call func() error) error {
	if err := g.trusted(); err != nil && !isNotExist(err) {
		return err
	}
	g.probe.reset()
	if err := call(); err != nil {
		return g.classify(err)
	}
	// A first publish meets no timestamp on the server.
	return g.fresh(true)
}

func (g *guardedRepo) ListTargets(roles ...data.RoleName) (out []*client.TargetWithRole, err error) {
	err = g.read(func() error { out, err = g.Repository.ListTargets(roles...); return err })
	return out, err
}

func (g *guardedRepo) GetTargetByName(name string, roles ...data.RoleName) (out *client.TargetWithRole, err error) {
	err = g.read(func() error { out, err = g.Repository.GetTargetByName(name, roles...); return err })
	return out, err
}

func (g *guardedRepo) GetAllTargetMetadataByName(name string) (out []client.TargetSignedStruct, err error) {
	err = g.read(func() error { out, err = g.Repository.GetAllTargetMetadataByName(name); return err })
	return out, err
}

func (g *guardedRepo) ListRoles() (out []client.RoleWithSignatures, err error) {
	err = g.read(func() error { out, err = g.Repository.ListRoles(); return err })
	return out, err
}

func (g *guardedRepo) GetDelegationRoles() (out []data.Role, err error) {
	err = g.read(func() error { out, err = g.Repository.GetDelegationRoles(); return err })
	return out, err
}

func (g *guardedRepo) Initialize(rootKeyIDs []string, serverManagedRoles ...data.RoleName) error {
	if pin, ok := g.pins.Lookup(g.gun); ok {
		// The server has no trust data for a repository that is pinned:
		// a new root would be one the pin does not name.
		return &Error{Kind: KindPinMismatch, GUN: g.gun, Pin: &pin, Trusted: pin.KeyIDs, Err: ErrPinnedWithoutTrustData,
			Message: fmt.Sprintf("%s is pinned (%s), but the trust server has no trust data for it; signing would create a new root that the pin does not name", g.gun, pin.Pattern)}
	}
	if err := g.Repository.Initialize(rootKeyIDs, serverManagedRoles...); err != nil {
		return g.classify(err)
	}
	g.ownRoot = true
	return nil
}

// GetCryptoService is notary's, with key creation errors classified like
// the rest (creating the root key asks for a new passphrase).
func (g *guardedRepo) GetCryptoService() signed.CryptoService {
	return guardedCrypto{CryptoService: g.Repository.GetCryptoService(), g: g}
}

type guardedCrypto struct {
	signed.CryptoService
	g *guardedRepo
}

func (c guardedCrypto) Create(role data.RoleName, gun data.GUN, algorithm string) (data.PublicKey, error) {
	pub, err := c.CryptoService.Create(role, gun, algorithm)
	if err != nil {
		return nil, c.g.classify(fmt.Errorf("creating the %s key: %w", role, err))
	}
	return pub, nil
}

func (g *guardedRepo) Publish() error {
	return g.write(g.Repository.Publish)
}

func (g *guardedRepo) RotateKey(role data.RoleName, serverManagesKey bool, keyList []string) error {
	if err := g.write(func() error { return g.Repository.RotateKey(role, serverManagesKey, keyList) }); err != nil {
		return err
	}
	if role == data.CanonicalRootRole {
		// The new root is this command's own, signed by the pinned one;
		// the caller updates the pin.
		g.ownRoot = true
	}
	return nil
}

// fresh fails a call during which the timestamp could not be downloaded:
// notary then answered from its cache, which an attacker who blocks the
// trust server could keep serving until the cached timestamp expires. A
// missing timestamp (404) is accepted only when publishing.
func (g *guardedRepo) fresh(publishing bool) error {
	if g.probe == nil {
		return nil
	}
	seen, status, err := g.probe.timestamp()
	switch {
	case !seen && publishing:
		// A first publish stops at the server's 404 for root.json.
		return nil
	case !seen:
		return &Error{Kind: KindNetwork, GUN: g.gun, CacheUnused: true, Err: errNoTimestampRequest,
			Message: fmt.Sprintf("Error: error contacting notary server: %v", errNoTimestampRequest)}
	case err == nil && (status == http.StatusOK || status == http.StatusNotFound && publishing):
		return nil
	}
	// The call succeeded all the same: notary answered from its cache.
	e := g.timestampError(status, err)
	e.CacheUnused = true
	return e
}

// timestampError classifies a failed timestamp download: the transport's
// error, or the status the server answered.
func (g *guardedRepo) timestampError(status int, err error) *Error {
	var c error
	switch {
	case err != nil:
		c = Classify(g.gun, storage.NetworkError{Wrapped: err})
	case status == http.StatusNotFound:
		c = Classify(g.gun, storage.ErrMetaNotFound{Resource: data.CanonicalTimestampRole.String()})
	default:
		return g.statusError(status, storage.ErrServerUnavailable{})
	}
	var e *Error
	if errors.As(c, &e) {
		return e
	}
	return &Error{Kind: KindNetwork, GUN: g.gun, Err: c, Message: fmt.Sprintf("Error: error contacting notary server: %v", c)}
}

// ErrPinnedWithoutTrustData: signing would create the root of a repository
// that a pin covers (its trust data is gone from the server).
var ErrPinnedWithoutTrustData = errors.New("pinned repository without trust data")

var errNoTimestampRequest = errors.New("the trust server's timestamp was not requested")

// trusted checks the root that notary now trusts for this repository (the
// cached root.json) against the pin that covers it, and refuses unpinned
// data when pins are required. A root this command made is its own.
func (g *guardedRepo) trusted() error {
	pin, pinned := g.pins.Lookup(g.gun)
	if pinned && g.ownRoot {
		return nil
	}
	if !pinned {
		if g.requirePin && !g.ownRoot {
			return g.unpinned()
		}
		return nil
	}
	raw, err := g.trustedRoot()
	if err != nil {
		return fmt.Errorf("reading the cached root of %q: %w", g.gun, err)
	}
	var s data.Signed
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("reading the cached root of %q: %w", g.gun, err)
	}
	if _, err := trustpinning.ValidateRoot(nil, &s, g.gun, g.pins.Config()); err != nil {
		return g.pinMismatch(pin, raw, err)
	}
	return nil
}

func (g *guardedRepo) unpinned() *Error {
	return &Error{Kind: KindUnpinned, GUN: g.gun, Message: fmt.Sprintf("%s is not pinned, and pins are required", g.gun)}
}

func (g *guardedRepo) pinMismatch(pin Pin, presentedRoot []byte, err error) *Error {
	e := &Error{Kind: KindPinMismatch, GUN: g.gun, Pin: &pin, Trusted: pin.KeyIDs, Err: err}
	if info, perr := ParseRoot(presentedRoot); perr == nil {
		e.Presented = info.KeyIDs
	}
	what := fmt.Sprintf("root key IDs %v", pin.KeyIDs)
	if pin.CA != "" {
		what = "the CA in " + pin.CA
	}
	e.Message = fmt.Sprintf("Warning: potential malicious behavior - the root of trust for %s does not match its pin (%s): pinned %s, presented root key IDs %v",
		g.gun, pin.Pattern, what, e.Presented)
	return e
}

// classify is Classify with what the probe saw: the status of a refused
// request, the root a server presented, and the pin.
func (g *guardedRepo) classify(err error) error {
	if g.probe != nil && g.probe.isPoisoned() {
		// What failed first is the timestamp download; later requests of
		// the call were not sent.
		seen, status, terr := g.probe.timestamp()
		if seen {
			return g.timestampError(status, terr)
		}
	}
	var unavailable storage.ErrServerUnavailable
	if errors.As(err, &unavailable) && g.probe != nil {
		if status := g.probe.lastFailure(); status != 0 {
			return g.statusError(status, err)
		}
	}
	c := Classify(g.gun, err)
	var e *Error
	if !errors.As(c, &e) {
		return c
	}
	switch e.Kind {
	case KindOfflineNoCache:
		// notary says only "offline" when its cache could not be used: say
		// why, from the cache itself.
		if age, err := CachedTimestamp(g.trustDir, g.gun); err == nil {
			if !age.Expires.After(time.Now()) {
				e.Kind, e.Role = KindExpired, data.CanonicalTimestampRole
				e.Message = fmt.Sprintf("Error: remote repository %s out-of-date: the cached timestamp expired %s", g.gun, age.Expires.UTC().Format(time.RFC3339))
			} else {
				e.Message = fmt.Sprintf("the trust data of %s cached on this machine cannot be verified offline (it is incomplete or no longer valid)", g.gun)
			}
		}
	case KindUntrustedRoot:
		if pin, ok := g.pins.Lookup(g.gun); ok {
			// notary validated a first download against the pin.
			return g.pinMismatch(pin, g.probe.presentedRoot(), err)
		}
		if g.requirePin {
			// notary's DisableTOFU (from the pins file) refused first.
			return g.unpinned()
		}
	case KindPassphrase, KindNoSigningKeys:
		if g.passFailure != nil {
			if reason := g.passFailure(); reason != nil {
				// The retriever's reason first: notary's words ("maximum
				// number of passphrase attempts exceeded") say nothing of it.
				e.Message = reason.Error()
				e.Err = errors.Join(reason, e.Err)
			}
		}
	case KindRootRotation:
		if raw, rerr := g.trustedRoot(); rerr == nil {
			if info, perr := ParseRoot(raw); perr == nil {
				e.Trusted = info.KeyIDs
			}
		}
		if info, perr := ParseRoot(g.probe.presentedRoot()); perr == nil {
			e.Presented = info.KeyIDs
		}
		if pin, ok := g.pins.Lookup(g.gun); ok {
			e.Pin = &pin
		}
	}
	return e
}

// statusError classifies a trust server's answer by its status code.
func (g *guardedRepo) statusError(status int, err error) *Error {
	e := &Error{GUN: g.gun, Err: err, Kind: KindServer,
		Message: fmt.Sprintf("Error: error contacting notary server: the trust server answered %d %s", status, http.StatusText(status))}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		e.Kind = KindUnauthorized
		e.Message = fmt.Sprintf("Error: you are not authorized to perform this operation: server returned %d.", status)
	}
	return e
}
