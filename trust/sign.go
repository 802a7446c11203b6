package trust

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"

	"github.com/opencontainers/go-digest"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"
)

// Replaced is a tag that was signed before with another digest.
type Replaced struct {
	Tag      string
	Previous digest.Digest
	Current  digest.Digest
}

// AlreadySigned is a tag that every role this machine signs into had
// already signed with the same digest: nothing was staged for it.
type AlreadySigned struct {
	Tag    string
	Digest digest.Digest
	// Roles are the roles that hold the signature, sorted.
	Roles []data.RoleName
}

// SignResult says what Sign did.
type SignResult struct {
	// Initialized is true when the repository had no trust data and Sign
	// created it (root key reused or created, new repository key, snapshot
	// key managed by the server).
	Initialized bool
	// RootKeyID is the root key used to initialise; empty unless Initialized.
	RootKeyID string
	// Roles are the roles the targets were signed into.
	Roles []data.RoleName
	// Replaced lists tags whose signed digest changed.
	Replaced []Replaced
	// AlreadySigned lists tags that needed no new signature. When every
	// target is here, nothing was published (Publishes is 0), and no key
	// was needed.
	AlreadySigned []AlreadySigned
	// Publishes counts publish round trips (1 unless a conflict was retried).
	Publishes int
}

// Signed reports whether target was signed by this call (not already signed).
func (r SignResult) Signed(tag string) bool {
	for _, a := range r.AlreadySigned {
		if a.Tag == tag {
			return false
		}
	}
	return true
}

// Sign signs targets (all in repo's repository) in one publish. On a
// repository without trust data it initialises it first; otherwise it signs
// into every role the local keys can sign for (Docker's rules: targets when
// there are no delegations, else each targets/<name> delegation whose key is
// here, targets/releases included). Nothing is published unless every target
// could be staged, and a failed publish leaves no staged change behind.
func Sign(ctx context.Context, repo Repository, targets []Target) (SignResult, error) {
	var res SignResult
	if len(targets) == 0 {
		return res, errors.New("no targets found, provide a specific tag in order to sign it")
	}
	gun := repo.GetGUN()
	nts := make([]*client.Target, 0, len(targets))
	for _, t := range targets {
		nt, err := t.NotaryTarget()
		if err != nil {
			return res, err
		}
		nts = append(nts, nt)
	}

	existing, err := repo.ListTargets(ReleasesRole, data.CanonicalTargetsRole)
	switch {
	case notInitialized(err):
		rootKeyID, err := initialize(repo)
		if err != nil {
			return res, err
		}
		res.Initialized, res.RootKeyID = true, rootKeyID
		res.Roles = []data.RoleName{data.CanonicalTargetsRole}
	case err != nil:
		return res, Classify(gun, err)
	default:
		res.Replaced = replaced(existing, targets)
	}

	staged, err := stageTargets(repo, targets, nts, sameDigest(existing, targets), &res)
	if err != nil {
		clearChangelist(repo)
		return res, err
	}
	if staged == 0 {
		return res, nil
	}
	if res.Publishes, err = publish(ctx, repo); err != nil {
		return res, Classify(gun, err)
	}
	return res, nil
}

// stageTargets stages each target (nts[i] is targets[i] in notary's form)
// into the roles Sign chooses, skipping the roles that already hold it with
// the same digest (same), and records the roles and the already-signed
// targets in res. It returns how many targets were staged.
func stageTargets(repo Repository, targets []Target, nts []*client.Target, same map[string]bool, res *SignResult) (int, error) {
	// The delegations come from the metadata just downloaded: read them
	// once, not once per target (GetDelegationRoles updates from the server).
	var chooser roleChooser
	if !res.Initialized {
		var err error
		if chooser, err = newRoleChooser(repo); err != nil {
			return 0, err
		}
	}
	staged := 0
	for i, nt := range nts {
		roles := res.Roles
		if !res.Initialized {
			var err error
			if roles, err = chooser.roles(nt.Name); err != nil {
				return staged, err
			}
			res.Roles = roles
		}
		if same[nt.Name] {
			// Re-adding a target that a role already holds changes nothing,
			// so notary would publish nothing and need no key, and Docker
			// said "Successfully signed" all the same. Stage only the roles
			// that lack it.
			have, err := rolesHolding(repo, targets[i])
			if err != nil {
				return staged, err
			}
			missing := without(roles, have)
			if len(missing) == 0 {
				res.AlreadySigned = append(res.AlreadySigned, AlreadySigned{Tag: nt.Name, Digest: targets[i].Digest, Roles: have})
				continue
			}
			roles = missing
		}
		if err := repo.AddTarget(nt, roles...); err != nil {
			return staged, Classify(repo.GetGUN(), fmt.Errorf("staging %s: %w", nt.Name, err))
		}
		staged++
	}
	return staged, nil
}

