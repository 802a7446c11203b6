package doctor

// Just over 400 lines: the doctor's checks in the order they run.

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// The check statuses, as `doctor --format json` writes them.
const (
	CheckOK   = "ok"
	checkInfo = "info" // a right or key that only publishing needs, missing where nothing was asked to publish
	checkWarn = "warn"
	checkFail = "fail"
)

// expirySoon is when doctor starts warning about metadata and certificates.
const expirySoon = 30 * 24 * time.Hour

type doctorOptions struct {
	image  string
	format string
	sign   bool
}

// DoctorCheck is one check of `doctor` (schema in docs/reference/acrtrust_doctor.md).
type DoctorCheck struct {
	Name    string
	Status  string // ok, info, warn or fail
	Message string
	Remedy  string `json:",omitempty"`
}

// DoctorReport is the output of `doctor --format json`.
type DoctorReport struct {
	Image       string // the argument as typed
	Repository  string // the trust repository (GUN)
	TrustServer string
	OK          bool // no check failed
	Checks      []DoctorCheck
	// Can and Cannot say what the login may do with the repository, of
	// "pull", "read trust data", "push" and "write trust data", as the
	// token service answered (rights it did not answer for are in neither).
	Can, Cannot []string

	anonymous bool // no login: the summary speaks of requests, not a login
}

