package trust

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// ErrCatalogDenied is wrapped by Repositories when the registry refuses to
// list its repositories: the login lacks the catalog permission (on ACR,
// repository-scoped tokens never have it).
var ErrCatalogDenied = errors.New("listing the registry's repositories was refused")

// catalogPageSize is how many repositories one catalog request asks for.
const catalogPageSize = 1000

// Repositories lists the repositories of the registry at host through its
// catalog API (GET /v2/_catalog), following the pages the registry hands
// out, and calls fn with each page as it arrives, so that a caller can
// start on the first repositories while later pages are still coming.
// Each repository is passed once; the listing stays within r.Limits (a
// listing cut short is a *ListingError), and the time fn takes does not
// count against its deadline.
func (r *Registry) Repositories(ctx context.Context, host string, fn func(page []string) error) error {
	tlsCfg, insecure, err := r.tlsFor(host)
	if err != nil {
		return err
	}
	list := func(plain bool, cfg *tls.Config) error {
		reg, err := remote.NewRegistry(registryHost(host))
		if err != nil {
			return err
		}
		reg.PlainHTTP = plain
		p := newPager(ctx, "the repositories of "+host, r.Limits)
		p.catalog = true
		reg.Client = p.watch(r.client(host, cfg), reg.Reference.Host())
		reg.RepositoryListPageSize = catalogPageSize
		return p.done(ctx, reg.Repositories(auth.AppendScopes(ctx, auth.ScopeRegistryCatalog), "", func(page []string) error {
			fresh, err := p.names(page)
			if err != nil {
				return err
			}
			return p.handed(func() error { return fn(fresh) })
		}))
	}
	err = list(false, tlsCfg)
	if err != nil && insecure && speaksHTTP(err) {
		err = list(true, nil)
	}
	var re *errcode.ErrorResponse
	if errors.As(err, &re) && (re.StatusCode == 401 || re.StatusCode == 403) {
		err = fmt.Errorf("%w: %w", ErrCatalogDenied, err)
	}
	if err != nil {
		return fmt.Errorf("listing the repositories of %s: %w", host, err)
	}
	return nil
}

// registryHost is the host that serves the registry API for a registry
// name as it appears in references.
func registryHost(host string) string {
	if host == "docker.io" {
		return "registry-1.docker.io"
	}
	return host
}
