package plugin

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

type verifyOptions struct {
	images        []string
	allowUnsigned bool
	format        string
	expiryWarning string
	requireOptions
}

// verifyReport is one element of `verify --format json` (schema in docs/reference/acrtrust_verify.md).
type verifyReport struct {
	Name       string // the argument as typed
	Repository string // the GUN
	OK         bool
	Tags       []trust.TagReport
	Expiring   []cmdutil.ExpiringRole
	Error      string `json:",omitempty"`

	// Notation is each tag's Notation result under --require notation or both (require.go).
	Notation []notationTagReport `json:",omitempty"`
}

func newVerifyCommand(d *cmdutil.Deps) *cobra.Command {
	var opts verifyOptions
	cmd := &cobra.Command{
		Use:   "verify [OPTIONS] IMAGE [IMAGE...]",
		Short: "Compare every tag in the registry with its trust data",
		Long: `List the registry's tags of each repository and compare each with the trust
data: signed (the registry serves the signed digest), drifted (signed, but the
registry now serves another digest: someone pushed without signing), unsigned,
or missing (signed, no longer in the registry). With IMAGE:TAG only that tag is
checked. Exit code 0 only when all tags are signed (unsigned ones are allowed
with --allow-unsigned); drifted and missing tags always fail.

Trust metadata that expires within --expiry-warning is reported: when targets
or delegation metadata expires, every trusted pull fails until a publisher
signs again.`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runVerify(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.allowUnsigned, "allow-unsigned", false, "Do not fail on tags that have no signature")
	flags.StringVar(&opts.expiryWarning, "expiry-warning", "720h", `Report trust metadata expiring within this duration ("720h", "30d")`)
	cmdutil.AddFormatFlag(cmd, &opts.format, cmdutil.JSONOrTemplate)
	addRequireFlags(flags, &opts.requireOptions)
	return cmd
}

func runVerify(ctx context.Context, d *cmdutil.Deps, opts verifyOptions) error {
	// One token per repository for its trust data and its tags.
	ctx = trust.WithNeeds(ctx, trust.Needs{RegistryPull: true, TagListing: true})
	window, err := cmdutil.ParseDays(opts.expiryWarning)
	if err != nil {
		return err
	}
	var (
		reports []verifyReport
		failed  []string
	)
	for _, image := range opts.images {
		rep, err := verifyRequired(ctx, d, image, window, opts)
		if err != nil {
			rep.Error = explain.Message(err)
		}
		if !rep.OK {
			failed = append(failed, image+": "+failureSummary(rep))
		}
		reports = append(reports, rep)
	}
	out := d.CLI.Out()
	switch {
	case cmdutil.IsJSONFormat(opts.format):
		err = cmdutil.WriteJSON(out, reports)
	case opts.format != "":
		err = cmdutil.WriteTemplate(out, opts.format, reports)
	default:
		err = printVerifyReports(d, reports)
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return cli.StatusError{StatusCode: cmdutil.ExitFailure, Status: "verification failed:\n  " + strings.Join(failed, "\n  ")}
	}
	return nil
}

func verifyOne(ctx context.Context, d *cmdutil.Deps, image string, window time.Duration, allowUnsigned bool) (verifyReport, error) {
	rep := verifyReport{Name: image, Tags: []trust.TagReport{}, Expiring: []cmdutil.ExpiringRole{}}
	ref, err := cmdutil.ParseTrustRef(image, false)
	if err != nil {
		return rep, err
	}
	rep.Repository = ref.GUN().String()
	repo, err := cmdutil.OpenTrust(ctx, d, ref, false)
	if err != nil {
		return rep, err
	}
	rc, err := trust.Check(ctx, repo, d.Registry, ref, d.TrustDir())
	if err != nil {
		return rep, d.Explained(err)
	}
	rep.Tags = rc.Tags
	if rep.Tags == nil {
		rep.Tags = []trust.TagReport{}
	}
	for _, e := range trust.Expiring(rc.Expiries, time.Now(), window) {
		rep.Expiring = append(rep.Expiring, cmdutil.ExpiringRole{Role: e.Role.String(), Expires: e.Expires})
	}
	rep.OK = true
	for _, t := range rep.Tags {
		if t.Status == trust.StatusDrifted || t.Status == trust.StatusMissing || (t.Status == trust.StatusUnsigned && !allowUnsigned) {
			rep.OK = false
		}
	}
	return rep, nil
}

// failureSummary names the tags that fail, so that a CI log says which.
func failureSummary(rep verifyReport) string {
	if rep.Error != "" {
		return rep.Error
	}
	byStatus := map[trust.TagStatus][]string{}
	for _, t := range rep.Tags {
		if t.Status != trust.StatusSigned {
			byStatus[t.Status] = append(byStatus[t.Status], t.Tag)
		}
	}
	var parts []string
	for _, s := range []trust.TagStatus{trust.StatusDrifted, trust.StatusMissing, trust.StatusUnsigned} {
		if tags := byStatus[s]; len(tags) > 0 {
			sort.Strings(tags)
			parts = append(parts, fmt.Sprintf("%s: %s", s, strings.Join(tags, ", ")))
		}
	}
	if n := notationFailures(rep); n != "" {
		parts = append(parts, n)
	}
	return strings.Join(parts, "; ")
}

func printVerifyReports(d *cmdutil.Deps, reports []verifyReport) error {
	out := d.CLI.Out()
	for i, rep := range reports {
		if i > 0 {
			_, _ = fmt.Fprintln(out)
		}
		if rep.Error != "" {
			_, _ = fmt.Fprintf(out, "%s: error: %s\n", safetext.Escape(rep.Name), safetext.EscapeText(rep.Error))
			continue
		}
		if len(rep.Tags) == 0 && rep.Notation != nil {
			if err := printNotationReport(d, rep); err != nil {
				return err
			}
			continue
		}
		_, _ = fmt.Fprintf(out, "Tags of %s:\n", safetext.Escape(rep.Repository))
		rows := [][]string{{"TAG", "STATUS", "SIGNED DIGEST", "REGISTRY DIGEST"}}
		for _, t := range rep.Tags {
			rows = append(rows, []string{t.Tag, string(t.Status), cmdutil.OrDash(t.SignedDigest.String()), cmdutil.OrDash(t.RegistryDigest.String())})
		}
		if err := cmdutil.WriteTable(out, rows); err != nil {
			return err
		}
		if err := printNotationReport(d, rep); err != nil {
			return err
		}
		for _, e := range rep.Expiring {
			_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: the %s trust metadata of %s expires on %s; sign again (docker acrtrust sign) before then\n",
				e.Role, rep.Repository, e.Expires.UTC().Format(time.DateOnly))
		}
	}
	return nil
}
