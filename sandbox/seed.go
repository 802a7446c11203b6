package sandbox

// Longer than 400 lines on purpose: seeding signs with notary's own tuf
// package step by step (keys, roles, delegations, storage), in one place.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/server/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// catalogPageSize is the most repositories one /v2/_catalog page lists,
// whatever n= the client asks for: the distribution spec lets a registry
// return fewer than asked, and clients must follow the Link header.
const catalogPageSize = 100

// SeedRepo describes one repository for [Sandbox.Seed]: images pushed in
// process (no auth, no TLS) and trust data made with notary's own TUF code
// and stored through the same validation as a publish. The zero value of
// every field is "none".
type SeedRepo struct {
	// Name is the repository path, such as "team/app". Required.
	Name string
	// Signed tags are pushed and signed with the digest pushed.
	Signed []string
	// Unsigned tags are pushed and not signed.
	Unsigned []string
	// Drifted tags are pushed and signed, then pushed again with another
	// image: the registry no longer serves the signed digest.
	Drifted []string
	// Missing tags are signed but not in the registry (the image is gone).
	Missing []string
	// TargetsExpire is when the targets metadata expires; zero means
	// notary's default (3 years from now).
	TargetsExpire time.Time
	// ReleasesExpire, when not zero, adds a targets/releases delegation
	// that holds the signed tags too, expiring then.
	ReleasesExpire time.Time
	// KeyDir, when not empty, is a trust directory (<DOCKER_CONFIG>/trust):
	// the root, repository and delegation keys are written to
	// <KeyDir>/private, encrypted with Passphrase, as if its owner had
	// signed. Empty keeps the keys in memory only (nobody can sign again).
	KeyDir     string
	Passphrase string
	// RootPassphrase encrypts the root key; empty means Passphrase.
	RootPassphrase string
	// Referrers, when not nil, is called once for each tag the registry
	// serves at the end (signed, unsigned and drifted ones) with the digest
	// served, and the artifacts it returns are attached to that digest as
	// OCI referrers (seed_referrers.go): Notation signatures for an audit
	// of a registry half-way through its move, for instance. Seed may call
	// it concurrently for different repositories.
	Referrers func(tag string, served ocispec.Descriptor) ([]Referrer, error)
}

