// Command notation-testkv is a Notation signing plugin for tests, built by
// the tests and driven through the plugin protocol (exec plus JSON) exactly
// as notation-azure-kv is: a key ID names a key, plugin configuration says
// where keys live (pluginConfig "keys": a directory holding KEYID.key and
// KEYID.crt, as `docker acrtrust migrate cert generate-test` writes them).
// It signs raw payloads (SIGNATURE_GENERATOR.RAW) with ECDSA P-256.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"os"
	"path/filepath"

	"github.com/notaryproject/notation-plugin-framework-go/cli"
	"github.com/notaryproject/notation-plugin-framework-go/plugin"
)

type testKV struct{}

func (testKV) GetMetadata(context.Context, *plugin.GetMetadataRequest) (*plugin.GetMetadataResponse, error) {
	return &plugin.GetMetadataResponse{
		Name:                      "testkv",
		Description:               "test signing plugin of docker acrtrust",
		Version:                   "1.0.0",
		URL:                       "https://example.invalid/testkv",
		SupportedContractVersions: []string{plugin.ContractVersion},
		Capabilities:              []plugin.Capability{plugin.CapabilitySignatureGenerator},
	}, nil
}

func load(keyID string, config map[string]string) (tls.Certificate, error) {
	dir := config["keys"]
	if dir == "" {
		return tls.Certificate{}, plugin.NewValidationError(`plugin configuration "keys" is required`)
	}
	return tls.LoadX509KeyPair(filepath.Join(dir, keyID+".crt"), filepath.Join(dir, keyID+".key"))
}

func (testKV) DescribeKey(_ context.Context, req *plugin.DescribeKeyRequest) (*plugin.DescribeKeyResponse, error) {
	if _, err := load(req.KeyID, req.PluginConfig); err != nil {
		return nil, err
	}
	return &plugin.DescribeKeyResponse{KeyID: req.KeyID, KeySpec: plugin.KeySpecEC256}, nil
}

func (testKV) GenerateSignature(_ context.Context, req *plugin.GenerateSignatureRequest) (*plugin.GenerateSignatureResponse, error) {
	pair, err := load(req.KeyID, req.PluginConfig)
	if err != nil {
		return nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, plugin.NewValidationError("not an ECDSA key")
	}
	sum := sha256.Sum256(req.Payload)
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return nil, err
	}
	// IEEE P1363 (r || s), as JWS ES256 and COSE use it.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return &plugin.GenerateSignatureResponse{
		KeyID:            req.KeyID,
		Signature:        sig,
		SigningAlgorithm: plugin.SignatureAlgorithmECDSA_SHA256,
		CertificateChain: pair.Certificate,
	}, nil
}

func (testKV) GenerateEnvelope(context.Context, *plugin.GenerateEnvelopeRequest) (*plugin.GenerateEnvelopeResponse, error) {
	return nil, plugin.NewUnsupportedError("generate-envelope")
}

func (testKV) VerifySignature(context.Context, *plugin.VerifySignatureRequest) (*plugin.VerifySignatureResponse, error) {
	return nil, plugin.NewUnsupportedError("verify-signature")
}

func main() {
	c, err := cli.New(testKV{})
	if err != nil {
		os.Exit(1)
	}
	c.Execute(context.Background(), os.Args)
}