func NewCommand(d *cmdutil.Deps) *cobra.Command {
	var opts doctorOptions
	cmd := &cobra.Command{
		Use:   "doctor [OPTIONS] IMAGE",
		Short: "Check what this machine and login can do with a repository's trust data",
		Long: `Check, without writing anything, whether signed pushes and trusted pulls of
a repository can work from here: the stored login, the trust server's TLS
certificate, the rights the token service grants (registry pull and push,
trust data read and write), the trust data itself, the local keys that can
sign it, and when its metadata expires. Each check prints ok, info, WARN or
FAIL, with what to do about WARN and FAIL. The report ends with what the login
can and cannot do. The exit code is 1 when a check fails.

Without --sign, doctor checks for trusted pulls. A right or key that only
publishing needs (registry push, trust write, signing keys) is then info
when the login cannot publish anyway, as for a pull-only login, and a
warning when it can push images or write trust data (a signed push from here
would stop half-way). An admin account, which can push but never sign, is a
warning. With --sign, signing is what this machine is for: a missing trust
write right, signing key, or an admin account fail, and a missing push right
is a warning ("docker acrtrust sign" signs what is in the registry).`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image = args[0]
			return runDoctor(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	cmdutil.AddFormatFlag(cmd, &opts.format, cmdutil.JSONOnly(`Format output: "json" for JSON`))
	flags.BoolVar(&opts.sign, "sign", false, "Check for signing: fail when this login or machine cannot sign")
	return cmd
}

func runDoctor(ctx context.Context, d *cmdutil.Deps, opts doctorOptions) error {
	ref, err := trust.ParseRef(opts.image)
	if err != nil {
		return err
	}
	rep := diagnose(ctx, d, ref, opts.sign)
	rep.Image = opts.image
	if cmdutil.IsJSONFormat(opts.format) {
		err = cmdutil.WriteJSON(d.CLI.Out(), rep)
	} else {
		err = printDoctorReport(d, rep)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		var failed []string
		for _, c := range rep.Checks {
			if c.Status == checkFail {
				failed = append(failed, c.Name)
			}
		}
		return cli.StatusError{StatusCode: cmdutil.ExitFailure, Status: fmt.Sprintf("%s: %d check(s) failed: %s", opts.image, len(failed), strings.Join(failed, ", "))}
	}
	return nil
}

// diagnosis collects the checks of one run.
type diagnosis struct {
	d      *cmdutil.Deps
	w      cmdutil.Where
	login  cmdutil.Login
	sign   bool // signing problems fail rather than warn
	report DoctorReport
	// access holds the rights the token service answered for.
	access map[trust.Op]trust.Access
	// loginRefused is set once a refused login was reported in full.
	loginRefused bool
}

func (g *diagnosis) add(name, status, message, remedy string) {
	if status == checkInfo {
		remedy = "" // nothing to do: the closing summary says what --sign would check
	}
	g.report.Checks = append(g.report.Checks, DoctorCheck{Name: name, Status: status, Message: message, Remedy: remedy})
	if status == checkFail {
		g.report.OK = false
	}
}

// forSigning is the status of a problem that matters only for signing.
func (g *diagnosis) forSigning() string {
	if g.sign {
		return checkFail
	}
	return checkWarn
}

func diagnose(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, sign bool) DoctorReport {
	g := &diagnosis{d: d, w: d.WhereOf(ref), sign: sign}
	g.report = DoctorReport{Repository: ref.GUN().String(), OK: true}
	trustDir := d.TrustDir()
	probe := trust.Probe{Network: d.Network, ServerOverride: d.Env.Server, Audit: d.Audit}

	g.checkCredentials()
	g.checkPins(ref)
	g.checkKeyStore(trustDir)
	server := probe.CheckServer(ctx, ref)
	g.report.TrustServer = server.URL
	serverOK := g.checkServer(server)

	access := map[trust.Op]trust.Access{}
	checked := probe.CheckAccess(ctx, ref)
	for _, a := range checked {
		access[a.Op] = a
	}
	g.access = access
	g.report.anonymous = !g.login.Found
	g.report.Can, g.report.Cannot = capabilities(checked)
	for _, a := range checked {
		if !serverOK && (a.Op == trust.OpTrustRead || a.Op == trust.OpTrustWrite) {
			continue // already explained by the trust server check
		}
		g.checkAccess(ref, a, access)
	}
	if !serverOK {
		return g.report
	}
	if read := access[trust.OpTrustRead]; !read.Checked || !read.Granted {
		return g.report // the trust data cannot be read: the trust read check says why
	}
	if !g.checkTrustData(ctx, ref, access[trust.OpTrustWrite]) {
		return g.report
	}
	keys, err := localKeyReport(trustDir, ref.GUN())
	if err != nil {
		g.add("signing keys", checkFail, err.Error(), "")
	} else {
		g.checkKeys(keys)
	}
	g.checkExpiry(trustDir, ref)
	return g.report
}

// checkPins reports the pin that covers the repository, or why trust in
// it still starts on first use.
func (g *diagnosis) checkPins(ref trust.Ref) {
	d := g.d
	if d.PinsErr != nil {
		g.add("pins", checkFail, d.PinsErr.Error(), d.StepRemedy(d.PinsErr))
		return
	}
	pin, ok := d.Pins.Lookup(ref.GUN())
	switch {
	case ok && pin.CA != "":
		g.add("pins", CheckOK, fmt.Sprintf("pinned (%s) to the CA in %s, in %s", pin.Pattern, pin.CA, d.PinsPath), "")
	case ok:
		g.add("pins", CheckOK, fmt.Sprintf("pinned (%s) to root key %s, in %s", pin.Pattern, strings.Join(pin.KeyIDs, ", "), d.PinsPath), "")
	case d.RequirePin():
		g.add("pins", checkFail, fmt.Sprintf("%s is not pinned in %s, and pins are required (%s)", g.w.GUN, d.PinsPath, d.RequirePinSource()), cmdutil.PinAddRemedy(g.w))
	default:
		g.add("pins", checkWarn, fmt.Sprintf("%s is not pinned in %s: a machine that has not read it before trusts whatever root the trust server presents", g.w.GUN, d.PinsPath),
			cmdutil.PinAddRemedy(g.w))
	}
}

func (g *diagnosis) checkCredentials() {
	d, w := g.d, g.w
	if _, err := d.Credentials(w.Host); err != nil {
		g.add("credentials", checkFail, fmt.Sprintf("reading the login for %s: %v", w.Host, err),
			"Check the credential helper named in "+d.CLI.ConfigFile().Filename+" (credsStore, credHelpers).")
		return
	}
	g.login = d.LoginFor(w.Host)
	if !g.login.Found {
		g.add("credentials", checkWarn, fmt.Sprintf("no login for %s: requests are anonymous", w.Host), cmdutil.NoLoginRemedy(w))
		return
	}
	msg := fmt.Sprintf("login %q for %s, from %s", g.login.User, w.Host, g.credentialSource())
	switch {
	case g.login.IdentityToken:
		msg += ", an identity token (az acr login)"
	case g.login.Admin:
		g.add("credentials", g.forSigning(), msg+": the registry's admin account", cmdutil.AdminAccountRemedy(w))
		return
	}
	g.add("credentials", CheckOK, msg, "")
}

// credentialSource says where the docker CLI keeps the login for the host.
func (g *diagnosis) credentialSource() string {
	cfg := g.d.CLI.ConfigFile()
	if h := cfg.CredentialHelpers[g.w.Host]; h != "" {
		return "the credential helper docker-credential-" + h
	}
	if cfg.CredentialsStore != "" {
		return "the credential store docker-credential-" + cfg.CredentialsStore
	}
	return "the docker config file " + cfg.Filename
}

func (g *diagnosis) checkServer(s trust.ServerCheck) bool {
	d := g.d
	switch {
	case s.URL == "":
		g.add("trust server", checkFail, s.Err.Error(), "")
		return false
	case s.Verified:
		msg := fmt.Sprintf("%s answers over TLS; certificate for %s issued by %q, valid until %s",
			s.URL, s.Subject, s.Issuer, s.NotAfter.UTC().Format(time.DateOnly))
		if time.Until(s.NotAfter) < expirySoon {
			g.add("trust server", checkWarn, msg, cmdutil.CertificateExpiryRemedy(g.w.Server))
		} else {
			g.add("trust server", CheckOK, msg, "")
		}
		return true
	case s.Reachable:
		g.add("trust server", checkFail, fmt.Sprintf("%s: the TLS certificate (for %s, issued by %q) does not verify: %v", s.URL, s.Subject, s.Issuer, s.Err),
			d.CertificateRemedy(g.w.Server, s.Issuer))
	default:
		g.add("trust server", checkFail, s.Err.Error(), d.UnreachableRemedy(g.w.Host))
	}
	return false
}

// checkAccess reports one right; access holds the rights checked so far.
func (g *diagnosis) checkAccess(ref trust.Ref, a trust.Access, access map[trust.Op]trust.Access) {
	name, object := accessName(a.Op, g.w)
	status := checkFail
	switch a.Op {
	case trust.OpRegistryPush:
		status = checkInfo
		if g.sign {
			status = checkWarn // `docker acrtrust sign` signs what is in the registry without pushing
		}
	case trust.OpTrustWrite:
		status = g.forPublishing()
	}
	switch {
	case a.LoginRefused && g.loginRefused:
		g.add(name, checkFail, "the token service refused the login", cmdutil.LoginRefusedRemedy(g.w, g.login))
	case a.LoginRefused:
		g.loginRefused = true
		g.add(name, checkFail, fmt.Sprintf("the token service refused the login (%v)", a.Err), cmdutil.LoginRefusedRemedy(g.w, g.login))
	case a.Op == trust.OpTrustRead && a.Status == http.StatusNotFound && access[trust.OpTrustWrite].NotServed:
		// Answered without asking for credentials: nothing was checked.
		g.add(name, status, fmt.Sprintf("nothing serves trust data for %s: content trust looks off for the registry", g.w.GUN),
			cmdutil.NoTrustDataRemedy(trust.OpTrustWrite, g.w))
	case a.NotServed:
		g.add(name, status, fmt.Sprintf("nothing serves trust data for %s: content trust looks off for the registry", g.w.GUN),
			cmdutil.NoTrustDataRemedy(trust.OpTrustWrite, g.w))
	case !a.Checked:
		g.add(name, checkFail, fmt.Sprintf("could not be checked: %v", a.Err), g.d.StepRemedy(trust.WithOp(a.Op, ref, a.Err)))
	case a.Granted:
		g.add(name, CheckOK, "granted on "+object, "")
	case !g.login.Found:
		g.add(name, status, fmt.Sprintf("denied on %s to anonymous requests (scope %s)", object, a.Scope), cmdutil.NoLoginRemedy(g.w))
	default:
		readRefused := false
		if a.Op == trust.OpTrustWrite {
			r := access[trust.OpTrustRead]
			readRefused = r.Checked && !r.Granted
		}
		g.add(name, status, fmt.Sprintf("denied on %s (scope %s)", object, a.Scope), g.d.DeniedRemedy(a.Op, g.w, g.login, readRefused))
	}
}

func accessName(op trust.Op, w cmdutil.Where) (name, object string) {
	switch op {
	case trust.OpRegistryRead:
		return "registry pull", w.Repo
	case trust.OpRegistryPush:
		return "registry push", w.Repo
	case trust.OpTrustRead:
		return "trust read", "the trust data of " + w.GUN
	case trust.OpTrustWrite:
		return "trust write", "the trust data of " + w.GUN
	}
	return op.String(), w.Repo
}

// checkTrustData reads and verifies the trust data; it reports whether
// there is trust data to look at further.
func (g *diagnosis) checkTrustData(ctx context.Context, ref trust.Ref, write trust.Access) bool {
	repo, err := g.d.OpenRepo(ctx, ref, false)
	var td trust.TrustData
	if err == nil {
		td, err = trust.ReadTrustData(ctx, repo)
	}
	switch k := trust.KindOf(err); {
	case err == nil:
	case k == trust.KindNoTrustData || k == trust.KindMetaMissing:
		msg := fmt.Sprintf("%s has no trust data: nothing signed yet, or content trust is off for the registry", g.w.GUN)
		if write.NotServed {
			msg = fmt.Sprintf("%s has no trust data: content trust is off for the registry", g.w.GUN)
		}
		g.add("trust data", checkWarn, msg, cmdutil.NoTrustDataFix(g.w))
		// Keys still matter: the first signing needs a root key, or makes one.
		if keys, err := localKeyReport(filepath.Join(g.d.ConfigDir, "trust"), ref.GUN()); err == nil {
			g.checkKeys(keys)
		}
		return false
	default:
		g.add("trust data", checkFail, err.Error(), g.d.StepRemedy(trust.WithOp(trust.OpTrustRead, ref, err)))
		return false
	}
	if len(td.SignedTags) == 0 {
		g.add("trust data", checkWarn, fmt.Sprintf("%s has trust data, but no signed tag", g.w.GUN), cmdutil.NoSignedTagsRemedy(g.w))
		return true
	}
	msg := fmt.Sprintf("%d signed tag(s), verified", len(td.SignedTags))
	if len(td.Delegations) > 0 {
		var names []string
		for _, r := range td.Delegations {
			names = append(names, r.String())
		}
		msg += "; signer roles: " + strings.Join(names, ", ")
	}
	g.add("trust data", CheckOK, msg, "")
	return true
}

func (g *diagnosis) checkExpiry(trustDir string, ref trust.Ref) {
	exp, err := trust.CachedExpiries(trustDir, ref.GUN())
	if err != nil {
		g.add("expiry", checkFail, err.Error(), "")
		return
	}
	if len(exp) == 0 {
		return
	}
	now := time.Now()
	var expired, soon, all []string
	for _, e := range exp {
		s := fmt.Sprintf("%s %s", e.Role, e.Expires.UTC().Format(time.DateOnly))
		all = append(all, s)
		switch {
		case !e.Expires.After(now):
			expired = append(expired, s)
		case e.Expires.Sub(now) < expirySoon:
			soon = append(soon, s)
		}
	}
	switch {
	case len(expired) > 0:
		g.add("expiry", checkFail, "expired: "+strings.Join(expired, ", "), cmdutil.ExpiryRemedy(g.w))
	case len(soon) > 0:
		g.add("expiry", checkWarn, "expires within 30 days: "+strings.Join(soon, ", "), cmdutil.ExpiryRemedy(g.w))
	default:
		g.add("expiry", CheckOK, "metadata expires: "+strings.Join(all, ", "), "")
	}
}

// printDoctorReport prints one line per check, with the remedy of each
// check that is not ok below it (once, when several checks share it).
func printDoctorReport(d *cmdutil.Deps, rep DoctorReport) error {
	out := d.CLI.Out()
	_, _ = fmt.Fprintf(out, "Checking %s (trust server %s)\n\n", rep.Repository, cmdutil.OrDash(rep.TrustServer))
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
	}
	printed := map[string]bool{}
	for _, c := range rep.Checks {
		status := strings.ToUpper(c.Status)
		if c.Status == CheckOK {
			status = CheckOK
		}
		if c.Status == checkInfo {
			status = checkInfo
		}
		if _, err := fmt.Fprintf(out, "%-4s  %-*s  %s\n", status, width, c.Name, c.Message); err != nil {
			return err
		}
		if c.Remedy == "" {
			continue
		}
		if printed[c.Remedy] {
			continue
		}
		printed[c.Remedy] = true
		for _, line := range strings.Split(c.Remedy, "\n") {
			_, _ = fmt.Fprintf(out, "      %s  %s\n", strings.Repeat(" ", width), strings.TrimSpace(line))
		}
	}
	if summary := summarise(rep); summary != "" {
		_, _ = fmt.Fprintf(out, "\n%s\n", summary)
	}
	return nil
}
