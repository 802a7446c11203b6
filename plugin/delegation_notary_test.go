package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	ctxu "github.com/docker/distribution/context"
	"github.com/sirupsen/logrus"
	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/server"
	"github.com/theupdateframework/notary/server/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
)

// delegationNotary is a notary server (notary's own handler, memory store,
// server-managed snapshot and timestamp keys) that also accepts delegation
// metadata, for the tests of signing as a signer.
//
// Notary v0.7.0's publish handler takes each uploaded file's role from
// multipart.Part.FileName, which Go 1.17 and later reduce to the base name
// ("targets/releases.json" becomes "releases.json"), and then rejects the
// publish as INVALID_ROLE "releases" (notaryproject/notary#1630). The
// sandbox runs that handler, so a delegate cannot publish there. Here a
// publish that carries delegation files is validated and stored by this
// wrapper instead, the way notary's server does it (load root and targets,
// load and verify each delegation against its parent, then generate the
// snapshot and timestamp with the server's keys); every other request goes
// to notary's handler. What it stores is checked by independent notary
// clients, which verify the whole TUF chain on every read.
type delegationNotary struct {
	srv   *httptest.Server
	store *storage.MemStorage
	cs    signed.CryptoService
	h     http.Handler
}

func startDelegationNotary(t *testing.T) *delegationNotary {
	t.Helper()
	store := storage.NewMemStorage()
	cs := cryptoservice.NewCryptoService(trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever("delegation-notary")))
	ctx := context.WithValue(context.Background(), notary.CtxKeyMetaStore, store)
	ctx = context.WithValue(ctx, notary.CtxKeyKeyAlgo, data.ECDSAKey)
	quiet := logrus.New()
	quiet.Out = io.Discard
	ctx = ctxu.WithLogger(ctx, logrus.NewEntry(quiet))
	n := &delegationNotary{store: store, cs: cs, h: server.RootHandler(ctx, nil, cs, nil, nil, nil)}
	n.srv = httptest.NewTLSServer(n)
	t.Cleanup(n.srv.Close)
	return n
}

// URL is the server's https URL, for DOCKER_CONTENT_TRUST_SERVER.
func (n *delegationNotary) URL() string { return n.srv.URL }

// trust makes configDir trust the server's certificate, where the plugin
// looks for it: <DOCKER_CONFIG>/tls/<host>/ca.crt.
func (n *delegationNotary) trust(t *testing.T, configDir string) {
	t.Helper()
	u, err := url.Parse(n.srv.URL)
	assert.NilError(t, err)
	dir := filepath.Join(configDir, "tls", u.Host)
	assert.NilError(t, os.MkdirAll(dir, 0o755))
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: n.srv.Certificate().Raw})
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "ca.crt"), cert, 0o644))
}

func (n *delegationNotary) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_trust/tuf/") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		updates, err := readUpdates(r.Header.Get("Content-Type"), body)
		if err == nil && carriesDelegation(updates) {
			gun := data.GUN(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v2/"), "/_trust/tuf/"))
			if err := n.apply(gun, updates); err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = fmt.Fprintf(w, `{"errors":[{"code":"INVALID_UPDATE","message":%q}]}`, err.Error())
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	n.h.ServeHTTP(w, r)
}

// readUpdates reads a publish's files with their full names.
func readUpdates(contentType string, body []byte) ([]storage.MetaUpdate, error) {
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
		_, disp, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if err != nil {
			return nil, err
		}
		content, err := io.ReadAll(part)
		if err != nil {
			return nil, err
		}
		var meta data.SignedMeta
		if err := json.Unmarshal(content, &meta); err != nil {
			return nil, err
		}
		role := data.RoleName(strings.TrimSuffix(disp["filename"], ".json"))
		updates = append(updates, storage.MetaUpdate{Role: role, Version: meta.Signed.Version, Data: content})
	}
}

func carriesDelegation(updates []storage.MetaUpdate) bool {
	for _, u := range updates {
		if data.IsDelegation(u.Role) {
			return true
		}
	}
	return false
}

// apply validates updates against what is stored, as notary's server
// does, and stores them with a new snapshot and timestamp.
func (n *delegationNotary) apply(gun data.GUN, updates []storage.MetaUpdate) error {
	byRole := map[data.RoleName]storage.MetaUpdate{}
	var roles utils.RoleList
	for _, u := range updates {
		if u.Role == data.CanonicalRootRole || u.Role == data.CanonicalSnapshotRole || u.Role == data.CanonicalTimestampRole {
			return fmt.Errorf("%s cannot be published with delegation metadata here", u.Role)
		}
		byRole[u.Role] = u
		roles = append(roles, u.Role.String())
	}
	sort.Sort(roles) // parents before children

	builder := tuf.NewRepoBuilder(gun, n.cs, trustpinning.TrustPinConfig{})
	load := func(role data.RoleName) error {
		if u, ok := byRole[role]; ok {
			return builder.Load(role, u.Data, 1, false)
		}
		_, stored, err := n.store.GetCurrent(gun, role)
		if err != nil {
			return fmt.Errorf("loading stored %s: %w", role, err)
		}
		return builder.Load(role, stored, 1, true)
	}
	if err := load(data.CanonicalRootRole); err != nil {
		return err
	}
	for _, r := range roles {
		role := data.RoleName(r)
		var ancestors []data.RoleName
		for a := role; a != data.CanonicalTargetsRole; {
			a = a.Parent()
			if !builder.IsLoaded(a) {
				ancestors = append([]data.RoleName{a}, ancestors...)
			}
		}
		for _, a := range ancestors {
			if err := load(a); err != nil {
				return err
			}
		}
		if err := load(role); err != nil {
			return fmt.Errorf("validating %s: %w", role, err)
		}
	}

	var prevSnapshot *data.SignedSnapshot
	if _, stored, err := n.store.GetCurrent(gun, data.CanonicalSnapshotRole); err == nil {
		prevSnapshot = new(data.SignedSnapshot)
		if err := json.Unmarshal(stored, prevSnapshot); err != nil {
			return err
		}
	}
	snapshot, snapshotVersion, err := builder.GenerateSnapshot(prevSnapshot)
	if err != nil {
		return fmt.Errorf("generating the snapshot: %w", err)
	}
	var prevTimestamp *data.SignedTimestamp
	if _, stored, err := n.store.GetCurrent(gun, data.CanonicalTimestampRole); err == nil {
		prevTimestamp = new(data.SignedTimestamp)
		if err := json.Unmarshal(stored, prevTimestamp); err != nil {
			return err
		}
	}
	timestamp, timestampVersion, err := builder.GenerateTimestamp(prevTimestamp)
	if err != nil {
		return fmt.Errorf("generating the timestamp: %w", err)
	}
	updates = append(updates,
		storage.MetaUpdate{Role: data.CanonicalSnapshotRole, Version: snapshotVersion, Data: snapshot},
		storage.MetaUpdate{Role: data.CanonicalTimestampRole, Version: timestampVersion, Data: timestamp},
	)
	return n.store.UpdateMany(gun, updates)
}
