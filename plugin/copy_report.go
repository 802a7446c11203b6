package plugin

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
	"github.com/opencontainers/go-digest"

	"github.com/acrtrust/docker-acrtrust/imagecopy"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
)

// copyProgress is the one-line progress display of a copy on a terminal.
type copyProgress struct {
	out   io.Writer
	term  bool
	label string

	mu                      sync.Mutex
	read                    map[digest.Digest]int64
	copied, mounted, exists int
	shown                   time.Time
}

func newCopyProgress(out io.Writer, term bool, label string) *copyProgress {
	return &copyProgress{out: out, term: term, label: label, read: map[digest.Digest]int64{}}
}

func (p *copyProgress) event(e imagecopy.Event) {
	if !p.term {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case imagecopy.Bytes:
		p.read[e.Desc.Digest] = e.Done
	case imagecopy.Copied:
		p.copied++
	case imagecopy.Mounted:
		p.mounted++
	case imagecopy.Exists:
		p.exists++
	}
	if e.Kind == imagecopy.Bytes && time.Since(p.shown) < 100*time.Millisecond {
		return
	}
	p.shown = time.Now()
	var n int64
	for _, b := range p.read {
		n += b
	}
	_, _ = fmt.Fprintf(p.out, "\r\033[KCopying to %s: %d copied, %d mounted, %d already there, %s read",
		p.label, p.copied, p.mounted, p.exists, units.HumanSize(float64(n)))
}

// end clears the progress line.
func (p *copyProgress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.term && !p.shown.IsZero() {
		_, _ = fmt.Fprint(p.out, "\r\033[K")
	}
}

// copyIncompleteError is a copy that stopped part way, before DST was
// signed: it says what DST holds and what to run.
type copyIncompleteError struct {
	jobs   []copyJob
	done   []copyJob // copied completely (tag set)
	failed copyJob
	plan   *signPlan
	err    error
}

func (e *copyIncompleteError) Error() string {
	return fmt.Sprintf("copying %s to %s: %v", refName(e.failed.src), refName(e.failed.dst), e.err)
}

func (e *copyIncompleteError) Unwrap() error { return e.err }

func (e *copyIncompleteError) Remedy() string {
	var b strings.Builder
	if r := cmdutil.RemedyOf(e.err); r != "" {
		b.WriteString(r + "\n")
	}
	var unsigned []string
	if e.plan.dct() {
		unsigned = append(unsigned, "content trust")
	}
	if e.plan.signer != nil {
		unsigned = append(unsigned, "a new Notation signature")
	}
	state := "complete"
	if len(unsigned) > 0 {
		state = "copied, without " + strings.Join(unsigned, " or ") + " yet"
	}
	for _, j := range e.done {
		fmt.Fprintf(&b, "In DST: %s (%s), %s.\n", refName(j.dst), j.target.Digest, state)
	}
	fmt.Fprintf(&b, "Not in DST: %s: part of its content may be there, untagged and unsigned.\n", refName(e.failed.dst))
	for _, j := range e.jobs[len(e.done)+1:] {
		fmt.Fprintf(&b, "Not in DST: %s.\n", refName(j.dst))
	}
	b.WriteString("Nothing at DST is verified until the copy finishes: run the same `docker acrtrust copy` command again. It copies only what is missing, then signs.")
	return b.String()
}
