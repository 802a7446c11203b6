package doctor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/theupdateframework/notary/tuf/data"

	"github.com/acrtrust/docker-acrtrust/internal/keyid"
	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// The doctor's signing-keys check: the roles of the repository's cached
// trust data (trust.ReadCache) joined with the key files here
// (keystore.List).

// roleKeys is a role of the trust data and which of its keys are here.
type roleKeys struct {
	Role data.RoleName
	// KeyIDs are the role's keys, as the local key store names them
	// (canonical IDs: a root certificate's ID is that of its private key).
	KeyIDs []string
	// Local are the KeyIDs whose private key is here.
	Local []string
}

// keyReport is which local keys can sign for a repository.
type keyReport struct {
	// HasTrustData is false when the repository has no (cached) trust
	// data: the first signing creates it with a new repository key.
	HasTrustData bool
	// Root and Repository are the root and targets roles.
	Root, Repository roleKeys
	// Delegations are the delegation roles (targets/releases and signers).
	Delegations []roleKeys
	// LocalRootKeys are all root keys here, of any repository: one is
	// reused when a repository is first signed.
	LocalRootKeys []string
}

// localKeyReport compares the keys of gun's trust data, as cached under
// trustDir by the last read, with the private keys in <trustDir>/private.
// It reads key files' headers only, never their (encrypted) contents.
func localKeyReport(trustDir string, gun data.GUN) (keyReport, error) {
	var rep keyReport
	keys, err := keystore.List(trustDir)
	if err != nil {
		return rep, err
	}
	local := map[string]bool{}
	for _, k := range keys {
		if k.Role == "" || local[k.ID] {
			continue // not a key file notary can read, or listed already
		}
		local[k.ID] = true
		if k.Role == data.CanonicalRootRole.String() {
			rep.LocalRootKeys = append(rep.LocalRootKeys, k.ID)
		}
	}
	sort.Strings(rep.LocalRootKeys)

	cached, err := trust.ReadCache(trustDir, gun)
	if !cached.HasRoot {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	rep.HasTrustData = true
	for _, r := range cached.Roles {
		rk := toRoleKeys(r, local)
		switch r.Role {
		case data.CanonicalRootRole:
			rep.Root = rk
		case data.CanonicalTargetsRole:
			rep.Repository = rk
		case data.CanonicalSnapshotRole, data.CanonicalTimestampRole:
		default:
			rep.Delegations = append(rep.Delegations, rk)
		}
	}
	if rep.Root.Role == "" {
		rep.Root.Role = data.CanonicalRootRole
	}
	if rep.Repository.Role == "" {
		rep.Repository.Role = data.CanonicalTargetsRole
	}
	sort.Slice(rep.Delegations, func(i, j int) bool { return rep.Delegations[i].Role < rep.Delegations[j].Role })
	return rep, nil
}

func toRoleKeys(r trust.CachedRole, local map[string]bool) roleKeys {
	rk := roleKeys{Role: r.Role}
	for _, k := range r.Keys {
		id := k.Canonical
		if id == "" {
			id = k.ID
		}
		rk.KeyIDs = append(rk.KeyIDs, id)
		if local[id] {
			rk.Local = append(rk.Local, id)
		}
	}
	sort.Strings(rk.KeyIDs)
	sort.Strings(rk.Local)
	return rk
}

// checkKeyStore reports a key store that keys are not written to: one
// others can write to, or a private folder linked out of the trust
// directory (keystore.CheckWritable, which every write obeys).
func (g *diagnosis) checkKeyStore(trustDir string) {
	err := keystore.CheckWritable(trustDir)
	if err == nil {
		g.add("key store", CheckOK, fmt.Sprintf("%s is private to its owner", trustDir), "")
		return
	}
	g.add("key store", g.forSigning(), err.Error(), g.d.StepRemedy(err))
}

func (g *diagnosis) checkKeys(k keyReport) {
	switch {
	case !k.HasTrustData && len(k.LocalRootKeys) > 0:
		g.add("root key", CheckOK, fmt.Sprintf("root key %s is here; the first signing of %s reuses it", keyid.Short(k.LocalRootKeys[0]), g.w.GUN), "")
	case !k.HasTrustData:
		g.add("root key", CheckOK, fmt.Sprintf("no root key here; the first signing of %s creates one", g.w.GUN), "")
	case len(k.Root.Local) > 0:
		g.add("root key", CheckOK, fmt.Sprintf("root key %s of %s is here (keep a backup offline)", keyid.Short(k.Root.Local[0]), g.w.GUN), "")
	default:
		g.add("root key", CheckOK, fmt.Sprintf("the root key of %s is not here: needed only to rotate keys and to renew the root metadata before it expires", g.w.GUN), "")
	}

	if !k.HasTrustData {
		g.add("signing keys", CheckOK, fmt.Sprintf("the first signing creates a repository key for %s", g.w.GUN), "")
		return
	}
	var can []string
	// Docker's rule, which sign follows: once a repository has signers,
	// tags are signed into their roles only, and the repository key alone
	// signs none.
	if len(k.Repository.Local) > 0 && len(k.Delegations) == 0 {
		can = append(can, fmt.Sprintf("repository key %s (targets)", keyid.Short(k.Repository.Local[0])))
	}
	for _, dk := range k.Delegations {
		if len(dk.Local) > 0 {
			can = append(can, fmt.Sprintf("signer key %s (%s)", keyid.Short(dk.Local[0]), dk.Role))
		}
	}
	switch {
	case len(can) == 0 && len(k.Delegations) > 0:
		msg := fmt.Sprintf("%s has signers, and no signer's key is here", g.w.GUN)
		if len(k.Repository.Local) > 0 {
			msg += fmt.Sprintf(" (the repository key %s is, but it signs no tags once signers exist)", keyid.Short(k.Repository.Local[0]))
		}
		g.add("signing keys", g.forPublishing(), msg, g.d.NoSignableRolesRemedy(g.w))
		return
	case len(can) == 0:
		g.add("signing keys", g.forPublishing(), fmt.Sprintf("no key here signs for %s", g.w.GUN), g.d.NoSigningKeyRemedy(g.w.GUN))
		return
	}
	g.add("signing keys", CheckOK, "can sign with "+strings.Join(can, ", "), "")
}
