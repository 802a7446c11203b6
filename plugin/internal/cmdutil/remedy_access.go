package cmdutil

import (
	"fmt"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// Remedies for refusals: no login, a refused login, and a missing ACR role
// for what was attempted.

// logInAgain is the command that gets a fresh token.
func (w Where) logInAgain() string {
	if w.acr != "" {
		return fmt.Sprintf("`az acr login --name %s`", w.acr)
	}
	return fmt.Sprintf("`docker login %s`", w.Host)
}

// grantCommand is the az command that grants role to l on the registry.
func (w Where) grantCommand(role string, l Login) string {
	return fmt.Sprintf("  az role assignment create --scope $(az acr show --name %s --query id --output tsv) --role %s --assignee %s",
		w.acr, role, l.assignee())
}

func NoLoginRemedy(w Where) string {
	if w.acr != "" {
		return fmt.Sprintf("No login for %s was found in the docker config or its credential helpers. "+
			"Log in with `az acr login --name %s` (or `docker login %s` with a service principal or a token), then try again.", w.Host, w.acr, w.Host)
	}
	return fmt.Sprintf("No login for %s was found in the docker config or its credential helpers. "+
		"Log in with `docker login %s` (on ACR: `az acr login --name <registry>`), then try again.", w.Host, w.Host)
}

func LoginRefusedRemedy(w Where, l Login) string {
	msg := fmt.Sprintf("%s refused %s itself: the password or token is wrong or has expired.", w.Host, l.who())
	if l.IdentityToken || w.acr != "" {
		msg += " Tokens from `az acr login` last 3 hours."
	}
	return msg + " Log in again with " + w.logInAgain() + "."
}

// DeniedRemedy explains a refusal by what was attempted: ACR answers a
// missing role with a bare 401, and the role depends on the operation.
func (d *Deps) DeniedRemedy(op trust.Op, w Where, l Login, readRefused bool) string {
	relogin := "then log in again with " + w.logInAgain() + ": a role change applies to new tokens only."
	switch {
	case op == trust.OpTrustWrite && !readRefused:
		msg := fmt.Sprintf("%s let %s read the trust data of %s but not write it, so it cannot sign.", w.Host, l.who(), w.GUN)
		switch {
		case l.Admin:
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
			"the image (an ACR limitation), or it lacks AcrPull on the registry.", w.Host, l.who(), w.GUN)
		if w.acr != "" {
			return msg + " Sign with a user or service principal that has AcrPush and AcrImageSigner:\n" +
				w.grantCommand("AcrImageSigner", l) + "\n" + relogin
		}
		return msg + " Sign with a login that may read and write trust data (on ACR: AcrPush and AcrImageSigner)."
	case op == trust.OpTrustRead:
		msg := fmt.Sprintf("%s refused %s read access to the trust data of %s.", w.Host, l.who(), w.GUN)
		if w.acr != "" {
			return msg + " On ACR, reading trust data needs AcrPull (or AcrPush), and a repository-scoped token cannot read or write " +
				"trust data at all, even where it may pull and push the image: use a user or service principal. Grant AcrPull:\n" +
				w.grantCommand("AcrPull", l) + "\n" + relogin
		}
		return msg + " The login may not read trust data: on ACR, that needs the AcrPull role, and a repository-scoped token cannot " +
			"read trust data at all, even where it may pull the image. Use a login that may read the repository's trust data."
	case op == trust.OpRegistryPush:
		msg := fmt.Sprintf("%s refused to let %s push to %s.", w.Host, l.who(), w.Repo)
		if w.acr != "" {
			return msg + " On ACR, pushing needs the AcrPush role (AcrPull only pulls); a repository-scoped token needs " +
				"content/write on this repository in its scope map. Grant AcrPush:\n" + w.grantCommand("AcrPush", l) + "\n" + relogin
		}
		return msg + " The login lacks push rights on this repository (on ACR: the AcrPush role; for a repository-scoped token, " +
			"content/write on the repository). Log in with a login that may push."
	case op == trust.OpRegistryRead:
		msg := fmt.Sprintf("%s refused %s read access to %s.", w.Host, l.who(), w.Repo)
		if w.acr != "" {
			return msg + " On ACR, pulling needs the AcrPull role; a repository-scoped token needs content/read on this " +
				"repository in its scope map. Grant AcrPull:\n" + w.grantCommand("AcrPull", l) + "\n" + relogin
		}
		return msg + " The login lacks pull rights on this repository (on ACR: the AcrPull role; for a repository-scoped token, " +
			"content/read on the repository). Log in with a login that may pull."
	}
	return fmt.Sprintf("%s refused %s. On ACR, reading trust data needs AcrPull and writing it AcrImageSigner in addition to AcrPush; "+
		"admin accounts and repository-scoped tokens cannot sign. After a role change, log in again with %s.", w.Host, l.who(), w.logInAgain())
}

// doctorHint points to the command that checks every right at once.
func doctorHint(w Where) string {
	return fmt.Sprintf("Run `docker acrtrust doctor %s` to see what this login may do.", w.image)
}

// AdminAccountRemedy is for a login with ACR's admin account, which
// cannot sign.
func AdminAccountRemedy(w Where) string {
	return fmt.Sprintf("The admin account can push and pull but cannot sign (ACR: admin accounts cannot push trusted images). "+
		"To sign, log in as a user or service principal that has AcrPush and AcrImageSigner: %s.", w.logInAgain())
}
