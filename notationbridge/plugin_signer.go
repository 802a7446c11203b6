package notationbridge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/plugin"
	"github.com/notaryproject/notation-go/signer"
	pluginframework "github.com/notaryproject/notation-plugin-framework-go/plugin"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// probe is what PluginSigner signs, locally, to learn the plugin key's
// certificate chain (the plugin protocol hands the chain out with a
// signature): the digest of the empty string, never pushed anywhere.
var probe = ocispec.Descriptor{
	MediaType: ocispec.MediaTypeImageManifest,
	Digest:    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	Size:      0,
}

// PluginSigner signs with key keyID of the Notation plugin name, found the
// way notation finds plugins: pluginsDir/NAME/notation-NAME (pluginsDir is
// the plugins directory of notation's configuration directory). notation-azure-kv works unchanged:
// PluginSigner(ctx, dir, "azure-kv", KEY_URL, nil).
func PluginSigner(ctx context.Context, pluginsDir, name, keyID string, config map[string]string) (*Signer, error) {
	p, err := plugin.NewCLIManager(dir.NewSysFS(pluginsDir)).Get(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("notation plugin %q is not installed in %s: %w", name, pluginsDir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("loading notation plugin %q: %w", name, err)
	}
	sp, ok := p.(pluginframework.SignPlugin)
	if !ok {
		return nil, fmt.Errorf("notation plugin %q cannot sign", name)
	}
	newSigner := func() (notation.Signer, error) { return signer.NewPluginSigner(sp, keyID, config) }
	ns, err := newSigner()
	if err != nil {
		return nil, fmt.Errorf("notation plugin %q, key %q: %w", name, keyID, err)
	}
	_, info, err := ns.Sign(ctx, probe, notation.SignerSignOptions{SignatureMediaType: jws.MediaTypeEnvelope, PluginConfig: config})
	if err != nil {
		return nil, fmt.Errorf("notation plugin %q, key %q: %w", name, keyID, err)
	}
	if len(info.CertificateChain) == 0 {
		return nil, fmt.Errorf("notation plugin %q, key %q: no certificate chain", name, keyID)
	}
	return &Signer{signer: newSigner, Chain: info.CertificateChain, Key: fmt.Sprintf("plugin %s, key %s", name, keyID), pluginConfig: config}, nil
}
