package plugin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// Exit codes, as docker uses them.
const (
	exitFailure = 1
	exitUsage   = 125
)

// flagErrorFunc makes flag errors usage errors (exit 125), as in docker.
func flagErrorFunc(cmd *cobra.Command, err error) error {
	return cli.StatusError{
		Status:     fmt.Sprintf("%s\nSee '%s --help'.", err, cmd.CommandPath()),
		StatusCode: exitUsage,
	}
}

// userError is the single place that turns an error into what the user
// reads: the message (Docker's wording where scripts grep it), then what to
// do about it, and an exit code.
func (d *deps) userError(err error) error {
	if err == nil {
		return nil
	}
	var st cli.StatusError
	if errors.As(err, &st) {
		return err
	}
	var ue usageError
	if errors.As(err, &ue) {
		return cli.StatusError{Status: err.Error(), StatusCode: exitUsage}
	}
	msg := err.Error()
	if r := d.remedy(err); r != "" {
		msg += "\n" + r
	}
	return cli.StatusError{Status: msg, StatusCode: exitFailure}
}

// remedy says what to do about err, or "" when there is nothing to add.
func (d *deps) remedy(err error) string {
	var te *trust.Error
	if !errors.As(err, &te) {
		return ""
	}
	gun := te.GUN.String()
	host := gun
	if i := strings.IndexByte(gun, '/'); i > 0 {
		host = gun[:i]
	}
	switch te.Kind {
	case trust.KindNoTrustData:
		return fmt.Sprintf("%s has no signed tags. Sign one with `docker acrtrust push %s:TAG`. "+
			"On ACR, also check that content trust is enabled for the registry "+
			"(`az acr config content-trust show --registry <name>`): with it off there is no trust data.", gun, gun)
	case trust.KindNotSigned:
		return "The tag is not signed, so nothing was pulled. Ask the publisher to sign it " +
			"(`docker acrtrust push` or `docker acrtrust sign`), or pull with --disable-content-trust to accept an unverified image."
	case trust.KindPassphrase, trust.KindNoSigningKeys:
		if d.passErr != nil {
			if perr := d.passErr(); perr != nil {
				return perr.Error() + "."
			}
		}
		return "Check the passphrase: " + keystore.EnvRootPassphrase + " is for the root key, " +
			keystore.EnvRepositoryPassphrase + " for repository and signer keys."
	case trust.KindUnauthorized:
		return d.unauthorizedRemedy(host)
	case trust.KindNetwork:
		if d.env.server != "" {
			return fmt.Sprintf("Check that the trust server %s (from DOCKER_CONTENT_TRUST_SERVER) is reachable, or unset the variable to use https://%s.", d.env.server, host)
		}
		return fmt.Sprintf("Check that the trust server https://%s is reachable (set DOCKER_CONTENT_TRUST_SERVER if the trust data is served elsewhere).", host)
	case trust.KindCertificate:
		return fmt.Sprintf("The trust server's TLS certificate is not trusted. If it is signed by a private CA, put that CA in %s/tls/<server host>/ca.crt.", d.configDir)
	case trust.KindExpired:
		return "The trust data has expired. A publisher with the repository key must sign again (`docker acrtrust sign`)."
	case trust.KindMalicious:
		return "The trust data does not verify against what this machine trusted before. Do not use this image; ask the repository owner whether keys were rotated."
	case trust.KindKeyNotFound:
		return fmt.Sprintf("The key needed to sign is not in %s/trust/private. Restore it from a backup, or ask a repository owner to add you as a signer.", d.configDir)
	case trust.KindNotTrustServer:
		return "The server did not answer as a Notary server. Check DOCKER_CONTENT_TRUST_SERVER."
	}
	return ""
}

// unauthorizedRemedy explains a 401 from the trust server by what was
// being done (see ACR's roles: AcrPull, AcrPush, AcrImageSigner).
func (d *deps) unauthorizedRemedy(host string) string {
	if d.audit != nil && !d.audit.HadCredential() {
		return fmt.Sprintf("No credentials for %s. Log in with `docker login %s` (for ACR: `az acr login --name <registry>`).", host, host)
	}
	return "The registry refused access to its trust data. On ACR, reading signed tags needs the AcrPull role " +
		"and writing signatures needs AcrImageSigner in addition to AcrPush; admin accounts and repository-scoped " +
		"tokens cannot use content trust. After a role change, log in again (`az acr login`)."
}
