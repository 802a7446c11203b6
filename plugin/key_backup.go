package plugin

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

type keyBackupOptions struct {
	output          string
	force           bool
	includeMetadata bool
}

func newKeyBackupCommand(d *deps) *cobra.Command {
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

func runKeyBackup(d *deps, opts keyBackupOptions) error {
	bopts := keystore.BackupOptions{IncludeMetadata: opts.includeMetadata}
	var (
		res  keystore.BackupResult
		err  error
		info io.Writer = d.cli.Out()
		file           = opts.output
	)
	switch file {
	case "-":
		if d.cli.Out().IsTerminal() {
			return usageError{errors.New("refusing to write a binary archive to a terminal: redirect stdout, or use -o FILE")}
		}
		info = d.cli.Err()
		res, err = keystore.Backup(d.trustDir(), d.cli.Out(), bopts)
	case "":
		file = keystore.DefaultBackupName(time.Now())
		fallthrough
	default:
		res, err = keystore.BackupToFile(d.trustDir(), file, opts.force, bopts)
	}
	if err != nil {
		return err
	}
	dest := file
	if file == "-" {
		dest = "stdout"
	}
	_, _ = fmt.Fprintf(info, "Backed up %d key(s) from %s to %s:\n", len(res.Keys), keystore.PrivateDir(d.trustDir()), dest)
	rows := make([][]string, 0, len(res.Keys))
	for _, k := range res.Keys {
		rows = append(rows, []string{"  " + orDash(k.Role), k.ID, orDash(k.Repository)})
	}
	_ = writeTable(info, rows)
	if opts.includeMetadata {
		_, _ = fmt.Fprintf(info, "and %d trust metadata file(s) from %s\n", res.MetadataFiles, keystore.MetadataDir(d.trustDir()))
	}
	for _, s := range res.Skipped {
		_, _ = fmt.Fprintf(d.cli.Err(), "WARNING: not archived: %s: %s\n", s.Path, s.Reason)
	}
	_, _ = fmt.Fprintln(info, "The keys are encrypted with their passphrases; keep the passphrases apart from this archive.")
	return nil
}