// roleChooser decides which roles the local keys can sign a target into
// (Docker's GetSignableRoles): targets when the repository has no
// delegations, else every direct targets/<name> delegation that holds a local
// key and whose paths cover the target. It holds what it decides from: the
// repository's delegations and the IDs of the local keys.
type roleChooser struct {
	delegations []data.Role
	local       map[string]bool
}

func newRoleChooser(repo Repository) (roleChooser, error) {
	delegations, err := repo.GetDelegationRoles()
	if err != nil {
		return roleChooser{}, Classify(repo.GetGUN(), err)
	}
	c := roleChooser{delegations: delegations, local: map[string]bool{}}
	for id := range repo.GetCryptoService().ListAllKeys() {
		c.local[path.Base(id)] = true
	}
	return c, nil
}

func (c roleChooser) roles(target string) ([]data.RoleName, error) {
	if len(c.delegations) == 0 {
		return []data.RoleName{data.CanonicalTargetsRole}, nil
	}
	var roles []data.RoleName
	for _, d := range c.delegations {
		if path.Dir(d.Name.String()) != data.CanonicalTargetsRole.String() || !d.CheckPaths(target) {
			continue
		}
		for _, id := range d.KeyIDs {
			if c.local[id] {
				roles = append(roles, d.Name)
				break
			}
		}
	}
	if len(roles) == 0 {
		return nil, ErrNoSignableRoles
	}
	return roles, nil
}

// sameDigest lists the targets whose tag is already signed, somewhere in
// the repository, with the same digest: the only ones worth a closer look.
func sameDigest(existing []*client.TargetWithRole, targets []Target) map[string]bool {
	want := make(map[string]digest.Digest, len(targets))
	for _, t := range targets {
		want[t.Name] = t.Digest
	}
	out := map[string]bool{}
	for _, e := range existing {
		if t, err := targetFromNotary(e.Target, e.Role); err == nil && want[t.Name] == t.Digest {
			out[t.Name] = true
		}
	}
	return out
}

// rolesHolding returns the roles that sign target's tag with its digest, sorted.
func rolesHolding(repo Repository, target Target) ([]data.RoleName, error) {
	all, err := repo.GetAllTargetMetadataByName(target.Name)
	if err != nil {
		var noTarget client.ErrNoSuchTarget
		if errors.As(err, &noTarget) {
			return nil, nil
		}
		return nil, Classify(repo.GetGUN(), err)
	}
	var out []data.RoleName
	for _, s := range all {
		if t, err := targetFromNotary(s.Target, s.Role.Name); err == nil && t.Digest == target.Digest {
			out = append(out, s.Role.Name)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// without returns the roles of a that are not in b.
func without(a, b []data.RoleName) []data.RoleName {
	var out []data.RoleName
	for _, r := range a {
		if !slices.Contains(b, r) {
			out = append(out, r)
		}
	}
	return out
}

func replaced(existing []*client.TargetWithRole, targets []Target) []Replaced {
	prev := map[string]digest.Digest{}
	for _, e := range existing {
		if t, err := targetFromNotary(e.Target, e.Role); err == nil {
			if _, seen := prev[t.Name]; !seen {
				prev[t.Name] = t.Digest
			}
		}
	}
	var out []Replaced
	for _, t := range targets {
		if p, ok := prev[t.Name]; ok && p != t.Digest {
			out = append(out, Replaced{Tag: t.Name, Previous: p, Current: t.Digest})
		}
	}
	return out
}
