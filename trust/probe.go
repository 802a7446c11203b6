package trust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Probe checks, without writing anything to the registry or the trust
// server, what this machine and its login can do with a repository: reach
// the trust server over verified TLS (CheckServer, here) and get tokens for
// registry pull and push and for trust read and write (CheckAccess, in
// probe_access.go). Each check returns data; the plugin's doctor command
// words it, with ReadTrustData (trustdata.go) and the cache (cache.go).
type Probe struct {
	// Network has TLS material, credentials and the user agent.
	Network Network
	// ServerOverride is DOCKER_CONTENT_TRUST_SERVER; empty means https://<registry>.
	ServerOverride string
	// Audit, when non-nil, records the HTTP exchanges.
	Audit *Audit
}

// ServerCheck is whether the trust server answers over verified TLS.
type ServerCheck struct {
	// URL is the trust server, https://<registry> unless overridden.
	URL string
	// Reachable is true when a TLS connection could be made at all.
	Reachable bool
	// Verified is true when the server's certificate verified against the
	// system roots and <CertsDir>/<host>.
	Verified bool
	// Subject and Issuer name the server's leaf certificate, when one was seen.
	Subject string
	Issuer  string
	// NotAfter is when that certificate expires.
	NotAfter time.Time
	// Err is why the connection or the verification failed.
	Err error
}

// CheckServer connects to ref's trust server over TLS. When verification
// fails it connects once more without verifying, only to name the
// certificate's issuer; nothing is sent over that connection.
func (p Probe) CheckServer(ctx context.Context, ref Ref) ServerCheck {
	server, err := ServerURL(ref.Registry(), p.ServerOverride)
	if err != nil {
		return ServerCheck{Err: err}
	}
	res := ServerCheck{URL: server}
	u, err := url.Parse(server)
	if err != nil {
		res.Err = fmt.Errorf("parsing trust server URL %q: %w", server, err)
		return res
	}
	cfg, err := p.Network.TLSConfig(u.Host)
	if err != nil {
		res.Err = err
		return res
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	cfg = cfg.Clone()
	cfg.ServerName = u.Hostname()
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err == nil {
		res.Reachable, res.Verified = true, true
		res.describe(conn.(*tls.Conn).ConnectionState().PeerCertificates)
		_ = conn.Close()
		return res
	}
	res.Err = fmt.Errorf("connecting to trust server %s: %w", server, err)
	if !TLSFailure(err) {
		return res
	}
	insecure := cfg.Clone()
	insecure.InsecureSkipVerify = true //nolint:gosec // only to name the certificate that failed; nothing is sent
	dialer.Config = insecure
	if conn, err := dialer.DialContext(ctx, "tcp", addr); err == nil {
		res.Reachable = true
		res.describe(conn.(*tls.Conn).ConnectionState().PeerCertificates)
		_ = conn.Close()
	}
	return res
}

func (s *ServerCheck) describe(chain []*x509.Certificate) {
	if len(chain) == 0 {
		return
	}
	leaf := chain[0]
	s.Subject, s.Issuer, s.NotAfter = certName(leaf.Subject.CommonName, leaf.Subject.String()), certName(leaf.Issuer.CommonName, leaf.Issuer.String()), leaf.NotAfter
}

func certName(cn, full string) string {
	if cn != "" {
		return cn
	}
	return full
}
