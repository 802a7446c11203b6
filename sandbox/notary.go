package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"sort"
	"strings"

	ctxu "github.com/docker/distribution/context"
	"github.com/docker/distribution/registry/api/errcode"
	canonicaljson "github.com/docker/go/canonical/json"
	"github.com/sirupsen/logrus"
	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/server"
	serverErrors "github.com/theupdateframework/notary/server/errors"
	"github.com/theupdateframework/notary/server/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"github.com/theupdateframework/notary/tuf/utils"
	"github.com/theupdateframework/notary/tuf/validation"
)

// notaryServer is notary v0.7.0's server (its router and handlers, a memory
// store, a crypto service holding the server-managed snapshot and timestamp
// keys) with one repair: it accepts publishes that carry delegation
// metadata.
//
// Notary's publish handler (server/handlers/default.go, atomicUpdateHandler)
// takes each uploaded file's role from multipart.Part.FileName, which Go 1.17
// and later reduce to the base name: "targets/releases.json" arrives as
// "releases.json" and the publish is refused as INVALID_ROLE "releases"
// (https://github.com/notaryproject/notary/issues/1630). Unrepaired, no
// delegate could publish: not a signer added with `docker trust signer add`
// or `docker acrtrust signer add`, not the repository owner signing into
// targets/releases.
//
// So a publish whose file names include a delegation role is read here, with
// the full names, and validated and stored by [validatePublish], which takes
// the steps of notary's unexported validateUpdate on notary's exported
// tuf.RepoBuilder. Its errors are notary's error codes. Every other request,
// including every publish without delegation files, goes to notary's handler
// unchanged.
type notaryServer struct {
	handler http.Handler
	store   storage.MetaStore
	crypto  signed.CryptoService
}

// newNotaryHandler returns a notary server with empty memory storage and a
// fresh signing service for the server-managed snapshot and timestamp keys,
// wired as notary's own integration tests do it. Access control is nil:
// the front handler does auth.
func newNotaryHandler() http.Handler {
	store := storage.NewMemStorage()
	cs := cryptoservice.NewCryptoService(trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever("acrtrust-sandbox")))
	ctx := context.WithValue(context.Background(), notary.CtxKeyMetaStore, store)
	ctx = context.WithValue(ctx, notary.CtxKeyKeyAlgo, data.ECDSAKey)
	l := logrus.New()
	l.Out = io.Discard
	ctx = ctxu.WithLogger(ctx, logrus.NewEntry(l))
	return &notaryServer{
		handler: server.RootHandler(ctx, nil, cs, nil, nil, nil),
		store:   store,
		crypto:  cs,
	}
}

// publishPath is notary's route for publishes, POST /v2/{gun:[^*]+}/_trust/tuf/.
var publishPath = regexp.MustCompile(`^/v2/([^*]+)/_trust/tuf/$`)

func (n *notaryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := publishPath.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodPost || m == nil {
		n.handler.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, notary.MaxDownloadSize))
	if err != nil {
		_ = errcode.ServeJSON(w, serverErrors.ErrMalformedUpload.WithDetail(nil))
		return
	}
	updates, err := readPublish(r.Header.Get("Content-Type"), body)
	if err != nil || !hasDelegation(updates) {
		// Notary's handler reads it again and answers as it always does.
		r.Body = io.NopCloser(bytes.NewReader(body))
		n.handler.ServeHTTP(w, r)
		return
	}
	if err := n.publish(data.GUN(m[1]), updates); err != nil {
		_ = errcode.ServeJSON(w, err)
	}
}

// readPublish reads the files of a publish, naming each one's role after
// its full file name. It fails on anything notary's handler would refuse
// before validation.
func readPublish(contentType string, body []byte) ([]storage.MetaUpdate, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, err
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var updates []storage.MetaUpdate
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return updates, nil
		}
		if err != nil {
			return nil, err
		}
		_, disposition, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if err != nil {
			return nil, err
		}
		role := data.RoleName(strings.TrimSuffix(disposition["filename"], ".json"))
		if !data.ValidRole(role) {
			return nil, fmt.Errorf("invalid role %q", role)
		}
		content, err := io.ReadAll(part)
		if err != nil {
			return nil, err
		}
		var meta data.SignedMeta
		if err := canonicaljson.Unmarshal(content, &meta); err != nil {
			return nil, err
		}
		updates = append(updates, storage.MetaUpdate{Role: role, Version: meta.Signed.Version, Data: content})
	}
}

