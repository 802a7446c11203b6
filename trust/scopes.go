package trust

import (
	"context"

	"oras.land/oras-go/v2/registry/remote/auth"
)

// Needs is what a command does with each repository it touches. Declared
// on the context (WithNeeds), it makes the first token for a repository
// cover all of it, trust data and registry alike, in one token request
// with several scope parameters (the distribution token spec allows them;
// docker does the same for cross-repository mounts): one token per
// repository instead of one per scope, and no 401 challenge per scope.
// Reading trust data is always included.
type Needs struct {
	TrustWrite   bool // publishing trust data (push on the GUN)
	RegistryPull bool // reading manifests and tags
	RegistryPush bool // writing to the registry
	// TagListing is ACR's tag listing with digests (metadata_read, which
	// AcrPull grants; other registries grant nothing for it and answer
	// the request for the other scopes as usual).
	TagListing bool
}

type needsKey struct{}

// WithAccess declares what the command does with every repository.
func WithNeeds(ctx context.Context, a Needs) context.Context {
	return context.WithValue(ctx, needsKey{}, a)
}

// needsOf returns the declared access; an audit (a ReadOnly context)
// reads trust data and lists tags unless it declared otherwise.
func needsOf(ctx context.Context) (Needs, bool) {
	if a, ok := ctx.Value(needsKey{}).(Needs); ok {
		return a, true
	}
	if isReadOnly(ctx) {
		return Needs{RegistryPull: true, TagListing: true}, true
	}
	return Needs{}, false
}

// needsScopes returns the scopes of the declared access for ref: nil when
// nothing was declared.
func needsScopes(ctx context.Context, ref Ref) []string {
	a, ok := needsOf(ctx)
	if !ok {
		return nil
	}
	trust := []string{"pull"}
	if a.TrustWrite {
		trust = append(trust, "push")
	}
	scopes := []string{auth.ScopeRepository(ref.GUN().String(), trust...)}
	var reg []string
	if a.RegistryPull || a.TagListing {
		reg = append(reg, "pull")
	}
	if a.RegistryPush {
		reg = append(reg, "push")
	}
	if a.TagListing {
		reg = append(reg, "metadata_read")
	}
	if len(reg) > 0 {
		scopes = append(scopes, auth.ScopeRepository(ref.Path(), reg...))
	}
	return auth.CleanScopes(scopes)
}

// withNeedsScopes adds the declared access's scopes for ref to ctx.
func withNeedsScopes(ctx context.Context, ref Ref) context.Context {
	if s := needsScopes(ctx, ref); len(s) > 0 {
		return auth.AppendScopes(ctx, s...)
	}
	return ctx
}
