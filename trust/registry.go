package trust

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Registry reads what a registry serves: the digest, size and media type a
// tag resolves to (what gets signed, multi-platform indexes included) and
// the list of tags. It uses oras-go's registry client with the same token
// auth as the trust server. Make it with NewRegistry; it is safe for
// concurrent use.
type Registry struct {
	network Network
	audit   *Audit

	// Limits bound every listing (catalog, tags): see ListLimits. Set it
	// before the first call.
	Limits ListLimits

	mu      sync.Mutex
	clients map[string]*auth.Client // per registry host and transport kind
	acrTags map[string]bool         // per host: serves ACR's tag listing (acrtags.go)
}

// NewRegistry returns a Registry that reaches registries through network
// and records refusals in audit (nil records nothing).
func NewRegistry(network Network, audit *Audit) *Registry {
	return &Registry{network: network, audit: audit, clients: map[string]*auth.Client{}}
}

// client returns the auth client for host over tlsCfg (nil: plain HTTP),
// made once, so that its token cache serves every tag of a run: signing
// 100 tags asks the token service once, not 100 times.
func (r *Registry) client(host string, tlsCfg *tls.Config) *auth.Client {
	key := host + "|https"
	if tlsCfg == nil {
		key = host + "|http"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.clients[key]
	if !ok {
		c = r.network.authClient(r.network.httpTransport(tlsCfg), host, r.audit)
		r.clients[key] = c
	}
	return c
}

// Resolve returns the descriptor of the manifest (or index) that ref's tag,
// or digest, resolves to in the registry.
func (r *Registry) Resolve(ctx context.Context, ref Ref) (ocispec.Descriptor, error) {
	target := ref.Tag
	if ref.Digest != "" {
		target = ref.Digest.String()
	}
	if target == "" {
		return ocispec.Descriptor{}, fmt.Errorf("no tag specified for %s", ref.Original)
	}
	ctx = withNeedsScopes(ctx, ref) // scopes.go
	var desc ocispec.Descriptor
	err := r.with(ref, func(repo *remote.Repository) error {
		var err error
		desc, err = repo.Resolve(ctx, target)
		return err
	})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("resolving %s in the registry: %w", ref.Name.Name()+":"+target, err)
	}
	return desc, nil
}

// Tags lists every tag of ref's repository, each once, within r.Limits
// (a listing cut short is a *ListingError).
func (r *Registry) Tags(ctx context.Context, ref Ref) ([]string, error) {
	ctx = withNeedsScopes(ctx, ref) // scopes.go
	var tags []string
	err := r.with(ref, func(repo *remote.Repository) error {
		tags = nil
		p := newPager(ctx, "the tags of "+ref.Name.Name(), r.Limits)
		repo.Client = p.watch(repo.Client.(*auth.Client), repo.Reference.Host())
		return p.done(ctx, repo.Tags(ctx, "", func(page []string) error {
			fresh, err := p.names(page)
			tags = append(tags, fresh...)
			return err
		}))
	})
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", ref.Name.Name(), err)
	}
	return tags, nil
}

// with runs fn against ref's repository over verified TLS; for insecure
// registries (loopback, or the daemon's insecure list) it does what the
// docker daemon does: TLS without verification, then plain HTTP when the
// server speaks HTTP.
func (r *Registry) with(ref Ref, fn func(*remote.Repository) error) error {
	host := registryHost(ref.Registry())
	tlsCfg, insecure, err := r.tlsFor(host)
	if err != nil {
		return err
	}
	open := func(plain bool, cfg *tls.Config) (*remote.Repository, error) {
		repo, err := remote.NewRepository(host + "/" + ref.Path())
		if err != nil {
			return nil, err
		}
		repo.PlainHTTP = plain
		repo.Client = r.client(ref.Registry(), cfg)
		return repo, nil
	}
	repo, err := open(false, tlsCfg)
	if err != nil {
		return err
	}
	err = fn(repo)
	if err != nil && insecure && speaksHTTP(err) {
		if repo, err = open(true, nil); err != nil {
			return err
		}
		err = fn(repo)
	}
	return err
}

// tlsFor returns the TLS configuration for a registry host and whether it
// is insecure (loopback, or the daemon's insecure list): then TLS is not
// verified, as the docker daemon does, and plain HTTP may follow.
func (r *Registry) tlsFor(host string) (*tls.Config, bool, error) {
	tlsCfg, err := r.network.TLSConfig(host)
	if err != nil {
		return nil, false, err
	}
	insecure := r.network.insecure(host)
	if insecure {
		tlsCfg = tlsCfg.Clone()
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // docker's rule for insecure registries
	}
	return tlsCfg, insecure, nil
}

// IsNotFound reports whether err says the registry has no such tag or
// manifest (as opposed to refusing access or failing).
func IsNotFound(err error) bool {
	return errors.Is(err, errdef.ErrNotFound)
}

func speaksHTTP(err error) bool {
	var re tls.RecordHeaderError
	return errors.As(err, &re) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}
