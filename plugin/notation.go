package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/spf13/pflag"
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