// Seed pushes and signs each repository of repos, parallel at most
// parallel at a time (0 means 4). It is fast enough for thousands of
// repositories: nothing goes over the network.
func (s *Sandbox) Seed(ctx context.Context, repos []SeedRepo, parallel int) error {
	if parallel <= 0 {
		parallel = 4
	}
	work := make(chan SeedRepo)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if err := s.seedOne(r); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, r := range repos {
		if ctx.Err() != nil {
			break
		}
		work <- r
	}
	close(work)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// SeedMany seeds n repositories named <prefix>NNNN, each with tags signed
// tags (t00, t01, ...), and returns their names.
func (s *Sandbox) SeedMany(ctx context.Context, prefix string, n, tags int) ([]string, error) {
	names := make([]string, 0, n)
	repos := make([]SeedRepo, 0, n)
	signed := make([]string, tags)
	for i := range tags {
		signed[i] = fmt.Sprintf("t%02d", i)
	}
	for i := range n {
		name := fmt.Sprintf("%s%04d", prefix, i)
		names = append(names, name)
		repos = append(repos, SeedRepo{Name: name, Signed: signed})
	}
	return names, s.Seed(ctx, repos, 4)
}

func (s *Sandbox) seedOne(r SeedRepo) error {
	if r.Name == "" {
		return errors.New("sandbox: seed: a repository needs a name")
	}
	served := map[string]ocispec.Descriptor{}
	push := func(tag, salt string) error {
		desc, err := s.putSeedImage(r.Name, tag, salt)
		if err == nil {
			served[tag] = desc
		}
		return err
	}
	for _, list := range [][]string{r.Signed, r.Unsigned, r.Drifted} {
		for _, tag := range list {
			if err := push(tag, "1"); err != nil {
				return err
			}
		}
	}
	files := data.Files{}
	for _, tag := range append(append([]string{}, r.Signed...), r.Drifted...) {
		meta, err := fileMeta(served[tag])
		if err != nil {
			return err
		}
		files[tag] = meta
	}
	for _, tag := range r.Missing {
		meta, err := fileMeta(ocispec.Descriptor{Digest: digest.FromString("gone " + r.Name + ":" + tag), Size: 512})
		if err != nil {
			return err
		}
		files[tag] = meta
	}
	if len(files) > 0 {
		if err := s.signSeed(r, files); err != nil {
			return fmt.Errorf("sandbox: seed: signing %s: %w", r.Name, err)
		}
	}
	for _, tag := range r.Drifted {
		if err := push(tag, "2"); err != nil {
			return err
		}
	}
	return s.seedReferrers(r, served)
}

func fileMeta(d ocispec.Descriptor) (data.FileMeta, error) {
	h, err := digestBytes(d.Digest)
	if err != nil {
		return data.FileMeta{}, err
	}
	return data.FileMeta{Length: d.Size, Hashes: data.Hashes{notary.SHA256: h}}, nil
}

func digestBytes(d digest.Digest) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	enc := d.Encoded()
	out := make([]byte, len(enc)/2)
	for i := range out {
		v, err := strconv.ParseUint(enc[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, err
		}
		out[i] = byte(v)
	}
	return out, nil
}

// inProcess sends one request straight to h, as the given method and path.
func inProcess(h http.Handler, method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// seedBlobs are the config and layer every seeded image shares.
var (
	seedConfig = []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	seedLayer  = bytes.Repeat([]byte("acrtrust sandbox seed layer\n"), 16)
)

// putSeedBlob uploads b to repo in process (a monolithic upload) and
// returns its descriptor.
func (s *Sandbox) putSeedBlob(repo string, b []byte, mediaType string) (ocispec.Descriptor, error) {
	d := digest.FromBytes(b)
	rec := inProcess(s.registry, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+url.QueryEscape(d.String()), "application/octet-stream", b)
	if rec.Code != http.StatusCreated {
		return ocispec.Descriptor{}, fmt.Errorf("sandbox: seed: uploading a blob to %s: %d %s", repo, rec.Code, rec.Body.String())
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}, nil
}

// putSeedImage pushes a small image as repo:tag in process and returns its
// manifest descriptor. salt makes the manifest (and digest) differ between
// pushes of the same tag.
func (s *Sandbox) putSeedImage(repo, tag, salt string) (ocispec.Descriptor, error) {
	cfg, err := s.putSeedBlob(repo, seedConfig, ocispec.MediaTypeImageConfig)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	layer, err := s.putSeedBlob(repo, seedLayer, ocispec.MediaTypeImageLayer)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m := ocispec.Manifest{
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      cfg,
		Layers:      []ocispec.Descriptor{layer},
		Annotations: map[string]string{"org.opencontainers.image.ref.name": tag, "acrtrust.sandbox.seed": repo + ":" + tag + "/" + salt},
	}
	m.SchemaVersion = 2
	b, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	rec := inProcess(s.registry, http.MethodPut, "/v2/"+repo+"/manifests/"+tag, ocispec.MediaTypeImageManifest, b)
	if rec.Code != http.StatusCreated {
		return ocispec.Descriptor{}, fmt.Errorf("sandbox: seed: pushing %s:%s: %d %s", repo, tag, rec.Code, rec.Body.String())
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}, nil
}

// signSeed makes the trust data of r as `docker trust` would have at its
// first signed push (root and repository keys with the client, snapshot and
// timestamp keys on the server), signs files into targets (and
// targets/releases), and stores it as a publish would be stored.
func (s *Sandbox) signSeed(r SeedRepo, files data.Files) error {
	gun := data.GUN(s.host + "/" + r.Name)
	cs, rootKey, err := seedKeys(r, gun)
	if err != nil {
		return err
	}
	targetsPub, err := cs.Create(data.CanonicalTargetsRole, gun, data.ECDSAKey)
	if err != nil {
		return err
	}
	tsKey, err := s.serverKey(gun, data.CanonicalTimestampRole)
	if err != nil {
		return err
	}
	snKey, err := s.serverKey(gun, data.CanonicalSnapshotRole)
	if err != nil {
		return err
	}

	repo := tuf.NewRepo(cs)
	if err := repo.InitRoot(
		data.NewBaseRole(data.CanonicalRootRole, 1, rootKey),
		data.NewBaseRole(data.CanonicalTimestampRole, 1, tsKey),
		data.NewBaseRole(data.CanonicalSnapshotRole, 1, snKey),
		data.NewBaseRole(data.CanonicalTargetsRole, 1, targetsPub),
		false,
	); err != nil {
		return err
	}
	if _, err := repo.InitTargets(data.CanonicalTargetsRole); err != nil {
		return err
	}
	if !r.ReleasesExpire.IsZero() {
		relPub, err := cs.Create(seedReleases, gun, data.ECDSAKey)
		if err != nil {
			return err
		}
		if err := repo.UpdateDelegationKeys(seedReleases, data.KeyList{relPub}, nil, 1); err != nil {
			return err
		}
		if err := repo.UpdateDelegationPaths(seedReleases, []string{""}, nil, false); err != nil {
			return err
		}
		if _, err := repo.AddTargets(seedReleases, files); err != nil {
			return err
		}
	}
	if _, err := repo.AddTargets(data.CanonicalTargetsRole, files); err != nil {
		return err
	}
	updates, err := signSeedRoles(repo, r)
	if err != nil {
		return err
	}
	return s.StoreTrustData(gun, updates)
}

// seedReleases is the delegation a seeded repository signs into when
// ReleasesExpire is set.
const seedReleases = data.RoleName("targets/releases")

// seedKeys makes the client's crypto service for r (in memory, or in
// r.KeyDir) with a root key, and returns it with the root's certificate key.
func seedKeys(r SeedRepo, gun data.GUN) (*cryptoservice.CryptoService, data.PublicKey, error) {
	retriever := func(_, alias string, _ bool, _ int) (string, bool, error) {
		if alias == data.CanonicalRootRole.String() && r.RootPassphrase != "" {
			return r.RootPassphrase, false, nil
		}
		return r.Passphrase, false, nil
	}
	var ks trustmanager.KeyStore = trustmanager.NewKeyMemoryStore(retriever)
	if r.KeyDir != "" {
		fks, err := trustmanager.NewKeyFileStore(r.KeyDir, retriever)
		if err != nil {
			return nil, nil, err
		}
		ks = fks
	}
	cs := cryptoservice.NewCryptoService(ks)
	now := time.Now()
	rootPub, err := cs.Create(data.CanonicalRootRole, "", data.ECDSAKey)
	if err != nil {
		return nil, nil, err
	}
	rootPriv, _, err := cs.GetPrivateKey(rootPub.ID())
	if err != nil {
		return nil, nil, err
	}
	cert, err := cryptoservice.GenerateCertificate(rootPriv, gun, now, now.Add(notary.Year*10))
	if err != nil {
		return nil, nil, err
	}
	return cs, utils.CertToKey(cert), nil
}

// serverKey is the notary server's public key of role for gun.
func (s *Sandbox) serverKey(gun data.GUN, role data.RoleName) (data.PublicKey, error) {
	seedServerMu.Lock()
	defer seedServerMu.Unlock()
	rec := inProcess(s.notaryHandler(), http.MethodGet, "/v2/"+gun.String()+"/_trust/tuf/"+role.String()+".key", "", nil)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("getting the server's %s key: %d %s", role, rec.Code, rec.Body.String())
	}
	return data.UnmarshalPublicKey(rec.Body.Bytes())
}

// signSeedRoles signs root, targets and (with ReleasesExpire)
// targets/releases, as the updates of a first publish.
func signSeedRoles(repo *tuf.Repo, r SeedRepo) ([]storage.MetaUpdate, error) {
	expires := r.TargetsExpire
	if expires.IsZero() {
		expires = data.DefaultExpires(data.CanonicalTargetsRole)
	}
	var updates []storage.MetaUpdate
	add := func(role data.RoleName, signed *data.Signed, err error) error {
		if err != nil {
			return fmt.Errorf("signing %s: %w", role, err)
		}
		b, err := json.Marshal(signed)
		if err != nil {
			return err
		}
		updates = append(updates, storage.MetaUpdate{Role: role, Version: 1, Data: b})
		return nil
	}
	rootSigned, err := repo.SignRoot(data.DefaultExpires(data.CanonicalRootRole), nil)
	if err := add(data.CanonicalRootRole, rootSigned, err); err != nil {
		return nil, err
	}
	targetsSigned, err := repo.SignTargets(data.CanonicalTargetsRole, expires)
	if err := add(data.CanonicalTargetsRole, targetsSigned, err); err != nil {
		return nil, err
	}
	if !r.ReleasesExpire.IsZero() {
		relSigned, err := repo.SignTargets(seedReleases, r.ReleasesExpire)
		if err := add(seedReleases, relSigned, err); err != nil {
			return nil, err
		}
	}
	return updates, nil
}

// seedServerMu serialises what seeding asks of the notary server: its
// memory key store is not safe for concurrent key creation (notary's
// deployments keep server keys in notary-signer). Making and signing the
// client's metadata, the costly part, stays parallel.
var seedServerMu sync.Mutex

// StoreTrustData stores signed metadata for gun as a publish would: it is
// validated against what is stored (notary's TUF checks), and the server
// signs a new snapshot and timestamp. Tests use it to publish metadata made
// with notary's tuf package (for example targets that expire soon).
func (s *Sandbox) StoreTrustData(gun data.GUN, updates []storage.MetaUpdate) error {
	n, ok := s.notaryHandler().(*notaryServer)
	if !ok {
		return errors.New("sandbox: the trust server cannot take stored metadata")
	}
	seedServerMu.Lock()
	err := n.publish(gun, updates)
	seedServerMu.Unlock()
	if err != nil {
		return fmt.Errorf("sandbox: storing trust data of %s: %w", gun, err)
	}
	return nil
}

func (s *Sandbox) notaryHandler() http.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notary
}

// serveCatalog answers GET /v2/_catalog in pages of n (at most 100) after
// last, sorted, with a Link header to the next page, as the distribution
// spec and ACR do (go-containerregistry's registry does not paginate).
func (s *Sandbox) serveCatalog(w http.ResponseWriter, r *http.Request) {
	rec := inProcess(s.registry, http.MethodGet, "/v2/_catalog?n=100000000", "", nil)
	var all struct {
		Repositories []string `json:"repositories"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &all) != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", "listing repositories failed", nil)
		return
	}
	repos := all.Repositories
	sort.Strings(repos)
	q := r.URL.Query()
	n := catalogPageSize
	if v := q.Get("n"); v != "" {
		if i, err := strconv.Atoi(v); err == nil && i > 0 {
			n = min(i, catalogPageSize)
		}
	}
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(repos, last)
		for i < len(repos) && repos[i] <= last {
			i++
		}
		repos = repos[i:]
	}
	if len(repos) > n {
		repos = repos[:n]
		next := url.Values{"n": {strconv.Itoa(n)}, "last": {repos[n-1]}}
		w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?%s>; rel="next"`, next.Encode()))
	}
	if repos == nil {
		repos = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string][]string{"repositories": repos})
}
