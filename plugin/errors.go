package plugin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
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
	// A base image of build: its own advice, which knows the Dockerfile line.
	var buildBase *buildBaseError
	if errors.As(err, &buildBase) {
		return d.buildRemedy(buildBase)
	}
	var noConfirm *noConfirmationError
	if errors.As(err, &noConfirm) {
		return fmt.Sprintf("Pass %s to go ahead without a prompt.", noConfirm.Flag)
	}
	var notInRegistry *notInRegistryError
	if errors.As(err, &notInRegistry) {
		return "Push the image first (`docker acrtrust push`, or any client), or use --local to push the local image and sign it."
	}
	if r := keyRemedy(err); r != "" {
		return r
	}
	return d.explain(err)
}

// explain is remedy for what the trust and registry clients and the engine
// return: refusals by what was attempted, then trust error kinds, then TLS
// and network failures.
func (d *deps) explain(err error) string {
	p := d.problemOf(err)
	switch {
	case p.loginRefused:
		return loginRefusedRemedy(p.where, p.login)
	case p.denied:
		if !p.login.found {
			return noLoginRemedy(p.where)
		}
		r := d.deniedRemedy(p.op, p.where, p.login, p.readRefused)
		if p.op != trust.OpRegistryPush && p.op != trust.OpRegistryRead {
			r += "\n" + doctorHint(p.where)
		}
		return r
	}
	var te *trust.Error
	if errors.As(err, &te) {
		if r := d.kindRemedy(te.Kind, p, err); r != "" {
			return r
		}
	}
	registryOp := p.op == trust.OpRegistryRead || p.op == trust.OpRegistryPush
	if cert, ok := trust.UntrustedCertificate(err); ok {
		host := p.server
		if registryOp {
			host = p.host
		}
		return d.certificateRemedy(host, cert.Issuer.CommonName)
	}
	var ne *net.OpError
	if registryOp && errors.As(err, &ne) {
		return fmt.Sprintf("Check that the registry %s is reachable.", p.host)
	}
	return ""
}

// where names what an error was about: the registry host, the repository
// and its trust data, and the registry's name when it is an ACR login
// server (myregistry.azurecr.io), for az commands.
type where struct {
	host   string // registry host (login server)
	repo   string // repository as docker prints it
	gun    string // trust data name: <host>/<path>
	image  string // the reference, for "docker acrtrust doctor IMAGE"
	acr    string // ACR registry name, "" when the host is not ACR
	server string // trust server host
}

func (d *deps) whereOf(ref trust.Ref) where {
	w := where{host: ref.Registry(), repo: ref.Name.Name(), gun: ref.GUN().String(), image: ref.Familiar()}
	if ref.Tag != "" {
		w.image += ":" + ref.Tag
	}
	w.acr = acrRegistryName(w.host)
	w.server = d.trustServerHost(w.host)
	return w
}

// trustServerHost is the host of the trust server for a registry host.
func (d *deps) trustServerHost(registryHost string) string {
	if server, err := trust.ServerURL(registryHost, d.env.server); err == nil {
		if u, err := url.Parse(server); err == nil {
			return u.Host
		}
	}
	return registryHost
}

// acrLoginServerSuffixes are the domains of ACR login servers in Azure's
// clouds (public, China, US Government, Germany).
var acrLoginServerSuffixes = []string{".azurecr.io", ".azurecr.cn", ".azurecr.us", ".azurecr.de"}

