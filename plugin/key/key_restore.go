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
	dir := keystore.PrivateDir(d.TrustDir())
	unchanged := keysBut(res.Keys, res.Restored)
	switch {
	case len(res.Restored) == 0 && len(unchanged) > 0:
		_, _ = fmt.Fprintf(out, "Nothing restored: the %d key(s) in the archive are already in %s, unchanged:\n", len(unchanged), dir)
		writeKeyRows(out, unchanged)
	default:
		_, _ = fmt.Fprintf(out, "Restored %d key(s) to %s:\n", len(res.Restored), dir)
		writeKeyRows(out, res.Restored)
		if len(unchanged) > 0 {
			_, _ = fmt.Fprintf(out, "%d other key(s) in the archive are already there, unchanged:\n", len(unchanged))
			writeKeyRows(out, unchanged)
		}
	}
	if res.MetadataFiles > 0 {
		_, _ = fmt.Fprintf(out, "and %d trust metadata file(s) to %s\n", res.MetadataFiles, keystore.MetadataDir(d.TrustDir()))
	}
	_, _ = fmt.Fprintf(out, "%d file(s) written, %d replaced, %d already up to date\n", len(res.Written), len(res.Replaced), len(res.Unchanged))
	return nil
}

// writeKeyRows lists keys as restore shows them: role, ID, repository.
func writeKeyRows(out io.Writer, keys []keystore.Key) {
	rows := make([][]string, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, []string{"  " + cmdutil.OrDash(k.Role), k.ID, cmdutil.OrDash(k.Repository)})
	}
	_ = cmdutil.WriteTable(out, rows)
}

// keysBut returns the keys of all that are not in some (by file).
func keysBut(all, some []keystore.Key) []keystore.Key {
	in := make(map[string]bool, len(some))
	for _, k := range some {
		in[k.File] = true
	}
	var out []keystore.Key
	for _, k := range all {
		if !in[k.File] {
			out = append(out, k)
		}
	}
	return out
}
