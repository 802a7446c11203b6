package trust

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
)

// TLS all the way (issue 21): the trust server must be reached over
// verified TLS, so a redirect of a trust metadata request is followed only
// to https on the same host, or on a host that Network.TrustRedirectHosts
// allows. Anything else is a *RedirectError, never "no trust data" (a
// downgrade to http:// that then answers 404 must not read as a repository
// without trust data).

// RedirectError is a trust metadata request that the server redirected to
// where trust data is not read from.
type RedirectError struct {
	// From and To are the URLs (passwords removed) the redirect went
	// from and to.
	From, To string
	// Plain is true when To is not https.
	Plain bool
}

func (e *RedirectError) Error() string {
	why := "another host"
	if e.Plain {
		why = "plain HTTP"
	}
	return fmt.Sprintf("the trust server redirected %s to %s (%s): trust data is read only over https from the trust server's own host",
		safetext.Escape(e.From), safetext.Escape(e.To), why)
}

// maxRedirects is net/http's own limit, kept for the requests the policy
// lets through.
const maxRedirects = 10

// checkRedirect is the redirect policy of every client made from n.
// Registry requests are redirected as net/http does (ACR sends blob
// downloads to storage hosts); trust metadata requests (/_trust/ paths)
// only to https on the same host or an allowed one.
func (n Network) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0]
	if !strings.Contains(first.URL.Path, "/_trust/") {
		return nil
	}
	plain := req.URL.Scheme != "https"
	if !plain && (strings.EqualFold(req.URL.Host, first.URL.Host) || n.redirectAllowed(req.URL.Host)) {
		return nil
	}
	return &RedirectError{From: via[len(via)-1].URL.Redacted(), To: req.URL.Redacted(), Plain: plain}
}

func (n Network) redirectAllowed(host string) bool {
	return slices.ContainsFunc(n.TrustRedirectHosts, func(h string) bool { return strings.EqualFold(h, host) })
}

// IsRedirectRefused reports whether err is, or wraps, a *RedirectError
// (inside notary's NetworkError too).
func IsRedirectRefused(err error) bool {
	var re *RedirectError
	return asThrough(err, &re) || errors.As(err, &re)
}