func hasDelegation(updates []storage.MetaUpdate) bool {
	for _, u := range updates {
		if data.IsDelegation(u.Role) {
			return true
		}
	}
	return false
}

// publish validates and stores updates, with a new snapshot and timestamp
// unless the client sent its own snapshot, answering errors as notary's
// handler does.
func (n *notaryServer) publish(gun data.GUN, updates []storage.MetaUpdate) error {
	updates, err := validatePublish(n.crypto, gun, updates, n.store)
	if err != nil {
		serializable, serr := validation.NewSerializableError(err)
		if serr != nil {
			return serverErrors.ErrInvalidUpdate.WithDetail(nil)
		}
		return serverErrors.ErrInvalidUpdate.WithDetail(serializable)
	}
	if err := n.store.UpdateMany(gun, updates); err != nil {
		var old storage.ErrOldVersion
		if errors.As(err, &old) {
			// Another publish came first; notary clients retry on this.
			return serverErrors.ErrOldVersion.WithDetail(err)
		}
		return serverErrors.ErrUpdating.WithDetail(nil)
	}
	return nil
}

// validatePublish checks a publish against the stored metadata and returns
// the updates to store, with the snapshot and timestamp the server
// generates. It takes the steps of notary's validateUpdate
// (server/handlers/validation.go, unexported): root first (stored, or the
// published one if its version is the stored one or the next), then targets
// and delegations parents first, each delegation verified against its parent
// as loaded (published, else stored), then the published snapshot or a
// generated one, then a generated timestamp. All TUF checks are
// tuf.RepoBuilder's.
func validatePublish(cs signed.CryptoService, gun data.GUN, updates []storage.MetaUpdate, store storage.MetaStore) ([]storage.MetaUpdate, error) {
	published := make(map[data.RoleName]storage.MetaUpdate, len(updates))
	for _, u := range updates {
		published[u.Role] = u
	}
	var apply []storage.MetaUpdate

	builder := tuf.NewRepoBuilder(gun, cs, trustpinning.TrustPinConfig{})
	if err := loadStored(builder, store, gun, data.CanonicalRootRole); err != nil && !isNotFound(err) {
		return nil, err
	}
	if root, ok := published[data.CanonicalRootRole]; ok {
		current := builder.GetLoadedVersion(data.CanonicalRootRole)
		if root.Version != current && root.Version != current+1 {
			return nil, validation.ErrBadRoot{Msg: fmt.Sprintf("Root modifications must increment the version. Current %d, new %d", current, root.Version)}
		}
		builder = builder.BootstrapNewBuilder()
		if err := builder.Load(data.CanonicalRootRole, root.Data, current, false); err != nil {
			return nil, validation.ErrBadRoot{Msg: err.Error()}
		}
		apply = append(apply, root)
	} else if !builder.IsLoaded(data.CanonicalRootRole) {
		return nil, validation.ErrValidation{Msg: "no pre-existing root and no root provided in update."}
	}

	var targetsRoles utils.RoleList
	for role := range published {
		if role == data.CanonicalTargetsRole || data.IsDelegation(role) {
			targetsRoles = append(targetsRoles, role.String())
		}
	}
	sort.Sort(targetsRoles) // fewer path segments first: parents before children
	for _, name := range targetsRoles {
		role := data.RoleName(name)
		var ancestors []data.RoleName // outermost first
		for a := role; a != data.CanonicalTargetsRole; {
			a = a.Parent()
			if !builder.IsLoaded(a) {
				ancestors = append([]data.RoleName{a}, ancestors...)
			}
		}
		for _, a := range ancestors {
			// A missing ancestor makes loading role fail below.
			if err := loadStored(builder, store, gun, a); err != nil && !isNotFound(err) {
				return nil, err
			}
		}
		if err := builder.Load(role, published[role].Data, 1, false); err != nil {
			return nil, validation.ErrBadTargets{Msg: err.Error()}
		}
		apply = append(apply, published[role])
	}

	if snapshot, ok := published[data.CanonicalSnapshotRole]; ok {
		if err := builder.Load(data.CanonicalSnapshotRole, snapshot.Data, 1, false); err != nil {
			return nil, validation.ErrBadSnapshot{Msg: err.Error()}
		}
		apply = append(apply, snapshot)
	} else {
		snapshot, err := generateSnapshot(builder, store, gun)
		if err != nil {
			return nil, err
		}
		apply = append(apply, snapshot)
	}
	timestamp, err := generateTimestamp(builder, store, gun)
	if err != nil {
		return nil, err
	}
	return append(apply, timestamp), nil
}

