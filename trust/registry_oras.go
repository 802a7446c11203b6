package trust

import "oras.land/oras-go/v2/registry/remote"

// WithRepository runs fn against ref's repository through oras-go's client
// with the Registry's auth, token cache and TLS rules (plain HTTP retried
// for insecure registries, as Resolve does). Notation signing and
// verification (package notationbridge) use it, so that they reach the
// registry exactly as every other command does.
func (r *Registry) WithRepository(ref Ref, fn func(*remote.Repository) error) error {
	return r.with(ref, fn)
}
