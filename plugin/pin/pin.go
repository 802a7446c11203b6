package pin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

func NewCommand(d *cmdutil.Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pin",
		Short: "Manage trust pins: the root keys or CA each repository must have",
		Long: `Pin repositories to their root keys (or to the CA that issued their root
certificates), so that trust data is never accepted on first use. Pins live
in one file a team can commit and hand to every runner: notary's own
trust_pinning configuration (docs/security.md). The file is --pins, else
ACRTRUST_PINS, else $DOCKER_CONFIG/trust/pins.json.`,
		Args: cli.NoArgs,
		RunE: command.ShowHelp(d.CLI.Err()),
	}
	cmd.AddCommand(
		newPinAddCommand(d),
		newPinListCommand(d),
		newPinRemoveCommand(d),
	)
	return cmd
}

type pinAddOptions struct {
	name   string
	keyIDs []string
	ca     string
	yes    bool
}

func newPinAddCommand(d *cmdutil.Deps) *cobra.Command {
	var opts pinAddOptions
	cmd := &cobra.Command{
		Use:   "add [OPTIONS] NAME",
		Short: "Pin a repository, or a prefix, to root key IDs or a CA",
		Long: `Pin NAME (a repository such as myregistry.azurecr.io/app, or a prefix such as
myregistry.azurecr.io/team/*) to root key IDs: the IDs that
"docker acrtrust inspect" shows under Root. Trust data whose root has other
keys is then refused, on this machine's first use as on every later one.

Without --key-id, the root that the trust server presents now is read once,
its key IDs and expiry are shown, and, after confirmation (-y without a
terminal), pinned: that trusts what the server presents now, so compare the
IDs with the publisher's out of band.

With --ca, NAME is a plain prefix, without "*" (myregistry.azurecr.io/team/:
notary matches a CA prefix as written), and every repository under it must
have root certificates issued by a CA in FILE. The pins file names FILE
relative to itself, so that the two can be committed together, unless they
share no folder but the root (then by its absolute path); the command says
which. A pin replaces the one NAME had.`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runPinAdd(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringSliceVar(&opts.keyIDs, "key-id", nil, "Root key ID to pin to (repeatable)")
	flags.StringVar(&opts.ca, "ca", "", "Pin the prefix to the CA certificates in this PEM file")
	flags.BoolVarP(&opts.yes, "yes", "y", false, "Pin the root the server presents without asking")
	return cmd
}

func runPinAdd(ctx context.Context, d *cmdutil.Deps, opts pinAddOptions) error {
	if opts.ca != "" && len(opts.keyIDs) > 0 {
		return cmdutil.UsageError{Err: errors.New("--ca and --key-id cannot be used together")}
	}
	if d.PinsErr != nil {
		return d.PinsErr
	}
	pins := d.Pins
	if opts.ca != "" {
		stored, relative := caPathForPins(d.PinsPath, opts.ca)
		if err := pins.SetCA(opts.name, stored); err != nil {
			return cmdutil.UsageError{Err: err}
		}
		if err := pins.Save(d.PinsPath); err != nil {
			return err
		}
		d.Pins = pins
		out := d.CLI.Out()
		_, _ = fmt.Fprintf(out, "Pinned %s to the CA in %s (%s)\n", opts.name, opts.ca, d.PinsPath)
		if relative {
			_, _ = fmt.Fprintf(out, "The pins file names the CA file %q, relative to itself: keep the two together (commit both).\n", stored)
		} else {
			_, _ = fmt.Fprintf(out, "The pins file names the CA file by its absolute path %q (the two share no folder but the root): every machine that uses the pins file needs the CA file there.\n", stored)
		}
		return nil
	}
	pattern, ref, err := pinPattern(opts.name)
	if err != nil {
		return cmdutil.UsageError{Err: err}
	}
	ids := opts.keyIDs
	if len(ids) == 0 {
		if ref == nil {
			return cmdutil.UsageError{Err: fmt.Errorf("%s is a prefix: give the root key IDs with --key-id, or pin it to a CA with --ca", opts.name)}
		}
		if ids, err = presentedRoot(ctx, d, *ref, opts.yes); err != nil {
			return err
		}
	}
	if err := pins.SetCerts(pattern, ids); err != nil {
		return cmdutil.UsageError{Err: err}
	}
	if err := pins.Save(d.PinsPath); err != nil {
		return err
	}
	d.Pins = pins
	_, _ = fmt.Fprintf(d.CLI.Out(), "Pinned %s to root key %s (%s)\n", pattern, strings.Join(ids, ", "), d.PinsPath)
	return nil
}

// pinPattern normalises NAME as docker names repositories
// (app -> docker.io/library/app); a prefix ending in "*" is kept as typed.
// ref is nil for a prefix.
func pinPattern(name string) (string, *trust.Ref, error) {
	if strings.HasSuffix(name, "*") {
		return name, nil, nil
	}
	ref, err := trust.ParseRef(name)
	if err != nil {
		return "", nil, err
	}
	if ref.Tag != "" || ref.Digest != "" {
		return "", nil, fmt.Errorf("pins are per repository: give %s without a tag or digest", ref.Name.Name())
	}
	return ref.GUN().String(), &ref, nil
}

// presentedRoot reads the root that the trust server presents now, into a
// throw-away cache (neither this machine's cache nor its pins decide what
// is shown), shows it and asks before it is pinned.
func presentedRoot(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, yes bool) ([]string, error) {
	tmp, err := os.MkdirTemp("", "acrtrust-pin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	repo, err := trust.Opener{TrustDir: tmp, ServerOverride: d.Env.Server, Network: d.Network, Audit: d.Audit}.Open(ctx, ref, false)
	if err != nil {
		return nil, d.Fail(trust.OpTrustRead, ref, cmdutil.ConnectionError(err))
	}
	if _, err := repo.ListRoles(); err != nil {
		return nil, d.Fail(trust.OpTrustRead, ref, err)
	}
	raw, err := trust.CachedRoot(tmp, ref.GUN())
	if err != nil {
		return nil, err
	}
	root, err := trust.ParseRoot(raw)
	if err != nil {
		return nil, err
	}
	out := d.CLI.Err()
	_, _ = fmt.Fprintf(out, "The trust server presents this root for %s:\n  root key IDs: %s\n  version %d, expires %s\n",
		ref.GUN(), strings.Join(root.KeyIDs, ", "), root.Version, root.Expires.UTC().Format(time.RFC3339))
	if cached, err := trust.CachedRoot(d.TrustDir(), ref.GUN()); err == nil {
		if before, err := trust.ParseRoot(cached); err == nil && strings.Join(before.KeyIDs, ",") != strings.Join(root.KeyIDs, ",") {
			_, _ = fmt.Fprintf(out, "WARNING: this machine trusted other root keys for %s before: %s. Unless the publisher confirms a root key change, do not pin this.\n",
				ref.GUN(), strings.Join(before.KeyIDs, ", "))
		}
	}
	_, _ = fmt.Fprintln(out, "Pinning it trusts what the server presents now: compare these IDs with the publisher's, out of band.")
	if !yes {
		ok, err := cmdutil.Confirm(ctx, d.CLI.In(), out, fmt.Sprintf("Pin %s to these root keys?", ref.GUN()),
			fmt.Sprintf("pinning %s to the root keys its trust server presents now", ref.GUN()), "-y")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New("nothing pinned")
		}
	}
	return root.KeyIDs, nil
}

// caPathForPins is how the pins file at pinsPath names the CA file: relative
// to the pins file (so that a committed pins file and its CA work on every
// runner wherever the checkout is) unless the only folder the two share is
// the file system's root, where an absolute path is what other machines
// have too. relative says which.
func caPathForPins(pinsPath, file string) (stored string, relative bool) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return file, !filepath.IsAbs(file)
	}
	dir, err := filepath.Abs(filepath.Dir(pinsPath))
	if err != nil {
		return abs, false
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return abs, false
	}
	up := 0
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if part == ".." {
			up++
		}
	}
	depth := len(strings.Split(strings.Trim(filepath.ToSlash(strings.TrimPrefix(dir, filepath.VolumeName(dir))), "/"), "/"))
	if up >= depth {
		return abs, false
	}
	return rel, true
}

