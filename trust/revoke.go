package trust

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// ErrNoSignedTags: revoking every tag of a repository that has none signed.
var ErrNoSignedTags = errors.New("no signed tags to remove")

// Revoked is a tag whose signature was removed, and the roles it was removed from.
type Revoked struct {
	Tag   string
	Roles []data.RoleName
}

// Revoke removes the signature of tag, or of every signed tag when tag is
// empty, from each role that holds it and that the local keys can sign
// (targets with the repository key, a delegation with one of its keys), in
// one publish.
//
// Unlike Docker, which removed the tag from the roles it could sign and
// reported success even when the tag stayed signed in another role (a
// delegate revoking a tag the repository admin had signed into targets),
// Revoke publishes nothing and fails with KindKeyNotFound when the tag
// would still be signed into targets or targets/releases afterwards: the
// tag would still pull.
func Revoke(ctx context.Context, repo Repository, tag string) ([]Revoked, error) {
	gun := repo.GetGUN()
	found, err := repo.GetAllTargetMetadataByName(tag)
	var noTarget client.ErrNoSuchTarget
	switch {
	case errors.As(err, &noTarget) && tag == "":
		return nil, ErrNoSignedTags
	case err != nil:
		return nil, Classify(gun, err)
	}

	local := localKeyIDs(repo)
	remove := map[string][]data.RoleName{}
	var kept []string
	for _, t := range found {
		switch {
		case canSign(t.Role.BaseRole, local):
			remove[t.Target.Name] = appendRole(remove[t.Target.Name], t.Role.Name)
		case trustedRole(t.Role.Name):
			kept = append(kept, fmt.Sprintf("%s in %s", t.Target.Name, t.Role.Name))
		}
	}
	if len(kept) > 0 {
		sort.Strings(kept)
		return nil, &Error{
			Kind: KindKeyNotFound,
			GUN:  gun,
			Message: fmt.Sprintf("cannot remove the signature of %s: it was made with a key that is not in the local key store, "+
				"so the tag would still be signed", strings.Join(kept, ", ")),
		}
	}
	if len(remove) == 0 {
		return nil, ErrNoSignedTags
	}

	revoked := make([]Revoked, 0, len(remove))
	for name, roles := range remove {
		revoked = append(revoked, Revoked{Tag: name, Roles: roles})
	}
	sort.Slice(revoked, func(i, j int) bool { return revoked[i].Tag < revoked[j].Tag })

	clearChangelist(repo)
	for _, r := range revoked {
		if err := repo.RemoveTarget(r.Tag, r.Roles...); err != nil {
			clearChangelist(repo)
			return nil, Classify(gun, fmt.Errorf("staging the removal of %q: %w", r.Tag, err))
		}
	}
	if _, err := publish(ctx, repo); err != nil {
		return nil, Classify(gun, err)
	}
	return revoked, nil
}

// localKeyIDs are the IDs of the private keys in the local store.
func localKeyIDs(repo Repository) map[string]bool {
	local := map[string]bool{}
	for id := range repo.GetCryptoService().ListAllKeys() {
		local[id] = true
	}
	return local
}

// canSign reports whether one of role's keys is local. Keys are matched by
// their TUF ID and by their canonical ID: the private key of a certificate
// is stored under the canonical ID of its public key.
func canSign(role data.BaseRole, local map[string]bool) bool {
	for id, pub := range role.Keys {
		if local[id] {
			return true
		}
		if pub == nil {
			continue
		}
		if canonical, err := utils.CanonicalKeyID(pub); err == nil && local[canonical] {
			return true
		}
	}
	return false
}

func appendRole(roles []data.RoleName, r data.RoleName) []data.RoleName {
	for _, have := range roles {
		if have == r {
			return roles
		}
	}
	return append(roles, r)
}
