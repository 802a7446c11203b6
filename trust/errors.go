package trust

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"github.com/theupdateframework/notary/tuf/validation"
)

// Sentinel errors for input that can never work.
var (
	// ErrDigestReference: a digest reference where a tag is required.
	ErrDigestReference = errors.New("cannot use a digest reference for IMAGE:TAG")
	// ErrNoSignableRoles: delegations exist but none of the local keys belongs to one.
	ErrNoSignableRoles = errors.New("no valid signing keys for delegation roles")
	// ErrOfflineWrite: --offline with a command that publishes trust data.
	ErrOfflineWrite = errors.New("cannot publish trust data offline: signing, revoking and changing signers or keys need the trust server")
)

// Kind says what went wrong with trust data, independently of wording.
type Kind int

// The kinds of trust errors. The plugin attaches a remedy to each
// (plugin/internal/cmdutil). The kinds for which Kind.Security is true
// (KindExpired, KindRootRotation to KindChecksum, and KindRedirect) are
// refusals of trust data that may come from an attack.
const (
	KindUnknown        Kind = iota
	KindNoTrustData         // the repository has no trust data on the server
	KindMetaMissing         // some trust metadata is missing on the server
	KindNotSigned           // the tag is not signed (in targets or targets/releases)
	KindExpired             // metadata expired (Error.Role says which)
	KindKeyNotFound         // a signing key is not in the local store
	KindNoSigningKeys       // no usable key, or it could not be decrypted
	KindPassphrase          // passphrase wrong or not available
	KindNetwork             // the trust server could not be reached
	KindCertificate         // TLS verification of the trust server failed
	KindUnauthorized        // the trust server answered 401 or 403
	KindServer              // the trust server answered another error
	KindRejected            // the trust server rejected an update (400)
	KindNotTrustServer      // the server did not speak notary
	KindRootRotation        // a new root that the trusted (cached) root did not sign
	KindPinMismatch         // the root does not match the repository's pin
	KindUntrustedRoot       // the root itself is invalid (no pin, first use)
	KindBadSignature        // metadata not signed by the keys its role needs
	KindRollback            // metadata older than what this machine has seen
	KindChecksum            // metadata does not match the checksum that lists it
	KindUnpinned            // pins are required and none covers the repository
	KindRedirect            // the trust server redirected away from https on its own host (redirect.go)
	KindOfflineNoCache      // --offline with nothing cached for the repository
	KindThrottled           // the server kept answering 429 past the retry bound (retry.go); keep last (Kinds)
)

// Kinds lists every Kind but KindUnknown, for tests and docs that must
// cover them all.
func Kinds() []Kind {
	var out []Kind
	for k := KindNoTrustData; k <= KindThrottled; k++ {
		out = append(out, k)
	}
	return out
}

