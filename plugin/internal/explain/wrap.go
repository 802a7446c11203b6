package explain

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"

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
				ctx, stop = interruptible(ctx)
			}
			defer stop()
			c.SetContext(ctx)
			d.Ctx = ctx
			d.Init()
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

// interruptible returns a context that ends at the first SIGINT or SIGTERM,
// so that a command can say what it left undone (an image pushed but not
// signed) instead of dying; a second signal has its default effect.
func interruptible(parent context.Context) (context.Context, func()) {
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
