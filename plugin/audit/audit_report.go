package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
)

// auditSink receives the report of each repository as it is audited, in
// listing order, then the summary. Sinks write as they go and keep only
// what they must (the table keeps one row of counts per repository).
type auditSink interface {
	repository(r AuditRepo) error
	finish(sum AuditSummary) error
}

// auditRow is what the terminal table keeps of a repository.
type auditRow struct {
	Name                               string
	TrustData                          bool
	Signed, Unsigned, Drifted, Missing int
	Earliest                           *cmdutil.ExpiringRole
	Expiring                           bool
	Error                              string
	Pinned                             string
	// Notation is nil when Notation was not audited; DCTSigned counts the
	// tags content trust signs (what CoversDCT is out of) and Tags the
	// registry's tags (what the Notation counts are out of).
	Notation        *NotationCounts
	DCTSigned, Tags int
}

// rowOf is what the table and the HTML overview keep of r.
func rowOf(r AuditRepo) auditRow {
	row := auditRow{
		Name: r.Name, TrustData: r.TrustData,
		Signed: r.Signed, Unsigned: r.Unsigned, Drifted: r.Drifted, Missing: r.Missing,
		Earliest: r.EarliestExpiry, Expiring: r.Expiring, Error: r.Error, Pinned: r.Pinned,
		Notation: r.Notation,
	}
	for _, t := range r.Tags {
		if t.SignedDigest != "" {
			row.DCTSigned++
		}
		if t.RegistryDigest != "" {
			row.Tags++
		}
	}
	return row
}

// notationProgress is "accepted/tags" (verified with a trust policy, else
// signed), and "covered/content trust signed".
func (r auditRow) notationProgress(verified bool) (string, string) {
	if r.Notation == nil {
		return "-", "-"
	}
	n := r.Notation.NotationSigned
	if verified {
		n = r.Notation.NotationVerified
	}
	return fmt.Sprintf("%d/%d", n, r.Tags), fmt.Sprintf("%d/%d", r.Notation.CoversDCT, r.DCTSigned)
}

// NotationPercent is how far the repository has moved: the share of its
// tags with an accepted (verified, or else any) Notation signature.
func (r auditRow) NotationPercent(verified bool) int {
	if r.Notation == nil || r.Tags == 0 {
		return 0
	}
	n := r.Notation.NotationSigned
	if verified {
		n = r.Notation.NotationVerified
	}
	return n * 100 / r.Tags
}

// auditTable is the summary table on the terminal.
type auditTable struct {
	rows []auditRow
}

func (t *auditTable) repository(r AuditRepo) error {
	t.rows = append(t.rows, rowOf(r))
	return nil
}

func (t *auditTable) finish(AuditSummary) error { return nil }

