package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
	"github.com/theupdateframework/notary/tuf/data"
	"oras.land/oras-go/v2/errdef"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// resolveConcurrency bounds the registry requests in flight while the
// digests of many tags are read: enough to hide round trips to a remote
// registry, few enough not to be throttled.
const resolveConcurrency = 8

type signOptions struct {
	images []string
	local  bool
	sign   cmdutil.SignOptions
}

func newSignCommand(d *cmdutil.Deps) *cobra.Command {
	var opts signOptions
	cmd := &cobra.Command{
		Use:   "sign [OPTIONS] IMAGE:TAG [IMAGE:TAG...]",
		Short: "Sign an image",
		Long: `Sign tags with the digest and size that the registry serves for them, so
the image need not be on this machine: images pushed by buildx or by another
machine, and multi-platform indexes, are signed exactly as the registry
serves them. All tags given for one repository are signed in one publish.

A repository without trust data is initialised (root key reused or created,
new repository key) and signed by its admin into targets. Where signers
exist, the tag is signed into each delegation whose key is here, and into
targets/releases.

With --sign notation, each digest is signed with Notation instead (an OCI
referrer, no trust server involved); with --sign both, content trust is
published once per repository and each new digest gets one Notation
signature. A tag already signed in a format is not signed again in it, so
running the command again after a partial failure completes it. The
Notation key is --key and --cert, --plugin and --id, or else notation's
default key.

With --local, each image is pushed from the local engine first and then
signed, as docker trust sign --local did.`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runSign(cmd.Context(), d, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.local, "local", false, "Sign a locally tagged image")
	cmdutil.AddSignFlags(cmd.Flags(), &opts.sign)
	return cmd
}

func runSign(ctx context.Context, d *cmdutil.Deps, opts signOptions) error {
	groups, err := groupByRepository(opts.images)
	if err != nil {
		return err
	}
	plan, err := newSignPlan(ctx, d, opts.sign) // before --local pushes anything
	if err != nil {
		return err
	}
	if plan.dct() && d.Offline() {
		return d.Explained(trust.ErrOfflineWrite)
	}
	// One token per repository for its digests and its trust data.
	ctx = trust.WithNeeds(ctx, trust.Needs{TrustWrite: true, RegistryPull: true})
	var errs []error
	for _, g := range groups {
		if opts.local {
			err = signLocal(ctx, d, g, plan)
		} else {
			err = signRemote(ctx, d, g, plan)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// groupByRepository parses every argument before anything is signed, and
// groups the references by repository (first appearance first), each tag
// once: one repository's tags go out in one publish.
func groupByRepository(images []string) ([][]trust.Ref, error) {
	var groups [][]trust.Ref
	index := map[string]int{}
	seen := map[string]bool{}
	for _, image := range images {
		// name:tag@digest is refused too: the tag is what gets signed,
		// with what the registry serves for it, not a digest from the
		// command line.
		ref, err := cmdutil.ParseTrustRef(image, true)
		if err != nil {
			return nil, err
		}
		name := ref.Name.Name()
		if seen[name+":"+ref.Tag] {
			continue
		}
		seen[name+":"+ref.Tag] = true
		i, ok := index[name]
		if !ok {
			i = len(groups)
			index[name] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], ref)
	}
	return groups, nil
}

// signRemote signs the tags of one repository with what the registry
// serves for them, in plan's formats.
func signRemote(ctx context.Context, d *cmdutil.Deps, refs []trust.Ref, plan *signPlan) error {
	out := d.CLI.Out()
	if plan.dct() {
		for _, ref := range refs {
			_, _ = fmt.Fprintln(out, "Signing and pushing trust metadata for", ref.Original)
		}
	}
	targets, err := registryTargets(ctx, d, refs, nil)
	if err != nil {
		return d.Fail(trust.OpRegistryRead, refs[0], err)
	}
	return plan.run(ctx, d, refs, targets, out, func() error { return signDCTRemote(ctx, d, refs, targets, out) })
}

// signDCTRemote is sign's content trust half: one publish for the
// repository, with docker trust sign's output.
func signDCTRemote(ctx context.Context, d *cmdutil.Deps, refs []trust.Ref, targets []trust.Target, out io.Writer) error {
	repo, err := cmdutil.OpenTrust(ctx, d, refs[0], true)
	if err != nil {
		return err
	}
	printExistingSignatures(ctx, out, repo, refs)

	res, err := trust.Sign(ctx, repo, targets)
	if err != nil {
		return signFailure(refs, d.Fail(trust.OpTrustWrite, refs[0], err))
	}
	if res.Initialized {
		_, _ = fmt.Fprintln(out, "Finished initializing signed repository for", refs[0].Original)
	}
	reportSigned(out, refs[0], targets, res)
	return nil
}

// reportSigned prints what Sign did for each target: Docker's
// "Successfully signed NAME:TAG" only for what was signed now.
func reportSigned(out io.Writer, ref trust.Ref, targets []trust.Target, res trust.SignResult) {
	for _, r := range res.Replaced {
		_, _ = fmt.Fprintf(out, "Tag %s was signed for %s; it is now signed for %s\n", r.Tag, r.Previous, r.Current)
	}
	already := map[string]trust.AlreadySigned{}
	for _, a := range res.AlreadySigned {
		already[a.Tag] = a
	}
	for _, t := range targets {
		if a, ok := already[t.Name]; ok {
			_, _ = fmt.Fprintf(out, "Tag %s:%s is already signed for %s by %s; nothing to sign\n", ref.Name.Name(), t.Name, a.Digest, roleNames(a.Roles))
			continue
		}
		_, _ = fmt.Fprintf(out, "Successfully signed %s:%s\n", ref.Name.Name(), t.Name)
	}
	if res.Publishes == 0 && !res.Initialized {
		_, _ = fmt.Fprintln(out, "Nothing was published: every tag was already signed with the digest the registry serves, in every role this machine signs into.")
	}
}

// roleNames names roles for people: targets is the repository admin.
func roleNames(roles []data.RoleName) string {
	names := make([]string, 0, len(roles))
	for _, r := range roles {
		if r == data.CanonicalTargetsRole {
			names = append(names, "targets (Repo Admin)")
			continue
		}
		names = append(names, r.String())
	}
	return strings.Join(names, ", ")
}

// signLocal pushes the local images of one repository, then signs them
// with what the registry now serves, as push does.
func signLocal(ctx context.Context, d *cmdutil.Deps, refs []trust.Ref, plan *signPlan) error {
	return pushAndSign(ctx, d, refs, plan, d.CLI.Out(), func(ref trust.Ref) {
		_, _ = fmt.Fprintf(d.CLI.Err(), "Signing and pushing trust data for local image %s, may overwrite remote trust data\n", ref.Original)
	})
}

// pushAndSign pushes the local images of one repository (announce, when
// set, is called before each push), then signs them in one publish with
// what the registry now serves. It fails closed: a push that cannot be
// signed is an error that says the image is in the registry unsigned.
func pushAndSign(ctx context.Context, d *cmdutil.Deps, refs []trust.Ref, plan *signPlan, out io.Writer, announce func(trust.Ref)) error {
	pushed := make([]string, len(refs))
	for i, ref := range refs {
		if announce != nil {
			announce(ref)
		}
		dgst, err := d.Engine.Push(ctx, ref.String(), out)
		if err != nil {
			return d.Fail(trust.OpRegistryPush, ref, err)
		}
		pushed[i] = dgst
	}
	return signServed(ctx, d, refs, pushed, plan, out)
}

// pushedUnsignedError: images were pushed, and signing them then failed.
// A signed push fails closed (Docker's did not always): it says that the
// image is in the registry unsigned, and how to sign it once fixed.
type pushedUnsignedError struct {
	refs     []string
	signArgs []string // the flags of sign that sign as the command would have
	err      error
}

func newPushedUnsigned(refs []trust.Ref, err error, plan *signPlan) error {
	names := make([]string, len(refs))
	for i, ref := range refs {
		names[i] = ref.String()
	}
	var args []string
	if plan.mode != cmdutil.SignDCT {
		args = plan.opts.Args(plan.mode)
	}
	return &pushedUnsignedError{refs: names, signArgs: args, err: err}
}

func (e *pushedUnsignedError) Error() string {
	return fmt.Sprintf("%s was pushed to the registry but is NOT signed: %v", strings.Join(e.refs, ", "), e.err)
}

func (e *pushedUnsignedError) Unwrap() error { return e.err }

// Remedy is the cause's remedy, then how to sign what was pushed.
func (e *pushedUnsignedError) Remedy() string {
	cmd := append(append([]string{"docker", "acrtrust", "sign"}, e.signArgs...), e.refs...)
	r := fmt.Sprintf("Once the cause is fixed, sign what the registry now serves: `%s`.", strings.Join(cmd, " "))
	if cause := cmdutil.RemedyOf(e.err); cause != "" {
		r = cause + "\n" + r
	}
	return r
}

// registryTargets reads the digest and size of each tag from the
// registry, a few at a time. When pushed[i] is a digest the engine
// reported, the registry must serve the same, or the tag moved in between.
func registryTargets(ctx context.Context, d *cmdutil.Deps, refs []trust.Ref, pushed []string) ([]trust.Target, error) {
	targets := make([]trust.Target, len(refs))
	errs := make([]error, len(refs))
	resolve := func(i int) {
		ref := refs[i]
		desc, err := d.Registry.Resolve(ctx, ref)
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			errs[i] = &notInRegistryError{ref: ref.String(), err: err}
			return
		case err != nil:
			errs[i] = err
			return
		}
		if pushed != nil && pushed[i] != "" && pushed[i] != desc.Digest.String() {
			errs[i] = fmt.Errorf("the registry serves %s for %s, not %s that was just pushed: the tag changed in between, so it was not signed", desc.Digest, ref.String(), pushed[i])
			return
		}
		targets[i] = trust.Target{Name: ref.Tag, Digest: desc.Digest, Size: desc.Size}
	}
	// The first lookup alone: it gets the registry token that the others
	// then share, instead of each of them meeting the 401 challenge.
	resolve(0)
	// Fewer lookups at once while the registry throttles (issue 20).
	ctx, lim := d.Adaptive(ctx, resolveConcurrency)
	var wg sync.WaitGroup
	for i := 1; i < len(refs); i++ {
		if lim.Acquire(ctx) != nil {
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { lim.Release(); wg.Done() }()
			resolve(i)
		}()
	}
	wg.Wait()
	d.ReportThrottling(lim, "the tags looked up")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return targets, nil
}

// printExistingSignatures says who signed the tags before, as docker trust
// sign did ("Existing signatures for tag ..."). It is information only: a
// repository that cannot be read yet (no trust data) has none.
func printExistingSignatures(ctx context.Context, out io.Writer, repo trust.Repository, refs []trust.Ref) {
	tag := ""
	if len(refs) == 1 {
		tag = refs[0].Tag
	}
	signed, err := trust.SignedTags(ctx, repo, tag)
	if err != nil {
		return
	}
	wanted := map[string]bool{}
	for _, ref := range refs {
		wanted[ref.Tag] = true
	}
	for _, t := range signed {
		if !wanted[t.Tag] {
			continue
		}
		signers := strings.Join(t.Signers, ", ")
		if signers == "" {
			signers = cmdutil.RepoAdminName
		}
		_, _ = fmt.Fprintf(out, "Existing signatures for tag %s digest %s from:\n%s\n", t.Tag, t.Digest, signers)
	}
}

// signFailure keeps docker's "failed to sign REPO:TAG: ..." wording; for
// many tags it names the first few.
func signFailure(refs []trust.Ref, err error) error {
	const named = 3
	names := make([]string, 0, named)
	for _, ref := range refs[:min(len(refs), named)] {
		names = append(names, ref.Name.Name()+":"+ref.Tag)
	}
	what := strings.Join(names, ", ")
	if len(refs) > named {
		what += fmt.Sprintf(" and %d more tags", len(refs)-named)
	}
	return signError{ref: what, err: err}
}

// notInRegistryError: a tag to sign that the registry does not have.
type notInRegistryError struct {
	ref string
	err error
}

func (e *notInRegistryError) Error() string {
	return fmt.Sprintf("%s is not in the registry, so there is nothing to sign: %v", e.ref, e.err)
}
func (e *notInRegistryError) Unwrap() error { return e.err }

// Remedy says how to get the image into the registry.
func (e *notInRegistryError) Remedy() string {
	return "Push the image first (`docker acrtrust push`, or any client), or use --local to push the local image and sign it."
}
