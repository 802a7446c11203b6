package trust

import (
	"context"
	"fmt"
	"sort"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"
)

// RotateOptions says how to rotate a key.
type RotateOptions struct {
	// ServerManaged asks the trust server for the new key instead of
	// creating it locally. Required for snapshot and timestamp (the
	// server holds those keys in repositories Docker and ACR set up), not
	// allowed for targets.
	ServerManaged bool
}

// Rotated says what Rotate did.
type Rotated struct {
	Role data.RoleName
	// Previous are the role's key IDs before the rotation.
	Previous []string
	// KeyIDs are the role's key IDs after it, as the published root lists them.
	// For root these are certificate IDs (what inspect shows under Root and
	// pins name), not the ID of the private key file.
	KeyIDs []string
	// LocalKeyID is the ID of the new private key in the local key store
	// (its file name, what `key list` shows under KEY ID); empty when the
	// trust server made the key (ServerManaged).
	LocalKeyID string
}

// RotateRoleError: the role's key cannot be rotated that way.
type RotateRoleError struct {
	Role          data.RoleName
	ServerManaged bool
}

func (e *RotateRoleError) Error() string {
	switch {
	case e.Role == data.CanonicalRootRole:
		return "the root key is held only by its owner; the trust server cannot manage it"
	case e.Role == data.CanonicalTargetsRole:
		return "the targets key signs the repository's tags and is held locally; the trust server cannot manage it"
	case e.Role == data.CanonicalSnapshotRole || e.Role == data.CanonicalTimestampRole:
		return fmt.Sprintf("the %s key is held by the trust server, so the server must create its replacement", e.Role)
	}
	return fmt.Sprintf("cannot rotate the key of %q: only the root, targets, snapshot and timestamp keys can be rotated", e.Role)
}

// Rotate replaces the key of role in repo's trust data and publishes the
// new root at once (nothing else staged is published):
//   - root: a new ECDSA root key in the local key store (its passphrase is
//     asked as for a new root key) with a certificate for the GUN; notary
//     signs the new root.json with the old root key and the new one, so
//     clients that trusted the old root follow the rotation;
//   - targets: a new ECDSA key in the local key store (its passphrase is
//     asked as for a new repository key), listed in root.json instead of
//     the old one; targets.json is signed again with it;
//   - snapshot, timestamp with ServerManaged: the trust server makes the
//     new key (notary's RotateKey(role, true, nil)).
//
// Publishing the new root needs the root key. Older clients keep
// verifying: the new root is signed by the same root key, and it is what
// `docker trust` and notary clients download next.
func Rotate(_ context.Context, repo Repository, role data.RoleName, opts RotateOptions) (Rotated, error) {
	res := Rotated{Role: role}
	gun := repo.GetGUN()
	if err := CheckRotation(role, opts.ServerManaged); err != nil {
		return res, err
	}
	prev, err := roleKeyIDs(repo, role)
	if err != nil {
		return res, fmt.Errorf("rotating the %s key of %s: %w", role, gun, Classify(gun, err))
	}
	res.Previous = prev

	var keyList []string
	if !opts.ServerManaged {
		// Made here rather than by RotateKey so that its ID is known (for
		// root, notary makes its certificate from it). It is
		// not removed if the rotation fails: the publish may have reached
		// the server before the error, and a targets key the server lists
		// but nobody holds would leave the repository unsignable.
		pub, err := repo.GetCryptoService().Create(role, gun, data.ECDSAKey)
		if err != nil {
			return res, fmt.Errorf("rotating the %s key of %s: creating the new key: %w", role, gun, Classify(gun, err))
		}
		keyList = []string{pub.ID()}
		res.LocalKeyID = pub.ID()
	}
	if err := repo.RotateKey(role, opts.ServerManaged, keyList); err != nil {
		return res, fmt.Errorf("rotating the %s key of %s: %w", role, gun, Classify(gun, err))
	}
	// After a successful publish, read back what the server now serves.
	ids, rerr := roleKeyIDs(repo, role)
	if rerr != nil {
		return res, fmt.Errorf("reading the %s keys of %s after rotating: %w", role, gun, Classify(gun, rerr))
	}
	res.KeyIDs = ids
	return res, nil
}

// CheckRotation returns a *RotateRoleError when role's key cannot be
// rotated that way: root and targets are made here, snapshot and timestamp
// by the server.
func CheckRotation(role data.RoleName, serverManaged bool) error {
	switch {
	case (role == data.CanonicalTargetsRole || role == data.CanonicalRootRole) && !serverManaged:
	case (role == data.CanonicalSnapshotRole || role == data.CanonicalTimestampRole) && serverManaged:
	default:
		return &RotateRoleError{Role: role, ServerManaged: serverManaged}
	}
	return nil
}

// roleKeyIDs returns the key IDs of a base role, sorted.
func roleKeyIDs(repo Repository, role data.RoleName) ([]string, error) {
	roles, err := repo.ListRoles()
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		if r.Name == role {
			ids := append([]string(nil), r.KeyIDs...)
			sort.Strings(ids)
			return ids, nil
		}
	}
	return nil, client.ErrRepoNotInitialized{}
}