// Error is a classified trust error. Message keeps Docker's wording where
// users and scripts rely on it (docker/cli cli/trust/trust.go NotaryError;
// see "Errors" in docs/architecture.md); Err is the cause.
type Error struct {
	Kind    Kind
	GUN     data.GUN
	Message string
	Err     error

	// Role is the expired role for KindExpired.
	Role data.RoleName
	// Pin is the pin that covers GUN, when one does.
	Pin *Pin
	// Trusted and Presented are root key IDs: those this machine trusted
	// (cached root or pin) and those the server presented, when known.
	Trusted, Presented []string
	// CacheUnused is set when trust data cached on this machine could have
	// answered but was not used, because the server could not confirm that
	// it is current (fail-closed; --offline opts in to the cache).
	CacheUnused bool
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

// Security reports whether k is a refusal of trust data that may be an
// attack (as opposed to missing data, keys, access or connectivity).
func (k Kind) Security() bool {
	switch k {
	case KindRootRotation, KindPinMismatch, KindUntrustedRoot, KindBadSignature, KindRollback, KindChecksum, KindExpired, KindRedirect:
		return true
	}
	return false
}

// Classify maps an error from notary to an *Error with Docker's message
// (cli/trust/trust.go NotaryError). It decides by notary's error types and
// Go's TLS and x509 types, looking through wrapping, never by the words of
// a message. An error that is already classified, or unknown, is returned
// as it is.
func Classify(gun data.GUN, err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	if e := classifyRefusal(gun, err); e != nil {
		return e
	}
	mk := func(k Kind, format string, args ...any) *Error {
		return &Error{Kind: k, GUN: gun, Message: fmt.Sprintf(format, args...), Err: err}
	}
	var (
		syntaxErr   *json.SyntaxError
		expired     signed.ErrExpired
		keyNotFound trustmanager.ErrKeyNotFound
		netErr      storage.NetworkError
		metaMissing storage.ErrMetaNotFound
		noKeys      signed.ErrNoKeys
		notExist    client.ErrRepositoryNotExist
		insuffSigs  signed.ErrInsufficientSignatures
		noTarget    client.ErrNoSuchTarget
		pwInvalid   trustmanager.ErrPasswordInvalid
		attempts    trustmanager.ErrAttemptsExceeded
		unavailable storage.ErrServerUnavailable
		invalidOp   storage.ErrInvalidOperation
		notInit     client.ErrRepoNotInitialized
		offline     storage.ErrOffline
	)
	if re, ok := Throttling(err); ok {
		// Before the network kinds: notary wraps the transport's error.
		return mk(KindThrottled, "Error: %s is throttling requests: %v", re.Host, re)
	}
	switch {
	case errors.As(err, &expired):
		e := mk(KindExpired, "Error: remote repository %s out-of-date: %v", gun, err)
		e.Role = data.RoleName(expired.Role)
		return e
	case errors.As(err, &syntaxErr):
		return mk(KindNotTrustServer, "Error: no trust data available for remote repository %s. Try running notary server and setting DOCKER_CONTENT_TRUST_SERVER to its HTTPS address?", gun)
	case errors.As(err, &keyNotFound):
		return mk(KindKeyNotFound, "Error: signing keys for remote repository %s not found: %v", gun, err)
	case errors.As(err, &offline):
		return mk(KindOfflineNoCache, "no trust data for %s is cached on this machine, so it cannot be read offline", gun)
	case errors.As(err, &netErr):
		if TLSFailure(err) {
			return mk(KindCertificate, "Error: error contacting notary server: %v", err)
		}
		return mk(KindNetwork, "Error: error contacting notary server: %v", err)
	case errors.As(err, &metaMissing):
		return mk(KindMetaMissing, "Error: trust data missing for remote repository %s or remote repository not found: %v", gun, err)
	case errors.As(err, &noKeys):
		return mk(KindNoSigningKeys, "Error: could not find signing keys for remote repository %s, or could not decrypt signing key: %v", gun, err)
	case errors.As(err, &notExist), errors.As(err, &notInit):
		return mk(KindNoTrustData, "Error: remote trust data does not exist for %s: %v", gun, err)
	case errors.As(err, &insuffSigs):
		return mk(KindNoSigningKeys, "Error: could not produce valid signature for %s: %v", gun, err)
	case errors.As(err, &noTarget):
		return mk(KindNotSigned, "%v", err)
	case errors.As(err, &pwInvalid), errors.As(err, &attempts):
		return mk(KindPassphrase, "Error: could not decrypt signing key for %s: %v", gun, err)
	case errors.As(err, &unavailable):
		// notary keeps the status code unexported; the guard, which saw
		// the response, tells a 401 or 403 apart (see guard.classify).
		return mk(KindServer, "Error: error contacting notary server: %v", err)
	case errors.As(err, &invalidOp):
		return mk(KindRejected, "Error: %v", err)
	case TLSFailure(err):
		return mk(KindCertificate, "Error: error contacting notary server: %v", err)
	}
	return err
}

// classifyRefusal classifies the refusals of trust data that may be an
// attack (Docker's "potential malicious behavior" warnings), or returns nil.
func classifyRefusal(gun data.GUN, err error) *Error {
	var (
		keyType     signed.ErrInvalidKeyType
		lowVersion  signed.ErrLowVersion
		threshold   signed.ErrRoleThreshold
		mismatch    data.ErrMismatchedChecksum
		badChecksum data.ErrInvalidChecksum
		malicious   storage.ErrMaliciousServer
		badRoot     validation.ErrBadRoot
	)
	const warning = "Warning: potential malicious behavior - "
	mk := func(k Kind, what string) *Error {
		return &Error{Kind: k, GUN: gun, Message: fmt.Sprintf(warning+what+" for remote repository %s: %v", gun, err), Err: err}
	}
	var redirect *RedirectError
	if asThrough(err, &redirect) {
		// Before the network kinds: notary wraps it as a NetworkError.
		return &Error{Kind: KindRedirect, GUN: gun, Message: fmt.Sprintf(warning+"%v (remote repository %s)", redirect, gun), Err: err}
	}
	switch {
	case rootRotationFailure(err):
		return mk(KindRootRotation, "trust data mismatch")
	case pinValidationFailure(err), errors.As(err, &badRoot):
		return mk(KindUntrustedRoot, "trust data mismatch")
	case errors.As(err, &lowVersion):
		return mk(KindRollback, "trust data version is lower than expected")
	case errors.As(err, &threshold), errors.As(err, &keyType):
		return mk(KindBadSignature, "trust data has insufficient signatures")
	case errors.As(err, &mismatch), errors.As(err, &badChecksum), errors.As(err, &malicious):
		return mk(KindChecksum, "trust data does not match its checksum")
	}
	return nil
}

// rootRotationFailure and pinValidationFailure match trustpinning's errors
// in both forms: notary returns them by pointer, though their Error methods
// have value receivers, and errors.As matches only the exact form.
func rootRotationFailure(err error) bool {
	var v trustpinning.ErrRootRotationFail
	var p *trustpinning.ErrRootRotationFail
	return errors.As(err, &v) || errors.As(err, &p)
}

func pinValidationFailure(err error) bool {
	var v trustpinning.ErrValidationFail
	var p *trustpinning.ErrValidationFail
	return errors.As(err, &v) || errors.As(err, &p)
}

// TLSFailure reports whether err is a failed TLS handshake or certificate
// verification, by Go's crypto/tls and crypto/x509 error types (looking
// inside notary's NetworkError).
func TLSFailure(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		unknown   x509.UnknownAuthorityError
		unknownP  *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		hostnameP *x509.HostnameError
		invalid   x509.CertificateInvalidError
		invalidP  *x509.CertificateInvalidError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		echReject *tls.ECHRejectionError
	)
	return asThrough(err, &verify) || asThrough(err, &unknown) || asThrough(err, &unknownP) ||
		asThrough(err, &hostname) || asThrough(err, &hostnameP) || asThrough(err, &invalid) ||
		asThrough(err, &invalidP) || asThrough(err, &record) || asThrough(err, &alert) || asThrough(err, &echReject)
}

// NetworkFailure reports whether err is a failure to reach a server at all
// (DNS, refused or reset connection, timeout), by type.
func NetworkFailure(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	return asThrough(err, &opErr) || asThrough(err, &dnsErr)
}