func (t *auditTable) write(out io.Writer, sum AuditSummary, window time.Duration, windowText string) error {
	head := []string{"REPOSITORY", "PINNED", "SIGNED", "UNSIGNED", "DRIFTED", "MISSING", "EARLIEST EXPIRY", "NOTE"}
	if sum.Notation != nil {
		head = append(head[:len(head)-1], "NOTATION", "COVERS DCT", "NOTE")
	}
	rows := [][]string{head}
	for _, r := range t.rows {
		expiry, note := "-", ""
		if r.Earliest != nil {
			expiry = r.Earliest.Expires.UTC().Format(time.DateOnly) + " (" + r.Earliest.Role + ")"
			if r.Expiring {
				note = "expiring"
			}
		}
		if !r.TrustData && r.Error == "" {
			note = "no trust data"
		}
		if r.Error != "" {
			note = "error: " + firstLine(r.Error)
		}
		pinned := "no"
		if r.Pinned != "" {
			pinned = "yes"
		}
		row := []string{r.Name, pinned, strconv.Itoa(r.Signed), strconv.Itoa(r.Unsigned), strconv.Itoa(r.Drifted), strconv.Itoa(r.Missing), expiry}
		if sum.Notation != nil {
			progress, covers := r.notationProgress(sum.NotationVerified)
			row = append(row, progress, covers)
		}
		rows = append(rows, append(row, note))
	}
	if err := cmdutil.WriteTable(out, rows); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(out, "\n%d repositories (%d with trust data): %d signed, %d unsigned, %d drifted, %d missing tags",
		sum.Repositories, sum.WithTrustData, sum.SignedTags, sum.UnsignedTags, sum.DriftedTags, sum.MissingTags)
	if sum.Errors > 0 {
		_, _ = fmt.Fprintf(out, "; %d could not be audited", sum.Errors)
	}
	_, _ = fmt.Fprintln(out)
	if n := sum.Notation; n != nil {
		_, _ = fmt.Fprintf(out, "Notation: %d tags signed", n.NotationSigned)
		if sum.NotationVerified {
			_, _ = fmt.Fprintf(out, " (%d verified, %d invalid)", n.NotationVerified, n.NotationInvalid)
		}
		_, _ = fmt.Fprintf(out, ", %d without a signature; %d of %d tags signed with content trust covered on the same digest\n",
			n.NotationMissing, n.CoversDCT, sum.SignedTags+sum.DriftedTags+sum.MissingTags)
	}
	if e := sum.EarliestExpiry; e != nil {
		_, _ = fmt.Fprintf(out, "Earliest expiry: %s of %s on %s\n", e.Role, safetext.Escape(e.Repository), e.Expires.UTC().Format(time.DateOnly))
	}
	if sum.Expiring > 0 {
		_, _ = fmt.Fprintf(out, "%d repositories have trust metadata expiring within %s. To re-sign it:\n  %s\n", sum.Expiring, windowText, sum.Refresh)
	}
	// The --fail-on violations are not repeated here: the error that ends
	// the command names each of them, once, on stderr.
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// auditJSON streams `audit --format json`: one document, each repository
// written as soon as it is audited.
type auditJSON struct {
	out   io.Writer
	n     int
	err   error
	start func() error
}

func newAuditJSON(out io.Writer, opts AuditOptions, now time.Time) *auditJSON {
	j := &auditJSON{out: out}
	j.start = func() error {
		head := struct {
			Registries     []string
			Generated      time.Time
			ExpiringWithin string
			FailOn         string
		}{opts.Targets, now.UTC(), opts.ExpiringWithin, opts.failOn}
		if head.Registries == nil {
			head.Registries = []string{}
		}
		b, err := json.MarshalIndent(head, "", "    ")
		if err != nil {
			return err
		}
		// Keep the header's fields and open the Repositories array.
		s := strings.TrimSuffix(strings.TrimSpace(string(b)), "}")
		_, err = io.WriteString(out, strings.TrimRight(s, "\n ")+",\n    \"Repositories\": [")
		return err
	}
	return j
}

func (j *auditJSON) repository(r AuditRepo) error {
	if j.n == 0 {
		if err := j.start(); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(r, "        ", "    ")
	if err != nil {
		return err
	}
	sep := "\n        "
	if j.n > 0 {
		sep = ",\n        "
	}
	j.n++
	_, err = io.WriteString(j.out, sep+string(b))
	return err
}

func (j *auditJSON) finish(sum AuditSummary) error {
	if j.n == 0 {
		if err := j.start(); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(sum, "    ", "    ")
	if err != nil {
		return err
	}
	end := "\n    ],\n"
	if j.n == 0 {
		end = "],\n"
	}
	_, err = io.WriteString(j.out, end+"    \"Summary\": "+string(b)+"\n}\n")
	return err
}

// progress draws "repositories done of listed" on a terminal's stderr, at
// most ten times a second; off a terminal it writes nothing.
type progress struct {
	out  io.Writer
	on   bool
	mu   sync.Mutex
	last time.Time
	drew bool
}

func newProgress(out io.Writer, terminal bool) *progress {
	return &progress{out: out, on: terminal}
}

func (p *progress) update(done, total int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond && done != total {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := width
	if total > 0 && done < total {
		filled = done * width / total
	}
	_, _ = fmt.Fprintf(p.out, "\r[%s%s] %d/%d repositories", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total)
	p.drew = true
}

func (p *progress) done() {
	if !p.on || !p.drew {
		return
	}
	_, _ = io.WriteString(p.out, "\r\033[K")
}
