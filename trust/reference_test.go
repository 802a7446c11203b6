package trust

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		name, in                   string
		gun, registry, tag, digest string
		familiar                   string
	}{
		{name: "acr tag", in: "myreg.azurecr.io/app:v1", gun: "myreg.azurecr.io/app", registry: "myreg.azurecr.io", tag: "v1", familiar: "myreg.azurecr.io/app"},
		{name: "nested path no tag", in: "myreg.azurecr.io/team/app", gun: "myreg.azurecr.io/team/app", registry: "myreg.azurecr.io", familiar: "myreg.azurecr.io/team/app"},
		{name: "loopback with port", in: "127.0.0.1:5000/app:latest", gun: "127.0.0.1:5000/app", registry: "127.0.0.1:5000", tag: "latest", familiar: "127.0.0.1:5000/app"},
		{name: "docker hub short", in: "alpine:3", gun: "docker.io/library/alpine", registry: "docker.io", tag: "3", familiar: "alpine"},
		{
			name: "digest", in: "myreg.azurecr.io/app@sha256:" + hex64, gun: "myreg.azurecr.io/app", registry: "myreg.azurecr.io",
			digest: "sha256:" + hex64, familiar: "myreg.azurecr.io/app",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRef(tc.in)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(r.Original, tc.in))
			assert.Check(t, is.Equal(r.GUN().String(), tc.gun))
			assert.Check(t, is.Equal(r.Registry(), tc.registry))
			assert.Check(t, is.Equal(r.Tag, tc.tag))
			assert.Check(t, is.Equal(r.Digest.String(), tc.digest))
			assert.Check(t, is.Equal(r.Familiar(), tc.familiar))
		})
	}
}

func TestParseRefInvalid(t *testing.T) {
	_, err := ParseRef("UPPER/Case:tag")
	assert.ErrorContains(t, err, `parsing reference "UPPER/Case:tag"`)
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestServerURL(t *testing.T) {
	tests := []struct {
		name, host, override, want, wantErr string
	}{
		{name: "acr default is the login server", host: "myreg.azurecr.io", want: "https://myreg.azurecr.io"},
		{name: "china cloud", host: "myreg.azurecr.cn", want: "https://myreg.azurecr.cn"},
		{name: "override https", host: "myreg.azurecr.io", override: "https://notary.example.com:4443", want: "https://notary.example.com:4443"},
		{name: "override http refused", host: "x", override: "http://notary.example.com", wantErr: "valid https URL required for trust server, got http://notary.example.com"},
		{name: "override garbage refused", host: "x", override: "notary", wantErr: "valid https URL required for trust server, got notary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ServerURL(tc.host, tc.override)
			if tc.wantErr != "" {
				assert.Error(t, err, tc.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.1.2.3": true, "localhost:443": true, "[::1]:5000": true,
		"myreg.azurecr.io": false, "10.0.0.1:5000": false,
	} {
		assert.Check(t, is.Equal(IsLoopback(host), want), host)
	}
}
