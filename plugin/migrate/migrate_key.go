package migrate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
)

type certGenerateOptions struct {
	name     string
	validFor time.Duration
}

func newMigrateCertCommand(d *cmdutil.Deps, notationDir *string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Manage test certificates for Notation signing",
		Args:  cli.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var opts certGenerateOptions
	gen := &cobra.Command{
		Use:   "generate-test [OPTIONS] NAME",
		Short: "Generate a test key and self-signed certificate for Notation, as notation cert generate-test does",
		Long: `Generate an ECDSA P-256 key and a self-signed code signing certificate
(C=US, ST=WA, L=Seattle, O=Notary, CN=NAME) for trying migrate out and for
tests. The key goes to NOTATION_DIR/localkeys/NAME.key, the certificate to
NOTATION_DIR/localkeys/NAME.crt and into the trust store as
NOTATION_DIR/truststore/x509/ca/NAME/NAME.crt, the layout notation uses.
Not for production: use a key in Azure Key Vault (--plugin azure-kv).`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runCertGenerateTest(d, d.NotationDir(*notationDir), opts)
		},
	}
	gen.Flags().DurationVar(&opts.validFor, "expiry", 365*24*time.Hour, "How long the certificate is valid")
	cmd.AddCommand(gen)
	return cmd
}

func runCertGenerateTest(d *cmdutil.Deps, dir string, opts certGenerateOptions) error {
	if strings.ContainsAny(opts.name, `/\`) || opts.name == "." || opts.name == ".." {
		return cmdutil.UsageError{Err: fmt.Errorf("invalid name %q: use letters, digits, '-', '_' or '.'", opts.name)}
	}
	tc, err := notationbridge.GenerateTestCertificate(opts.name, time.Now(), opts.validFor)
	if err != nil {
		return err
	}
	keyPath := filepath.Join(dir, "localkeys", opts.name+".key")
	certPath := filepath.Join(dir, "localkeys", opts.name+".crt")
	storePath := filepath.Join(dir, "truststore", "x509", "ca", opts.name, opts.name+".crt")
	if _, err := os.Stat(keyPath); err == nil {
		return fmt.Errorf("%s exists: choose another name, or remove it first", keyPath)
	}
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{keyPath, tc.KeyPEM, 0o600},
		{certPath, tc.CertPEM, 0o644},
		{storePath, tc.CertPEM, 0o644},
	} {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	out := d.CLI.Out()
	_, _ = fmt.Fprintf(out, "Generated key %s\n", keyPath)
	_, _ = fmt.Fprintf(out, "Generated certificate %s (subject %s)\n", certPath, tc.Cert.Subject)
	_, _ = fmt.Fprintf(out, "Added it to the trust store: %s\n", storePath)
	_, _ = fmt.Fprintf(out, "Sign with: docker acrtrust migrate --key %s --cert %s NAME:TAG\n", keyPath, certPath)
	return nil
}
