package trust

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// validSignerName is Docker's rule for signer (and key) names.
var validSignerName = regexp.MustCompile(`^[a-z0-9][a-z0-9\_\-]*$`)

// Errors about signers, in Docker's wording.
var (
	// ErrReleasesReserved: "releases" as the name of a signer to add.
	ErrReleasesReserved = errors.New("releases is a reserved keyword, use a different signer name")
	// ErrReleasesNotRemovable: "releases" as the name of a signer to remove.
	ErrReleasesNotRemovable = errors.New("releases is a reserved keyword and cannot be removed")
	// ErrNoSignerKeys: adding a signer without a public key.
	ErrNoSignerKeys = errors.New("a signer needs at least one public key")
)

// ValidateSignerName checks name against Docker's rules for signers:
// ^[a-z0-9][a-z0-9\_\-]*$, and not "releases".
func ValidateSignerName(name string) error {
	if !validSignerName.MatchString(name) {
		return fmt.Errorf("signer name %q must start with lowercase alphanumeric characters and can include \"-\" or \"_\" after the first character", name)
	}
	if name == "releases" {
		return ErrReleasesReserved
	}
	return nil
}

// ParsePublicKey parses a PEM public key ("PUBLIC KEY", as `docker trust
// key generate` and `key generate` write them) or certificate.
func ParsePublicKey(pemBytes []byte) (data.PublicKey, error) {
	k, err := utils.ParsePEMPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	return k, nil
}

// SignerRole is the delegation role of signer name: targets/<name>.
func SignerRole(name string) data.RoleName {
	return data.RoleName(path.Join(data.CanonicalTargetsRole.String(), name))
}

// AddSignerOptions tunes AddSigner. The zero value is the default.
type AddSignerOptions struct {
	// Initializing, when non-nil, is called just before a repository
	// without trust data is initialised (so that the caller can say so
	// before passphrase prompts for the root key appear).
	Initializing func()
}

// AddSignerResult says what AddSigner did.
type AddSignerResult struct {
	// Initialized is true when the repository had no trust data and was
	// initialised (root key reused or created, new repository key).
	Initialized bool
}

// AddSigner delegates to signer name with keys, as Docker did: the keys go
// into targets/<name> and targets/releases, each with every path and
// threshold 1, so that the signer's signatures pull. A repository without
// trust data is initialised first; everything goes out in one publish, and
// a failed publish leaves nothing staged.
func AddSigner(ctx context.Context, repo Repository, name string, keys []data.PublicKey, opts AddSignerOptions) (AddSignerResult, error) {
	var res AddSignerResult
	if err := ValidateSignerName(name); err != nil {
		return res, err
	}
	if len(keys) == 0 {
		return res, ErrNoSignerKeys
	}
	gun := repo.GetGUN()
	clearChangelist(repo)

	_, err := repo.ListTargets()
	switch {
	case notInitialized(err):
		if opts.Initializing != nil {
			opts.Initializing()
		}
		if _, err := initialize(repo); err != nil {
			return res, err
		}
		res.Initialized = true
	case err != nil:
		return res, Classify(gun, err)
	}

	if err := stageSigner(repo, SignerRole(name), keys); err != nil {
		clearChangelist(repo)
		return res, Classify(gun, fmt.Errorf("adding signer %q: %w", name, err))
	}
	if _, err := publish(ctx, repo); err != nil {
		return res, Classify(gun, err)
	}
	return res, nil
}

// stageSigner stages role and targets/releases with keys and every path.
func stageSigner(repo Repository, role data.RoleName, keys []data.PublicKey) error {
	for _, r := range []data.RoleName{role, ReleasesRole} {
		if err := repo.AddDelegationRoleAndKeys(r, keys); err != nil {
			return err
		}
		// "" is the prefix of every target name: the signer may sign any tag.
		if err := repo.AddDelegationPaths(r, []string{""}); err != nil {
			return err
		}
	}
	return nil
}

// SignerRemoval is what removing a signer will do, worked out before
// anything is changed so that the caller can ask for confirmation.
type SignerRemoval struct {
	// Name is the signer, Role its delegation (targets/<name>).
	Name string
	Role data.RoleName
	// KeyIDs are the signer's keys (canonical IDs), sorted.
	KeyIDs []string
	// ReleasesKeyIDs are the signer's keys that leave targets/releases:
	// those no other signer holds.
	ReleasesKeyIDs []string
	// DeletesReleases is true when no key would be left in
	// targets/releases: the role goes too, since a role without keys can
	// never be signed, and while it exists nobody could sign targets.
	DeletesReleases bool
	// LastReleasesSigner is true when, afterwards, the current
	// targets/releases metadata would no longer carry enough valid
	// signatures: tags signed only there would stop pulling until another
	// signer signs again.
	LastReleasesSigner bool
}

