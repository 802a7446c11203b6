package trust

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/theupdateframework/notary/tuf/data"
)

// rootNearExpiry is when notary re-signs root on any publish by itself
// (client.nearExpiry: within six months of its expiry); the root key is
// then needed too.
const rootNearExpiry = 6 * 30 * 24 * time.Hour

// MissingKeysError says that the keys to re-sign a role are not in the
// local key store.
type MissingKeysError struct {
	GUN  data.GUN
	Role data.RoleName
	// KeyIDs are the IDs of the role's keys, none of which is here.
	KeyIDs []string
}

func (e *MissingKeysError) Error() string {
	ids := make([]string, 0, len(e.KeyIDs))
	for _, id := range e.KeyIDs {
		if len(id) > 12 {
			id = id[:12]
		}
		ids = append(ids, id)
	}
	return fmt.Sprintf("cannot re-sign the %s metadata of %s: none of its keys (%s) is in the local key store", e.Role, e.GUN, strings.Join(ids, ", "))
}

// RefreshPlan is what Refresh re-signs in one repository.
type RefreshPlan struct {
	// Roles are the targets and delegation roles whose metadata expires
	// within the window, earliest first.
	Roles []RoleExpiry
	// Root is set when root expires within six months: notary re-signs it
	// in the same publish, with the root key.
	Root *RoleExpiry
}

// PlanRefresh reads which metadata of repo expires before now+window (from
// the verified cache under trustDir, after reading the repository) and
// checks that the keys to re-sign it are here. It changes nothing.
func PlanRefresh(ctx context.Context, repo Repository, trustDir string, now time.Time, window time.Duration) (RefreshPlan, error) {
	var plan RefreshPlan
	gun := repo.GetGUN()
	// Reading the targets of every role brings the cache up to date,
	// delegations included.
	if _, err := repo.ListTargets(); err != nil {
		return plan, Classify(gun, err)
	}
	exp, err := CachedExpiries(trustDir, gun)
	if err != nil {
		return plan, err
	}
	for _, e := range exp {
		if e.Role == data.CanonicalRootRole {
			if e.Expires.Before(now.Add(max(window, rootNearExpiry))) {
				r := e
				plan.Root = &r
			}
			continue
		}
		if e.Expires.Before(now.Add(window)) {
			plan.Roles = append(plan.Roles, e)
		}
	}
	if len(plan.Roles) == 0 {
		plan.Root = nil // nothing will be published
		return plan, nil
	}
	return plan, checkKeys(repo, plan)
}

// checkKeys fails with a *MissingKeysError when a role of plan has no key
// here.
func checkKeys(repo Repository, plan RefreshPlan) error {
	gun := repo.GetGUN()
	cs := repo.GetCryptoService()
	local := map[string]bool{}
	for id := range cs.ListAllKeys() {
		local[path.Base(id)] = true
	}
	keysOf := map[data.RoleName][]string{}
	roles, err := repo.ListRoles()
	if err != nil {
		return Classify(gun, err)
	}
	for _, r := range roles {
		keysOf[r.Name] = r.KeyIDs
	}
	delegations, err := repo.GetDelegationRoles()
	if err != nil {
		return Classify(gun, err)
	}
	for _, d := range delegations {
		keysOf[d.Name] = d.KeyIDs
	}
	for _, e := range plan.Roles {
		ids := keysOf[e.Role]
		found := false
		for _, id := range ids {
			found = found || local[id]
		}
		if !found {
			sorted := append([]string(nil), ids...)
			sort.Strings(sorted)
			return &MissingKeysError{GUN: gun, Role: e.Role, KeyIDs: sorted}
		}
	}
	if plan.Root != nil && len(cs.ListKeys(data.CanonicalRootRole)) == 0 {
		return &MissingKeysError{GUN: gun, Role: data.CanonicalRootRole, KeyIDs: keysOf[data.CanonicalRootRole]}
	}
	return nil
}

// Refresh re-signs the metadata of plan.Roles without changing any target
// (notary's witness), in one publish; the server signs a new snapshot and
// timestamp. It returns the number of publish attempts.
func Refresh(ctx context.Context, repo Repository, plan RefreshPlan) (int, error) {
	gun := repo.GetGUN()
	if len(plan.Roles) == 0 {
		return 0, nil
	}
	roles := make([]data.RoleName, 0, len(plan.Roles))
	for _, e := range plan.Roles {
		roles = append(roles, e.Role)
	}
	if _, err := repo.Witness(roles...); err != nil {
		clearChangelist(repo)
		return 0, Classify(gun, fmt.Errorf("staging the re-signing of %s: %w", gun, err))
	}
	n, err := publish(ctx, repo)
	if err != nil {
		return n, Classify(gun, err)
	}
	return n, nil
}
