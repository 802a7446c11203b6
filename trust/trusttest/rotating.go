package trusttest

import (
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
)

// Rotating is a repository whose root lists one key per base role, and
// whose RotateKey replaces a role's keys as notary's would after a publish.
type Rotating struct {
	client.Repository

	// Crypto is an in-memory key store (passphrase "pass-1234").
	Crypto signed.CryptoService
	// Keys are each base role's key IDs, "old-<role>" to begin with.
	Keys map[data.RoleName][]string
	// Rotations records RotateKey calls: "<role> local" or "<role> server".
	Rotations []string
	// RotateErr, when set, is what RotateKey returns, changing nothing.
	RotateErr error
}

// NewRotating returns a Rotating repository with an empty key store.
func NewRotating() *Rotating {
	return &Rotating{
		Crypto: cryptoservice.NewCryptoService(trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever("pass-1234"))),
		Keys: map[data.RoleName][]string{
			data.CanonicalRootRole: {"old-root"}, data.CanonicalTargetsRole: {"old-targets"},
			data.CanonicalSnapshotRole: {"old-snapshot"}, data.CanonicalTimestampRole: {"old-timestamp"},
		},
	}
}

// GetGUN returns DefaultGUN.
func (r *Rotating) GetGUN() data.GUN { return DefaultGUN }

// GetCryptoService returns Crypto.
func (r *Rotating) GetCryptoService() signed.CryptoService { return r.Crypto }

// ListRoles lists the base roles with their Keys.
func (r *Rotating) ListRoles() ([]client.RoleWithSignatures, error) {
	var out []client.RoleWithSignatures
	for name, ids := range r.Keys {
		out = append(out, client.RoleWithSignatures{Role: Role(name, ids...)})
	}
	return out, nil
}

// RotateKey replaces role's keys with keyList, or with a key named
// "server-made-<role>" when the server manages it, and records the call.
func (r *Rotating) RotateKey(role data.RoleName, serverManaged bool, keyList []string) error {
	if r.RotateErr != nil {
		return r.RotateErr
	}
	kind := "local"
	if serverManaged {
		kind = "server"
		keyList = []string{"server-made-" + role.String()}
	}
	r.Rotations = append(r.Rotations, role.String()+" "+kind)
	r.Keys[role] = keyList
	return nil
}
