package cmdutil

import (
	"errors"
	"fmt"
	"net"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// Fail records that the step op on ref failed with err, and attaches the
// remedy for that step: the trust, registry and engine failures explained
// by what was attempted, where, and with which login.
func (d *Deps) Fail(op trust.Op, ref trust.Ref, err error) error {
	if err == nil {
		return nil
	}
	return d.Explained(trust.WithOp(op, ref, err))
}

// Explained attaches the remedy for a failure of the trust or registry
// client, the key store or the engine. An error that carries a remedy of
// its own keeps it; one explained at an inner step is explained again here,
// where more is known (the operation and the reference).
func (d *Deps) Explained(err error) error {
	if err == nil {
		return nil
	}
	if r := remedierOf(err); r != nil {
		if _, step := r.(*stepError); !step {
			return err
		}
	}
	r := d.StepRemedy(err)
	if r == "" {
		return err
	}
	return &stepError{err: err, remedy: r}
}

// stepError is an error explained by the step that failed (Deps.Explained).
type stepError struct {
	err    error
	remedy string
}

func (e *stepError) Error() string  { return e.err.Error() }
func (e *stepError) Unwrap() error  { return e.err }
func (e *stepError) Remedy() string { return e.remedy }

// StepRemedy says what to do about what the trust and registry clients,
// the key store and the engine return.
func (d *Deps) StepRemedy(err error) string {
	var pinsFile *trust.PinsFileError
	if errors.As(err, &pinsFile) {
		return pinsFileRemedy(pinsFile)
	}
	if r := hostileRemedy(err); r != "" {
		return r
	}
	if errors.Is(err, trust.ErrOfflineWrite) {
		return "Run it without --offline (and without ACRTRUST_OFFLINE)."
	}
	if errors.Is(err, trust.ErrNoSignableRoles) {
		return d.NoSignableRolesRemedy(d.problemOf(err).Where)
	}
	if r := passphraseSourceRemedy(err); r != "" {
		return r
	}
	return d.clientRemedy(err)
}

// clientRemedy is the remedy for what the trust and registry clients and
// the engine return: refusals by what was attempted, then trust error
// kinds, then TLS and network failures.
func (d *Deps) clientRemedy(err error) string {
	// The engine first: a docker socket that does not answer is no
	// registry's fault (the step, not the words, says so).
	var ee *EngineError
	if errors.As(err, &ee) && ee.unreachable() {
		return ee.Remedy()
	}
	// Throttling before refusals: it is never a login or role problem.
	if re, ok := trust.Throttling(err); ok {
		return d.ThrottledRemedy(re)
	}
	p := d.problemOf(err)
	switch {
	case p.loginRefused:
		return LoginRefusedRemedy(p.Where, p.login)
	case p.denied:
		if !p.login.Found {
			return NoLoginRemedy(p.Where)
		}
		r := d.DeniedRemedy(p.op, p.Where, p.login, p.readRefused)
		if p.op != trust.OpRegistryPush && p.op != trust.OpRegistryRead {
			r += "\n" + doctorHint(p.Where)
		}
		return r
	}
	var te *trust.Error
	if errors.As(err, &te) {
		if r := d.KindRemedy(te.Kind, p, err); r != "" {
			return r
		}
	}
	registryOp := p.op == trust.OpRegistryRead || p.op == trust.OpRegistryPush
	if cert, ok := trust.UntrustedCertificate(err); ok {
		host := p.Server
		if registryOp {
			host = p.Host
		}
		return d.CertificateRemedy(host, cert.Issuer.CommonName)
	}
	var ne *net.OpError
	if registryOp && errors.As(err, &ne) {
		return fmt.Sprintf("Check that the registry %s is reachable.", p.Host)
	}
	return ""
}
