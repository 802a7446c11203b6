package explain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
)

// Commands makes every command below root start the same way (an
// interruptible context, d initialised) and end the same way: its error
// goes through Error, which prints the message, then the remedy the error
// carries, and picks the exit code.
func Commands(root *cobra.Command, d *cmdutil.Deps) {
	commandsBelow(root, root, d)
}

func commandsBelow(cmd, root *cobra.Command, d *cmdutil.Deps) {
	// Wrong arguments are usage errors (exit 125), like unknown flags.
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return cli.StatusError{Status: err.Error(), StatusCode: cmdutil.ExitUsage}
			}
			return nil
		}
	}
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			ctx, stop := c.Context(), func() {}
			if c.Annotations[cmdutil.AnnotationOwnSignals] == "" {
				ctx, stop = interruptible(ctx, d.CLI.Err())
			}
			defer stop()
			c.SetContext(ctx)
			d.Ctx = ctx
			d.Init()
			if err := d.SetupError(); err != nil {
				return Error(d, err)
			}
			return Error(d, run(c, args))
		}
	}
	for _, sub := range cmd.Commands() {
		commandsBelow(sub, root, d)
	}
}

// errInterrupted is the cause of a command's context once Ctrl-C (SIGINT)
// or SIGTERM arrived.
var errInterrupted = errors.New("interrupted")

// gracePeriod is how long a command has, after Ctrl-C or SIGTERM, to end
// by itself and say what it left undone.
const gracePeriod = 3 * time.Second

// interruptible returns a context that ends at the first SIGINT or SIGTERM,
// so that a command can say what it left undone (an image pushed but not
// signed) instead of dying; a second signal has its default effect. A
// command still running gracePeriod later is waiting on something that
// does not watch its context (a FIFO, a stuck file system): the process
// then exits with 130, so that a signal always ends it (issue 21).
func interruptible(parent context.Context, stderr io.Writer) (context.Context, func()) {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			cancel(errInterrupted)
		case <-done:
			return
		}
		select {
		case <-done:
		case <-time.After(gracePeriod):
			_, _ = fmt.Fprintf(stderr, "interrupted: the command did not stop within %s, exiting\n", gracePeriod)
			os.Exit(cmdutil.ExitInterrupted)
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel(nil)
		})
	}
}
