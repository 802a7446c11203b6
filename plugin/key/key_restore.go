package key

import (
	"fmt"
	"io"
	"os"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

type keyRestoreOptions struct {
	file  string
	force bool
}

func newKeyRestoreCommand(d *cmdutil.Deps) *cobra.Command {
	var opts keyRestoreOptions
	cmd := &cobra.Command{
		Use:   "restore [OPTIONS] FILE",
		Short: "Restore private keys from a backup archive",
		Long: `Restore a "docker acrtrust key backup" archive, or one made by hand with
"tar czf FILE -C $DOCKER_CONFIG trust/private", into $DOCKER_CONFIG/trust
("-" reads the archive from stdin).

The whole archive is checked before anything is written: only folders and
regular files under trust/private (and trust/tuf), no absolute paths, no
"..", no links or devices, bounded sizes, and every key file a private key
PEM. A key that exists with other content is not replaced without --force.
Files are written 0600 in 0700 folders.`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.file = args[0]
			return runKeyRestore(d, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Replace keys and metadata that exist with other content")
	return cmd
}

func runKeyRestore(d *cmdutil.Deps, opts keyRestoreOptions) error {
	var in io.Reader = d.CLI.In()
	if opts.file != "-" {
		f, err := os.Open(opts.file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	res, err := keystore.Restore(d.TrustDir(), in, keystore.RestoreOptions{Overwrite: opts.force})
	if err != nil {
		return err
	}
	out := d.CLI.Out()
	_, _ = fmt.Fprintf(out, "Restored %d key(s) to %s:\n", len(res.Keys), keystore.PrivateDir(d.TrustDir()))
	rows := make([][]string, 0, len(res.Keys))
	for _, k := range res.Keys {
		rows = append(rows, []string{"  " + cmdutil.OrDash(k.Role), k.ID, cmdutil.OrDash(k.Repository)})
	}
	_ = cmdutil.WriteTable(out, rows)
	if res.MetadataFiles > 0 {
		_, _ = fmt.Fprintf(out, "and %d trust metadata file(s) to %s\n", res.MetadataFiles, keystore.MetadataDir(d.TrustDir()))
	}
	_, _ = fmt.Fprintf(out, "%d file(s) written, %d replaced, %d already up to date\n", len(res.Written), len(res.Replaced), len(res.Unchanged))
	return nil
}
