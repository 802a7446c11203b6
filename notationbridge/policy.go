package notationbridge

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
)

// PolicyName is the name of the trust policy statement (and trust store)
// that WritePolicy writes for the first signing certificate; another
// certificate gets PolicyName-<first 12 hex digits of its SHA-256>.
const PolicyName = "acrtrust-migrated"

// PolicyOptions say what WritePolicy writes.
type PolicyOptions struct {
	// Scopes are the repositories (REGISTRY/REPOSITORY) migrated.
	Scopes []string
	// Chain is the signing certificate chain, leaf first; its root goes
	// into the trust store.
	Chain []*x509.Certificate
	// StoreName names the trust store and statement for a certificate
	// that has none yet; empty means PolicyName (or PolicyName-<hash> when
	// that name is taken).
	StoreName string
}

// PolicyConflictError is a scope that a statement of the existing trust
// policy already covers, and that statement does not trust the signing
// certificate. WritePolicy never changes what was trusted before, so it
// leaves the policy as it is; CheckPolicy says so before anything is signed.
type PolicyConflictError struct {
	// Path is the trust policy file.
	Path string
	// Scope is the repository already covered.
	Scope string
	// Statement is the name of the statement that covers it.
	Statement string
}

func (e *PolicyConflictError) Error() string {
	return fmt.Sprintf("the trust policy %s already covers %s with statement %q, which does not trust this signing certificate; it is left as it is",
		e.Path, e.Scope, e.Statement)
}

// policyPlan is what WritePolicy would change.
type policyPlan struct {
	path       string
	raw        map[string]json.RawMessage   // the document, unknown fields kept
	statements []map[string]json.RawMessage // its statements, unknown fields kept
	store      string                       // the trust store holding the root
	newStore   bool                         // store must be written
	root       *x509.Certificate
	target     int      // index of the statement that gets the scopes; -1: a new one
	add        []string // scopes to add to it
}

// CheckPolicy reports whether WritePolicy(notationDir, opts) would succeed
// without changing anything that the existing policy trusts: nil, or a
// *PolicyConflictError, or the error that reading the policy gives. It
// writes nothing; migrate calls it before any signing or network work.
func CheckPolicy(notationDir string, opts PolicyOptions) error {
	_, err := planPolicy(notationDir, opts)
	return err
}

// WritePolicy writes, under notationDir, a trust policy (trustpolicy.json)
// with a statement for the migrated repositories, and a CA trust store with
// the root of the signing chain: what `notation verify` (with the files in
// notation's configuration directory, $XDG_CONFIG_HOME/notation) and
// Ratify's notation verifier need. The statement trusts the signing
// certificate's subject, or any certificate from the store when the
// subject lacks the C, ST and O that notation requires of a trusted
// identity. It returns the policy's path.
//
// It never changes what the existing policy trusted: statements and fields
// it does not know are kept as they are; a scope already covered by a
// statement that trusts this certificate is left there; one covered by a
// statement that does not is a *PolicyConflictError, and nothing is
// written. A certificate that no statement trusts yet gets a statement and
// a trust store of its own, beside those of earlier certificates.
func WritePolicy(notationDir string, opts PolicyOptions) (string, error) {
	plan, err := planPolicy(notationDir, opts)
	if err != nil {
		return "", err
	}
	if plan.newStore {
		if err := writeStore(notationDir, plan.store, plan.root); err != nil {
			return "", err
		}
	}
	if len(plan.add) == 0 {
		return plan.path, nil
	}
	b, err := plan.document(opts.Chain[0])
	if err != nil {
		return "", err
	}
	if err := writeAtomic(plan.path, b); err != nil {
		return "", fmt.Errorf("writing the trust policy: %w", err)
	}
	return plan.path, nil
}

func planPolicy(notationDir string, opts PolicyOptions) (*policyPlan, error) {
	if len(opts.Chain) == 0 {
		return nil, errors.New("writing the trust policy: no certificate chain")
	}
	p := &policyPlan{path: filepath.Join(notationDir, PolicyFile), root: opts.Chain[len(opts.Chain)-1], target: -1}
	doc, err := p.read()
	if err != nil {
		return nil, err
	}
	p.store = storeHolding(notationDir, p.root)
	if p.store == "" {
		p.store, p.newStore = freeName(notationDir, doc, opts.StoreName, p.root), true
	}
	identity := trustedIdentity(opts.Chain[0])
	trusts := func(s trustpolicy.TrustPolicy) bool {
		return !p.newStore && slices.Contains(s.TrustStores, "ca:"+p.store) &&
			(slices.Contains(s.TrustedIdentities, "*") || slices.Contains(s.TrustedIdentities, identity))
	}
	for i, s := range doc.TrustPolicies {
		if p.target < 0 && trusts(s) && s.SignatureVerification.VerificationLevel == trustpolicy.LevelStrict.Name && !slices.Contains(s.RegistryScopes, "*") {
			p.target = i
		}
	}
	for _, scope := range uniqueSorted(opts.Scopes) {
		i := slices.IndexFunc(doc.TrustPolicies, func(s trustpolicy.TrustPolicy) bool { return slices.Contains(s.RegistryScopes, scope) })
		switch {
		case i < 0:
			p.add = append(p.add, scope)
		case !trusts(doc.TrustPolicies[i]):
			return nil, &PolicyConflictError{Path: p.path, Scope: scope, Statement: doc.TrustPolicies[i].Name}
		}
	}
	return p, nil
}

