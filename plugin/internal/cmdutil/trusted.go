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

// Trusted reports whether content trust applies to this run of cmd.
func (d *Deps) Trusted(cmd *cobra.Command, disable bool) bool {
	if cmd.Flags().Changed(DisableContentTrustFlag) {
		return !disable
	}
	return d.Env.ContentTrust
}

// WarnUnverified prints the one-line warning for a run without trust.
func (d *Deps) WarnUnverified(what string) {
	_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: content trust is disabled: %s\n", what)
}
