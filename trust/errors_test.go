package trust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"testing"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"gotest.tools/v3/assert"
)

func TestClassify(t *testing.T) {
	const gun = "myreg.azurecr.io/app"
	tests := []struct {
		name string
		err  error
		kind Kind
		msg  string
	}{
		{name: "no trust data", err: client.ErrRepositoryNotExist{}, kind: KindNoTrustData, msg: "Error: remote trust data does not exist for myreg.azurecr.io/app: "},
		{name: "not signed", err: client.ErrNoSuchTarget("v1"), kind: KindNotSigned, msg: "No valid trust data for v1"},
		{name: "expired", err: signed.ErrExpired{Role: "targets"}, kind: KindExpired, msg: "Error: remote repository myreg.azurecr.io/app out-of-date: "},
		{name: "network", err: storage.NetworkError{Wrapped: errors.New("dial tcp: connection refused")}, kind: KindNetwork, msg: "Error: error contacting notary server: "},
		{name: "meta missing", err: storage.ErrMetaNotFound{Resource: "snapshot"}, kind: KindMetaMissing, msg: "Error: trust data missing for remote repository myreg.azurecr.io/app or remote repository not found: "},
		{name: "low version", err: signed.ErrLowVersion{}, kind: KindRollback, msg: "Warning: potential malicious behavior - trust data version is lower than expected for remote repository"},
		{name: "threshold", err: signed.ErrRoleThreshold{}, kind: KindBadSignature, msg: "Warning: potential malicious behavior - trust data has insufficient signatures"},
		{name: "root rotation (notary returns a pointer)", err: fmt.Errorf("updating: %w", &trustpinning.ErrRootRotationFail{Reason: "failed to validate data with current trusted certificates"}), kind: KindRootRotation, msg: "Warning: potential malicious behavior - trust data mismatch for remote repository myreg.azurecr.io/app"},
		{name: "root rotation as a value", err: trustpinning.ErrRootRotationFail{Reason: "x"}, kind: KindRootRotation, msg: "trust data mismatch"},
		{name: "pin validation (pointer)", err: &trustpinning.ErrValidationFail{Reason: "unable to retrieve valid leaf certificates"}, kind: KindUntrustedRoot, msg: "trust data mismatch"},
		{name: "checksum", err: data.ErrMismatchedChecksum{}, kind: KindChecksum, msg: "does not match its checksum"},
		{name: "offline without cache", err: storage.ErrOffline{}, kind: KindOfflineNoCache, msg: "cannot be read offline"},
		{name: "TLS by type", err: storage.NetworkError{Wrapped: &url.Error{Op: "Get", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}}, kind: KindCertificate, msg: "Error: error contacting notary server: "},
		{name: "words are not types", err: storage.NetworkError{Wrapped: errors.New("x509: certificate signed by unknown authority")}, kind: KindNetwork, msg: "Error: error contacting notary server: "},
		{name: "no keys", err: signed.ErrNoKeys{}, kind: KindNoSigningKeys, msg: "Error: could not find signing keys for remote repository myreg.azurecr.io/app, or could not decrypt signing key"},
		{name: "key not found", err: trustmanager.ErrKeyNotFound{KeyID: "abc"}, kind: KindKeyNotFound, msg: "Error: signing keys for remote repository myreg.azurecr.io/app not found"},
		{name: "password", err: trustmanager.ErrPasswordInvalid{}, kind: KindPassphrase, msg: "Error: could not decrypt signing key for myreg.azurecr.io/app"},
		{name: "wrapped stays recognised", err: fmt.Errorf("failed to sign x:y: %w", client.ErrRepositoryNotExist{}), kind: KindNoTrustData, msg: "Error: remote trust data does not exist"},
		{name: "unknown passes through", err: errors.New("boom"), kind: KindUnknown, msg: "boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(gun, tc.err)
			assert.Equal(t, KindOf(got), tc.kind)
			assert.ErrorContains(t, got, tc.msg)
			// The cause stays reachable: a classified error unwraps to the
			// very error notary returned; an unknown one is returned as it is.
			cause := got
			if tc.kind != KindUnknown {
				cause = errors.Unwrap(got)
			}
			assert.Assert(t, reflect.DeepEqual(cause, tc.err), "cause must stay reachable: got %#v", cause)
		})
	}
}

func TestClassifyServerError(t *testing.T) {
	// A server error that is not a 401 is a server error, not an access problem.
	err := Classify("h/app", storage.ErrServerUnavailable{})
	assert.Equal(t, KindOf(err), KindServer)
}
