package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// notationConcurrency bounds the digests signed with Notation at once.
const notationConcurrency = 4

// signPlan is how one run of push, sign, build --push or refresh signs:
// the formats (--sign), and the Notation key, opened before anything is
// pushed so that a missing key stops the command first.
type signPlan struct {
	mode   string
	opts   cmdutil.SignOptions
	signer *notationbridge.Signer // set when the mode signs with Notation
}

// newSignPlan reads --sign and opens the Notation key when one is needed.
func newSignPlan(ctx context.Context, d *cmdutil.Deps, o cmdutil.SignOptions) (*signPlan, error) {
	mode, err := d.SignMode(o)
	if err != nil {
		return nil, err
	}
	p := &signPlan{mode: mode, opts: o}
	if cmdutil.SignsNotation(mode) {
		if p.signer, err = d.NotationSigner(ctx, o.Key, o.NotationDir); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *signPlan) dct() bool      { return cmdutil.SignsDCT(p.mode) }
func (p *signPlan) notation() bool { return cmdutil.SignsNotation(p.mode) }

// run signs targets of refs' repository (refs[i] is targets[i]'s tag) in
// the plan's formats: content trust through signDCT (one publish; nil when
// the caller did content trust itself), and one Notation signature per
// digest that this key has not signed yet. With content trust alone,
// signDCT's error comes back as it is (with the Notation alternative when
// the server has no trust data); otherwise a failure in either format
// becomes a *missingFormatsError naming the tags and the command that
// completes them.
func (p *signPlan) run(ctx context.Context, d *cmdutil.Deps, refs []trust.Ref, targets []trust.Target, out io.Writer, signDCT func() error) error {
	if !p.notation() {
		if signDCT == nil {
			return nil
		}
		if err := signDCT(); err != nil {
			return withNotationAlternative(err)
		}
		return nil
	}
	// The formats are independent: Notation signs while content trust
	// publishes (which may wait on a passphrase prompt), and its lines are
	// printed after content trust's, so that the output reads in order.
	var notationOut bytes.Buffer
	type notationResult struct {
		failed []trust.Ref
		err    error
	}
	done := make(chan notationResult, 1)
	go func() {
		failed, err := p.signNotation(ctx, d, refs, targets, &notationOut)
		done <- notationResult{failed, err}
	}()
	var missing []missingFormat
	if p.dct() && signDCT != nil {
		if err := signDCT(); err != nil {
			missing = append(missing, missingFormat{format: cmdutil.SignDCT, refs: refs, err: withNotationAlternative(err)})
		}
	}
	res := <-done
	_, _ = io.Copy(out, &notationOut)
	if res.err != nil {
		missing = append(missing, missingFormat{format: cmdutil.SignNotation, refs: res.failed, err: res.err})
	}
	if len(missing) == 0 {
		return nil
	}
	return &missingFormatsError{missing: missing, plan: p}
}

// withNotationAlternative adds, to a content trust signing that failed for
// want of trust data on the server (content trust off, as on every ACR
// registry created since 2026-05-31), that Notation needs no trust server.
func withNotationAlternative(err error) error {
	var te *trust.Error
	if !errors.As(err, &te) || (te.Kind != trust.KindNoTrustData && te.Kind != trust.KindMetaMissing) {
		return err
	}
	r := cmdutil.RemedyOf(err)
	if r != "" {
		r += "\n"
	}
	return cmdutil.WithRemedy(err, r+"Or sign with Notation, which needs no trust server: add `--sign notation` (or set "+cmdutil.EnvSign+
		"=notation), with a Notation key (--key and --cert, --plugin and --id, or notation's default key).")
}

// signNotation signs each distinct digest of targets with Notation unless
// this key already did, and says so per tag. It returns the refs left
// without a Notation signature and why.
func (p *signPlan) signNotation(ctx context.Context, d *cmdutil.Deps, refs []trust.Ref, targets []trust.Target, out io.Writer) ([]trust.Ref, error) {
	var descs []ocispec.Descriptor
	byDigest := map[digest.Digest][]int{}
	for i, t := range targets {
		if _, ok := byDigest[t.Digest]; !ok {
			descs = append(descs, ocispec.Descriptor{Digest: t.Digest, Size: t.Size})
		}
		byDigest[t.Digest] = append(byDigest[t.Digest], i)
	}
	_, _ = fmt.Fprintf(out, "Signing with Notation (%s)\n", p.signer.Key)
	var results []notationbridge.Result
	err := d.ORAS.WithRepository(refs[0], func(r *remote.Repository) error {
		results = notationbridge.SignNewAll(ctx, p.signer, notationbridge.NewRepository(r), descs, notationbridge.SignOptions{
			Format:       p.opts.SignatureFormat,
			SigningAgent: "docker-acrtrust",
		}, notationConcurrency)
		return nil
	})
	if err != nil {
		return refs, d.Fail(trust.OpRegistryPush, refs[0], err)
	}
	var failed []trust.Ref
	var errs []error
	for _, r := range results {
		for _, i := range byDigest[r.Desc.Digest] {
			name := refs[i].Name.Name() + ":" + refs[i].Tag
			switch {
			case r.Err != nil:
				failed = append(failed, refs[i])
			case r.Outcome == notationbridge.AlreadySigned:
				_, _ = fmt.Fprintf(out, "Tag %s is already signed with Notation by this key at %s; nothing to sign\n", name, r.Desc.Digest)
			default:
				_, _ = fmt.Fprintf(out, "Successfully signed %s with Notation (%s)\n", name, r.Desc.Digest)
			}
		}
		if r.Err != nil {
			errs = append(errs, d.Fail(trust.OpRegistryPush, refs[byDigest[r.Desc.Digest][0]], r.Err))
		}
	}
	if len(errs) == 0 {
		return nil, nil
	}
	return failed, errors.Join(errs...)
}

// missingFormat is a format that some tags did not get.
type missingFormat struct {
	format string // cmdutil.SignDCT or cmdutil.SignNotation
	refs   []trust.Ref
	err    error
}

// missingFormatsError: signing in one format or both failed, for some
// tags. The command it names signs only what is missing when run again.
type missingFormatsError struct {
	missing []missingFormat
	plan    *signPlan
	// lead, when set, says what the command did before signing ("the
	// image was pushed to the registry, but it is ").
	lead string
	// complete, when set, is the command that completes the signing in
	// mode; else `docker acrtrust sign` of the tags.
	complete func(mode string) []string
}

func formatName(f string) string {
	if f == cmdutil.SignDCT {
		return "content trust"
	}
	return "Notation"
}

func (e *missingFormatsError) Error() string {
	var parts []string
	for _, m := range e.missing {
		parts = append(parts, fmt.Sprintf("NOT signed with %s: %s: %v", formatName(m.format), refNames(m.refs), m.err))
	}
	return e.lead + strings.Join(parts, "\n")
}

func (e *missingFormatsError) Unwrap() []error {
	errs := make([]error, len(e.missing))
	for i, m := range e.missing {
		errs[i] = m.err
	}
	return errs
}

// Remedy is each cause's remedy, then the command that completes the
// signing: what is signed already is not signed again.
func (e *missingFormatsError) Remedy() string {
	var lines []string
	formats := map[string]bool{}
	seen := map[string]bool{}
	var names []string
	for _, m := range e.missing {
		if r := cmdutil.RemedyOf(m.err); r != "" {
			lines = append(lines, r)
		}
		formats[m.format] = true
		for _, ref := range m.refs {
			n := ref.Name.Name() + ":" + ref.Tag
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	mode := cmdutil.SignBoth
	if len(formats) == 1 {
		mode = e.missing[0].format
	}
	cmd := append(append([]string{"docker", "acrtrust", "sign"}, e.plan.opts.Args(mode)...), names...)
	if e.complete != nil {
		cmd = e.complete(mode)
	}
	lines = append(lines, fmt.Sprintf("Once the cause is fixed, complete the signing (what is signed already is not signed again): `%s`.", strings.Join(cmd, " ")))
	return strings.Join(lines, "\n")
}

// refNames lists refs as NAME:TAG, sorted.
func refNames(refs []trust.Ref) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Name.Name() + ":" + r.Tag
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
