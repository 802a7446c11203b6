package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
)

type readOnlyKey struct{}

// readOnlySession holds the in-memory caches of the repositories opened
// with one ReadOnly context, by GUN, until Check has read their expiries.
type readOnlySession struct {
	mu     sync.Mutex
	caches map[data.GUN]*readOnlyCache
}

// ReadOnly marks ctx so that Opener.Open, for reading, uses the local
// metadata cache as what was verified before (a root seen earlier still
// guards against a swapped one) but writes nothing under TrustDir, and
// opens no key: what audit does across a whole registry. The metadata read
// is kept in memory; give Check the same context, and it reads the expiries
// from there (and then lets the metadata go), however the repository was
// wrapped on the way.
func ReadOnly(ctx context.Context) context.Context {
	if readOnlyFrom(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, readOnlyKey{}, &readOnlySession{caches: map[data.GUN]*readOnlyCache{}})
}

func readOnlyFrom(ctx context.Context) *readOnlySession {
	s, _ := ctx.Value(readOnlyKey{}).(*readOnlySession)
	return s
}

func isReadOnly(ctx context.Context) bool { return readOnlyFrom(ctx) != nil }

func (s *readOnlySession) register(gun data.GUN, c *readOnlyCache) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caches[gun] = c
}

// take returns the cache of gun, if one was opened, and forgets it.
func (s *readOnlySession) take(gun data.GUN) (*readOnlyCache, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.caches[gun]
	delete(s.caches, gun)
	return c, ok
}

// openReadOnly is notary's NewFileCachedRepository with a cache that never
// writes, an empty in-memory key store and an in-memory changelist. It
// returns the cache too: the root notary trusts is there (readOnlyCache.root),
// not necessarily on disk.
func openReadOnly(ctx context.Context, trustDir string, gun data.GUN, server string, rt http.RoundTripper, pins trustpinning.TrustPinConfig) (Repository, *readOnlyCache, error) {
	remote, err := store.NewNotaryServerStore(server, gun, rt)
	if err != nil {
		return nil, nil, fmt.Errorf("opening trust data for %q: %w", gun, err)
	}
	cache := &readOnlyCache{
		dir: metadataDir(trustDir, gun),
		mem: map[string][]byte{},
	}
	cs := cryptoservice.NewCryptoService(trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever("")))
	repo, err := client.NewRepository(gun, server, remote, cache, pins, cs, changelist.NewMemChangelist())
	if err != nil {
		return nil, nil, fmt.Errorf("opening trust data for %q: %w", gun, err)
	}
	readOnlyFrom(ctx).register(gun, cache)
	return repo, cache, nil
}

// readOnlyExpiries returns the expiries of what the repository of gun,
// opened with ctx, has read, and lets its metadata go; ok is false when
// ctx is not ReadOnly or no such repository was opened with it.
func readOnlyExpiries(ctx context.Context, gun data.GUN) (exp []RoleExpiry, ok bool, err error) {
	s := readOnlyFrom(ctx)
	if s == nil {
		return nil, false, nil
	}
	c, ok := s.take(gun)
	if !ok {
		return nil, false, nil
	}
	exp, err = c.expiries()
	return exp, true, err
}

// forgetReadOnly lets the metadata of gun go, when Check did not get as far
// as its expiries.
func forgetReadOnly(ctx context.Context, gun data.GUN) {
	if s := readOnlyFrom(ctx); s != nil {
		s.take(gun)
	}
}

// readOnlyCache is a store.MetadataStore that reads <dir>/<role>.json as
// notary's file cache does, and keeps whatever notary stores in memory.
type readOnlyCache struct {
	dir string
	mu  sync.Mutex
	mem map[string][]byte // role -> metadata; nil value: removed
}

func (c *readOnlyCache) GetSized(name string, size int64) ([]byte, error) {
	c.mu.Lock()
	b, ok := c.mem[name]
	c.mu.Unlock()
	if !ok {
		var err error
		b, err = os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(name)+".json"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, store.ErrMetaNotFound{Resource: name}
		}
		if err != nil {
			return nil, err
		}
	}
	if b == nil {
		return nil, store.ErrMetaNotFound{Resource: name}
	}
	if size == store.NoSizeLimit {
		size = notary.MaxDownloadSize
	}
	if int64(len(b)) > size {
		return nil, store.ErrMaliciousServer{} // as notary's file store
	}
	return b, nil
}

func (c *readOnlyCache) Set(name string, blob []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem[name] = append([]byte(nil), blob...)
	return nil
}

func (c *readOnlyCache) SetMulti(blobs map[string][]byte) error {
	for name, b := range blobs {
		if err := c.Set(name, b); err != nil {
			return err
		}
	}
	return nil
}

func (c *readOnlyCache) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem[name] = nil
	return nil
}

func (c *readOnlyCache) RemoveAll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.mem {
		c.mem[name] = nil
	}
	return nil
}

func (c *readOnlyCache) Location() string { return c.dir + " (read only)" }

// root is the root.json notary now trusts: downloaded in this run, else
// the one on disk (what CachedRoot reads for a file-cached repository).
func (c *readOnlyCache) root() ([]byte, error) {
	return c.GetSized(data.CanonicalRootRole.String(), store.NoSizeLimit)
}

// expiries reads the expiry of every role in the cache, what this run
// stored over what was on disk; snapshot and timestamp are left out, as in
// CachedExpiries.
func (c *readOnlyCache) expiries() ([]RoleExpiry, error) {
	names, err := cachedRoleNames(c.dir)
	if err != nil {
		return nil, fmt.Errorf("reading cached trust metadata in %q: %w", c.dir, err)
	}
	roles := map[string][]byte{}
	for _, name := range names {
		roles[name.String()] = nil // read below, unless in memory
	}
	c.mu.Lock()
	for name, b := range c.mem {
		roles[name] = b
	}
	c.mu.Unlock()
	var out []RoleExpiry
	for name, b := range roles {
		role := data.RoleName(name)
		if role == data.CanonicalSnapshotRole || role == data.CanonicalTimestampRole {
			continue
		}
		if b == nil {
			var err error
			if b, err = c.GetSized(name, -1); err != nil {
				continue // removed in this run
			}
		}
		var meta signedExpiry
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, fmt.Errorf("reading trust metadata %q: %w", name, err)
		}
		out = append(out, RoleExpiry{Role: role, Expires: meta.Signed.Expires})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Expires.Equal(out[j].Expires) {
			return out[i].Expires.Before(out[j].Expires)
		}
		return out[i].Role < out[j].Role
	})
	return out, nil
}
