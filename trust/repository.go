package trust

import (
	"context"
	"fmt"
	"net/url"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/trustpinning"
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
	// TrustPin pins root keys or CAs per GUN. The zero value trusts on first use, as Docker did.
	TrustPin trustpinning.TrustPinConfig
	// Audit, when non-nil, records the HTTP exchanges for error explanations.
	Audit *Audit
}

// Open implements RepoFactory.
func (o Opener) Open(ctx context.Context, ref Ref, write bool) (Repository, error) {
	if o.TrustDir == "" {
		return nil, fmt.Errorf("opening trust data for %q: no trust directory", ref.GUN())
	}
	server, err := ServerURL(ref.Registry(), o.ServerOverride)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("parsing trust server URL %q: %w", server, err)
	}
	tlsCfg, err := o.Network.TLSConfig(u.Host)
	if err != nil {
		return nil, err
	}
	actions := []string{"pull"}
	if write {
		actions = []string{"pull", "push"}
	}
	rt := scopedTransport{
		client: o.Network.authClient(o.Network.httpTransport(tlsCfg), ref.Registry(), o.Audit),
		scopes: []string{auth.ScopeRepository(ref.GUN().String(), actions...)},
	}
	if !write && isReadOnly(ctx) { // audit (readonly.go): reads the cache, writes nothing
		repo, _, err := openReadOnly(ctx, o.TrustDir, ref.GUN(), server, rt, o.TrustPin)
		return repo, err
	}
	repo, err := client.NewFileCachedRepository(o.TrustDir, ref.GUN(), server, rt, o.PassRetriever, o.TrustPin)
	if err != nil {
		return nil, fmt.Errorf("opening trust data for %q: %w", ref.GUN(), err)
	}
	return repo, nil
}
