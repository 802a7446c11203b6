package notationbridge

import (
	"context"
	"fmt"
	"sync"

	"github.com/notaryproject/notation-go/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Outcome is what SignNew did with a digest.
type Outcome string

// The outcomes of SignNew.
const (
	// Signed: a signature was made and pushed.
	Signed Outcome = "signed"
	// AlreadySigned: the digest already had an intact signature by the
	// same key; nothing was pushed.
	AlreadySigned Outcome = "already-signed"
)

// SignNew signs exactly desc's digest with s, as Sign does, unless the
// digest already has an intact signature by s's key (SignedBy): running it
// again after a partial failure completes the work and duplicates nothing.
// It is SignedBy then Sign, the two steps migrate takes (with a dry run
// between them); push, sign, build --push and refresh sign through here.
func SignNew(ctx context.Context, s *Signer, repo registry.Repository, desc ocispec.Descriptor, opts SignOptions) (Outcome, error) {
	already, err := SignedBy(ctx, repo, desc, s)
	if err != nil {
		return "", err
	}
	if already {
		return AlreadySigned, nil
	}
	if err := Sign(ctx, s, repo, desc, opts); err != nil {
		return "", err
	}
	return Signed, nil
}

// CountSignatures returns how many Notation signatures desc has in repo,
// by any key, intact or not (one referrers lookup: what "a signature
// exists" means in audit). Whether one is accepted is the Verifier's call.
func CountSignatures(ctx context.Context, repo registry.Repository, desc ocispec.Descriptor) (int, error) {
	n := 0
	err := repo.ListSignatures(ctx, desc, func(manifests []ocispec.Descriptor) error {
		n += len(manifests)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("listing the Notation signatures of %s: %w", desc.Digest, err)
	}
	return n, nil
}

// Result is what SignNewAll did with one digest: Outcome, or Err.
type Result struct {
	Desc    ocispec.Descriptor
	Outcome Outcome
	Err     error
}

// SignNewAll runs SignNew for each of descs, at most parallel at a time (0
// or less means 4), and returns one Result per descriptor in the order
// given. A failure on one digest does not stop the others: the caller
// reports which are missing. Cancelling ctx stops what has not started.
func SignNewAll(ctx context.Context, s *Signer, repo registry.Repository, descs []ocispec.Descriptor, opts SignOptions, parallel int) []Result {
	if parallel <= 0 {
		parallel = 4
	}
	results := make([]Result, len(descs))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, d := range descs {
		results[i].Desc = d
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].Err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func(r *Result) {
			defer wg.Done()
			defer func() { <-sem }()
			r.Outcome, r.Err = SignNew(ctx, s, repo, r.Desc, opts)
		}(&results[i])
	}
	wg.Wait()
	return results
}
