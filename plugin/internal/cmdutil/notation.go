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
	keyName           string   // a key of notation's signingkeys.json
}

// AddNotationKeyFlags adds the flags that name a Notation signing key.
func AddNotationKeyFlags(flags *pflag.FlagSet, o *NotationKeyOptions) {
	flags.StringVar(&o.keyFile, "key", "", "Notation signing key file (PEM), with --cert")
	flags.StringVar(&o.certFile, "cert", "", "Certificate chain of --key (PEM, leaf first)")
	flags.StringVar(&o.plugin, "plugin", "", `Notation plugin that holds the signing key ("azure-kv" for notation-azure-kv), with --id`)
	flags.StringVar(&o.keyID, "id", "", "Key ID for --plugin (for azure-kv: the key's Key Vault URL)")
	flags.StringArrayVar(&o.pluginConfig, "plugin-config", nil, "Plugin configuration KEY=VALUE for --plugin (repeatable)")
	flags.StringVar(&o.keyName, "key-name", "", "A key of notation's signingkeys.json by name (as notation sign --key NAME); without any key flag, its default key signs")
}

// Config is --plugin-config as a map; nil when not given.
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

// NotationSigner opens the Notation key the flags name: --key and --cert,
// --plugin and --id, or else the default key of notation's own
// signingkeys.json in notationDir (`notation key add --default`), so that a
// team that configured the notation CLI configures nothing twice. Every
// command that signs with Notation opens its key here.
func (d *Deps) NotationSigner(ctx context.Context, o NotationKeyOptions, notationDir string) (*notationbridge.Signer, error) {
	for _, kv := range o.pluginConfig {
		if !strings.Contains(kv, "=") {
			return nil, UsageError{fmt.Errorf("invalid --plugin-config %q: use KEY=VALUE", kv)}
		}
	}
	spec := notationbridge.KeySpec{
		KeyFile: o.keyFile, CertFile: o.certFile,
		Plugin: o.plugin, KeyID: o.keyID, PluginConfig: o.Config(),
		Name:      o.keyName,
		ConfigDir: d.NotationDir(notationDir),
	}
	_, err := spec.Source()
	switch {
	case errors.Is(err, notationbridge.ErrKeyConflict) && o.keyName != "":
		return nil, UsageError{errors.New("--key-name names a key of notation's configuration: give it alone, without --key, --cert, --plugin or --id")}
	case errors.Is(err, notationbridge.ErrKeyConflict):
		return nil, UsageError{errors.New("use either --key and --cert, or --plugin and --id, not both")}
	case errors.Is(err, notationbridge.ErrIncompleteKey) && (o.keyFile != "" || o.certFile != ""):
		return nil, UsageError{errors.New("--key and --cert go together: the key file and its certificate chain")}
	case errors.Is(err, notationbridge.ErrIncompleteKey):
		return nil, UsageError{errors.New("--plugin and --id go together: the plugin's name and the key's ID")}
	case err != nil:
		return nil, err
	}
	s, err := notationbridge.OpenSigner(ctx, spec)
	if errors.Is(err, notationbridge.ErrNoSigningKey) {
		return nil, UsageError{fmt.Errorf("no Notation signing key: use --key FILE --cert FILE (try `docker acrtrust migrate cert generate-test NAME`), "+
			"or --plugin NAME --id KEY_ID, or make a key notation's default (`notation key add --default`; %w)", err)}
	}
	return s, err
}

// Given reports whether any key flag was set.
func (o NotationKeyOptions) Given() bool {
	return o.keyFile != "" || o.certFile != "" || o.plugin != "" || o.keyID != "" || len(o.pluginConfig) > 0 || o.keyName != ""
}

// Args are the flags that name the same key again, for a command that a
// remedy prints.
func (o NotationKeyOptions) Args() []string {
	var args []string
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	add("--key", o.keyFile)
	add("--cert", o.certFile)
	add("--plugin", o.plugin)
	add("--id", o.keyID)
	for _, kv := range o.pluginConfig {
		add("--plugin-config", kv)
	}
	add("--key-name", o.keyName)
	return args
}

// NotationDir is flag, else notation's own configuration directory as the
// notation CLI finds it: $XDG_CONFIG_HOME/notation, else
// ~/.config/notation (notationbridge.ConfigDir); where neither variable is
// set, the platform's user configuration directory.
func (d *Deps) NotationDir(flag string) string {
	if flag != "" {
		return flag
	}
	xdg, home := d.Getenv("XDG_CONFIG_HOME"), d.Getenv("HOME")
	if xdg == "" && home == "" {
		if c, err := os.UserConfigDir(); err == nil {
			return filepath.Join(c, "notation")
		}
	}
	return notationbridge.ConfigDir(xdg, home)
}
