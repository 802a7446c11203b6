package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/acrtrust/docker-acrtrust/internal/dockerexec"
	"github.com/acrtrust/docker-acrtrust/internal/runargs"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/dockercmd"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// containerOptions are the flags of run and create that are not docker's:
// every other flag is docker's own and goes to docker as typed.
type containerOptions struct {
	disableContentTrust bool
	requireOptions

	line    runargs.Line // the command line, split where docker splits it
	lineErr error
}

func newRunCommand(d *cmdutil.Deps) *cobra.Command {
	return newContainerCommand(d, "run", "Create and run a new container from a signed image")
}

func newCreateCommand(d *cmdutil.Deps) *cobra.Command {
	return newContainerCommand(d, "create", "Create a new container from a signed image")
}

// newContainerCommand is run or create. Docker's flags are docker's own
// definitions (docker/cli's run and create commands): the command line is
// split with them, and docker gets it back as typed, with NAME@DIGEST in
// place of IMAGE. Docker itself runs it (see runContainer for why).
func newContainerCommand(d *cmdutil.Deps, name, short string) *cobra.Command {
	opts := &containerOptions{}
	cmd := &cobra.Command{
		Use:   name + " [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: short,
		Long: fmt.Sprintf(`Resolve IMAGE's tag through trust (content trust, or Notation with --require),
pull NAME@DIGEST when the engine does not have it, and tag it NAME:TAG; then
run "docker %[1]s" with every other option as given and NAME@DIGEST in place
of IMAGE. Every "docker %[1]s" option works and means what it means to docker;
the exit status is docker's. An unsigned tag is refused before any container
exists, and nothing is pulled. An image given by digest is used as it is.`, name),
		DisableFlagsInUseLine: true,
		DisableFlagParsing:    true, // docker's flags, parsed in PreRun with docker's definitions
		Annotations:           map[string]string{cmdutil.AnnotationOwnSignals: "true"},
		// PreRun, not RunE: the global flags (--pins, --offline) are set here,
		// and the exit point reads them when it initialises d, before RunE.
		PreRun: func(cmd *cobra.Command, args []string) {
			opts.line, opts.lineErr = splitContainerArgs(d, cmd, name, args)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runContainer(cmd.Context(), d, cmd, name, *opts)
		},
		ValidArgsFunction: completeThroughDocker(d, name),
	}
	flags := cmd.Flags()
	// No -h: in docker run and create it is --hostname.
	flags.Bool("help", false, "Print usage")
	cmdutil.AddContentTrustFlag(flags, &opts.disableContentTrust)
	addRequireFlags(flags, &opts.requireOptions)
	defaultHelp := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		if dc, err := dockerContainerCommand(d, name); err == nil {
			c.Flags().AddFlagSet(dc.Flags()) // ours first: docker's of the same name are left out
		}
		defaultHelp(c, args)
	})
	return cmd
}

// dockerContainerCommand builds docker's own "docker container NAME"
// command, for its flag definitions (dockercmd says why not through
// docker/cli's commands.AddCommands).
func dockerContainerCommand(d *cmdutil.Deps, name string) (*cobra.Command, error) {
	c := dockercmd.Container(d.CLI, name)
	if c == nil || c.Name() != name {
		return nil, fmt.Errorf("finding docker's own %q command", name)
	}
	return c, nil
}

// splitContainerArgs splits args with this command's own flags (and the
// global ones) and docker's.
func splitContainerArgs(d *cmdutil.Deps, cmd *cobra.Command, name string, args []string) (runargs.Line, error) {
	dc, err := dockerContainerCommand(d, name)
	if err != nil {
		return runargs.Line{}, err
	}
	own := pflag.NewFlagSet(name, pflag.ContinueOnError)
	for _, fs := range []*pflag.FlagSet{cmd.LocalFlags(), cmd.InheritedFlags()} {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" { // docker's --help
				own.AddFlag(f)
			}
		})
	}
	return runargs.Split(own, dc.Flags(), args)
}

