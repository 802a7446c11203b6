package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/notaryproject/notation-go/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// The move to Notation, per tag: is there a Notation signature, does the
// trust policy accept it, and does it cover the digest content trust signed.

// A tag's Notation status (AuditTag.Notation), for the digest the registry
// serves.
const (
	notationMissing  = "missing"  // no Notation signature
	notationSigned   = "signed"   // signed; not verified (no --notation-dir)
	notationVerified = "verified" // the trust policy accepts a signature
	notationInvalid  = "invalid"  // signed, but the trust policy accepts none
)

// AuditTag is one tag of a repository in the report: its content trust
// status (trust.TagReport's fields) and its Notation status.
type AuditTag struct {
	trust.TagReport
	// Notation is the Notation status of the digest the registry serves:
	// missing, signed, verified or invalid; empty when the tag is not in
	// the registry or Notation was not audited (--notation=false).
	Notation string `json:",omitempty"`
	// NotationProblem is why the trust policy accepted no signature.
	NotationProblem string `json:",omitempty"`
	// CoversDCT, for a tag content trust signs, is whether the digest it
	// signed has a Notation signature (one the trust policy accepts, with
	// --notation-dir): the two formats vouch for the same image.
	CoversDCT *bool `json:",omitempty"`
}

// NotationCounts count tags by Notation status; CoversDCT counts the tags
// content trust signs whose signed digest Notation covers.
type NotationCounts struct {
	NotationSigned, NotationVerified, NotationInvalid, NotationMissing int
	CoversDCT                                                          int
}

func (c *NotationCounts) add(o NotationCounts) {
	c.NotationSigned += o.NotationSigned
	c.NotationVerified += o.NotationVerified
	c.NotationInvalid += o.NotationInvalid
	c.NotationMissing += o.NotationMissing
	c.CoversDCT += o.CoversDCT
}

// withNotation counts one tag.
func (c *NotationCounts) tag(t AuditTag) {
	switch t.Notation {
	case notationSigned:
		c.NotationSigned++
	case notationVerified:
		c.NotationSigned++
		c.NotationVerified++
	case notationInvalid:
		c.NotationSigned++
		c.NotationInvalid++
	case notationMissing:
		c.NotationMissing++
	}
	if t.CoversDCT != nil && *t.CoversDCT {
		c.CoversDCT++
	}
}

// notationTagParallel is how many tags of one repository are checked at
// once (repositories are audited --parallel at a time besides).
const notationTagParallel = 4

// digestStatuses checks each digest of one repository once, whichever tags
// share it, from several goroutines.
type digestStatuses struct {
	ctx  context.Context
	repo registry.Repository
	name string
	v    *notationbridge.Verifier
	mu   sync.Mutex
	seen map[digest.Digest]*digestStatus
}

type digestStatus struct {
	once sync.Once
	st   notationbridge.Status
	err  error
}

func (s *digestStatuses) get(dgst digest.Digest) (notationbridge.Status, error) {
	s.mu.Lock()
	ds, ok := s.seen[dgst]
	if !ok {
		ds = &digestStatus{}
		s.seen[dgst] = ds
	}
	s.mu.Unlock()
	ds.once.Do(func() {
		ds.st, ds.err = notationbridge.CheckDigest(s.ctx, s.repo, s.name, ocispec.Descriptor{Digest: dgst}, s.v)
	})
	return ds.st, ds.err
}

// notationAudit checks Notation signatures for audit; v is nil without
// --notation-dir (signatures are then counted, not verified).
type notationAudit struct {
	v *notationbridge.Verifier
}

// check adds the Notation status to each tag of ref's repository: one
// referrers lookup per distinct digest, and a verification when there is a
// signature and a trust policy.
func (n *notationAudit) check(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, reports []trust.TagReport) ([]AuditTag, error) {
	tags := make([]AuditTag, len(reports))
	for i, r := range reports {
		tags[i].TagReport = r
	}
	if len(tags) == 0 {
		return tags, nil
	}
	if d.ORAS == nil {
		return tags, errors.New("auditing Notation signatures needs the registry client of docker acrtrust")
	}
	err := d.ORAS.WithRepository(ref, func(r *remote.Repository) error {
		st := &digestStatuses{ctx: ctx, repo: notationbridge.NewRepository(r), name: ref.Name.Name(), v: n.v, seen: map[digest.Digest]*digestStatus{}}
		errs := make([]error, len(tags))
		sem := make(chan struct{}, notationTagParallel)
		var wg sync.WaitGroup
		for i := range tags {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				errs[i] = n.checkTag(&tags[i], st.get)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	})
	if err != nil {
		return tags, d.Fail(trust.OpRegistryRead, ref, fmt.Errorf("reading Notation signatures: %w", err))
	}
	return tags, nil
}

func (n *notationAudit) checkTag(t *AuditTag, status func(digest.Digest) (notationbridge.Status, error)) error {
	if t.RegistryDigest != "" {
		st, err := status(t.RegistryDigest)
		if err != nil {
			return err
		}
		t.Notation, t.NotationProblem = notationOf(st)
	}
	if t.SignedDigest == "" {
		return nil
	}
	st, err := status(t.SignedDigest)
	if err != nil {
		return err
	}
	covers := st.Signatures > 0 && (n.v == nil || st.Verified)
	t.CoversDCT = &covers
	return nil
}

func notationOf(st notationbridge.Status) (string, string) {
	switch {
	case st.Signatures == 0:
		return notationMissing, ""
	case !st.Checked:
		return notationSigned, ""
	case st.Verified:
		return notationVerified, ""
	}
	return notationInvalid, st.Problem
}

// newNotationAudit reads --notation, --notation-dir and the Notation rules
// of --fail-on; nil means Notation is not audited.
func newNotationAudit(opts AuditOptions, p failPolicy) (*notationAudit, error) {
	if !opts.notation {
		if p.notationMissing || p.notationInvalid || opts.notationDir != "" {
			return nil, cmdutil.UsageError{Err: errors.New("--notation=false leaves Notation out: drop it, or drop --notation-dir and the notation rules of --fail-on")}
		}
		return nil, nil
	}
	n := &notationAudit{}
	if opts.notationDir == "" {
		if p.notationInvalid {
			return nil, cmdutil.UsageError{Err: errors.New("--fail-on notation-invalid needs --notation-dir: the trust policy decides what is valid")}
		}
		return n, nil
	}
	v, err := notationbridge.LoadVerifier(opts.notationDir)
	if err != nil {
		return nil, cmdutil.WithRemedy(err, "Pass the directory that holds trustpolicy.json and the trust store (notation's layout), "+
			"for example the one `docker acrtrust migrate --emit-policy DIR` wrote.")
	}
	n.v = v
	return n, nil
}