type pinListOptions struct {
	format string
}

func newPinListCommand(d *cmdutil.Deps) *cobra.Command {
	var opts pinListOptions
	cmd := &cobra.Command{
		Use:     "list [OPTIONS]",
		Aliases: []string{"ls"},
		Short:   "List the pins",
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPinList(d, opts)
		},
	}
	cmdutil.AddFormatFlag(cmd, &opts.format, cmdutil.JSONOrTemplate)
	return cmd
}

func runPinList(d *cmdutil.Deps, opts pinListOptions) error {
	if d.PinsErr != nil {
		return d.PinsErr
	}
	items := []cmdutil.PinJSON{}
	for _, p := range d.Pins.Entries() {
		items = append(items, cmdutil.PinJSON{Name: p.Pattern, KeyIDs: append([]string{}, p.KeyIDs...), CA: p.CA})
	}
	out := d.CLI.Out()
	if done, err := cmdutil.WriteFormatted(out, opts.format, items); done {
		return err
	}
	if len(items) == 0 {
		_, _ = fmt.Fprintf(out, "No pins in %s\n", d.PinsPath)
		return nil
	}
	rows := [][]string{{"NAME", "PINNED TO"}}
	for _, it := range items {
		to := "root key " + strings.Join(it.KeyIDs, ", ")
		if it.CA != "" {
			to = "CA " + it.CA
		}
		rows = append(rows, []string{it.Name, to})
	}
	if err := cmdutil.WriteTable(out, rows); err != nil {
		return err
	}
	if d.RequirePin() {
		_, _ = fmt.Fprintln(out, "Pins are required: repositories not listed are refused.")
	}
	return nil
}

func newPinRemoveCommand(d *cmdutil.Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm"},
		Short:   "Remove the pin of a repository or prefix",
		Args:    cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPinRemove(d, args[0])
		},
	}
	return cmd
}

func runPinRemove(d *cmdutil.Deps, name string) error {
	if d.PinsErr != nil {
		return d.PinsErr
	}
	pattern := name
	if !strings.HasSuffix(name, "*") {
		if _, ok := d.Pins.CA[name]; !ok {
			if p, _, err := pinPattern(name); err == nil {
				pattern = p
			}
		}
	}
	pins := d.Pins
	if !pins.Remove(pattern) {
		return fmt.Errorf("no pin for %s in %s", name, d.PinsPath)
	}
	if err := pins.Save(d.PinsPath); err != nil {
		return err
	}
	d.Pins = pins
	_, _ = fmt.Fprintf(d.CLI.Out(), "Removed the pin of %s (%s)\n", pattern, d.PinsPath)
	return nil
}