// read reads the existing policy, if any, both as notation reads it and
// field by field (to keep what notation-go does not know).
func (p *policyPlan) read() (trustpolicy.Document, error) {
	doc := trustpolicy.Document{Version: "1.0"}
	p.raw = map[string]json.RawMessage{}
	b, err := os.ReadFile(p.path)
	if errors.Is(err, os.ErrNotExist) {
		return doc, nil
	}
	if err != nil {
		return doc, fmt.Errorf("reading the existing trust policy: %w", err)
	}
	fail := func(err error) (trustpolicy.Document, error) {
		return doc, fmt.Errorf("reading the existing trust policy %s to merge into it: %w", p.path, err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(b, &p.raw); err != nil {
		return fail(err)
	}
	if tp, ok := p.raw["trustPolicies"]; ok && string(tp) != "null" {
		if err := json.Unmarshal(tp, &p.statements); err != nil {
			return fail(err)
		}
	}
	return doc, nil
}

// document is the policy with the planned scopes added: to the target
// statement's registryScopes, or in a new statement; nothing else changes.
func (p *policyPlan) document(leaf *x509.Certificate) ([]byte, error) {
	if p.target >= 0 {
		st := p.statements[p.target]
		var scopes []string
		if err := json.Unmarshal(st["registryScopes"], &scopes); err != nil {
			return nil, fmt.Errorf("reading the trust policy %s: %w", p.path, err)
		}
		st["registryScopes"] = mustJSON(uniqueSorted(append(scopes, p.add...)))
	} else {
		st := trustpolicy.TrustPolicy{
			Name:                  p.store,
			RegistryScopes:        p.add,
			SignatureVerification: trustpolicy.SignatureVerification{VerificationLevel: trustpolicy.LevelStrict.Name},
			TrustStores:           []string{"ca:" + p.store},
			TrustedIdentities:     []string{trustedIdentity(leaf)},
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(mustJSON(st), &raw); err != nil {
			return nil, err
		}
		p.statements = append(p.statements, raw)
	}
	p.raw["trustPolicies"] = mustJSON(p.statements)
	if _, ok := p.raw["version"]; !ok {
		p.raw["version"] = mustJSON("1.0")
	}
	b, err := json.MarshalIndent(p.raw, "", "  ")
	if err != nil {
		return nil, err
	}
	var doc trustpolicy.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("writing the trust policy %s: %w", p.path, err)
	}
	return append(b, '\n'), nil
}

// trustedIdentity is the leaf's subject, or "*" when it lacks the C, ST
// and O that notation requires of a trusted identity.
func trustedIdentity(leaf *x509.Certificate) string {
	if len(leaf.Subject.Country) > 0 && len(leaf.Subject.Province) > 0 && len(leaf.Subject.Organization) > 0 {
		return "x509.subject: " + leaf.Subject.String()
	}
	return "*"
}

// caStoresDir is where notation keeps CA trust stores.
func caStoresDir(notationDir string) string {
	return filepath.Join(notationDir, dir.TrustStoreDir, "x509", "ca")
}

// storeHolding is the CA trust store under notationDir that holds root,
// or "" (PolicyName's first).
func storeHolding(notationDir string, root *x509.Certificate) string {
	entries, _ := os.ReadDir(caStoresDir(notationDir))
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return names[i] == PolicyName && names[j] != PolicyName })
	for _, name := range names {
		files, _ := os.ReadDir(filepath.Join(caStoresDir(notationDir), name))
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(caStoresDir(notationDir), name, f.Name()))
			if err == nil && holds(b, root) {
				return name
			}
		}
	}
	return ""
}

// holds reports whether a PEM (or DER) file contains cert.
func holds(b []byte, cert *x509.Certificate) bool {
	if bytes.Equal(b, cert.Raw) {
		return true
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" && bytes.Equal(block.Bytes, cert.Raw) {
			return true
		}
	}
}

// freeName is a store and statement name that neither the policy nor the
// trust stores use yet: want (or PolicyName), else PolicyName-<hash>.
func freeName(notationDir string, doc trustpolicy.Document, want string, root *x509.Certificate) string {
	sum := sha256.Sum256(root.Raw)
	for _, name := range []string{want, PolicyName, PolicyName + "-" + hex.EncodeToString(sum[:6]), PolicyName + "-" + hex.EncodeToString(sum[:])} {
		if name == "" {
			continue
		}
		_, err := os.Stat(filepath.Join(caStoresDir(notationDir), name))
		used := slices.ContainsFunc(doc.TrustPolicies, func(s trustpolicy.TrustPolicy) bool { return s.Name == name })
		if errors.Is(err, os.ErrNotExist) && !used {
			return name
		}
	}
	return PolicyName + "-" + hex.EncodeToString(sum[:])
}

// writeStore writes root into a new trust store name, never over a file.
func writeStore(notationDir, name string, root *x509.Certificate) error {
	storeDir := filepath.Join(caStoresDir(notationDir), name)
	if err := os.MkdirAll(storeDir, 0o755); err != nil {
		return fmt.Errorf("writing the trust store: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(storeDir, name+".crt"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("writing the trust store: %w", err)
	}
	_, err = f.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the trust store: %w", err)
	}
	return nil
}

// writeAtomic replaces path with b through a temporary file beside it.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".trustpolicy-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func uniqueSorted(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return slices.Compact(out)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only strings and our own structs
	}
	return b
}
