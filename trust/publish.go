package trust

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/tuf/data"
)

// The write path shared by Sign, Revoke, AddSigner and RemoveSigner: start
// trust data where there is none, then publish what was staged. (Rotate
// publishes through notary's RotateKey, which stages nothing.)

// publishAttempts bounds how often a publish is retried when the server
// rejects it because another signer published first: notary's Publish
// downloads the newest metadata and re-applies our changelist each time, so a
// retry loses nothing of either signer's work.
const publishAttempts = 6

// publish publishes the staged changes, retrying when the server rejects
// the update because someone else published first, with a jittered
// back-off so that the losers do not collide again. On failure the
// changelist is cleared, so that a later publish, ours or Docker's or the
// notary CLI's (they share the cache), does not publish half of this one.
// It returns the number of attempts and the unclassified error.
func publish(ctx context.Context, repo Repository) (int, error) {
	var err error
	attempts := 0
	for {
		attempts++
		err = repo.Publish()
		var rejected storage.ErrInvalidOperation
		if err == nil || !errors.As(err, &rejected) || attempts >= publishAttempts {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(time.Duration(attempts*25+rand.IntN(50)) * time.Millisecond):
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		clearChangelist(repo)
	}
	return attempts, err
}

// clearChangelist drops staged changes after a failed write, so that a
// later publish (ours, Docker's or the notary CLI's, which share the cache)
// does not publish half of this one.
func clearChangelist(repo Repository) {
	if cl, err := repo.GetChangelist(); err == nil {
		_ = cl.Clear("")
	}
}

// notInitialized reports whether err says that the repository has no
// trust data yet, locally or on the server.
func notInitialized(err error) bool {
	var notInit client.ErrRepoNotInitialized
	var notExist client.ErrRepositoryNotExist
	return errors.As(err, &notInit) || errors.As(err, &notExist)
}

// initialize creates repo's trust data with the root key from rootKey and
// a new repository key, the snapshot key managed by the server, as Docker
// did. It returns the root key's ID; errors are classified.
func initialize(repo Repository) (string, error) {
	gun := repo.GetGUN()
	rootKeyID, err := rootKey(repo)
	if err != nil {
		return "", Classify(gun, err)
	}
	if err := repo.Initialize([]string{rootKeyID}, data.CanonicalSnapshotRole); err != nil {
		return "", Classify(gun, fmt.Errorf("initializing trust data for %s: %w", gun, err))
	}
	return rootKeyID, nil
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