// runContainer resolves IMAGE through trust, pulls it by digest when
// needed, then runs the docker CLI itself with the same options and
// NAME@DIGEST. Running docker, rather than creating the container through
// the API here, keeps every flag, the terminal handling of -it (raw mode,
// resizes, detach keys), --rm, --sig-proxy, --cidfile, the output and the
// exit statuses exactly docker's, including flags newer than this plugin.
func runContainer(ctx context.Context, d *cmdutil.Deps, cmd *cobra.Command, name string, opts containerOptions) error {
	if errors.Is(opts.lineErr, pflag.ErrHelp) {
		return cmd.Help()
	}
	if opts.lineErr != nil {
		return cmdutil.UsageError{Err: fmt.Errorf("%w\nSee 'docker acrtrust %s --help'.", opts.lineErr, name)}
	}
	image, err := containerImage(ctx, d, cmd, opts)
	if err != nil {
		return beforeContainer(d, err)
	}
	docker, err := dockerexec.Find(d.Getenv)
	if err != nil {
		return beforeContainer(d, cmdutil.WithRemedy(err, "Install the docker CLI, or put it on PATH."))
	}
	args := append(dockerexec.GlobalArgs(os.Args, "acrtrust"), name)
	code, err := dockerexec.Run(ctx, dockerexec.Cmd{
		Path: docker,
		Args: append(args, opts.line.DockerArgs(image)...),
		// The process's own descriptors, not the CLI's stream wrappers: a
		// terminal must reach docker as a terminal (-it).
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	if err != nil {
		return beforeContainer(d, err)
	}
	if code != 0 {
		return cli.StatusError{StatusCode: code} // docker has said why
	}
	return nil
}

// beforeContainer is the error of a run or create that stopped before
// docker ran: exit status 125, as docker's own for a run or create that
// failed before the container started.
func beforeContainer(d *cmdutil.Deps, err error) error {
	var st cli.StatusError
	if errors.As(explain.Error(d, err), &st) && st.StatusCode == cmdutil.ExitFailure {
		st.StatusCode = cmdutil.ExitUsage
	}
	return st
}

// Docker's --pull values (docker/cli container.PullImage*).
const (
	pullAlways  = "always"
	pullMissing = "missing"
	pullNever   = "never"
)

// containerImage is what docker gets as IMAGE: NAME@DIGEST verified
// through trust for a tag, or IMAGE as given (a digest, or trust off).
func containerImage(ctx context.Context, d *cmdutil.Deps, cmd *cobra.Command, opts containerOptions) (string, error) {
	line := opts.line
	ref, err := trust.ParseRef(line.Image)
	if err != nil || ref.Digest != "" {
		// Docker says what is wrong with a reference; a digest pins the
		// content and the engine verifies it (docker did the same).
		return line.Image, nil
	}
	if !consumeTrusted(d, cmd, opts.disableContentTrust, opts.requireOptions) {
		d.WarnUnverified(line.Image + " is used without verifying its signature")
		return line.Image, nil
	}
	policy, _ := line.Value("pull")
	if policy != pullAlways && policy != pullMissing && policy != pullNever {
		return "", cmdutil.UsageError{Err: fmt.Errorf(`invalid pull option: '%s': must be one of "always", "missing" or "never"`, policy)}
	}
	if ref.Tag == "" {
		ref = ref.WithTag("latest")
	}
	ctx = trust.WithNeeds(ctx, trust.Needs{RegistryPull: true}) // as pull: one token, handed to the engine
	targets, err := requiredTargets(ctx, d, ref, false, opts.requireOptions)
	if err != nil {
		return "", d.WithNotSignedRemedy(d.Fail(trust.OpTrustRead, ref, err), ref,
			", so no container was created and nothing was pulled", ", or add --disable-content-trust to accept an unverified image")
	}
	t := targets[0]
	if err := pullForContainer(ctx, d, ref, t, policy, line); err != nil {
		return "", err
	}
	return ref.Familiar() + "@" + t.Digest.String(), nil
}

// pullForContainer pulls NAME@DIGEST as docker's run and create did with
// content trust (docker v28 container/create.go): when the engine lacks it
// ("missing", the default) or always, with the pull's progress on stderr
// (-q: none), and tags it NAME:TAG.
func pullForContainer(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, t trust.Target, policy string, line runargs.Line) error {
	byDigest := ref.Name.Name() + "@" + t.Digest.String()
	quiet, _ := line.Value("quiet")
	switch policy {
	case pullNever:
		return nil
	case pullMissing:
		have, err := d.Engine.Exists(ctx, byDigest)
		if err != nil || have {
			return err
		}
		if quiet != "true" {
			_, _ = fmt.Fprintf(d.CLI.Err(), "Unable to find image '%s:%s' locally\n", ref.Familiar(), ref.Tag)
		}
	}
	out := io.Writer(d.CLI.Err())
	if quiet == "true" {
		out = io.Discard
	}
	platform, _ := line.Value("platform")
	if err := d.Engine.Pull(ctx, byDigest, platform, out); err != nil {
		return d.Fail(trust.OpRegistryRead, ref, err)
	}
	_, _ = fmt.Fprintf(d.CLI.Err(), "Tagging %s@%s as %s:%s\n", ref.Familiar(), t.Digest, ref.Familiar(), ref.Tag)
	return d.Engine.Tag(ctx, byDigest, ref.String())
}

// completeThroughDocker completes run and create as docker completes its
// own run and create: flags, their values (networks, volumes, ...) and
// images, asked of the docker CLI.
func completeThroughDocker(d *cmdutil.Deps, name string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		docker, err := dockerexec.Find(d.Getenv)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		argv := append(append([]string{name}, args...), toComplete)
		got, directive, err := dockerexec.Complete(cmd.Context(), docker, argv)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return got, cobra.ShellCompDirective(directive)
	}
}
