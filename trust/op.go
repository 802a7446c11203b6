package trust

import (
	"crypto/x509"
	"errors"
	"net/http"

	"github.com/theupdateframework/notary/storage"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// Op is what a command was doing when an error happened. The same refusal
// (ACR answers a bare 401) means different things depending on it: while
// writing trust data a missing AcrImageSigner role, while reading it no
// AcrPull or a repository-scoped token, while pushing an image no AcrPush.
type Op int

// The operations the plugin tells apart when it explains an error.
const (
	OpUnknown      Op = iota
	OpTrustRead       // reading trust data: pull, resolve, verify, inspect
	OpTrustWrite      // publishing trust data: push, sign, revoke, signer add and remove
	OpRegistryRead    // reading the registry: manifest digest and size, tag list, engine pull
	OpRegistryPush    // pushing an image: the engine's push
)

func (o Op) String() string {
	switch o {
	case OpTrustRead:
		return "trust read"
	case OpTrustWrite:
		return "trust write"
	case OpRegistryRead:
		return "registry read"
	case OpRegistryPush:
		return "registry push"
	}
	return "unknown"
}

// OpError marks an error with the operation that failed and the reference
// it was for. It adds meaning, not words: its message is Err's, so Docker's
// wording reaches the user unchanged.
type OpError struct {
	Op  Op
	Ref Ref
	Err error
}

func (e *OpError) Error() string { return e.Err.Error() }
func (e *OpError) Unwrap() error { return e.Err }

// WithOp marks err as having happened during op on ref. nil stays nil, and
// an error that is already marked keeps its mark: the innermost mark is the
// most precise (signing marks its registry read and its trust write apart).
func WithOp(op Op, ref Ref, err error) error {
	if err == nil {
		return nil
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return err
	}
	return &OpError{Op: op, Ref: ref, Err: err}
}

// OpOf returns the operation mark of err, if it has one.
func OpOf(err error) (*OpError, bool) {
	var oe *OpError
	if errors.As(err, &oe) {
		return oe, true
	}
	return nil, false
}

// Denied reports whether err is a server's refusal: the trust server's 401
// or 403 (KindUnauthorized, told apart by the guard that saw the response),
// or a 401 or 403 from the registry.
func Denied(err error) bool {
	if err == nil {
		return false
	}
	if KindOf(err) == KindUnauthorized {
		return true
	}
	var er *errcode.ErrorResponse
	if asThrough(err, &er) {
		return er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden
	}
	return false
}

// UntrustedCertificate returns the certificate that failed verification
// because no trusted CA issued it (x509: certificate signed by unknown
// authority), so that its issuer can be named.
func UntrustedCertificate(err error) (*x509.Certificate, bool) {
	var ua x509.UnknownAuthorityError
	if asThrough(err, &ua) && ua.Cert != nil {
		return ua.Cert, true
	}
	var pua *x509.UnknownAuthorityError
	if asThrough(err, &pua) && pua.Cert != nil {
		return pua.Cert, true
	}
	return nil, false
}

// asThrough is errors.As that also looks inside notary's NetworkError,
// which wraps the transport's error without an Unwrap method.
func asThrough[T any](err error, target *T) bool {
	for err != nil {
		if errors.As(err, target) {
			return true
		}
		var ne storage.NetworkError
		if !errors.As(err, &ne) || ne.Wrapped == nil {
			return false
		}
		err = ne.Wrapped
	}
	return false
}
