package trust

import (
	"context"
	"sort"

	"github.com/theupdateframework/notary/tuf/data"
)

// TrustData summarises a repository's trust data, read and verified.
type TrustData struct {
	// SignedTags are the tags signed in targets or targets/releases.
	SignedTags []Target
	// Delegations are the repository's delegation roles (targets/releases,
	// targets/<signer>).
	Delegations []data.RoleName
}

// ReadTrustData downloads and verifies repo's trust data and summarises
// it. A repository without trust data returns an *Error of KindNoTrustData.
func ReadTrustData(ctx context.Context, repo Repository) (TrustData, error) {
	var td TrustData
	all, err := ResolveAll(ctx, repo)
	if err != nil && KindOf(err) != KindNotSigned {
		return td, err
	}
	td.SignedTags = all
	roles, err := repo.GetDelegationRoles()
	if err != nil {
		return td, Classify(repo.GetGUN(), err)
	}
	for _, r := range roles {
		td.Delegations = append(td.Delegations, r.Name)
	}
	sort.Slice(td.Delegations, func(i, j int) bool { return td.Delegations[i] < td.Delegations[j] })
	return td, nil
}
