package notationbridge

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	corex509 "github.com/notaryproject/notation-core-go/x509"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/signer"
)

// Signer is a notation signer with the certificate chain its signatures
// carry, leaf first: the leaf's public key is what "signed by the same key"
// compares, and the chain's root is what a trust store needs.
type Signer struct {
	// signer returns the notation signer of one signature: notation-go's
	// plugin signer keeps per-signature state, so it is made anew each
	// time; the generic signer is shared.
	signer func() (notation.Signer, error)
	// Chain is the certificate chain, leaf first.
	Chain []*x509.Certificate
	// Key names the key for reports: "FILE" or "plugin NAME, key ID".
	Key string
	// pluginConfig is what a plugin key's signatures pass to the plugin
	// unless SignOptions.PluginConfig says otherwise.
	pluginConfig map[string]string
}

// Leaf returns the signing certificate.
func (s *Signer) Leaf() *x509.Certificate { return s.Chain[0] }

// Thumbprint is the SHA-256 of the signing certificate, as notation shows
// it (`notation inspect`, the x509chain.thumbprint annotation).
func (s *Signer) Thumbprint() string {
	sum := sha256.Sum256(s.Leaf().Raw)
	return hex.EncodeToString(sum[:])
}

// LocalSigner reads a private key (PEM, PKCS#8, PKCS#1 or EC) and its
// certificate chain (PEM, leaf first) from files, as `notation key add`
// and `notation sign --key` use them.
func LocalSigner(keyPath, certPath string) (*Signer, error) {
	chain, err := corex509.ReadCertificateFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("reading certificate chain %q: %w", certPath, err)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("reading certificate chain %q: no certificate", certPath)
	}
	// notation-go checks that the key matches the leaf certificate.
	s, err := signer.NewGenericSignerFromFiles(keyPath, certPath)
	if err != nil {
		return nil, fmt.Errorf("reading signing key %q with certificate %q: %w", keyPath, certPath, err)
	}
	if err := corex509.ValidateCodeSigningCertChain(chain, nil); err != nil {
		return nil, fmt.Errorf("certificate chain %q cannot sign for Notation: %w", certPath, err)
	}
	return &Signer{signer: func() (notation.Signer, error) { return s, nil }, Chain: chain, Key: keyPath}, nil
}

// TestCertificate is a key and self-signed certificate for trying Notation
// out and for tests, like `notation cert generate-test`: ECDSA P-256, valid
// for the given duration, subject C=US, ST=WA, L=Seattle, O=Notary,
// CN=name. Not for production: nothing vouches for it but itself.
type TestCertificate struct {
	KeyPEM  []byte
	CertPEM []byte
	Cert    *x509.Certificate
}

// GenerateTestCertificate makes a TestCertificate named name.
func GenerateTestCertificate(name string, now time.Time, validFor time.Duration) (TestCertificate, error) {
	if name == "" {
		return TestCertificate{}, errors.New("generating a test certificate: empty name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return TestCertificate{}, fmt.Errorf("generating a test certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return TestCertificate{}, fmt.Errorf("generating a test certificate: %w", err)
	}
	subject := pkix.Name{
		Country:      []string{"US"},
		Province:     []string{"WA"},
		Locality:     []string{"Seattle"},
		Organization: []string{"Notary"},
		CommonName:   name,
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return TestCertificate{}, fmt.Errorf("generating a test certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return TestCertificate{}, fmt.Errorf("generating a test certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return TestCertificate{}, fmt.Errorf("generating a test certificate: %w", err)
	}
	return TestCertificate{
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Cert:    cert,
	}, nil
}

// samePublicKey reports whether two certificates certify the same key.
func samePublicKey(a, b *x509.Certificate) bool {
	pa, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pa.Equal(b.PublicKey)
}
