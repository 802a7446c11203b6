package plugin

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// NewRootCommand returns the "acrtrust" command with all its subcommands.
// version is the build's version, shown by "docker acrtrust version".
func NewRootCommand(dockerCLI command.Cli, version string) *cobra.Command {
	return newRootCommand(newDeps(dockerCLI), version)
}

func newRootCommand(d *deps, version string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acrtrust",
		Short: "Docker Content Trust for Azure Container Registry",
		Long: `Sign images when you push them and pull only signed images, with the trust
data (Notary v1 / TUF) that Azure Container Registry keeps for each repository.
Keys and metadata are Docker's own, under $DOCKER_CONFIG/trust.`,
		Args:          groupArgs,
		RunE:          command.ShowHelp(d.cli.Err()),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetFlagErrorFunc(flagErrorFunc)
	flags := cmd.PersistentFlags()
	flags.StringVar(&d.flags.pins, "pins", "", "Pins file (default $ACRTRUST_PINS, else $DOCKER_CONFIG/trust/pins.json)")
	flags.BoolVar(&d.flags.requirePin, "require-pin", false, "Refuse repositories that no pin covers (also ACRTRUST_REQUIRE_PIN=1)")
	flags.BoolVar(&d.flags.offline, "offline", false, "Read trust data from this machine's cache without contacting the trust server (also ACRTRUST_OFFLINE=1)")
	cmd.AddCommand(
		newPushCommand(d),
		newPullCommand(d),
		newBuildCommand(d),
		newResolveCommand(d),
		newVerifyCommand(d),
		newAuditCommand(d),
		newRefreshCommand(d),
		newDoctorCommand(d),
		newSignCommand(d),
		newInspectCommand(d),
		newRevokeCommand(d),
		newSignerCommand(d),
		newKeyCommand(d),
		newPinCommand(d),
		newMigrateCommand(d),
		newVersionCommand(d, version),
	)
	explainErrors(cmd, d)
	return cmd
}

// explainErrors makes every command start the same way (an interruptible
// context, deps initialised) and its error go through d.userError, the one
// place that turns trust errors into sentences with a remedy.
func explainErrors(root *cobra.Command, d *deps) {
	explainErrorsBelow(root, root, d)
}

func explainErrorsBelow(cmd, root *cobra.Command, d *deps) {
	// Wrong arguments are usage errors (exit 125), like unknown flags.
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return cli.StatusError{Status: err.Error(), StatusCode: exitUsage}
			}
			return nil
		}
	}
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			ctx, stop := interruptible(c.Context())
			defer stop()
			c.SetContext(ctx)
			d.ctx = ctx
			// Relative to acrtrust itself: under docker it sits below "docker".
			d.command = strings.TrimPrefix(c.CommandPath(), root.CommandPath()+" ")
			d.init()
			return d.userError(run(c, args))
		}
	}
	for _, sub := range cmd.Commands() {
		explainErrorsBelow(sub, root, d)
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
