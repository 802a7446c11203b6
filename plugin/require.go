package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// envRequire is the default of --require (docs/migrate-to-notation.md).
const envRequire = "ACRTRUST_REQUIRE"

// What verify and pull require of a tag during the move to Notation.
const (
	requireDCT      = "dct"      // content trust's tag -> digest (the default)
	requireNotation = "notation" // a Notation signature the trust policy accepts on the registry's digest
	requireBoth     = "both"     // content trust's digest, and a Notation signature on that same digest
)

// requireOptions are the flags of the transition.
type requireOptions struct {
	require     string
	notationDir string
}

func addRequireFlags(flags *pflag.FlagSet, o *requireOptions) {
	flags.StringVar(&o.require, "require", "", `What a tag needs: "dct" (content trust), "notation" (a Notation signature), or "both" on the same digest (default $`+envRequire+`, else "dct")`)
	flags.StringVar(&o.notationDir, "notation-dir", "", "Notation's configuration directory: trust policy and trust store, and where the command signs its default key and plugins (default notation's own, $XDG_CONFIG_HOME/notation)")
}

// requirement is --require, else ACRTRUST_REQUIRE, else dct.
func requirement(d *cmdutil.Deps, o requireOptions) (string, error) {
	r, from := o.require, "--require"
	if r == "" {
		r, from = d.Getenv(envRequire), envRequire
	}
	switch r {
	case "":
		return requireDCT, nil
	case requireDCT, requireNotation, requireBoth:
		return r, nil
	}
	return "", cmdutil.UsageError{Err: fmt.Errorf("invalid %s %q: use dct, notation or both", from, r)}
}

// pullTrusted is whether pull verifies: as docker decided it
// (DOCKER_CONTENT_TRUST, --disable-content-trust), except that asking for
// Notation by flag or variable is verification too; only
// --disable-content-trust turns it off then. After content trust is gone
// from a registry, pipelines may well set DOCKER_CONTENT_TRUST=0.
func pullTrusted(d *cmdutil.Deps, cmd *cobra.Command, opts pullOptions) bool {
	return consumeTrusted(d, cmd, opts.disableContentTrust, opts.requireOptions)
}

// consumeTrusted is pullTrusted for any command that consumes an image
// (pull, run, create): disable is its --disable-content-trust.
func consumeTrusted(d *cmdutil.Deps, cmd *cobra.Command, disable bool, o requireOptions) bool {
	if !cmd.Flags().Changed(cmdutil.DisableContentTrustFlag) {
		// An invalid requirement is verification too: the command then
		// stops on it instead of going on unverified.
		if req, err := requirement(d, o); err != nil || req != requireDCT {
			return true
		}
	}
	return d.Trusted(cmd, disable)
}

// requiredTargets resolves ref's tag (or every tag) to the digests pull
// uses, as the requirement says, before anything is pulled.
func requiredTargets(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, all bool, o requireOptions) ([]trust.Target, error) {
	req, err := requirement(d, o)
	if err != nil {
		return nil, err
	}
	if req == requireDCT {
		return trustedTargets(ctx, d, ref, all)
	}
	v, err := notationVerifier(d, o)
	if err != nil {
		return nil, err
	}
	var targets []trust.Target
	if req == requireBoth {
		if targets, err = trustedTargets(ctx, d, ref, all); err != nil {
			return nil, err
		}
	} else {
		tags, err := d.RegistryTags(ctx, ref) // all: ref has no tag

		if err != nil {
			return nil, err
		}
		for _, tag := range tags {
			t, err := d.RegistryTarget(ctx, ref, tag)
			if err != nil {
				return nil, err
			}
			targets = append(targets, t)
		}
	}
	for _, t := range targets {
		if err := verifyNotation(ctx, d, v, ref, t.Digest); err != nil {
			return nil, fmt.Errorf("%s:%s: %w", ref.Familiar(), t.Name, err)
		}
	}
	return targets, nil
}

// notationVerifier loads the trust policy and store of the notation
// directory in use.
func notationVerifier(d *cmdutil.Deps, o requireOptions) (*notationbridge.Verifier, error) {
	dir := d.NotationDir(o.notationDir)
	v, err := notationbridge.LoadVerifier(dir)
	if errors.Is(err, notationbridge.ErrNoPolicy) {
		return nil, cmdutil.WithRemedy(err, "Nothing was pulled or verified. Write the policy for what was migrated with `docker acrtrust migrate --emit-policy DIR ...` "+
			"and pass --notation-dir DIR, or set up notation's own (notation policy import, notation cert add)")
	}
	return v, err
}

