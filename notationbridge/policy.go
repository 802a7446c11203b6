package notationbridge

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
)

// PolicyName is the name of the trust policy statement that WritePolicy
// writes: a policy written again merges its scopes into this statement and
// leaves other statements alone.
const PolicyName = "acrtrust-migrated"

// PolicyOptions say what WritePolicy writes.
type PolicyOptions struct {
	// Scopes are the repositories (REGISTRY/REPOSITORY) migrated.
	Scopes []string
	// Chain is the signing certificate chain, leaf first; its root goes
	// into the trust store.
	Chain []*x509.Certificate
	// StoreName names the trust store (truststore/x509/ca/StoreName);
	// empty means PolicyName.
	StoreName string
}

// WritePolicy writes, under notationDir, a trust policy (trustpolicy.json)
// with a statement for the migrated repositories, and a CA trust store with
// the root of the signing chain: what `notation verify` (with the files in
// notation's configuration directory, $XDG_CONFIG_HOME/notation) and
// Ratify's notation verifier need. The statement
// trusts the signing certificate's subject, or any certificate from the
// store when the subject lacks the C, ST and O that notation requires of a
// trusted identity. It returns the policy's path.
func WritePolicy(notationDir string, opts PolicyOptions) (string, error) {
	if len(opts.Chain) == 0 {
		return "", errors.New("writing the trust policy: no certificate chain")
	}
	store := opts.StoreName
	if store == "" {
		store = PolicyName
	}
	root := opts.Chain[len(opts.Chain)-1]
	storeDir := filepath.Join(notationDir, dir.TrustStoreDir, "x509", "ca", store)
	if err := os.MkdirAll(storeDir, 0o755); err != nil {
		return "", fmt.Errorf("writing the trust store: %w", err)
	}
	certPath := filepath.Join(storeDir, store+".crt")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644); err != nil {
		return "", fmt.Errorf("writing the trust store: %w", err)
	}

	path := filepath.Join(notationDir, PolicyFile)
	doc := trustpolicy.Document{Version: "1.0"}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &doc); err != nil {
			return "", fmt.Errorf("reading the existing trust policy %s to merge into it: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading the existing trust policy: %w", err)
	}
	identity := "*"
	leaf := opts.Chain[0]
	if len(leaf.Subject.Country) > 0 && len(leaf.Subject.Province) > 0 && len(leaf.Subject.Organization) > 0 {
		identity = "x509.subject: " + leaf.Subject.String()
	}
	statement := trustpolicy.TrustPolicy{
		Name:                  PolicyName,
		SignatureVerification: trustpolicy.SignatureVerification{VerificationLevel: trustpolicy.LevelStrict.Name},
		TrustStores:           []string{"ca:" + store},
		TrustedIdentities:     []string{identity},
	}
	scopes := map[string]bool{}
	kept := doc.TrustPolicies[:0]
	for _, p := range doc.TrustPolicies {
		if p.Name == PolicyName {
			for _, s := range p.RegistryScopes {
				scopes[s] = true
			}
			continue
		}
		kept = append(kept, p)
	}
	for _, s := range opts.Scopes {
		scopes[s] = true
	}
	for s := range scopes {
		statement.RegistryScopes = append(statement.RegistryScopes, s)
	}
	sort.Strings(statement.RegistryScopes)
	doc.TrustPolicies = append(kept, statement)
	if err := doc.Validate(); err != nil {
		return "", fmt.Errorf("writing the trust policy %s: %w", path, err)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("writing the trust policy: %w", err)
	}
	return path, nil
}
