package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// Exit codes, as docker uses them.
const (
	exitFailure = 1
	exitUsage   = 125
	// exitInterrupted is 128 + SIGINT, as a shell reports a command
	// stopped by Ctrl-C.
	exitInterrupted = 130
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
	code := exitFailure
	if d.ctx != nil && errors.Is(context.Cause(d.ctx), errInterrupted) {
		code = exitInterrupted
	}
	return cli.StatusError{Status: msg, StatusCode: code}
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
	var noRoot *rootKeyMissingError
	if errors.As(err, &noRoot) {
		return "Restore the root key from its backup first (`docker acrtrust key restore FILE`), rotate, then take it offline again (see docs/keys.md)."
	}
	var pinsFile *trust.PinsFileError
	if errors.As(err, &pinsFile) {
		return "Nothing was read or signed with a broken pins file. Fix it (it is notary's trust_pinning JSON, see docs/security.md), " +
			"or name another file with --pins or ACRTRUST_PINS."
	}
	if errors.Is(err, trust.ErrOfflineWrite) {
		return "Run it without --offline (and without ACRTRUST_OFFLINE)."
	}
	var unsigned *pushedUnsignedError
	if errors.As(err, &unsigned) {
		r := fmt.Sprintf("Once the cause is fixed, sign what the registry now serves: `docker acrtrust sign %s`.", strings.Join(unsigned.refs, " "))
		if cause := d.remedy(unsigned.err); cause != "" {
			r = cause + "\n" + r
		}
		return r
	}
	if errors.Is(err, trust.ErrNoSignableRoles) {
		return d.noSignableRolesRemedy(d.problemOf(err).where)
	}
	var missing *tagNotFoundError
	if errors.As(err, &missing) {
		return fmt.Sprintf("Check the tag: `docker acrtrust verify %s` lists the repository's tags and whether each is signed.", missing.ref.Familiar())
	}
	var notInRegistry *notInRegistryError
	if errors.As(err, &notInRegistry) {
		return "Push the image first (`docker acrtrust push`, or any client), or use --local to push the local image and sign it."
	}
	if r := d.keyRemedy(err); r != "" {
		return r
	}
	return d.explain(err)
}

// explain is remedy for what the trust and registry clients and the engine
// return: refusals by what was attempted, then trust error kinds, then TLS
// and network failures.
func (d *deps) explain(err error) string {
	// The engine first: a docker socket that does not answer is no
	// registry's fault (the step, not the words, says so).
	if r := d.engineRemedy(err); r != "" {
		return r
	}
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
