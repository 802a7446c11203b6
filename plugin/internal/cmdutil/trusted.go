package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const DisableContentTrustFlag = "disable-content-trust"

// AddContentTrustFlag adds --disable-content-trust as docker push and pull
// had it. Content trust is on unless DOCKER_CONTENT_TRUST is a parseable
// false or the flag says otherwise; the flag, when given, wins either way
// (--disable-content-trust=false turns trust on for one command).
func AddContentTrustFlag(flags *pflag.FlagSet, target *bool) {
	flags.BoolVar(target, DisableContentTrustFlag, false, "Skip image signing or verification")
}

// Trusted reports whether content trust applies to this run of cmd, and
// remembers what turned it off for WarnUnverified.
func (d *Deps) Trusted(cmd *cobra.Command, disable bool) bool {
	switch {
	case cmd.Flags().Changed(DisableContentTrustFlag):
		d.trustOffBy = "--" + DisableContentTrustFlag
		return !disable
	case !d.Env.ContentTrust:
		d.trustOffBy = "DOCKER_CONTENT_TRUST=" + d.Env.contentTrustValue
		return false
	}
	return true
}

// WarnUnverified prints the one-line warning for a run without trust,
// naming what turned trust off (the flag, or the variable and its value).
func (d *Deps) WarnUnverified(what string) {
	by := ""
	if d.trustOffBy != "" {
		by = " by " + d.trustOffBy
	}
	_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: content trust is disabled%s: %s\n", by, what)
}