// errNotationUnverified marks a digest without a Notation signature that
// the trust policy accepts.
var errNotationUnverified = errors.New("no Notation signature that the trust policy accepts")

// verifyNotation checks that ref's repository has a Notation signature on
// dgst that v's trust policy accepts.
func verifyNotation(ctx context.Context, d *cmdutil.Deps, v *notationbridge.Verifier, ref trust.Ref, dgst digest.Digest) error {
	if d.ORAS == nil {
		return errors.New("verifying Notation signatures needs the registry client of docker acrtrust")
	}
	return d.ORAS.WithRepository(ref, func(r *remote.Repository) error {
		_, err := v.Verify(ctx, notationbridge.NewRepository(r), ref.Name.Name()+"@"+dgst.String())
		if err != nil {
			return fmt.Errorf("%w on %s: %w", errNotationUnverified, dgst, err)
		}
		return nil
	})
}

// notationTagReport is a tag's Notation result in `verify --format json`.
type notationTagReport struct {
	Tag    string
	Digest digest.Digest // the digest whose signature was checked
	OK     bool
	Error  string `json:",omitempty"`
}

// verifyRequired is verify for one argument under the requirement.
func verifyRequired(ctx context.Context, d *cmdutil.Deps, image string, window time.Duration, opts verifyOptions) (verifyReport, error) {
	req, err := requirement(d, opts.requireOptions)
	if err != nil {
		return verifyReport{Name: image}, err
	}
	if req == requireDCT {
		return verifyOne(ctx, d, image, window, opts.allowUnsigned)
	}
	v, err := notationVerifier(d, opts.requireOptions)
	if err != nil {
		return verifyReport{Name: image, Tags: []trust.TagReport{}, Expiring: []cmdutil.ExpiringRole{}}, err
	}
	if req == requireBoth {
		rep, err := verifyOne(ctx, d, image, window, opts.allowUnsigned)
		if err != nil {
			return rep, err
		}
		ref, _ := trust.ParseRef(image)
		rep.Notation = []notationTagReport{}
		for _, t := range rep.Tags {
			if t.Status != trust.StatusSigned {
				continue
			}
			nr := notationTagReport{Tag: t.Tag, Digest: t.SignedDigest, OK: true}
			if err := verifyNotation(ctx, d, v, ref, t.SignedDigest); err != nil {
				nr.OK, nr.Error, rep.OK = false, err.Error(), false
			}
			rep.Notation = append(rep.Notation, nr)
		}
		return rep, nil
	}

	// Notation alone: content trust is not read at all, so this works on a
	// registry whose content trust data is gone.
	rep := verifyReport{Name: image, Tags: []trust.TagReport{}, Expiring: []cmdutil.ExpiringRole{}, Notation: []notationTagReport{}}
	ref, err := trust.ParseRef(image)
	if err != nil {
		return rep, err
	}
	if ref.Digest != "" {
		return rep, trust.ErrDigestReference
	}
	rep.Repository = ref.Name.Name()
	tags, err := d.RegistryTags(ctx, ref)
	if err != nil {
		return rep, err
	}
	rep.OK = true
	for _, tag := range tags {
		t, err := d.RegistryTarget(ctx, ref, tag)
		if err != nil {
			return rep, err
		}
		nr := notationTagReport{Tag: tag, Digest: t.Digest, OK: true}
		if err := verifyNotation(ctx, d, v, ref, t.Digest); err != nil {
			nr.OK, nr.Error = false, err.Error()
			if !opts.allowUnsigned || !notationbridge.IsNoSignature(err) {
				rep.OK = false
			}
		}
		rep.Notation = append(rep.Notation, nr)
	}
	return rep, nil
}

// printNotationReport prints the Notation column of verify.
func printNotationReport(d *cmdutil.Deps, rep verifyReport) error {
	if rep.Notation == nil {
		return nil
	}
	out := d.CLI.Out()
	_, _ = fmt.Fprintf(out, "Notation signatures of %s:\n", safetext.Escape(rep.Repository))
	rows := [][]string{{"TAG", "NOTATION", "DIGEST"}}
	for _, n := range rep.Notation {
		status := "verified"
		if !n.OK {
			status = "not verified"
		}
		rows = append(rows, []string{n.Tag, status, n.Digest.String()})
	}
	return cmdutil.WriteTable(out, rows)
}

// notationFailures names the tags without an accepted Notation signature.
func notationFailures(rep verifyReport) string {
	var tags []string
	for _, n := range rep.Notation {
		if !n.OK {
			tags = append(tags, n.Tag)
		}
	}
	if len(tags) == 0 {
		return ""
	}
	return "no accepted Notation signature: " + strings.Join(tags, ", ")
}
