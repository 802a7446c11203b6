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
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
)

// notationKeyOptions are the two ways Notation defines a signing key: a key
// and certificate chain in files, or a key held by a plugin.
type notationKeyOptions struct {
	keyFile, certFile string
	plugin, keyID     string
	pluginConfig      []string // k=v
}

func addNotationKeyFlags(flags *pflag.FlagSet, o *notationKeyOptions) {
	flags.StringVar(&o.keyFile, "key", "", "Notation signing key file (PEM), with --cert")
	flags.StringVar(&o.certFile, "cert", "", "Certificate chain of --key (PEM, leaf first)")
	flags.StringVar(&o.plugin, "plugin", "", `Notation plugin that holds the signing key ("azure-kv" for notation-azure-kv), with --id`)
	flags.StringVar(&o.keyID, "id", "", "Key ID for --plugin (for azure-kv: the key's Key Vault URL)")
	flags.StringArrayVar(&o.pluginConfig, "plugin-config", nil, "Plugin configuration KEY=VALUE for --plugin (repeatable)")
}

func (o notationKeyOptions) config() map[string]string {
	if len(o.pluginConfig) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, kv := range o.pluginConfig {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// notationSigner builds the signer the flags name.
func (d *deps) notationSigner(ctx context.Context, o notationKeyOptions, notationDir string) (*notationbridge.Signer, error) {
	local := o.keyFile != "" || o.certFile != ""
	plugin := o.plugin != "" || o.keyID != "" || len(o.pluginConfig) > 0
	switch {
	case local && plugin:
		return nil, usageError{errors.New("use either --key and --cert, or --plugin and --id, not both")}
	case local:
		if o.keyFile == "" || o.certFile == "" {
			return nil, usageError{errors.New("--key and --cert go together: the key file and its certificate chain")}
		}
		return notationbridge.LocalSigner(o.keyFile, o.certFile)
	case plugin:
		if o.plugin == "" || o.keyID == "" {
			return nil, usageError{errors.New("--plugin and --id go together: the plugin's name and the key's ID")}
		}
		for _, kv := range o.pluginConfig {
			if !strings.Contains(kv, "=") {
				return nil, usageError{fmt.Errorf("invalid --plugin-config %q: use KEY=VALUE", kv)}
			}
		}
		dir := filepath.Join(d.notationDir(notationDir), "plugins")
		return notationbridge.PluginSigner(ctx, dir, o.plugin, o.keyID, o.config())
	}
	return nil, usageError{errors.New("no Notation signing key: use --key FILE --cert FILE (try `docker acrtrust migrate cert generate-test NAME`), or --plugin NAME --id KEY_ID")}
}

// notationDir is flag, else notation's own configuration directory:
// $XDG_CONFIG_HOME/notation, else ~/.config/notation (notation-go's
// dir.ConfigFS on Linux; os.UserConfigDir elsewhere).
func (d *deps) notationDir(flag string) string {
	if flag != "" {
		return flag
	}
	if x := d.getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "notation")
	}
	if h := d.getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "notation")
	}
	if c, err := os.UserConfigDir(); err == nil {
		return filepath.Join(c, "notation")
	}
	return ".notation"
}

type certGenerateOptions struct {
	name     string
	validFor time.Duration
}

func newMigrateCertCommand(d *deps, notationDir *string) *cobra.Command {
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
			return runCertGenerateTest(d, d.notationDir(*notationDir), opts)
		},
	}
	gen.Flags().DurationVar(&opts.validFor, "expiry", 365*24*time.Hour, "How long the certificate is valid")
	cmd.AddCommand(gen)
	return cmd
}

func runCertGenerateTest(d *deps, dir string, opts certGenerateOptions) error {
	if strings.ContainsAny(opts.name, `/\`) || opts.name == "." || opts.name == ".." {
		return usageError{fmt.Errorf("invalid name %q: use letters, digits, '-', '_' or '.'", opts.name)}
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
	out := d.cli.Out()
	_, _ = fmt.Fprintf(out, "Generated key %s\n", keyPath)
	_, _ = fmt.Fprintf(out, "Generated certificate %s (subject %s)\n", certPath, tc.Cert.Subject)
	_, _ = fmt.Fprintf(out, "Added it to the trust store: %s\n", storePath)
	_, _ = fmt.Fprintf(out, "Sign with: docker acrtrust migrate --key %s --cert %s NAME:TAG\n", keyPath, certPath)
	return nil
}
