package key

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
	"github.com/theupdateframework/notary/tuf/data"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

type keyRotateOptions struct {
	image         string
	role          string
	serverManaged bool
}

func newKeyRotateCommand(d *cmdutil.Deps) *cobra.Command {
	var opts keyRotateOptions
	cmd := &cobra.Command{
		Use:   "rotate [OPTIONS] IMAGE ROLE",
		Short: "Replace a repository's root, targets, snapshot or timestamp key",
		Long: `Replace the key of ROLE in IMAGE's trust data and publish the change at once.

  root                         a new root key, made on this machine; the new root
                               is signed by the old and the new key, so clients
                               that trusted the old root follow the rotation
  targets                      a new repository key, made on this machine
  snapshot --server-managed    a new snapshot key, made and kept by the trust server
  timestamp --server-managed   a new timestamp key, made and kept by the trust server

The new root metadata is signed with the root key, so its passphrase is
needed (DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE or the terminal), and for
targets the new key's passphrase (DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE
or the terminal). Signed tags stay signed; later signing uses the new key.

After a root rotation, a pin in the pins file that named the old root key
names the new one instead; give the updated pins file to every consumer
(a consumer pinned to the old key refuses the repository until then). A
repository pinned to a CA is refused: the new root certificate would not
chain to it. See docs/keys.md.`,
		Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image, opts.role = args[0], args[1]
			return runKeyRotate(cmd.Context(), d, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.serverManaged, "server-managed", false, "Have the trust server make and keep the new key (snapshot, timestamp)")
	return cmd
}

func runKeyRotate(ctx context.Context, d *cmdutil.Deps, opts keyRotateOptions) error {
	ref, err := trust.ParseRef(opts.image)
	if err != nil {
		return err
	}
	if ref.Tag != "" || ref.Digest != "" {
		return cmdutil.UsageError{Err: fmt.Errorf("key rotate takes a repository, not a tag or digest: use %s", ref.Name.Name())}
	}
	role := data.RoleName(opts.role)
	if err := trust.CheckRotation(role, opts.serverManaged); err != nil {
		return err
	}
	if role == data.CanonicalRootRole {
		if d.PinsErr != nil {
			return d.PinsErr
		}
		if pin, ok := d.Pins.Lookup(ref.GUN()); ok && pin.CA != "" {
			return fmt.Errorf("%s is pinned to the CA in %s (%s): a rotated root certificate, self-signed, would not chain to it, and every consumer would refuse the repository",
				ref.GUN(), pin.CA, d.PinsPath)
		}
	}
	out := d.CLI.Out()
	_, _ = fmt.Fprintf(out, "Rotating the %s key of %s...\n", role, ref.Name.Name())
	repo, err := d.OpenRepo(ctx, ref, true)
	if err != nil {
		return d.Explained(cmdutil.ConnectionError(err))
	}
	kept, err := checkRotationKeys(d, ref, repo, role)
	if err != nil {
		return d.Fail(trust.OpTrustWrite, ref, err)
	}
	res, err := trust.Rotate(ctx, repo, role, trust.RotateOptions{ServerManaged: opts.serverManaged})
	if err != nil {
		// notary deletes the old key while staging, before the publish that
		// failed: put it back, or this machine could no longer sign.
		if back, rerr := kept.Restore(); rerr != nil {
			err = errors.Join(err, rerr)
		} else if len(back) > 0 {
			_, _ = fmt.Fprintf(d.CLI.Err(), "The rotation failed; the old %s key is back in %s.\n", role, keystore.PrivateDir(d.TrustDir()))
		}
		return d.Fail(trust.OpTrustWrite, ref, err)
	}
	_, _ = fmt.Fprintf(out, "Successfully rotated %s key for repository %s\n", role, ref.Name.Name())
	if role == data.CanonicalRootRole {
		if err := repinRotatedRoot(d, res); err != nil {
			return err
		}
	}
	printRotated(d, res, opts.serverManaged)
	return nil
}

// printRotated names the new key. A root key has two IDs: its key file's
// (what `key list` shows under KEY ID) and its certificate's (what root.json
// lists, inspect shows under Root and pins name).
func printRotated(d *cmdutil.Deps, res trust.Rotated, serverManaged bool) {
	out := d.CLI.Out()
	switch {
	case serverManaged:
		_, _ = fmt.Fprintf(out, "New %s key ID: %s (held by the trust server)\n", res.Role, strings.Join(res.KeyIDs, ", "))
		return
	case res.Role == data.CanonicalRootRole:
		_, _ = fmt.Fprintf(out, "New root key ID: %s (on this machine, as `docker acrtrust key list` shows it)\n", res.LocalKeyID)
		_, _ = fmt.Fprintf(out, "New root certificate ID: %s (as `docker acrtrust inspect` shows it under Root, and pins name it)\n", strings.Join(res.KeyIDs, ", "))
	default:
		_, _ = fmt.Fprintf(out, "New %s key ID: %s (on this machine)\n", res.Role, strings.Join(res.KeyIDs, ", "))
	}
	_, _ = fmt.Fprintln(d.CLI.Err(), "The new key exists only on this machine: back it up with `docker acrtrust key backup`.")
}

// checkRotationKeys refuses a rotation that cannot be published because the
// root key that must sign the new root.json is not here, and keeps a copy
// of the key files that notary removes while it stages the rotation.
func checkRotationKeys(d *cmdutil.Deps, ref trust.Ref, repo trust.Repository, role data.RoleName) (*keystore.Kept, error) {
	roles, err := repo.ListRoles() // also brings the cached root up to date
	if err != nil {
		return nil, d.Explained(trust.Classify(ref.GUN(), err))
	}
	rootIDs, err := trust.RootSigningKeyIDs(d.TrustDir(), ref.GUN())
	if err != nil {
		return nil, err
	}
	held := false
	for _, id := range rootIDs {
		if _, err := os.Stat(keystore.KeyFile(d.TrustDir(), id)); err == nil {
			held = true
		}
	}
	if !held {
		return nil, &RootKeyMissingError{GUN: ref.GUN().String(), ids: rootIDs}
	}
	var old []string
	for _, r := range roles {
		if r.Name == role {
			old = append(old, r.KeyIDs...)
		}
	}
	if role == data.CanonicalRootRole {
		old = rootIDs // root.json lists certificates; the files are named after their keys
	}
	return keystore.Keep(d.TrustDir(), old)
}

// RootKeyMissingError: a rotation needs the root key, and it is not here.
type RootKeyMissingError struct {
	GUN string
	ids []string
}

func (e *RootKeyMissingError) Error() string {
	return fmt.Sprintf("rotating a key of %s needs its root key (%s), which is not on this machine; nothing was changed", e.GUN, strings.Join(e.ids, ", "))
}

// Remedy says how to get the root key back for the rotation.
func (e *RootKeyMissingError) Remedy() string {
	return "Restore the root key from its backup first (`docker acrtrust key restore FILE`), rotate, then take it offline again (see docs/keys.md)."
}

// repinRotatedRoot makes the pins that named the old root key name the new
// one, so this machine goes on verifying the repository it just rotated.
func repinRotatedRoot(d *cmdutil.Deps, res trust.Rotated) error {
	changed := d.Pins.ReplaceKeyIDs(res.Previous, res.KeyIDs)
	if len(changed) == 0 {
		return nil
	}
	if err := d.Pins.Save(d.PinsPath); err != nil {
		return fmt.Errorf("the root key was rotated, but the pins file could not be updated (pin the new key with `docker acrtrust pin add NAME --key-id %s`): %w",
			strings.Join(res.KeyIDs, " --key-id "), err)
	}
	_, _ = fmt.Fprintf(d.CLI.Out(), "Updated the pin of %s in %s: root key %s (was %s)\n",
		strings.Join(changed, ", "), d.PinsPath, strings.Join(res.KeyIDs, ", "), strings.Join(res.Previous, ", "))
	_, _ = fmt.Fprintln(d.CLI.Err(), "Give the updated pins file to every consumer: one still pinned to the old root key refuses the repository until then.")
	return nil
}
