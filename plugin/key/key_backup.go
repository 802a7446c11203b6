package key

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

type keyBackupOptions struct {
	output          string
	force           bool
	includeMetadata bool
}

func newKeyBackupCommand(d *cmdutil.Deps) *cobra.Command {
	var opts keyBackupOptions
	cmd := &cobra.Command{
		Use:   "backup [OPTIONS]",
		Short: "Back up the private keys to a tar.gz archive",
		Long: `Write the private key folder ($DOCKER_CONFIG/trust/private) to a gzip tar
archive, mode 0600, laid out as "tar czf FILE -C $DOCKER_CONFIG trust/private"
would, so that it can also be restored by hand. The file is written under a
temporary name and moved into place; an existing file is never overwritten
without --force. With -o - the archive goes to stdout.

The keys stay encrypted with their passphrases: keep those separately.`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeyBackup(d, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.output, "output", "o", "", `Archive to write, "-" for stdout (default "acrtrust-keys-YYYYMMDD-HHMMSS.tar.gz")`)
	flags.BoolVarP(&opts.force, "force", "f", false, "Overwrite the archive if it exists")
	flags.BoolVar(&opts.includeMetadata, "include-metadata", false, "Also archive the cached trust metadata (trust/tuf)")
	return cmd
}

func runKeyBackup(d *cmdutil.Deps, opts keyBackupOptions) error {
	bopts := keystore.BackupOptions{IncludeMetadata: opts.includeMetadata}
	var (
		res  keystore.BackupResult
		err  error
		info io.Writer = d.CLI.Out()
		file           = opts.output
	)
	switch file {
	case "-":
		if d.CLI.Out().IsTerminal() {
			return cmdutil.UsageError{Err: errors.New("refusing to write a binary archive to a terminal: redirect stdout, or use -o FILE")}
		}
		info = d.CLI.Err()
		res, err = keystore.Backup(d.TrustDir(), d.CLI.Out(), bopts)
	case "":
		file = keystore.DefaultBackupName(time.Now())
		fallthrough
	default:
		res, err = keystore.BackupToFile(d.TrustDir(), file, opts.force, bopts)
	}
	if err != nil {
		return err
	}
	dest := file
	if file == "-" {
		dest = "stdout"
	}
	_, _ = fmt.Fprintf(info, "Backed up %d key(s) from %s to %s:\n", len(res.Keys), keystore.PrivateDir(d.TrustDir()), dest)
	rows := make([][]string, 0, len(res.Keys))
	for _, k := range res.Keys {
		rows = append(rows, []string{"  " + cmdutil.OrDash(k.Role), k.ID, cmdutil.OrDash(k.Repository)})
	}
	_ = cmdutil.WriteTable(info, rows)
	if opts.includeMetadata {
		_, _ = fmt.Fprintf(info, "and %d trust metadata file(s) from %s\n", res.MetadataFiles, keystore.MetadataDir(d.TrustDir()))
	}
	for _, s := range res.Skipped {
		_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: not archived: %s: %s\n", s.Path, s.Reason)
	}
	_, _ = fmt.Fprintln(info, "The keys are encrypted with their passphrases; keep the passphrases apart from this archive.")
	return nil
}
