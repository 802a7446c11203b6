package trust

import (
	"context"
	"fmt"
	"net/url"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Repository is the part of notary's client.Repository that acrtrust calls.
// notary's own repository satisfies it; tests may embed it in a fake and
// override only what they need.
type Repository interface {
	GetGUN() data.GUN
	ListTargets(roles ...data.RoleName) ([]*client.TargetWithRole, error)
	GetTargetByName(name string, roles ...data.RoleName) (*client.TargetWithRole, error)
	GetAllTargetMetadataByName(name string) ([]client.TargetSignedStruct, error)
	ListRoles() ([]client.RoleWithSignatures, error)
	GetDelegationRoles() ([]data.Role, error)
	GetCryptoService() signed.CryptoService
	Initialize(rootKeyIDs []string, serverManagedRoles ...data.RoleName) error
	AddTarget(target *client.Target, roles ...data.RoleName) error
	RemoveTarget(targetName string, roles ...data.RoleName) error
	AddDelegationRoleAndKeys(name data.RoleName, delegationKeys []data.PublicKey) error
	AddDelegationPaths(name data.RoleName, paths []string) error
	RemoveDelegationKeys(name data.RoleName, keyIDs []string) error
	RemoveDelegationRole(name data.RoleName) error
	RotateKey(role data.RoleName, serverManagesKey bool, keyList []string) error
	GetChangelist() (changelist.Changelist, error)
	Publish() error
	Witness(roles ...data.RoleName) ([]data.RoleName, error) // refresh (audit branch): re-sign metadata without changing targets
}

// RepoFactory opens the trust data of ref's repository, for writing when
// write is true (the token asks for push as well as pull).
type RepoFactory func(ctx context.Context, ref Ref, write bool) (Repository, error)

// Opener opens notary repositories the way Docker did: keys in
// <TrustDir>/private, cached metadata in <TrustDir>/tuf, the server from
// ServerURL, and registry token auth scoped to the GUN.
type Opener struct {
	// TrustDir is <DOCKER_CONFIG>/trust. Required.
	TrustDir string
	// ServerOverride is DOCKER_CONTENT_TRUST_SERVER; empty means https://<registry>.
	ServerOverride string
	// Network has TLS material, credentials and the user agent.
	Network Network
	// PassRetriever supplies key passphrases. Required for signing.
	PassRetriever notary.PassRetriever
	// PassphraseFailure, when non-nil, says why PassRetriever last gave up
	// (nil if it did not): errors about passphrases lead with it.
	PassphraseFailure func() error
	// Pins pin root keys or CAs per repository. The zero value pins
	// nothing: an unpinned repository is trusted on first use, as Docker
	// did, unless RequirePin.
	Pins Pins
	// RequirePin refuses the trust data of repositories that no pin covers
	// (notary's DisableTOFU, enforced for cached roots too).
	RequirePin bool
	// Offline reads the cache only, without contacting the trust server;
	// notary still refuses an expired cached timestamp. The zero value
	// fails closed: a trust server that cannot be reached is an error,
	// never a silent fallback to the cache.
	Offline bool
	// Audit, when non-nil, records the HTTP exchanges for error explanations.
	Audit *Audit
}

// Open implements RepoFactory.
func (o Opener) Open(ctx context.Context, ref Ref, write bool) (Repository, error) {
	if o.TrustDir == "" {
		return nil, fmt.Errorf("opening trust data for %q: no trust directory", ref.GUN())
	}
	g := &guardedRepo{gun: ref.GUN(), trustDir: o.TrustDir, pins: o.Pins, requirePin: o.RequirePin || o.Pins.DisableTOFU, passFailure: o.PassphraseFailure}
	if o.Offline {
		if write {
			return nil, ErrOfflineWrite
		}
		// A nil transport makes notary use its offline store: the cache
		// only (client.getRemoteStore).
		server, err := ServerURL(ref.Registry(), o.ServerOverride)
		if err != nil {
			return nil, err
		}
		repo, err := client.NewFileCachedRepository(o.TrustDir, ref.GUN(), server, nil, o.PassRetriever, o.Pins.Config())
		if err != nil {
			return nil, fmt.Errorf("opening trust data for %q: %w", ref.GUN(), err)
		}
		g.Repository = repo
		return g, nil
	}
	server, err := ServerURL(ref.Registry(), o.ServerOverride)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("parsing trust server URL %q: %w", server, err)
	}
	base, err := o.Network.trustServerTransport(u.Host)
	if err != nil {
		return nil, err
	}
	actions := []string{"pull"}
	if write {
		actions = []string{"pull", "push"}
	}
	rt := scopedTransport{
		ctx:    ctx,
		client: o.Network.authClient(base, ref.Registry(), o.Audit),
		scopes: append([]string{auth.ScopeRepository(ref.GUN().String(), actions...)}, needsScopes(ctx, ref)...),
	}
	g.probe = &probe{next: rt}
	var repo Repository
	if !write && isReadOnly(ctx) { // audit (readonly.go): reads the cache, writes nothing
		var cache *readOnlyCache
		repo, cache, err = openReadOnly(ctx, o.TrustDir, ref.GUN(), server, g.probe, o.Pins.Config())
		g.cachedRoot = func() ([]byte, error) { return cache.root() }
	} else {
		repo, err = client.NewFileCachedRepository(o.TrustDir, ref.GUN(), server, g.probe, o.PassRetriever, o.Pins.Config())
	}
	if err != nil {
		return nil, fmt.Errorf("opening trust data for %q: %w", ref.GUN(), err)
	}
	g.Repository = repo
	return g, nil
}
