package audit

import (
	"context"
	"sync"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"

	"github.com/theupdateframework/notary/tuf/data"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// Auditing the repositories: a bounded number at once, each one on its own
// (content trust checked against the registry, expiries, the pin).

// auditResult is one repository's outcome, in listing order.
type auditResult struct {
	index int
	repo  AuditRepo
	skip  bool // interrupted before it was audited
}

// auditAll audits every name from names, parallel at a time, and calls emit
// with each result in the order the names came, from one goroutine. At
// most 4*parallel results wait for an earlier one, so memory does not grow
// with the registry.
func auditAll(ctx context.Context, parallel int, names <-chan string, one func(context.Context, string) (AuditRepo, bool), emit func(AuditRepo) error) error {
	window := make(chan struct{}, 4*parallel)
	work := make(chan auditResult)
	results := make(chan auditResult)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range work {
				name := w.repo.Name
				if ctx.Err() != nil {
					w.skip = true
				} else {
					var ok bool
					w.repo, ok = one(ctx, name)
					w.skip = !ok
				}
				results <- w
			}
		}()
	}
	go func() {
		defer func() {
			close(work)
			wg.Wait()
			close(results)
		}()
		i := 0
		for name := range names {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case work <- auditResult{index: i, repo: AuditRepo{Name: name}}:
			case <-ctx.Done():
				<-window
				return
			}
			i++
		}
	}()
	pending := map[int]auditResult{}
	next := 0
	var emitErr error
	for r := range results {
		pending[r.index] = r
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-window
			if !p.skip && emitErr == nil {
				emitErr = emit(p.repo)
			}
		}
	}
	return emitErr
}

// auditOne audits one repository. ok is false when the run was interrupted
// before it finished (the repository is then left out of the report).
func auditOne(ctx context.Context, d *cmdutil.Deps, name, trustDir string, now time.Time, window time.Duration, n *notationAudit) (AuditRepo, bool) {
	// The repository's tag listing stays charged to the command's budget
	// until its audit is done: parallel audits share one cap.
	ctx, release := d.ListBudget.Hold(ctx)
	defer release()
	r := AuditRepo{Name: name, Tags: []AuditTag{}, Expiries: []cmdutil.ExpiringRole{}}
	if pin, ok := d.Pins.Lookup(data.GUN(name)); ok {
		r.Pinned = pin.Pattern
	}
	fail := func(err error) (AuditRepo, bool) {
		if ctx.Err() != nil {
			return r, false
		}
		r.Error = explain.Message(err)
		return r, true
	}
	ref, err := trust.ParseRef(name)
	if err != nil {
		return fail(err)
	}
	// Read-only: the local cache is read (what was verified before), never
	// written, and no key is opened. Check gets the same context, for the
	// expiries of what was read.
	roCtx := trust.ReadOnly(ctx)
	repo, err := d.OpenRepo(roCtx, ref, false)
	if err != nil {
		return fail(d.Fail(trust.OpTrustRead, ref, cmdutil.ConnectionError(err)))
	}
	rc, err := trust.Check(roCtx, repo, d.Registry, ref, trustDir)
	if err != nil {
		return fail(d.Explained(err))
	}
	r.TrustData = rc.TrustData
	for _, t := range rc.Tags {
		r.Tags = append(r.Tags, AuditTag{TagReport: t})
	}
	if n != nil {
		tags, err := n.check(ctx, d, ref, rc.Tags)
		if err != nil {
			return fail(err)
		}
		r.Tags = tags
		r.Notation = &NotationCounts{}
		for _, t := range tags {
			r.Notation.tag(t)
		}
	}
	for _, t := range r.Tags {
		switch t.Status {
		case trust.StatusSigned:
			r.Signed++
		case trust.StatusUnsigned:
			r.Unsigned++
		case trust.StatusDrifted:
			r.Drifted++
		case trust.StatusMissing:
			r.Missing++
		}
	}
	for _, e := range rc.Expiries {
		r.Expiries = append(r.Expiries, cmdutil.ExpiringRole{Role: e.Role.String(), Expires: e.Expires})
	}
	if len(r.Expiries) > 0 {
		first := r.Expiries[0]
		r.EarliestExpiry = &first
		r.Expiring = first.Expires.Before(now.Add(window))
	}
	return r, true
}
