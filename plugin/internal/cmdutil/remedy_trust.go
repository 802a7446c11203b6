package cmdutil

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// Remedies for trust data errors by kind, and for the connection to the
// trust server.

// NoTrustDataRemedy explains missing trust data: nothing signed yet, or
// content trust off for the registry (which, on ACR, deletes all trust data).
func NoTrustDataRemedy(op trust.Op, w Where) string {
	if op == trust.OpTrustWrite {
		return fmt.Sprintf("The trust server %s serves no trust data for %s, so nothing can be signed there: content trust is off "+
			"for the registry, or DOCKER_CONTENT_TRUST_SERVER names the wrong server. %s.", w.Server, w.GUN, enableContentTrust(w))
	}
	return fmt.Sprintf("%s has no trust data: no tag of it was signed yet, or content trust is off for the registry "+
		"(turning it off deletes all trust data). ", w.GUN) + NoTrustDataFix(w)
}

// NoTrustDataFix is what to do about a repository without trust data.
func NoTrustDataFix(w Where) string {
	return fmt.Sprintf("%s. Then sign a tag: `docker acrtrust push %s:TAG` or `docker acrtrust sign %s:TAG`.", enableContentTrust(w), w.Repo, w.Repo)
}

func enableContentTrust(w Where) string {
	if w.acr != "" {
		return fmt.Sprintf("On ACR, check it with `az acr config content-trust show --registry %s` and enable it with "+
			"`az acr config content-trust update --registry %s --status enabled` (Premium tier)", w.acr, w.acr)
	}
	return "On ACR, content trust must be enabled for the registry (Premium tier)"
}

func (d *Deps) CertificateRemedy(host, issuer string) string {
	if host == "" {
		return fmt.Sprintf("The server's TLS certificate is not trusted. If a private CA issued it, put that CA's certificate in %s.",
			filepath.Join(d.ConfigDir, "tls", "<host>", "ca.crt"))
	}
	what := "The TLS certificate of " + host + " is not trusted"
	if issuer != "" {
		what += fmt.Sprintf(" (issued by %q)", issuer)
	}
	return what + fmt.Sprintf(". If a private CA issued it, put that CA's certificate in %s; if a proxy intercepts TLS, "+
		"add the proxy's CA there or bypass the proxy for %s.", filepath.Join(d.ConfigDir, "tls", host, "ca.crt"), host)
}

// KindRemedy explains a trust error of kind k.
func (d *Deps) KindRemedy(k trust.Kind, p Problem, err error) string {
	var te *trust.Error
	if errors.As(err, &te) && (k.Security() || k == trust.KindUnpinned) {
		return d.securityRemedy(te, p)
	}
	switch k {
	case trust.KindNoTrustData, trust.KindMetaMissing:
		r := NoTrustDataRemedy(p.op, p.Where)
		if te != nil && te.CacheUnused {
			r = "Nothing was pulled, and the trust data cached on this machine was not used: the server no longer serves trust data for " +
				p.GUN + ", though this machine read some before. " + r
		}
		return r
	case trust.KindNotSigned:
		return notSignedRemedy(p.Where, "", "")
	case trust.KindPassphrase:
		if r := d.passphraseRemedy(); r != "" {
			return r
		}
		return "Check the passphrase: " + keystore.EnvRootPassphrase + " is for the root key, " +
			keystore.EnvRepositoryPassphrase + " for repository and signer keys."
	case trust.KindNoSigningKeys:
		if r := d.passphraseRemedy(); r != "" {
			return r
		}
		return d.NoSigningKeyRemedy(p.GUN)
	case trust.KindNetwork:
		r := d.UnreachableRemedy(p.Host)
		if errors.As(err, &te) && te.CacheUnused {
			r = "Nothing was pulled or signed, and the trust data cached on this machine was not used: without the server it cannot be known to be current. " +
				r + " To use the cache knowingly, add --offline (it refuses a cache whose timestamp has expired)."
		}
		return r
	case trust.KindOfflineNoCache:
		return "--offline reads only what an earlier online command cached. Run the command once without --offline (and without ACRTRUST_OFFLINE)."
	case trust.KindCertificate:
		issuer := ""
		if cert, ok := trust.UntrustedCertificate(err); ok {
			issuer = cert.Issuer.CommonName
		}
		return d.CertificateRemedy(p.Server, issuer)
	case trust.KindKeyNotFound:
		return fmt.Sprintf("The key needed to sign is not in %s. Restore it from a backup, or ask a repository owner to add you as a signer.", filepath.Join(d.ConfigDir, "trust", "private"))
	case trust.KindNotTrustServer:
		return "The server did not answer as a Notary server. Check DOCKER_CONTENT_TRUST_SERVER."
	}
	return ""
}

