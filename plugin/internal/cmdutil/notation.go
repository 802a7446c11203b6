package cmdutil

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

// NotationKeyOptions are the two ways Notation defines a signing key: a key
// and certificate chain in files, or a key held by a plugin.
type NotationKeyOptions struct {
	keyFile, certFile string
	plugin, keyID     string
	pluginConfig      []string // k=v
}

func AddNotationKeyFlags(flags *pflag.FlagSet, o *NotationKeyOptions) {
	flags.StringVar(&o.keyFile, "key", "", "Notation signing key file (PEM), with --cert")
	flags.StringVar(&o.certFile, "cert", "", "Certificate chain of --key (PEM, leaf first)")
	flags.StringVar(&o.plugin, "plugin", "", `Notation plugin that holds the signing key ("azure-kv" for notation-azure-kv), with --id`)
	flags.StringVar(&o.keyID, "id", "", "Key ID for --plugin (for azure-kv: the key's Key Vault URL)")
	flags.StringArrayVar(&o.pluginConfig, "plugin-config", nil, "Plugin configuration KEY=VALUE for --plugin (repeatable)")
}

func (o NotationKeyOptions) Config() map[string]string {
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

// NotationSigner builds the signer the flags name.
func (d *Deps) NotationSigner(ctx context.Context, o NotationKeyOptions, notationDir string) (*notationbridge.Signer, error) {
	local := o.keyFile != "" || o.certFile != ""
	plugin := o.plugin != "" || o.keyID != "" || len(o.pluginConfig) > 0
	switch {
	case local && plugin:
		return nil, UsageError{errors.New("use either --key and --cert, or --plugin and --id, not both")}
	case local:
		if o.keyFile == "" || o.certFile == "" {
			return nil, UsageError{errors.New("--key and --cert go together: the key file and its certificate chain")}
		}
		return notationbridge.LocalSigner(o.keyFile, o.certFile)
	case plugin:
		if o.plugin == "" || o.keyID == "" {
			return nil, UsageError{errors.New("--plugin and --id go together: the plugin's name and the key's ID")}
		}
		for _, kv := range o.pluginConfig {
			if !strings.Contains(kv, "=") {
				return nil, UsageError{fmt.Errorf("invalid --plugin-config %q: use KEY=VALUE", kv)}
			}
		}
		dir := filepath.Join(d.NotationDir(notationDir), "plugins")
		return notationbridge.PluginSigner(ctx, dir, o.plugin, o.keyID, o.Config())
	}
	return nil, UsageError{errors.New("no Notation signing key: use --key FILE --cert FILE (try `docker acrtrust migrate cert generate-test NAME`), or --plugin NAME --id KEY_ID")}
}

// NotationDir is flag, else notation's own configuration directory:
// $XDG_CONFIG_HOME/notation, else ~/.config/notation (notation-go's
// dir.ConfigFS on Linux; os.UserConfigDir elsewhere).
func (d *Deps) NotationDir(flag string) string {
	if flag != "" {
		return flag
	}
	if x := d.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "notation")
	}
	if h := d.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "notation")
	}
	if c, err := os.UserConfigDir(); err == nil {
		return filepath.Join(c, "notation")
	}
	return ".notation"
}