// PlanSignerRemoval works out what removing signer name from repo does.
func PlanSignerRemoval(_ context.Context, repo Repository, name string) (SignerRemoval, error) {
	role := SignerRole(name)
	if role == ReleasesRole {
		return SignerRemoval{}, ErrReleasesNotRemovable
	}
	gun := repo.GetGUN()
	delegations, err := repo.GetDelegationRoles()
	if err != nil {
		return SignerRemoval{}, Classify(gun, err)
	}
	listed, err := repo.ListRoles()
	if err != nil {
		return SignerRemoval{}, Classify(gun, err)
	}

	// ListRoles has the key IDs as the metadata holds them (what
	// signatures name); GetDelegationRoles the canonical IDs (what
	// RemoveDelegationKeys takes). Both keep each role's key order.
	raw := map[data.RoleName]client.RoleWithSignatures{}
	for _, r := range listed {
		raw[r.Name] = r
	}
	canonical := map[string]string{}
	var signer, releases *data.Role
	othersKeys := map[string]bool{}
	for i := range delegations {
		d := &delegations[i]
		if r, ok := raw[d.Name]; ok && len(r.KeyIDs) == len(d.KeyIDs) {
			for j, id := range r.KeyIDs {
				canonical[id] = d.KeyIDs[j]
			}
		}
		switch d.Name {
		case role:
			signer = d
		case ReleasesRole:
			releases = d
		default:
			for _, id := range d.KeyIDs {
				othersKeys[id] = true
			}
		}
	}
	if signer == nil {
		return SignerRemoval{}, fmt.Errorf("no signer %s for repository %s", name, gun)
	}

	plan := SignerRemoval{Name: name, Role: role, KeyIDs: sortedCopy(signer.KeyIDs)}
	if releases == nil {
		return plan, nil
	}
	leaving := map[string]bool{}
	for _, id := range signer.KeyIDs {
		if !othersKeys[id] {
			leaving[id] = true
		}
	}
	remaining := map[string]bool{}
	for _, id := range releases.KeyIDs {
		if leaving[id] {
			plan.ReleasesKeyIDs = append(plan.ReleasesKeyIDs, id)
		} else {
			remaining[id] = true
		}
	}
	sort.Strings(plan.ReleasesKeyIDs)
	plan.DeletesReleases = len(remaining) == 0

	if rel, ok := raw[ReleasesRole]; ok && len(rel.Signatures) > 0 {
		plan.LastReleasesSigner = !enoughSignatures(rel, canonical, remaining)
	}
	return plan, nil
}

// enoughSignatures reports whether rel's signatures by the remaining keys
// (canonical IDs; canonical maps the IDs signatures name to them) still
// meet its threshold.
func enoughSignatures(rel client.RoleWithSignatures, canonical map[string]string, remaining map[string]bool) bool {
	valid := map[string]bool{}
	for _, sig := range rel.Signatures {
		id := sig.KeyID
		if c, ok := canonical[id]; ok {
			id = c
		}
		if remaining[id] {
			valid[id] = true
		}
	}
	return len(valid) >= max(rel.Threshold, 1)
}

// RemoveSigner carries out plan in one publish: the signer's delegation
// goes, and so do its keys in targets/releases (the whole role when no key
// would be left). Docker 28 did nothing at all unless the signer was the
// last releases signer; this always removes.
func RemoveSigner(ctx context.Context, repo Repository, plan SignerRemoval) error {
	gun := repo.GetGUN()
	clearChangelist(repo)
	stage := func() error {
		switch {
		case plan.DeletesReleases:
			if err := repo.RemoveDelegationRole(ReleasesRole); err != nil {
				return err
			}
		case len(plan.ReleasesKeyIDs) > 0:
			if err := repo.RemoveDelegationKeys(ReleasesRole, plan.ReleasesKeyIDs); err != nil {
				return err
			}
		}
		return repo.RemoveDelegationRole(plan.Role)
	}
	if err := stage(); err != nil {
		clearChangelist(repo)
		return Classify(gun, fmt.Errorf("removing signer %q: %w", plan.Name, err))
	}
	if _, err := publish(ctx, repo); err != nil {
		return Classify(gun, err)
	}
	return nil
}