func (d *Deps) NoSigningKeyRemedy(gun string) string {
	return fmt.Sprintf("No key that signs for %s is in %s: the repository key stays on the machine that first signed. "+
		"Sign there, restore a key backup (`docker acrtrust key restore`), or have a repository owner add your key as a signer "+
		"(`docker acrtrust signer add`).", gun, filepath.Join(d.ConfigDir, "trust", "private"))
}

// UnreachableRemedy is for a trust server that could not be reached; host
// is the registry's.
func (d *Deps) UnreachableRemedy(host string) string {
	if d.Env.Server != "" {
		return fmt.Sprintf("Check that the trust server %s (from DOCKER_CONTENT_TRUST_SERVER) is reachable, or unset the variable to use https://%s.", d.Env.Server, host)
	}
	return fmt.Sprintf("Check that the trust server https://%s is reachable (set DOCKER_CONTENT_TRUST_SERVER if the trust data is served elsewhere).", host)
}

// NoSignedTagsRemedy is for trust data in which no tag is signed (all revoked).
func NoSignedTagsRemedy(w Where) string {
	return fmt.Sprintf("Trusted pulls of %s fail until a tag is signed: `docker acrtrust sign %s:TAG`.", w.Repo, w.Repo)
}

// ExpiryRemedy is for trust metadata that expired (or soon will).
func ExpiryRemedy(w Where) string {
	return fmt.Sprintf("Once targets or signer metadata expires, every trusted pull of %s fails. A publisher with the key must sign again "+
		"(`docker acrtrust sign %s:TAG`) before then; root metadata is renewed by the holder of the root key.", w.Repo, w.Repo)
}

// CertificateExpiryRemedy is for a trust server certificate about to expire.
func CertificateExpiryRemedy(host string) string {
	return fmt.Sprintf("Renew the TLS certificate of %s before it expires: after that no client can reach the trust data.", host)
}

// passphraseRemedy is the passphrase retriever's own reason for giving up
// (which variable, which key), if it gave up.
func (d *Deps) passphraseRemedy() string {
	if d.passErr == nil {
		return ""
	}
	if perr := d.passErr(); perr != nil {
		return perr.Error() + "."
	}
	return ""
}

// NoSignableRolesRemedy is for a repository with signers where none of the
// local keys is a signer's (trust.ErrNoSignableRoles).
func (d *Deps) NoSignableRolesRemedy(w Where) string {
	repo := "REPOSITORY"
	if w.Repo != "" {
		repo = w.Repo
	}
	return fmt.Sprintf("%s has signers, so a tag is signed with a signer's key, and no signer's key is in %s. "+
		"Load yours (`docker acrtrust key load --name NAME KEYFILE`), or have a repository owner add your public key as a signer: "+
		"`docker acrtrust signer add --key PEM NAME %s`. Once signers exist the repository key alone signs no tags (Docker's rule), "+
		"so a repository owner who signs adds a signer key of their own too.", repo, filepath.Join(d.TrustDir(), "private"), repo)
}

// notSignedRemedy is for a tag without a signature; outcome is what the
// command did not do because of it ("", or a sentence such as "so nothing
// was pulled"), alternative what else the command offers ("", or ", or
// pull with --disable-content-trust ...").
func notSignedRemedy(w Where, outcome, alternative string) string {
	sign := "Ask the publisher to sign it (`docker acrtrust push` or `docker acrtrust sign`)"
	if w.image != "" {
		sign = fmt.Sprintf("Ask the publisher to sign it (`docker acrtrust sign %s`)", w.image)
	}
	return "The tag is not signed" + outcome + ". " + sign + alternative + "."
}

// WithNotSignedRemedy gives an unsigned tag the remedy of the command that
// met it; a tag that does not exist at all keeps its own.
func (d *Deps) WithNotSignedRemedy(err error, ref trust.Ref, outcome, alternative string) error {
	var missing *TagNotFoundError
	if trust.KindOf(err) != trust.KindNotSigned || errors.As(err, &missing) {
		return err
	}
	return WithRemedy(err, notSignedRemedy(d.WhereOf(ref), outcome, alternative))
}
