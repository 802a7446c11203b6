package cmdutil

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/cli/streams"
)

// noConfirmationError is returned when a command must ask before doing
// something it cannot undo, but stdin is not a terminal: reading an answer
// from a pipe would take whatever happens to be there, or hang a pipeline
// that left stdin open. Flag is the option that confirms up front.
type noConfirmationError struct {
	Action string // what needs confirming, as a noun phrase: "deleting all signature data for R"
	Flag   string
}

func (e *noConfirmationError) Error() string {
	return fmt.Sprintf("not confirmed: %s needs a confirmation, and stdin is not a terminal to ask for one", e.Action)
}

// Remedy names the flag that confirms up front.
func (e *noConfirmationError) Remedy() string {
	return fmt.Sprintf("Pass %s to go ahead without a prompt.", e.Flag)
}

// cancelledError is returned when the context ends while a prompt waits.
// It carries docker's Cancelled() marker.
type cancelledError struct{}

func (cancelledError) Error() string { return "cancelled while waiting for an answer" }
func (cancelledError) Cancelled()    {}

// Confirm asks question on out, docker's way ("QUESTION [y/N] "), and
// reports whether the answer read from in is "y" or "yes" (any case).
// Anything else, an empty line or end of input, is no. When in is not a
// terminal it asks nothing and returns a *noConfirmationError naming the
// action and flag.
func Confirm(ctx context.Context, in *streams.In, out io.Writer, question, action, flag string) (bool, error) {
	if !in.IsTerminal() {
		return false, &noConfirmationError{Action: action, Flag: flag}
	}
	_, _ = fmt.Fprintf(out, "%s [y/N] ", question)

	answer := make(chan string, 1)
	go func() { answer <- strings.TrimSpace(readLine(in)) }()
	select {
	case <-ctx.Done():
		_, _ = fmt.Fprintln(out)
		return false, cancelledError{}
	case a := <-answer:
		return strings.EqualFold(a, "y") || strings.EqualFold(a, "yes"), nil
	}
}

// readLine reads up to and including the next newline one byte at a time,
// so that nothing after it is taken from in: a passphrase prompt or a
// second question may read next.
func readLine(in io.Reader) string {
	var sb strings.Builder
	b := make([]byte, 1)
	for {
		n, err := in.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			sb.WriteByte(b[0])
		}
		if err != nil {
			break
		}
	}
	return sb.String()
}
