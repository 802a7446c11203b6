package cmdutil

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// What is known about an error beyond its words: the operation that failed,
// where (registry, repository, trust server), and the login involved.

// Where names what an error was about: the registry host, the repository
// and its trust data, and the registry's name when it is an ACR login
// server (myregistry.azurecr.io), for az commands.
type Where struct {
	Host   string // registry host (login server)
	Repo   string // repository as docker prints it
	GUN    string // trust data name: <host>/<path>
	image  string // the reference, for "docker acrtrust doctor IMAGE"
	acr    string // ACR registry name, "" when the host is not ACR
	Server string // trust server host
}

func (d *Deps) WhereOf(ref trust.Ref) Where {
	w := Where{Host: ref.Registry(), Repo: ref.Name.Name(), GUN: ref.GUN().String(), image: ref.Familiar()}
	if ref.Tag != "" {
		w.image += ":" + ref.Tag
	}
	w.acr = ACRRegistryName(w.Host)
	w.Server = d.trustServerHost(w.Host)
	return w
}

// trustServerHost is the host of the trust server for a registry host.
func (d *Deps) trustServerHost(registryHost string) string {
	if server, err := trust.ServerURL(registryHost, d.Env.Server); err == nil {
		if u, err := url.Parse(server); err == nil {
			return u.Host
		}
	}
	return registryHost
}

// acrLoginServerSuffixes are the domains of ACR login servers in Azure's
// clouds (public, China, US Government, Germany).
var acrLoginServerSuffixes = []string{".azurecr.io", ".azurecr.cn", ".azurecr.us", ".azurecr.de"}

// ACRRegistryName returns "myregistry" for myregistry.azurecr.io, or "".
func ACRRegistryName(host string) string {
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

// Login is what the docker config holds for a registry: never the secret.
type Login struct {
	Found         bool
	User          string
	IdentityToken bool   // `az acr login` (user 00000000-0000-0000-0000-000000000000)
	Admin         bool   // ACR's admin account: its user name is the registry name
	appID         bool   // the user name is a GUID: a service principal's application ID
	source        string // where it is stored, for doctor
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// LoginFor reads the login for host the way the clients do.
func (d *Deps) LoginFor(host string) Login {
	cred, err := d.Credentials(host)
	if err != nil || cred == (trust.Credential{}) {
		return Login{}
	}
	l := Login{Found: true, User: cred.Username, IdentityToken: cred.IdentityToken != ""}
	if acr := ACRRegistryName(host); acr != "" && strings.EqualFold(cred.Username, acr) {
		l.Admin = true
	}
	l.appID = !l.IdentityToken && guidPattern.MatchString(cred.Username) && cred.Username != identityTokenUser
	return l
}

// identityTokenUser is the user name docker stores with an identity token
// from `az acr login`.
const identityTokenUser = "00000000-0000-0000-0000-000000000000"

// who names a login in a sentence.
func (l Login) who() string {
	switch {
	case l.IdentityToken:
		return "the Azure identity you signed in with (`az acr login`)"
	case l.Admin:
		return fmt.Sprintf("the admin account %q", l.User)
	case l.User != "":
		return fmt.Sprintf("the login %q", l.User)
	}
	return "the stored login"
}

// assignee is what --assignee of `az role assignment create` should be.
func (l Login) assignee() string {
	switch {
	case l.appID:
		return l.User
	case l.IdentityToken:
		return "$(az ad signed-in-user show --query id --output tsv)"
	}
	return "<user, group or service principal ID>"
}

// Problem is what is known about an error beyond its message.
type Problem struct {
	op           trust.Op
	Where        // empty when the error names no repository
	login        Login
	denied       bool // a server refused: 401 or 403, or the engine's "denied"
	loginRefused bool // the token service refused the login itself
	readRefused  bool // while writing trust data, reading it was refused too
}

func (d *Deps) problemOf(err error) Problem {
	var p Problem
	var ref trust.Ref
	if oe, ok := trust.OpOf(err); ok {
		p.op, ref = oe.Op, oe.Ref
	}
	var te *trust.Error
	switch {
	case ref.Name != nil:
		p.Where = d.WhereOf(ref)
	case errors.As(err, &te) && te.GUN != "":
		if r, perr := trust.ParseRef(te.GUN.String()); perr == nil {
			p.Where = d.WhereOf(r)
		}
	}
	p.denied = trust.Denied(err) || engineDenied(err)
	if p.Host == "" {
		return p
	}
	p.login = d.LoginFor(p.Host)
	// A refused login surfaces as a failure to reach the server (the token
	// request failed), or as the engine's wording.
	refusable := te == nil || te.Kind == trust.KindNetwork || te.Kind == trust.KindUnauthorized || te.Kind == trust.KindServer
	p.loginRefused = engineLoginRefused(err)
	var trustDenied, writeDenied bool
	for _, dn := range d.Audit.Denials() {
		switch {
		case dn.Login:
			p.loginRefused = p.loginRefused || refusable
		case dn.Trust && strings.Contains(dn.Path, "/v2/"+p.GUN+"/_trust/"):
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
