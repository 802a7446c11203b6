package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/theupdateframework/notary/storage"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

func TestWithOp(t *testing.T) {
	ref, err := ParseRef("myreg.azurecr.io/app:v1")
	assert.NilError(t, err)
	assert.NilError(t, WithOp(OpTrustRead, ref, nil))

	cause := errors.New("server returned 401")
	inner := WithOp(OpTrustWrite, ref, cause)
	outer := WithOp(OpRegistryRead, ref, fmt.Errorf("failed to sign: %w", inner))
	assert.Equal(t, outer.Error(), "failed to sign: server returned 401", "the mark adds no words")
	oe, ok := OpOf(outer)
	assert.Assert(t, ok)
	assert.Equal(t, oe.Op, OpTrustWrite, "the innermost mark wins")
	assert.Equal(t, oe.Ref.GUN().String(), "myreg.azurecr.io/app")
	assert.Assert(t, errors.Is(outer, cause))

	_, ok = OpOf(cause)
	assert.Assert(t, !ok)
}

func TestDenied(t *testing.T) {
	regErr := func(code int) error {
		u, _ := url.Parse("https://myreg.azurecr.io/v2/app/manifests/v1")
		return fmt.Errorf("resolving: %w", &errcode.ErrorResponse{Method: http.MethodHead, URL: u, StatusCode: code})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "trust server unavailable", err: Classify("myreg.azurecr.io/app", storage.ErrServerUnavailable{}), want: false},
		{name: "trust unauthorized kind", err: &Error{Kind: KindUnauthorized}, want: true},
		{name: "registry 401", err: regErr(http.StatusUnauthorized), want: true},
		{name: "registry 403", err: regErr(http.StatusForbidden), want: true},
		{name: "registry 404", err: regErr(http.StatusNotFound), want: false},
		{name: "registry 401 inside notary's network error", err: storage.NetworkError{Wrapped: regErr(http.StatusUnauthorized)}, want: true},
		{name: "other", err: errors.New("boom"), want: false},
		{name: "nil", err: nil, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, Denied(tc.err), tc.want) })
	}
}

func TestUntrustedCertificate(t *testing.T) {
	cert := &x509.Certificate{Issuer: pkix.Name{CommonName: "Corporate Proxy CA"}}
	// notary wraps the transport error in a NetworkError without Unwrap.
	err := Classify("myreg.azurecr.io/app", storage.NetworkError{Wrapped: &url.Error{Op: "Get", URL: "https://myreg.azurecr.io/v2/", Err: x509.UnknownAuthorityError{Cert: cert}}})
	assert.Equal(t, KindOf(err), KindCertificate)
	got, ok := UntrustedCertificate(err)
	assert.Assert(t, ok)
	assert.Equal(t, got.Issuer.CommonName, "Corporate Proxy CA")

	_, ok = UntrustedCertificate(errors.New("x509: something else"))
	assert.Assert(t, !ok)
}

func TestAuditDenials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/token":
			w.WriteHeader(http.StatusUnauthorized)
		case "/v2/myreg.azurecr.io/app/_trust/tuf/":
			w.Header().Set("Www-Authenticate", `Bearer realm="https://x/oauth2/token",service="x",scope="repository:myreg.azurecr.io/app:pull,push"`)
			w.WriteHeader(http.StatusUnauthorized)
		case "/v2/app/manifests/v1":
			w.WriteHeader(http.StatusForbidden)
		default:
			w.Header().Set("Www-Authenticate", `Bearer realm="https://x/oauth2/token",service="x"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	a := &Audit{}
	c := &http.Client{Transport: a.wrap(http.DefaultTransport)}
	send := func(method, path string, authorized bool) {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		assert.NilError(t, err)
		if authorized {
			req.Header.Set("Authorization", "Bearer token")
		}
		resp, err := c.Do(req)
		assert.NilError(t, err)
		_ = resp.Body.Close()
	}
	send(http.MethodGet, "/v2/app/tags/list", false)                    // the anonymous first try: always challenged
	send(http.MethodPost, "/v2/myreg.azurecr.io/app/_trust/tuf/", true) // write refused
	send(http.MethodHead, "/v2/app/manifests/v1", false)                // 403 counts without credentials
	send(http.MethodPost, "/oauth2/token", false)                       // the login itself refused

	ds := a.Denials()
	assert.Assert(t, is.Len(ds, 3), "%+v", ds)
	assert.Check(t, ds[0].Trust && ds[0].Write() && !ds[0].Login)
	assert.Check(t, is.Equal(ds[0].Scope, "repository:myreg.azurecr.io/app:pull,push"))
	assert.Check(t, !ds[1].Trust && !ds[1].Write() && ds[1].Status == http.StatusForbidden)
	assert.Check(t, ds[2].Login && ds[2].Path == "/oauth2/token")

	var none *Audit
	assert.Check(t, is.Len(none.Denials(), 0))
}
