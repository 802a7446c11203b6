package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
)

// Sentinel errors for input that can never work.
var (
	// ErrDigestReference: a digest reference where a tag is required.
	ErrDigestReference = errors.New("cannot use a digest reference for IMAGE:TAG")
	// ErrNoSignableRoles: delegations exist but none of the local keys belongs to one.
	ErrNoSignableRoles = errors.New("no valid signing keys for delegation roles")
)

// Kind says what went wrong with trust data, independently of wording.
type Kind int

// The kinds of trust errors. The plugin turns each into a sentence with a remedy.
const (
	KindUnknown        Kind = iota
	KindNoTrustData         // the repository has no trust data on the server
	KindMetaMissing         // some trust metadata is missing on the server
	KindNotSigned           // the tag is not signed (in targets or targets/releases)
	KindExpired             // metadata expired
	KindKeyNotFound         // a signing key is not in the local store
	KindNoSigningKeys       // no usable key, or it could not be decrypted
	KindPassphrase          // passphrase wrong or not available
	KindNetwork             // the trust server could not be reached
	KindCertificate         // TLS verification of the trust server failed
	KindUnauthorized        // the trust server answered 401
	KindServer              // the trust server answered another error
	KindRejected            // the trust server rejected an update (400)
	KindMalicious           // verification failed: possible attack
	KindNotTrustServer      // the server did not speak notary
)

// Error is a classified trust error. Message keeps Docker's wording where
// users and scripts rely on it (COMPAT.md); Err is the cause.
type Error struct {
	Kind    Kind
	GUN     data.GUN
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err, KindUnknown when it is not a trust error.
func KindOf(err error) Kind {
	var te *Error
	if errors.As(err, &te) {
		return te.Kind
	}
	return KindUnknown
}

// Classify maps an error from notary to an *Error with Docker's message
// (cli/trust/trust.go NotaryError). Unlike Docker it looks through
// wrapping, so "failed to sign" errors keep their meaning. An error that is
// already classified, or unknown, is returned as it is.
func Classify(gun data.GUN, err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	mk := func(k Kind, format string, args ...any) error {
		return &Error{Kind: k, GUN: gun, Message: fmt.Sprintf(format, args...), Err: err}
	}
	var (
		syntaxErr   *json.SyntaxError
		expired     signed.ErrExpired
		keyNotFound trustmanager.ErrKeyNotFound
		netErr      storage.NetworkError
		metaMissing storage.ErrMetaNotFound
		rotFail     trustpinning.ErrRootRotationFail
		validFail   trustpinning.ErrValidationFail
		keyType     signed.ErrInvalidKeyType
		noKeys      signed.ErrNoKeys
		lowVersion  signed.ErrLowVersion
		threshold   signed.ErrRoleThreshold
		notExist    client.ErrRepositoryNotExist
		insuffSigs  signed.ErrInsufficientSignatures
		noTarget    client.ErrNoSuchTarget
		pwInvalid   trustmanager.ErrPasswordInvalid
		attempts    trustmanager.ErrAttemptsExceeded
		unavailable storage.ErrServerUnavailable
		invalidOp   storage.ErrInvalidOperation
		notInit     client.ErrRepoNotInitialized
	)
	switch {
	case errors.As(err, &syntaxErr):
		return mk(KindNotTrustServer, "Error: no trust data available for remote repository %s. Try running notary server and setting DOCKER_CONTENT_TRUST_SERVER to its HTTPS address?", gun)
	case errors.As(err, &expired):
		return mk(KindExpired, "Error: remote repository %s out-of-date: %v", gun, err)
	case errors.As(err, &keyNotFound):
		return mk(KindKeyNotFound, "Error: signing keys for remote repository %s not found: %v", gun, err)
	case errors.As(err, &netErr):
		if isCertificateError(err) {
			return mk(KindCertificate, "Error: error contacting notary server: %v", err)
		}
		return mk(KindNetwork, "Error: error contacting notary server: %v", err)
	case errors.As(err, &metaMissing):
		return mk(KindMetaMissing, "Error: trust data missing for remote repository %s or remote repository not found: %v", gun, err)
	case errors.As(err, &rotFail), errors.As(err, &validFail), errors.As(err, &keyType):
		return mk(KindMalicious, "Warning: potential malicious behavior - trust data mismatch for remote repository %s: %v", gun, err)
	case errors.As(err, &noKeys):
		return mk(KindNoSigningKeys, "Error: could not find signing keys for remote repository %s, or could not decrypt signing key: %v", gun, err)
	case errors.As(err, &lowVersion):
		return mk(KindMalicious, "Warning: potential malicious behavior - trust data version is lower than expected for remote repository %s: %v", gun, err)
	case errors.As(err, &threshold):
		return mk(KindMalicious, "Warning: potential malicious behavior - trust data has insufficient signatures for remote repository %s: %v", gun, err)
	case errors.As(err, &notExist), errors.As(err, &notInit):
		return mk(KindNoTrustData, "Error: remote trust data does not exist for %s: %v", gun, err)
	case errors.As(err, &insuffSigs):
		return mk(KindNoSigningKeys, "Error: could not produce valid signature for %s: %v", gun, err)
	case errors.As(err, &noTarget):
		return mk(KindNotSigned, "%v", err)
	case errors.As(err, &pwInvalid), errors.As(err, &attempts):
		return mk(KindPassphrase, "Error: could not decrypt signing key for %s: %v", gun, err)
	case errors.As(err, &unavailable):
		if strings.Contains(err.Error(), "401") {
			return mk(KindUnauthorized, "Error: %v", err)
		}
		return mk(KindServer, "Error: error contacting notary server: %v", err)
	case errors.As(err, &invalidOp):
		return mk(KindRejected, "Error: %v", err)
	case isCertificateError(err):
		return mk(KindCertificate, "Error: error contacting notary server: %v", err)
	}
	return err
}

func isCertificateError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:") || strings.Contains(msg, "certificate")
}
