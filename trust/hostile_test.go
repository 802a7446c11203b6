package trust

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// hostileSandbox starts the sandbox with app (v1 signed, dev not) and
// returns it with a Network that trusts it as user pull.
func hostileSandbox(t *testing.T) (*sandbox.Sandbox, Network, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	t.Cleanup(func() { sb.Close() })
	assert.NilError(t, sb.Seed(context.Background(), []sandbox.SeedRepo{
		{Name: "app", Signed: []string{"v1"}, Unsigned: []string{"dev"}},
	}, 1))
	config := t.TempDir()
	assert.NilError(t, sb.InstallCA(config))
	network := Network{
		CertsDir: filepath.Join(config, "tls"),
		Credentials: func(string) (Credential, error) {
			return Credential{Username: sandbox.UserPull, Password: sandbox.Password}, nil
		},
	}
	return sb, network, filepath.Join(config, "trust")
}

// TestTrustRedirects: a trust server that redirects its metadata to plain
// http, or to another host, is refused with KindRedirect (it read as "no
// trust data" before); a host the configuration allows is followed.
func TestTrustRedirects(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, network, _ := hostileSandbox(t)
	ref, err := ParseRef(sb.Host() + "/app:v1")
	assert.NilError(t, err)
	resolve := func(network Network) error {
		repo, err := Opener{TrustDir: t.TempDir(), Network: network}.Open(context.Background(), ref, false)
		if err != nil {
			return err
		}
		_, err = Resolve(context.Background(), repo, ref.Tag)
		return err
	}
	for _, tc := range []struct {
		mode sandbox.Hostility
		want string
	}{
		{sandbox.HostileRedirectHTTP, "(plain HTTP)"},
		{sandbox.HostileRedirectHost, "(another host)"},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			assert.NilError(t, sb.SetHostile("app", tc.mode))
			err := resolve(network)
			assert.Check(t, is.Equal(KindOf(err), KindRedirect), "%v", err)
			assert.Check(t, IsRedirectRefused(err), "%v", err)
			assert.Check(t, is.ErrorContains(err, "Warning: potential malicious behavior - the trust server redirected https://"+sb.Host()+"/v2/"))
			assert.Check(t, is.ErrorContains(err, tc.want))
		})
	}

	_, port, err := net.SplitHostPort(sb.Host())
	assert.NilError(t, err)
	allowed := network
	allowed.TrustRedirectHosts = []string{net.JoinHostPort("localhost", port)}
	assert.NilError(t, sb.SetHostile("app", sandbox.HostileRedirectHost))
	assert.NilError(t, resolve(allowed), "a host the configuration allows")
	assert.NilError(t, sb.SetHostile("app", sandbox.HostileRedirectHTTP))
	assert.Check(t, is.Equal(KindOf(resolve(allowed)), KindRedirect), "plain http is never allowed")
}

// TestRedirectPolicy: trust metadata follows only https on its own host or
// an allowed one; registry requests (blob downloads) follow as net/http does.
func TestRedirectPolicy(t *testing.T) {
	n := Network{TrustRedirectHosts: []string{"cdn.example:443"}}
	req := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		assert.NilError(t, err)
		return r
	}
	trustReq := req("https://reg.example/v2/reg.example/app/_trust/tuf/timestamp.json")
	blobReq := req("https://reg.example/v2/app/blobs/sha256:00")
	for _, tc := range []struct {
		name  string
		via   *http.Request
		to    string
		plain bool
		ok    bool
	}{
		{"trust, https, same host", trustReq, "https://reg.example/other/timestamp.json", false, true},
		{"trust, https, allowed host", trustReq, "https://cdn.example:443/timestamp.json", false, true},
		{"trust, https, other host", trustReq, "https://evil.example/timestamp.json", false, false},
		{"trust, http, same host", trustReq, "http://reg.example/v2/reg.example/app/_trust/tuf/timestamp.json", true, false},
		{"trust, http, allowed host", trustReq, "http://cdn.example:443/timestamp.json", true, false},
		{"registry, other host", blobReq, "https://storage.example/blob", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := n.checkRedirect(req(tc.to), []*http.Request{tc.via})
			if tc.ok {
				assert.Check(t, err == nil, "%v", err)
				return
			}
			var re *RedirectError
			assert.Assert(t, errors.As(err, &re), "%v", err)
			assert.Check(t, is.Equal(re.Plain, tc.plain))
			assert.Check(t, is.Equal(re.To, tc.to))
		})
	}
	assert.Check(t, is.ErrorContains(n.checkRedirect(req("https://reg.example/x"), make([]*http.Request, 10)), "stopped after 10 redirects"))
}

// TestHostileListings: the sandbox's looping Link stops the catalog, the
// distribution tag listing and ACR's tag listing with ErrPageRepeated;
// names with escape sequences come through as they are (the plugin
// escapes them where it prints them).
func TestHostileListings(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, network, _ := hostileSandbox(t)
	ref, err := ParseRef(sb.Host() + "/app")
	assert.NilError(t, err)
	reg := NewRegistry(network, nil)

	assert.NilError(t, sb.SetHostile("", sandbox.HostileLoopLink))
	err = reg.Repositories(context.Background(), sb.Host(), func([]string) error { return nil })
	assert.Check(t, errors.Is(err, ErrPageRepeated), "catalog: %v", err)
	_, err = reg.Tags(context.Background(), ref)
	assert.Check(t, errors.Is(err, ErrPageRepeated), "tags/list: %v", err)
	_, err = reg.TagDigests(context.Background(), ref)
	assert.Check(t, errors.Is(err, ErrPageRepeated), "_tags: %v", err)

	assert.NilError(t, sb.SetHostile("", sandbox.HostileEscapeNames))
	tags, err := reg.Tags(context.Background(), ref)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(tags, append([]string{"dev", "v1"}, sandbox.EscapeNames...)))
	digests, err := reg.TagDigests(context.Background(), ref)
	assert.NilError(t, err)
	for _, n := range sandbox.EscapeNames {
		_, ok := digests[n]
		assert.Check(t, ok, "%q", n)
	}
}