// acrRegistryName returns "myregistry" for myregistry.azurecr.io, or "".
func acrRegistryName(host string) string {
	h := strings.ToLower(host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	for _, s := range acrLoginServerSuffixes {
		if name, ok := strings.CutSuffix(h, s); ok && name != "" && !strings.Contains(name, ".") {
			return name
		}
	}
	return ""
}

// login is what the docker config holds for a registry: never the secret.
type login struct {
	found         bool
	user          string
	identityToken bool   // `az acr login` (user 00000000-0000-0000-0000-000000000000)
	admin         bool   // ACR's admin account: its user name is the registry name
	appID         bool   // the user name is a GUID: a service principal's application ID
	source        string // where it is stored, for doctor
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// loginFor reads the login for host the way the clients do.
func (d *deps) loginFor(host string) login {
	cred, err := d.credentials(host)
	if err != nil || cred == (trust.Credential{}) {
		return login{}
	}
	l := login{found: true, user: cred.Username, identityToken: cred.IdentityToken != ""}
	if acr := acrRegistryName(host); acr != "" && strings.EqualFold(cred.Username, acr) {
		l.admin = true
	}
	l.appID = !l.identityToken && guidPattern.MatchString(cred.Username) && cred.Username != identityTokenUser
	return l
}

// identityTokenUser is the user name docker stores with an identity token
// from `az acr login`.
const identityTokenUser = "00000000-0000-0000-0000-000000000000"

// who names a login in a sentence.
func (l login) who() string {
	switch {
	case l.identityToken:
		return "the Azure identity you signed in with (`az acr login`)"
	case l.admin:
		return fmt.Sprintf("the admin account %q", l.user)
	case l.user != "":
		return fmt.Sprintf("the login %q", l.user)
	}
	return "the stored login"
}

// assignee is what --assignee of `az role assignment create` should be.
func (l login) assignee() string {
	switch {
	case l.appID:
		return l.user
	case l.identityToken:
		return "$(az ad signed-in-user show --query id --output tsv)"
	}
	return "<user, group or service principal ID>"
}

// problem is what is known about an error beyond its message.
type problem struct {
	op           trust.Op
	where        // empty when the error names no repository
	login        login
	denied       bool // a server refused: 401 or 403, or the engine's "denied"
	loginRefused bool // the token service refused the login itself
	readRefused  bool // while writing trust data, reading it was refused too
}

func (d *deps) problemOf(err error) problem {
	var p problem
	var ref trust.Ref
	if oe, ok := trust.OpOf(err); ok {
		p.op, ref = oe.Op, oe.Ref
	}
	var te *trust.Error
	switch {
	case ref.Name != nil:
		p.where = d.whereOf(ref)
	case errors.As(err, &te) && te.GUN != "":
		if r, perr := trust.ParseRef(te.GUN.String()); perr == nil {
			p.where = d.whereOf(r)
		}
	}
	p.denied = trust.Denied(err) || engineDenied(err)
	if p.host == "" {
		return p
	}
	p.login = d.loginFor(p.host)
	// A refused login surfaces as a failure to reach the server (the token
	// request failed), or as the engine's wording.
	refusable := te == nil || te.Kind == trust.KindNetwork || te.Kind == trust.KindUnauthorized || te.Kind == trust.KindServer
	p.loginRefused = engineLoginRefused(err)
	var trustDenied, writeDenied bool
	for _, dn := range d.audit.Denials() {
		switch {
		case dn.Login:
			p.loginRefused = p.loginRefused || refusable
		case dn.Trust && strings.Contains(dn.Path, "/v2/"+p.gun+"/_trust/"):
			trustDenied = true
			if dn.Write() {
				writeDenied = true
			} else {
				p.readRefused = true
			}
		}
	}
	// A command that did not say what it was doing: the refused request
	// says it.
	if p.denied && p.op == trust.OpUnknown && trustDenied {
		p.op = trust.OpTrustRead
		if writeDenied && !p.readRefused {
			p.op = trust.OpTrustWrite
		}
	}
	return p
}

// engineDenied reports whether err is the docker engine relaying a
// registry's refusal (dockerd's wording for a 401 or 403).
func engineDenied(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, s := range []string{
		"unauthorized: authentication required",
		"denied: requested access to the resource is denied",
		"pull access denied",
		"insufficient_scope",
		"unauthorized: ",
		"403 forbidden",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// engineLoginRefused reports whether err is the engine relaying a refused login.
func engineLoginRefused(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "incorrect username or password") || strings.Contains(msg, "invalid username or password")
}

// logInAgain is the command that gets a fresh token.
func (w where) logInAgain() string {
	if w.acr != "" {
		return fmt.Sprintf("`az acr login --name %s`", w.acr)
	}
	return fmt.Sprintf("`docker login %s`", w.host)
}

// grantCommand is the az command that grants role to l on the registry.
func (w where) grantCommand(role string, l login) string {
	return fmt.Sprintf("  az role assignment create --scope $(az acr show --name %s --query id --output tsv) --role %s --assignee %s",
		w.acr, role, l.assignee())
}

func noLoginRemedy(w where) string {
	if w.acr != "" {
		return fmt.Sprintf("No login for %s was found in the docker config or its credential helpers. "+
			"Log in with `az acr login --name %s` (or `docker login %s` with a service principal or a token), then try again.", w.host, w.acr, w.host)
	}
	return fmt.Sprintf("No login for %s was found in the docker config or its credential helpers. "+
		"Log in with `docker login %s` (on ACR: `az acr login --name <registry>`), then try again.", w.host, w.host)
}

func loginRefusedRemedy(w where, l login) string {
	msg := fmt.Sprintf("%s refused %s itself: the password or token is wrong or has expired.", w.host, l.who())
	if l.identityToken || w.acr != "" {
		msg += " Tokens from `az acr login` last 3 hours."
	}
	return msg + " Log in again with " + w.logInAgain() + "."
}

// deniedRemedy explains a refusal by what was attempted: ACR answers a
// missing role with a bare 401, and the role depends on the operation.
func (d *deps) deniedRemedy(op trust.Op, w where, l login, readRefused bool) string {
	relogin := "then log in again with " + w.logInAgain() + ": a role change applies to new tokens only."
	switch {
	case op == trust.OpTrustWrite && !readRefused:
		msg := fmt.Sprintf("%s let %s read the trust data of %s but not write it, so it cannot sign.", w.host, l.who(), w.gun)
		switch {
		case l.admin:
			return msg + fmt.Sprintf(" Admin accounts cannot sign on ACR (they cannot push trusted images). "+
				"Log in as a user or service principal that has the AcrImageSigner role: %s.", w.logInAgain())
		case w.acr != "":
			return msg + " On ACR, signing needs the AcrImageSigner role in addition to AcrPush: the login is missing AcrImageSigner, " +
				"or it is an admin account or a repository-scoped token, which cannot sign. Grant the role:\n" +
				w.grantCommand("AcrImageSigner", l) + "\n" + relogin
		}
		return msg + " The login lacks the right to write trust data: on ACR, that is a missing AcrImageSigner role, " +
			"or an admin account or a repository-scoped token, which cannot sign. Sign with a login that may write trust data; " +
			"after a role change, log in again for a new token."
	case op == trust.OpTrustWrite:
		msg := fmt.Sprintf("%s refused %s even read access to the trust data of %s, so it cannot sign: "+
			"it is a repository-scoped token, which cannot read or write trust data at all, even where it may push and pull "+
			"the image (an ACR limitation), or it lacks AcrPull on the registry.", w.host, l.who(), w.gun)
		if w.acr != "" {
			return msg + " Sign with a user or service principal that has AcrPush and AcrImageSigner:\n" +
				w.grantCommand("AcrImageSigner", l) + "\n" + relogin
		}
		return msg + " Sign with a login that may read and write trust data (on ACR: AcrPush and AcrImageSigner)."
	case op == trust.OpTrustRead:
		msg := fmt.Sprintf("%s refused %s read access to the trust data of %s.", w.host, l.who(), w.gun)
		if w.acr != "" {
			return msg + " On ACR, reading trust data needs AcrPull (or AcrPush), and a repository-scoped token cannot read or write " +
				"trust data at all, even where it may pull and push the image: use a user or service principal. Grant AcrPull:\n" +
				w.grantCommand("AcrPull", l) + "\n" + relogin
		}
		return msg + " The login may not read trust data: on ACR, that needs the AcrPull role, and a repository-scoped token cannot " +
			"read trust data at all, even where it may pull the image. Use a login that may read the repository's trust data."
	case op == trust.OpRegistryPush:
		msg := fmt.Sprintf("%s refused to let %s push to %s.", w.host, l.who(), w.repo)
		if w.acr != "" {
			return msg + " On ACR, pushing needs the AcrPush role (AcrPull only pulls); a repository-scoped token needs " +
				"content/write on this repository in its scope map. Grant AcrPush:\n" + w.grantCommand("AcrPush", l) + "\n" + relogin
		}
		return msg + " The login lacks push rights on this repository (on ACR: the AcrPush role; for a repository-scoped token, " +
			"content/write on the repository). Log in with a login that may push."
	case op == trust.OpRegistryRead:
		msg := fmt.Sprintf("%s refused %s read access to %s.", w.host, l.who(), w.repo)
		if w.acr != "" {
			return msg + " On ACR, pulling needs the AcrPull role; a repository-scoped token needs content/read on this " +
				"repository in its scope map. Grant AcrPull:\n" + w.grantCommand("AcrPull", l) + "\n" + relogin
		}
		return msg + " The login lacks pull rights on this repository (on ACR: the AcrPull role; for a repository-scoped token, " +
			"content/read on the repository). Log in with a login that may pull."
	}
	return fmt.Sprintf("%s refused %s. On ACR, reading trust data needs AcrPull and writing it AcrImageSigner in addition to AcrPush; "+
		"admin accounts and repository-scoped tokens cannot sign. After a role change, log in again with %s.", w.host, l.who(), w.logInAgain())
}

// doctorHint points to the command that checks every right at once.
func doctorHint(w where) string {
	return fmt.Sprintf("Run `docker acrtrust doctor %s` to see what this login may do.", w.image)
}

// noTrustDataRemedy explains missing trust data: nothing signed yet, or
// content trust off for the registry (which, on ACR, deletes all trust data).
func noTrustDataRemedy(op trust.Op, w where) string {
	enable := "On ACR, content trust must be enabled for the registry (Premium tier)"
	if w.acr != "" {
		enable = fmt.Sprintf("On ACR, check it with `az acr config content-trust show --registry %s` and enable it with "+
			"`az acr config content-trust update --registry %s --status enabled` (Premium tier)", w.acr, w.acr)
	}
	if op == trust.OpTrustWrite {
		return fmt.Sprintf("The trust server %s serves no trust data for %s, so nothing can be signed there: content trust is off "+
			"for the registry, or DOCKER_CONTENT_TRUST_SERVER names the wrong server. %s.", w.server, w.gun, enable)
	}
	return fmt.Sprintf("%s has no trust data: no tag of it was signed yet, or content trust is off for the registry "+
		"(turning it off deletes all trust data). %s. Then sign a tag: `docker acrtrust push %s:TAG` or `docker acrtrust sign %s:TAG`.",
		w.gun, enable, w.repo, w.repo)
}

func (d *deps) certificateRemedy(host, issuer string) string {
	if host == "" {
		return fmt.Sprintf("The server's TLS certificate is not trusted. If a private CA issued it, put that CA's certificate in %s.",
			filepath.Join(d.configDir, "tls", "<host>", "ca.crt"))
	}
	what := "The TLS certificate of " + host + " is not trusted"
	if issuer != "" {
		what += fmt.Sprintf(" (issued by %q)", issuer)
	}
	return what + fmt.Sprintf(". If a private CA issued it, put that CA's certificate in %s; if a proxy intercepts TLS, "+
		"add the proxy's CA there or bypass the proxy for %s.", filepath.Join(d.configDir, "tls", host, "ca.crt"), host)
}

// kindRemedy explains a trust error of kind k.
func (d *deps) kindRemedy(k trust.Kind, p problem, err error) string {
	switch k {
	case trust.KindNoTrustData, trust.KindMetaMissing:
		return noTrustDataRemedy(p.op, p.where)
	case trust.KindNotSigned:
		return "The tag is not signed, so nothing was pulled. Ask the publisher to sign it " +
			"(`docker acrtrust push` or `docker acrtrust sign`), or pull with --disable-content-trust to accept an unverified image."
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
		return d.noSigningKeyRemedy(p.gun)
	case trust.KindNetwork:
		return d.unreachableRemedy(p.host)
	case trust.KindCertificate:
		issuer := ""
		if cert, ok := trust.UntrustedCertificate(err); ok {
			issuer = cert.Issuer.CommonName
		}
		return d.certificateRemedy(p.server, issuer)
	case trust.KindExpired:
		return "The trust data has expired. A publisher with the repository key must sign again (`docker acrtrust sign`)."
	case trust.KindMalicious:
		return "The trust data does not verify against what this machine trusted before. Do not use this image; ask the repository owner whether keys were rotated."
	case trust.KindKeyNotFound:
		return fmt.Sprintf("The key needed to sign is not in %s. Restore it from a backup, or ask a repository owner to add you as a signer.", filepath.Join(d.configDir, "trust", "private"))
	case trust.KindNotTrustServer:
		return "The server did not answer as a Notary server. Check DOCKER_CONTENT_TRUST_SERVER."
	}
	return ""
}

func (d *deps) noSigningKeyRemedy(gun string) string {
	return fmt.Sprintf("No key that signs for %s is in %s: the repository key stays on the machine that first signed. "+
		"Sign there, restore a key backup (`docker acrtrust key restore`), or have a repository owner add your key as a signer "+
		"(`docker acrtrust signer add`).", gun, filepath.Join(d.configDir, "trust", "private"))
}

// unreachableRemedy is for a trust server that could not be reached; host
// is the registry's.
func (d *deps) unreachableRemedy(host string) string {
	if d.env.server != "" {
		return fmt.Sprintf("Check that the trust server %s (from DOCKER_CONTENT_TRUST_SERVER) is reachable, or unset the variable to use https://%s.", d.env.server, host)
	}
	return fmt.Sprintf("Check that the trust server https://%s is reachable (set DOCKER_CONTENT_TRUST_SERVER if the trust data is served elsewhere).", host)
}

// adminAccountRemedy is for a login with ACR's admin account, which
// cannot sign.
func adminAccountRemedy(w where) string {
	return fmt.Sprintf("The admin account can push and pull but cannot sign (ACR: admin accounts cannot push trusted images). "+
		"To sign, log in as a user or service principal that has AcrPush and AcrImageSigner: %s.", w.logInAgain())
}

// noSignedTagsRemedy is for trust data in which no tag is signed (all revoked).
func noSignedTagsRemedy(w where) string {
	return fmt.Sprintf("Trusted pulls of %s fail until a tag is signed: `docker acrtrust sign %s:TAG`.", w.repo, w.repo)
}

// expiryRemedy is for trust metadata that expired (or soon will).
func expiryRemedy(w where) string {
	return fmt.Sprintf("Once targets or signer metadata expires, every trusted pull of %s fails. A publisher with the key must sign again "+
		"(`docker acrtrust sign %s:TAG`) before then; root metadata is renewed by the holder of the root key.", w.repo, w.repo)
}

// certificateExpiryRemedy is for a trust server certificate about to expire.
func certificateExpiryRemedy(host string) string {
	return fmt.Sprintf("Renew the TLS certificate of %s before it expires: after that no client can reach the trust data.", host)
}

// passphraseRemedy is the passphrase retriever's own reason for giving up
// (which variable, which key), if it gave up.
func (d *deps) passphraseRemedy() string {
	if d.passErr == nil {
		return ""
	}
	if perr := d.passErr(); perr != nil {
		return perr.Error() + "."
	}
	return ""
}

// keyRemedy says what to do about the key commands' errors.
func keyRemedy(err error) string {
	var (
		wrong    *keystore.WrongPassphraseError
		conflict *keystore.ConflictError
		exists   *keystore.ExistsError
		open     *keystore.PermissionError
		notFound *keystore.KeyNotFoundError
		rotate   *trust.RotateRoleError
	)
	switch {
	case errors.As(err, &wrong) && wrong.Variable != "":
		return fmt.Sprintf("Set %s to the passphrase of that key (%s is for the root key, %s for repository and signer keys).",
			wrong.Variable, keystore.EnvRootPassphrase, keystore.EnvRepositoryPassphrase)
	case errors.As(err, &wrong) && wrong.Source == keystore.SourceStdin:
		return "Check the passphrase given on stdin: one line, without trailing spaces unless the passphrase has them."
	case errors.Is(err, keystore.ErrNoPassphraseSource):
		return "Key commands also read a passphrase from stdin with --passphrase-stdin."
	case errors.Is(err, errPasswdNeedsTerminal):
		return "In a pipeline, use --passphrase-stdin with the current passphrase and the new one on two lines of stdin."
	case errors.As(err, &conflict):
		return "Add --force to replace them with the archive's copies; the replaced files are lost unless backed up."
	case errors.As(err, &exists):
		return "Add --force to overwrite it, or name another file with -o."
	case errors.As(err, &open):
		return fmt.Sprintf("Make it private to its owner first: chmod 600 %s", open.Path)
	case errors.As(err, &notFound):
		return "List the keys on this machine with `docker acrtrust key list`."
	case errors.As(err, &rotate):
		switch rotate.Role.String() {
		case "snapshot", "timestamp":
			return "Add --server-managed."
		case "targets":
			return "Rotate it without --server-managed."
		case "root":
			return "A root key cannot be replaced here. If it is lost, the repository's trust data must be deleted and signed anew (see docs/keys.md)."
		}
	}
	return ""
}
