package trust

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/tuf/data"
)

// publishAttempts bounds how often a publish is retried when the server
// rejects it because another signer published first: notary's Publish
// downloads the newest metadata and re-applies our changelist each time, so a
// retry loses nothing of either signer's work.
const publishAttempts = 6

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
	var notInit client.ErrRepoNotInitialized
	var notExist client.ErrRepositoryNotExist
	switch {
	case errors.As(err, &notInit), errors.As(err, &notExist):
		rootKeyID, err := rootKey(repo)
		if err != nil {
			return res, Classify(gun, err)
		}
		if err := repo.Initialize([]string{rootKeyID}, data.CanonicalSnapshotRole); err != nil {
			return res, Classify(gun, fmt.Errorf("initializing trust data for %s: %w", gun, err))
		}
		res.Initialized, res.RootKeyID = true, rootKeyID
		res.Roles = []data.RoleName{data.CanonicalTargetsRole}
	case err != nil:
		return res, Classify(gun, err)
	default:
		res.Replaced = replaced(existing, targets)
	}
	same := sameDigest(existing, targets)

	defer func() {
		if err != nil {
			clearChangelist(repo)
		}
	}()
	// The delegations come from the metadata just downloaded: read them
	// once, not once per target (GetDelegationRoles updates from the server).
	var chooser roleChooser
	if !res.Initialized {
		if chooser, err = newRoleChooser(repo); err != nil {
			return res, err
		}
	}
	staged := 0
	for i, nt := range nts {
		roles := res.Roles
		if !res.Initialized {
			if roles, err = chooser.roles(nt.Name); err != nil {
				return res, err
			}
			res.Roles = roles
		}
		if same[nt.Name] {
			// Re-adding a target that a role already holds changes nothing,
			// so notary would publish nothing and need no key, and Docker
			// said "Successfully signed" all the same. Stage only the roles
			// that lack it.
			var have []data.RoleName
			if have, err = rolesHolding(repo, targets[i]); err != nil {
				return res, err
			}
			missing := without(roles, have)
			if len(missing) == 0 {
				res.AlreadySigned = append(res.AlreadySigned, AlreadySigned{Tag: nt.Name, Digest: targets[i].Digest, Roles: have})
				continue
			}
			roles = missing
		}
		if err = repo.AddTarget(nt, roles...); err != nil {
			return res, Classify(gun, fmt.Errorf("staging %s: %w", nt.Name, err))
		}
		staged++
	}
	if staged == 0 {
		return res, nil
	}
	for {
		res.Publishes++
		err = repo.Publish()
		var rejected storage.ErrInvalidOperation
		if err == nil || !errors.As(err, &rejected) || res.Publishes >= publishAttempts {
			break
		}
		// Another signer won the race; back off a little, with jitter so
		// that the losers do not collide again.
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(time.Duration(res.Publishes*25+rand.IntN(50)) * time.Millisecond):
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return res, Classify(gun, err)
	}
	return res, nil
}

// rootKey returns the root key to initialise a repository with: the first
// root key already in the local store (as Docker did, so one root key serves
// every repository), or a new one.
func rootKey(repo Repository) (string, error) {
	cs := repo.GetCryptoService()
	keys := cs.ListKeys(data.CanonicalRootRole)
	if len(keys) > 0 {
		sort.Strings(keys)
		return keys[0], nil
	}
	pub, err := cs.Create(data.CanonicalRootRole, "", data.ECDSAKey)
	if err != nil {
		return "", err // says "creating the root key"
	}
	return pub.ID(), nil
}

// SignableRoles returns the roles that the local keys can sign target into
// (Docker's GetSignableRoles): targets when the repository has no
// delegations, else every direct targets/<name> delegation that holds a local
// key and whose paths cover the target.
func SignableRoles(repo Repository, target string) ([]data.RoleName, error) {
	c, err := newRoleChooser(repo)
	if err != nil {
		return nil, err
	}
	return c.roles(target)
}

// roleChooser holds what SignableRoles decides from: the repository's
// delegations and the IDs of the local keys.
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

// clearChangelist drops staged changes after a failed sign, so that a later
// publish (ours, Docker's or the notary CLI's, which share the cache) does
// not publish half of this one.
func clearChangelist(repo Repository) {
	if cl, err := repo.GetChangelist(); err == nil {
		_ = cl.Clear("")
	}
}