func loadStored(builder tuf.RepoBuilder, store storage.MetaStore, gun data.GUN, role data.RoleName) error {
	_, stored, err := store.GetCurrent(gun, role)
	if err != nil {
		return err
	}
	return builder.Load(role, stored, 1, true)
}

func isNotFound(err error) bool {
	var nf storage.ErrNotFound
	return errors.As(err, &nf)
}

// generateSnapshot signs the next snapshot with the server's snapshot key.
func generateSnapshot(builder tuf.RepoBuilder, store storage.MetaStore, gun data.GUN) (storage.MetaUpdate, error) {
	var prev *data.SignedSnapshot
	if err := loadPrevious(store, gun, data.CanonicalSnapshotRole, &prev); err != nil {
		return storage.MetaUpdate{}, err
	}
	meta, version, err := builder.GenerateSnapshot(prev)
	switch {
	case err == nil:
		return storage.MetaUpdate{Role: data.CanonicalSnapshotRole, Version: version, Data: meta}, nil
	case errors.As(err, new(signed.ErrInsufficientSignatures)), errors.As(err, new(signed.ErrNoKeys)), errors.As(err, new(signed.ErrRoleThreshold)):
		return storage.MetaUpdate{}, validation.ErrBadHierarchy{
			Missing: data.CanonicalSnapshotRole.String(),
			Msg:     "no snapshot was included in update and server does not hold current snapshot key for repository",
		}
	default:
		return storage.MetaUpdate{}, validation.ErrValidation{Msg: err.Error()}
	}
}

// generateTimestamp signs the next timestamp with the server's timestamp key.
func generateTimestamp(builder tuf.RepoBuilder, store storage.MetaStore, gun data.GUN) (storage.MetaUpdate, error) {
	var prev *data.SignedTimestamp
	if err := loadPrevious(store, gun, data.CanonicalTimestampRole, &prev); err != nil {
		return storage.MetaUpdate{}, err
	}
	meta, version, err := builder.GenerateTimestamp(prev)
	switch {
	case err == nil:
		return storage.MetaUpdate{Role: data.CanonicalTimestampRole, Version: version, Data: meta}, nil
	case errors.As(err, new(signed.ErrInsufficientSignatures)), errors.As(err, new(signed.ErrNoKeys)):
		return storage.MetaUpdate{}, validation.ErrBadRoot{Msg: "no timestamp keys exist on the server"}
	default:
		return storage.MetaUpdate{}, validation.ErrValidation{Msg: err.Error()}
	}
}

// loadPrevious decodes the stored metadata of role into *prev, leaving it nil
// if there is none yet.
func loadPrevious[T any](store storage.MetaStore, gun data.GUN, role data.RoleName, prev **T) error {
	_, stored, err := store.GetCurrent(gun, role)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	*prev = new(T)
	if err := canonicaljson.Unmarshal(stored, *prev); err != nil {
		return fmt.Errorf("decoding the stored %s of %s: %w", role, gun, err)
	}
	return nil
}
