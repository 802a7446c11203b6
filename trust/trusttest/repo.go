package trusttest

import (
	"errors"
	"strings"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
)

// DefaultGUN is the repository a Repo is, unless its GUN says otherwise.
const DefaultGUN data.GUN = "reg.example/app"

// Repo is a notary repository holding fixed trust data, like docker/cli's
// LoadedNotaryRepository: it answers the reads from its fields and records
// the writes. Methods it does not fake panic through the nil embedded
// interface, so a test learns at once that it reached further than its fake.
type Repo struct {
	client.Repository

	// GUN is the repository's name; empty means DefaultGUN.
	GUN data.GUN
	// Targets, Roles and Delegations are the trust data the reads return.
	Targets     []client.TargetSignedStruct
	Roles       []client.RoleWithSignatures
	Delegations []data.Role
	// Err, when set, is what every read returns instead.
	Err error
	// Crypto is the local key store (GetCryptoService).
	Crypto signed.CryptoService

	// Removed records RemoveTarget: the roles each tag was removed from.
	Removed map[string][]data.RoleName
	// DelegationOps records the delegation removals, one line each
	// ("remove keys targets/releases A,B", "remove role targets/alice").
	DelegationOps []string
	// Publishes counts Publish calls; each returns PublishErr.
	Publishes  int
	PublishErr error
}

// NoTrustData is a repository the trust server has no trust data for: every
// read fails with notary's ErrRepositoryNotExist.
func NoTrustData() *Repo {
	return &Repo{Err: client.ErrRepositoryNotExist{}}
}

// GetGUN returns GUN, or DefaultGUN.
func (r *Repo) GetGUN() data.GUN {
	if r.GUN == "" {
		return DefaultGUN
	}
	return r.GUN
}

// GetAllTargetMetadataByName returns the Targets called name (all of them
// for ""), or notary's ErrNoSuchTarget when there is none.
func (r *Repo) GetAllTargetMetadataByName(name string) ([]client.TargetSignedStruct, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	var out []client.TargetSignedStruct
	for _, t := range r.Targets {
		if name == "" || t.Target.Name == name {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, client.ErrNoSuchTarget(name)
	}
	return out, nil
}

// ListRoles returns Roles.
func (r *Repo) ListRoles() ([]client.RoleWithSignatures, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	return r.Roles, nil
}

// GetDelegationRoles returns Delegations.
func (r *Repo) GetDelegationRoles() ([]data.Role, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	return r.Delegations, nil
}

// GetCryptoService returns Crypto.
func (r *Repo) GetCryptoService() signed.CryptoService { return r.Crypto }

// GetChangelist fails: a Repo stages nothing, it records.
func (r *Repo) GetChangelist() (changelist.Changelist, error) {
	return nil, errors.New("no changelist in the fixture")
}

// RemoveTarget records the removal in Removed.
func (r *Repo) RemoveTarget(name string, roles ...data.RoleName) error {
	if r.Removed == nil {
		r.Removed = map[string][]data.RoleName{}
	}
	r.Removed[name] = append(r.Removed[name], roles...)
	return nil
}

// RemoveDelegationKeys records "remove keys <role> <id,id>" in DelegationOps.
func (r *Repo) RemoveDelegationKeys(name data.RoleName, keyIDs []string) error {
	r.DelegationOps = append(r.DelegationOps, "remove keys "+name.String()+" "+strings.Join(keyIDs, ","))
	return nil
}

// RemoveDelegationRole records "remove role <role>" in DelegationOps.
func (r *Repo) RemoveDelegationRole(name data.RoleName) error {
	r.DelegationOps = append(r.DelegationOps, "remove role "+name.String())
	return nil
}

// Publish counts the call and returns PublishErr.
func (r *Repo) Publish() error {
	r.Publishes++
	return r.PublishErr
}

// Role is a role with keyIDs and threshold 1.
func Role(name data.RoleName, keyIDs ...string) data.Role {
	return data.Role{Name: name, RootRole: data.RootRole{KeyIDs: keyIDs, Threshold: 1}}
}

// SignedIn is tag signed into role r, with hash as its sha256.
func SignedIn(tag, hash string, r data.RoleName) client.TargetSignedStruct {
	return client.TargetSignedStruct{
		Role:   data.DelegationRole{BaseRole: data.BaseRole{Name: r}},
		Target: client.Target{Name: tag, Hashes: data.Hashes{"sha256": []byte(hash)}},
	}
}
