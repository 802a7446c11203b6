package notationbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/notaryproject/notation-go/config"
	"github.com/notaryproject/notation-go/dir"
)

// Where a signing key comes from (KeySpec.Source).
const (
	// KeyFiles is a key and certificate chain in files (--key, --cert).
	KeyFiles = "files"
	// KeyPlugin is a key held by a notation plugin (--plugin, --id).
	KeyPlugin = "plugin"
	// KeyConfig is a key that notation's own signingkeys.json names: the
	// default one (`notation key add --default`), or one by name.
	KeyConfig = "notation-config"
)

// ErrNoSigningKey says that no key was given and notation's configuration
// names no default key either.
var ErrNoSigningKey = errors.New("no Notation signing key")

// ErrKeyConflict says that a KeySpec names more than one source.
var ErrKeyConflict = errors.New("more than one Notation signing key")

// ErrIncompleteKey says that a KeySpec names half of a source: a key file
// without its certificate, or a plugin without a key ID.
var ErrIncompleteKey = errors.New("incomplete Notation signing key")

// KeySpec names one Notation signing key, for every command that signs.
// The zero value (with ConfigDir set) means notation's default key in
// ConfigDir/signingkeys.json.
type KeySpec struct {
	// KeyFile and CertFile are a private key (PEM) and its certificate
	// chain (PEM, leaf first).
	KeyFile, CertFile string
	// Plugin is a notation plugin's name ("azure-kv") and KeyID the key's
	// ID in it (for azure-kv, the key's Key Vault URL).
	Plugin, KeyID string
	// PluginConfig is passed to the plugin. Nil means none.
	PluginConfig map[string]string
	// Name picks a key by name in ConfigDir/signingkeys.json
	// (`notation key add NAME`); empty means its default key.
	Name string
	// ConfigDir is notation's configuration directory ({NOTATION_CONFIG}:
	// signingkeys.json, plugins/). The caller resolves it (see
	// ConfigDir); the library reads no environment.
	ConfigDir string
}

// Source says which kind of key spec names, or an error when it names
// more than one, or half of one.
func (k KeySpec) Source() (string, error) {
	files := k.KeyFile != "" || k.CertFile != ""
	plugin := k.Plugin != "" || k.KeyID != "" || len(k.PluginConfig) > 0
	switch {
	case files && plugin:
		return "", fmt.Errorf("%w: a key file and a plugin key", ErrKeyConflict)
	case files && k.Name != "", plugin && k.Name != "":
		return "", fmt.Errorf("%w: a key named %q in %s and a key given directly", ErrKeyConflict, k.Name, dir.PathSigningKeys)
	case files:
		if k.KeyFile == "" || k.CertFile == "" {
			return "", fmt.Errorf("%w: a key file and its certificate chain go together", ErrIncompleteKey)
		}
		return KeyFiles, nil
	case plugin:
		if k.Plugin == "" || k.KeyID == "" {
			return "", fmt.Errorf("%w: a plugin name and a key ID go together", ErrIncompleteKey)
		}
		return KeyPlugin, nil
	}
	return KeyConfig, nil
}

// ConfigDir returns notation's user configuration directory as the notation
// CLI finds it on Linux (notation-go's dir package over os.UserConfigDir):
// $XDG_CONFIG_HOME/notation, else $HOME/.config/notation, else .notation.
// xdgConfigHome and home are the caller's environment: the library reads
// none.
func ConfigDir(xdgConfigHome, home string) string {
	if xdgConfigHome != "" {
		return filepath.Join(xdgConfigHome, "notation")
	}
	if home != "" {
		return filepath.Join(home, ".config", "notation")
	}
	return ".notation"
}

// LoadSigningKeys reads configDir/signingkeys.json, the file `notation key
// add` writes, into notation-go's own type. A missing file is an empty
// configuration, as for notation; a symbolic link or a directory is
// refused, as notation refuses them.
func LoadSigningKeys(configDir string) (*config.SigningKeys, error) {
	path := filepath.Join(configDir, dir.PathSigningKeys)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return config.NewSigningKeys(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading notation's signing keys: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading notation's signing keys: %s is not a regular file (symbolic links are not supported)", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading notation's signing keys: %w", err)
	}
	var keys config.SigningKeys
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("reading notation's signing keys %s: %w", path, err)
	}
	return &keys, nil
}

// OpenSigner opens the key that k names.
func OpenSigner(ctx context.Context, k KeySpec) (*Signer, error) {
	source, err := k.Source()
	if err != nil {
		return nil, err
	}
	switch source {
	case KeyFiles:
		return LocalSigner(k.KeyFile, k.CertFile)
	case KeyPlugin:
		return PluginSigner(ctx, filepath.Join(k.ConfigDir, dir.PathPlugins), k.Plugin, k.KeyID, k.PluginConfig)
	}
	return configSigner(ctx, k)
}

// configSigner opens a key of notation's signingkeys.json.
func configSigner(ctx context.Context, k KeySpec) (*Signer, error) {
	path := filepath.Join(k.ConfigDir, dir.PathSigningKeys)
	keys, err := LoadSigningKeys(k.ConfigDir)
	if err != nil {
		return nil, err
	}
	var ks config.KeySuite
	if k.Name != "" {
		ks, err = keys.Get(k.Name)
		if err != nil {
			return nil, fmt.Errorf("finding key %q in %s: %w", k.Name, path, err)
		}
	} else {
		if keys.Default == nil || *keys.Default == "" {
			return nil, fmt.Errorf("%w: none given, and %s names no default key", ErrNoSigningKey, path)
		}
		ks, err = keys.Get(*keys.Default)
		if err != nil {
			return nil, fmt.Errorf("finding the default key %q in %s: %w", *keys.Default, path, err)
		}
	}
	var s *Signer
	switch {
	case ks.X509KeyPair != nil && ks.ExternalKey == nil:
		s, err = LocalSigner(ks.KeyPath, ks.CertificatePath)
	case ks.ExternalKey != nil && ks.X509KeyPair == nil:
		s, err = PluginSigner(ctx, filepath.Join(k.ConfigDir, dir.PathPlugins), ks.PluginName, ks.ID, ks.PluginConfig)
	default:
		return nil, fmt.Errorf("key %q in %s: malformed: it must have either keyPath and certPath, or id and pluginName", ks.Name, path)
	}
	if err != nil {
		return nil, err
	}
	s.Key = fmt.Sprintf("notation key %q: %s", ks.Name, s.Key)
	return s, nil
}
