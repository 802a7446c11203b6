package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

func newPinCommand(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pin",
		Short: "Manage trust pins: the root keys or CA each repository must have",
		Long: `Pin repositories to their root keys (or to the CA that issued their root
certificates), so that trust data is never accepted on first use. Pins live
in one file a team can commit and hand to every runner: notary's own
trust_pinning configuration (docs/security.md). The file is --pins, else
ACRTRUST_PINS, else $DOCKER_CONFIG/trust/pins.json.`,
		Args: cli.NoArgs,
		RunE: command.ShowHelp(d.cli.Err()),
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

func newPinAddCommand(d *deps) *cobra.Command {
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

With --ca, NAME is a prefix (myregistry.azurecr.io/team/) and every
repository under it must have root certificates issued by a CA in FILE.
A pin replaces the one NAME had.`,
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

func runPinAdd(ctx context.Context, d *deps, opts pinAddOptions) error {
	if opts.ca != "" && len(opts.keyIDs) > 0 {
		return usageError{errors.New("--ca and --key-id cannot be used together")}
	}
	if d.pinsErr != nil {
		return d.pinsErr
	}
	pins := d.pins
	if opts.ca != "" {
		if err := pins.SetCA(opts.name, d.caPathForPins(opts.ca)); err != nil {
			return usageError{err}
		}
		if err := pins.Save(d.pinsPath); err != nil {
			return err
		}
		d.pins = pins
		_, _ = fmt.Fprintf(d.cli.Out(), "Pinned %s to the CA in %s (%s)\n", opts.name, opts.ca, d.pinsPath)
		return nil
	}
	pattern, ref, err := pinPattern(opts.name)
	if err != nil {
		return usageError{err}
	}
	ids := opts.keyIDs
	if len(ids) == 0 {
		if ref == nil {
			return usageError{fmt.Errorf("%s is a prefix: give the root key IDs with --key-id, or pin it to a CA with --ca", opts.name)}
		}
		if ids, err = d.presentedRoot(ctx, *ref, opts.yes); err != nil {
			return err
		}
	}
	if err := pins.SetCerts(pattern, ids); err != nil {
		return usageError{err}
	}
	if err := pins.Save(d.pinsPath); err != nil {
		return err
	}
	d.pins = pins
	_, _ = fmt.Fprintf(d.cli.Out(), "Pinned %s to root key %s (%s)\n", pattern, strings.Join(ids, ", "), d.pinsPath)
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
func (d *deps) presentedRoot(ctx context.Context, ref trust.Ref, yes bool) ([]string, error) {
	tmp, err := os.MkdirTemp("", "acrtrust-pin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	repo, err := trust.Opener{TrustDir: tmp, ServerOverride: d.env.server, Network: d.network, Audit: d.audit}.Open(ctx, ref, false)
	if err != nil {
		return nil, d.fail(trust.OpTrustRead, ref, connectionError(err))
	}
	if _, err := repo.ListRoles(); err != nil {
		return nil, d.fail(trust.OpTrustRead, ref, err)
	}
	raw, err := trust.CachedRoot(tmp, ref.GUN())
	if err != nil {
		return nil, err
	}
	root, err := trust.ParseRoot(raw)
	if err != nil {
		return nil, err
	}
	out := d.cli.Err()
	_, _ = fmt.Fprintf(out, "The trust server presents this root for %s:\n  root key IDs: %s\n  version %d, expires %s\n",
		ref.GUN(), strings.Join(root.KeyIDs, ", "), root.Version, root.Expires.UTC().Format(time.RFC3339))
	if cached, err := trust.CachedRoot(d.trustDir(), ref.GUN()); err == nil {
		if before, err := trust.ParseRoot(cached); err == nil && strings.Join(before.KeyIDs, ",") != strings.Join(root.KeyIDs, ",") {
			_, _ = fmt.Fprintf(out, "WARNING: this machine trusted other root keys for %s before: %s. Unless the publisher confirms a root key change, do not pin this.\n",
				ref.GUN(), strings.Join(before.KeyIDs, ", "))
		}
	}
	_, _ = fmt.Fprintln(out, "Pinning it trusts what the server presents now: compare these IDs with the publisher's, out of band.")
	if !yes {
		ok, err := confirm(ctx, d.cli.In(), out, fmt.Sprintf("Pin %s to these root keys?", ref.GUN()),
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

// caPathForPins stores a CA file relative to the pins file when it lies
// beside it (so a committed pins file and its CA move together), else
// absolute.
func (d *deps) caPathForPins(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return file
	}
	dir, err := filepath.Abs(filepath.Dir(d.pinsPath))
	if err != nil {
		return abs
	}
	if rel, err := filepath.Rel(dir, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return abs
}

type pinListOptions struct {
	format string
}

func newPinListCommand(d *deps) *cobra.Command {
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
	addFormatFlag(cmd, &opts.format, jsonOrTemplate)
	return cmd
}

func runPinList(d *deps, opts pinListOptions) error {
	if d.pinsErr != nil {
		return d.pinsErr
	}
	items := []pinJSON{}
	for _, p := range d.pins.Entries() {
		items = append(items, pinJSON{Name: p.Pattern, KeyIDs: append([]string{}, p.KeyIDs...), CA: p.CA})
	}
	out := d.cli.Out()
	if done, err := writeFormatted(out, opts.format, items); done {
		return err
	}
	if len(items) == 0 {
		_, _ = fmt.Fprintf(out, "No pins in %s\n", d.pinsPath)
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
	if err := writeTable(out, rows); err != nil {
		return err
	}
	if d.requirePin() {
		_, _ = fmt.Fprintln(out, "Pins are required: repositories not listed are refused.")
	}
	return nil
}

func newPinRemoveCommand(d *deps) *cobra.Command {
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

func runPinRemove(d *deps, name string) error {
	if d.pinsErr != nil {
		return d.pinsErr
	}
	pattern := name
	if !strings.HasSuffix(name, "*") {
		if _, ok := d.pins.CA[name]; !ok {
			if p, _, err := pinPattern(name); err == nil {
				pattern = p
			}
		}
	}
	pins := d.pins
	if !pins.Remove(pattern) {
		return fmt.Errorf("no pin for %s in %s", name, d.pinsPath)
	}
	if err := pins.Save(d.pinsPath); err != nil {
		return err
	}
	d.pins = pins
	_, _ = fmt.Fprintf(d.cli.Out(), "Removed the pin of %s (%s)\n", pattern, d.pinsPath)
	return nil
}
