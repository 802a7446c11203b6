package plugin

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const disableContentTrustFlag = "disable-content-trust"

// addContentTrustFlag adds --disable-content-trust as docker push and pull
// had it. Content trust is on unless DOCKER_CONTENT_TRUST is a parseable
// false or the flag says otherwise; the flag, when given, wins either way
// (--disable-content-trust=false turns trust on for one command).
func addContentTrustFlag(flags *pflag.FlagSet, target *bool) {
	flags.BoolVar(target, disableContentTrustFlag, false, "Skip image signing or verification")
}

// trusted reports whether content trust applies to this run of cmd.
func (d *deps) trusted(cmd *cobra.Command, disable bool) bool {
	if cmd.Flags().Changed(disableContentTrustFlag) {
		return !disable
	}
	return d.env.contentTrust
}

// warnUnverified prints the one-line warning for a run without trust.
func (d *deps) warnUnverified(what string) {
	_, _ = fmt.Fprintf(d.cli.Err(), "WARNING: content trust is disabled: %s\n", what)
}
