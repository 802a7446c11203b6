package notationbridge

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/plugin"
	"github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"github.com/opencontainers/go-digest"
)

// PolicyFile is the trust policy's file name in a notation configuration
// directory (notation-go's dir.PathTrustPolicy).
const PolicyFile = dir.PathTrustPolicy

// ErrNoPolicy says that a notation directory has no trust policy.
var ErrNoPolicy = errors.New("no Notation trust policy")

// Verifier verifies Notation signatures against the trust policy and trust
// store of one notation configuration directory (trustpolicy.json and
// truststore/x509/{ca,signingAuthority,tsa}/NAME/, notation's layout), with
// verification plugins from its plugins directory.
type Verifier struct {
	dir string
	v   notation.Verifier
}

// LoadVerifier reads the trust policy in notationDir.
func LoadVerifier(notationDir string) (*Verifier, error) {
	path := filepath.Join(notationDir, PolicyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", path, ErrNoPolicy)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Notation trust policy: %w", err)
	}
	var doc trustpolicy.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("reading the Notation trust policy %s: %w", path, err)
	}
	store := &onceTrustStore{X509TrustStore: truststore.NewX509TrustStore(dir.NewSysFS(notationDir))}
	plugins := plugin.NewCLIManager(dir.NewSysFS(filepath.Join(notationDir, dir.PathPlugins)))
	v, err := verifier.New(&doc, store, plugins)
	if err != nil {
		return nil, fmt.Errorf("the Notation trust policy %s: %w", path, err)
	}
	return &Verifier{dir: notationDir, v: v}, nil
}

// Verified is a digest with a Notation signature that the policy accepts.
type Verified struct {
	Digest digest.Digest
	// UserMetadata is the accepted signature's user metadata (the
	// provenance of a migrated signature).
	UserMetadata map[string]string
}

// maxSignatures bounds the signatures tried per digest, as notation's
// --max-signatures (default 100).
const maxSignatures = 100

// Verify checks that reference (REGISTRY/REPOSITORY@DIGEST: the trust
// policy's scopes match on the repository) has a Notation signature that the
// trust policy accepts.
func (v *Verifier) Verify(ctx context.Context, repo registry.Repository, reference string) (Verified, error) {
	desc, outcomes, err := notation.Verify(ctx, v.v, repo, notation.VerifyOptions{
		ArtifactReference:    reference,
		MaxSignatureAttempts: maxSignatures,
	})
	if err != nil {
		return Verified{}, fmt.Errorf("verifying the Notation signature of %s: %w", reference, err)
	}
	out := Verified{Digest: desc.Digest}
	if len(outcomes) > 0 && outcomes[0].EnvelopeContent != nil {
		if md, err := outcomes[0].UserMetadata(); err == nil {
			out.UserMetadata = md
		}
	}
	return out, nil
}

// IsNoSignature reports whether err says that the artifact has no Notation
// signature at all (as opposed to signatures the policy refused).
func IsNoSignature(err error) bool {
	var e notation.ErrorSignatureRetrievalFailed
	return errors.As(err, &e)
}

// onceTrustStore reads each named trust store once per Verifier: notation-go
// reads, parses and checks the certificate files on every verification,
// which an audit of thousands of digests then pays thousands of times. A
// Verifier lives for one command, so a store changed meanwhile is read at
// the next run.
type onceTrustStore struct {
	truststore.X509TrustStore
	mu   sync.Mutex
	read map[string]storeRead
}

type storeRead struct {
	certs []*x509.Certificate
	err   error
}

func (s *onceTrustStore) GetCertificates(ctx context.Context, storeType truststore.Type, namedStore string) ([]*x509.Certificate, error) {
	key := string(storeType) + "/" + namedStore
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.read[key]; ok {
		return r.certs, r.err
	}
	certs, err := s.X509TrustStore.GetCertificates(ctx, storeType, namedStore)
	if s.read == nil {
		s.read = map[string]storeRead{}
	}
	s.read[key] = storeRead{certs, err}
	return certs, err
}
