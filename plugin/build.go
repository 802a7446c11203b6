package plugin

// Longer than 400 lines on purpose: the build command's docker build flags
// are declared here, one line each, as docker declares them.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/acrtrust/docker-acrtrust/internal/buildfile"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// buildOptions are the flags build reads itself; every other docker build
// flag is passed on as given, in pass.
type buildOptions struct {
	context             string // PATH, URL or -
	file                string
	tags                []string
	buildArgs           []string
	buildContexts       []string
	platforms           []string
	target              string
	push                bool
	quiet               bool
	disableContentTrust bool
	require             requireOptions
	sign                cmdutil.SignOptions

	// pass holds the other flags, "--name=value" each, in the order given.
	pass []string
}

func newBuildCommand(d *cmdutil.Deps) *cobra.Command {
	var opts buildOptions
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | URL | -",
		Short: "Build an image from signed base images only",
		Long: `Build with docker build (buildx when the docker CLI has it, else the classic
builder) from base images verified through content trust, as
docker build --disable-content-trust=false did.

The Dockerfile is read first, with BuildKit's own parser: every FROM (ARG
defaults and --build-arg values applied), every COPY --from and
RUN --mount=from that names an image rather than a stage, and every
--build-context NAME=docker-image://IMAGE. Each image is resolved through its
trust data, and the build reads exactly the signed digests: buildx through a
--build-context per image (the Dockerfile stays the user's), the classic
builder from a pinned copy of the Dockerfile given with -f - (the user's file
is never modified). FROM scratch, stage names and references pinned by digest
pass through unchanged.

An unsigned base image, a repository without trust data, or a tag whose signed
image the registry no longer serves stops the build before anything is built.
With --require notation, each image is resolved in the registry instead and
its digest must carry a Notation signature that the trust policy accepts
(references pinned by digest too); with --require both, content trust's
digest must carry one.

With --push, the tags are pushed and then signed with the digest the registry
serves (for a multi-platform build, the index), one publish per repository;
--sign notation or both signs with Notation too, as push does. If signing
fails, the command fails, says which format is missing, and gives the sign
command that completes it.`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.context = args[0]
			// One directory for the trust policy and the signing key.
			opts.sign.NotationDir = opts.require.notationDir
			return runBuild(cmd.Context(), d, opts, buildTrusted(d, cmd, opts))
		},
	}
	flags := cmd.Flags()
	flags.SetInterspersed(true)
	flags.StringVarP(&opts.file, "file", "f", "", `Name of the Dockerfile (default: "PATH/Dockerfile")`)
	flags.StringArrayVarP(&opts.tags, "tag", "t", nil, `Name and optionally a tag (format: "name:tag")`)
	flags.StringArrayVar(&opts.buildArgs, "build-arg", nil, "Set build-time variables")
	flags.StringArrayVar(&opts.buildContexts, "build-context", nil, "Additional build contexts (e.g., name=path); needs buildx")
	flags.StringArrayVar(&opts.platforms, "platform", nil, "Set target platform for build")
	flags.StringVar(&opts.target, "target", "", "Set the target build stage to build")
	flags.BoolVar(&opts.push, "push", false, "Push the tags, then sign them")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	cmdutil.AddContentTrustFlag(flags, &opts.disableContentTrust)
	addRequireFlags(flags, &opts.require)
	cmdutil.AddSignFlags(flags, &opts.sign)
	addPassThroughBuildFlags(flags, &opts.pass)
	return cmd
}

// passThroughBuildFlags are docker build's (classic and buildx) other
// flags: build passes them on as given. Those of only one builder are
// refused by docker build if the other runs.
var passThroughBuildFlags = []struct {
	name, short, usage string
	isBool             bool
	repeat             bool // may be given more than once
}{
	{name: "add-host", usage: `Add a custom host-to-IP mapping ("host:ip")`, repeat: true},
	{name: "allow", usage: "Allow extra privileged entitlement (buildx)", repeat: true},
	{name: "annotation", usage: "Add annotation to the image (buildx)", repeat: true},
	{name: "attest", usage: `Attestation parameters (format: "type=sbom,generator=image") (buildx)`, repeat: true},
	{name: "builder", usage: "Override the configured builder instance (buildx)"},
	{name: "cache-from", usage: "External cache sources", repeat: true},
	{name: "cache-to", usage: "Cache export destinations (buildx)", repeat: true},
	{name: "call", usage: "Set method for evaluating build (buildx)"},
	{name: "cgroup-parent", usage: `Set the parent cgroup for the "RUN" instructions during build`},
	{name: "check", usage: "Shorthand for --call=check (buildx)", isBool: true},
	{name: "compress", usage: "Compress the build context using gzip (classic builder)", isBool: true},
	{name: "cpu-period", usage: "Limit the CPU CFS (Completely Fair Scheduler) period (classic builder)"},
	{name: "cpu-quota", usage: "Limit the CPU CFS (Completely Fair Scheduler) quota (classic builder)"},
	{name: "cpu-shares", short: "c", usage: "CPU shares (relative weight) (classic builder)"},
	{name: "cpuset-cpus", usage: "CPUs in which to allow execution (0-3, 0,1) (classic builder)"},
	{name: "cpuset-mems", usage: "MEMs in which to allow execution (0-3, 0,1) (classic builder)"},
	{name: "force-rm", usage: "Always remove intermediate containers (classic builder)", isBool: true},
	{name: "iidfile", usage: "Write the image ID to the file"},
	{name: "isolation", usage: "Container isolation technology (classic builder)"},
	{name: "label", usage: "Set metadata for an image", repeat: true},
	{name: "load", usage: `Shorthand for "--output=type=docker" (buildx)`, isBool: true},
	{name: "memory", short: "m", usage: "Memory limit (classic builder)"},
	{name: "memory-swap", usage: "Swap limit equal to memory plus swap: -1 to enable unlimited swap (classic builder)"},
	{name: "metadata-file", usage: "Write build result metadata to a file (buildx)"},
	{name: "network", usage: `Set the networking mode for the "RUN" instructions during build`},
	{name: "no-cache", usage: "Do not use cache when building the image", isBool: true},
	{name: "no-cache-filter", usage: "Do not cache specified stages (buildx)", repeat: true},
	{name: "output", short: "o", usage: `Output destination (format: "type=local,dest=path") (buildx)`, repeat: true},
	{name: "progress", usage: "Set type of progress output (buildx)"},
	{name: "provenance", usage: `Shorthand for "--attest=type=provenance" (buildx)`},
	{name: "pull", usage: "Always attempt to pull all referenced images", isBool: true},
	{name: "rm", usage: "Remove intermediate containers after a successful build (classic builder)", isBool: true},
	{name: "sbom", usage: `Shorthand for "--attest=type=sbom" (buildx)`},
	{name: "secret", usage: `Secret to expose to the build (format: "id=mysecret[,src=/local/secret]") (buildx)`, repeat: true},
	{name: "security-opt", usage: "Security options (classic builder)", repeat: true},
	{name: "shm-size", usage: `Size of "/dev/shm"`},
	{name: "squash", usage: "Squash newly built layers into a single new layer (classic builder, experimental)", isBool: true},
	{name: "ssh", usage: `SSH agent socket or keys to expose to the build (format: "default|<id>[=<socket>|<key>[,<key>]]") (buildx)`, repeat: true},
	{name: "ulimit", usage: "Ulimit options", repeat: true},
}

func addPassThroughBuildFlags(flags *pflag.FlagSet, pass *[]string) {
	for _, f := range passThroughBuildFlags {
		v := &passFlag{name: f.name, pass: pass, isBool: f.isBool, repeat: f.repeat}
		flag := flags.VarPF(v, f.name, f.short, f.usage)
		if f.isBool {
			flag.NoOptDefVal = "true"
		}
		if f.name == "rm" {
			flag.DefValue = "true"
		}
	}
}

// passFlag records a flag as "--name=value" for docker build.
type passFlag struct {
	name   string
	pass   *[]string
	isBool bool
	repeat bool
}

func (f *passFlag) String() string { return "" }
func (f *passFlag) Set(v string) error {
	*f.pass = append(*f.pass, "--"+f.name+"="+v)
	return nil
}
func (f *passFlag) Type() string {
	switch {
	case f.isBool:
		return "bool"
	case f.repeat:
		return "stringArray"
	}
	return "string"
}
func (f *passFlag) IsBoolFlag() bool { return f.isBool }

// buildInput is the Dockerfile build reads, and where it came from.
type buildInput struct {
	dockerfile []byte
	// fromStdin: the Dockerfile was read from stdin (-f - or PATH -), so
	// the builder gets it on its stdin again.
	fromStdin bool
}

func runBuild(ctx context.Context, d *cmdutil.Deps, opts buildOptions, trusted bool) error {
	tags, err := buildTags(opts)
	if err != nil {
		return err
	}
	tool := buildToolOf(d)
	if !trusted {
		return runPlainBuild(ctx, d, opts, tool, tags)
	}
	// What can be refused is refused before anything is built or pushed.
	r, plan, err := buildChecks(ctx, d, opts)
	if err != nil {
		return err
	}
	kind := tool.Kind()
	if kind == cmdutil.ClassicBuilder && len(opts.buildContexts) > 0 {
		return cmdutil.UsageError{Err: errors.New("--build-context needs buildx; the docker CLI here builds with the classic builder. Install buildx, or build without --build-context")}
	}
	in, err := readBuildInput(d, opts)
	if err != nil {
		return err
	}
	analysis, err := buildfile.Analyze(in.dockerfile, buildfile.Options{
		BuildArgs: buildArgValues(opts.buildArgs, d.Getenv),
		Contexts:  buildContextValues(opts.buildContexts),
		Target:    opts.target,
		Platform:  strings.Join(opts.platforms, ","),
	})
	if err != nil {
		return err
	}
	if analysis.Syntax != "" && kind == cmdutil.BuildxBuilder {
		_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: Dockerfile:%d: the frontend image %s (# syntax=) is not verified through content trust\n", analysis.SyntaxLine, analysis.Syntax)
	}

	pins, err := resolveBuildSources(ctx, d, analysis.Sources, r)
	if err != nil {
		return err
	}

	args := append([]string(nil), opts.pass...)
	args = append(args, interpretedBuildArgs(opts, kind)...)
	var stdin io.Reader
	switch kind {
	case cmdutil.BuildxBuilder:
		args = append(args, buildxContexts(analysis.Sources, pins, opts.buildContexts)...)
		if opts.file != "" {
			args = append(args, "--file="+opts.file)
		}
		if in.fromStdin {
			stdin = bytes.NewReader(in.dockerfile)
		}
	default:
		indexes := map[int]string{}
		for i, p := range pins {
			if p != "" {
				indexes[i] = p
			}
		}
		pinned, err := analysis.Rewrite(indexes)
		if err != nil {
			return err
		}
		// The pinned copy goes to the builder on its stdin (-f -, or
		// PATH - when that is where the Dockerfile came from): the
		// user's file is never modified, and nothing is left behind.
		if opts.context != "-" {
			args = append(args, "--file=-")
		}
		stdin = bytes.NewReader(pinned)
	}
	args = append(args, opts.context)
	if err := tool.Run(ctx, args, stdin); err != nil {
		return err
	}
	if opts.push {
		return pushBuilt(ctx, d, opts, kind, tags, plan)
	}
	return nil
}

// buildTrusted is whether build verifies its bases and signs what it
// pushes: as docker decided it, except that asking for Notation (--require
// or --sign, by flag or variable) is trust too; only
// --disable-content-trust turns it off then.
func buildTrusted(d *cmdutil.Deps, cmd *cobra.Command, opts buildOptions) bool {
	if !cmd.Flags().Changed(cmdutil.DisableContentTrustFlag) {
		if req, err := requirement(d, opts.require); err != nil || req != requireDCT {
			return true
		}
		if opts.push {
			if mode, err := d.SignMode(opts.sign); err != nil || mode != cmdutil.SignDCT {
				return true
			}
		}
	}
	return d.Trusted(cmd, opts.disableContentTrust) // also remembers what turned trust off, for the warning
}

// buildChecks reads the requirement and, with --push, opens the signing
// plan: a bad flag, a missing trust policy or Notation key stops the build
// before it starts.
func buildChecks(ctx context.Context, d *cmdutil.Deps, opts buildOptions) (baseRequirement, *signPlan, error) {
	req, err := requirement(d, opts.require)
	if err != nil {
		return baseRequirement{}, nil, err
	}
	r := baseRequirement{req: req}
	if req != requireDCT {
		if r.v, err = notationVerifier(d, opts.require); err != nil {
			return r, nil, err
		}
	}
	if !opts.push {
		return r, nil, nil
	}
	plan, err := newSignPlan(ctx, d, opts.sign)
	if err != nil {
		return r, nil, err
	}
	if plan.dct() && d.Offline() {
		return r, nil, d.Explained(trust.ErrOfflineWrite)
	}
	return r, plan, nil
}

// runPlainBuild is build without content trust: docker build as given,
// with a warning.
func runPlainBuild(ctx context.Context, d *cmdutil.Deps, opts buildOptions, tool cmdutil.BuildTool, tags [][]trust.Ref) error {
	d.WarnUnverified("base images are not verified")
	kind := tool.Kind()
	args := append([]string(nil), opts.pass...)
	args = append(args, interpretedBuildArgs(opts, kind)...)
	for _, c := range opts.buildContexts {
		args = append(args, "--build-context="+c)
	}
	if opts.file != "" {
		args = append(args, "--file="+opts.file)
	}
	args = append(args, opts.context)
	if err := tool.Run(ctx, args, nil); err != nil {
		return err
	}
	if opts.push {
		return pushBuilt(ctx, d, opts, kind, tags, nil)
	}
	return nil
}

// interpretedBuildArgs are the flags build reads itself, for docker build.
// --push goes to buildx only: with the classic builder, build pushes.
func interpretedBuildArgs(opts buildOptions, kind cmdutil.BuilderKind) []string {
	var args []string
	for _, t := range opts.tags {
		args = append(args, "--tag="+t)
	}
	for _, a := range opts.buildArgs {
		args = append(args, "--build-arg="+a)
	}
	for _, p := range opts.platforms {
		args = append(args, "--platform="+p)
	}
	if opts.target != "" {
		args = append(args, "--target="+opts.target)
	}
	if opts.quiet {
		args = append(args, "--quiet")
	}
	if opts.push && kind == cmdutil.BuildxBuilder {
		args = append(args, "--push")
	}
	return args
}

// buildTags parses the -t tags (":latest" when none is given) and groups
// them by repository. --push needs at least one.
func buildTags(opts buildOptions) ([][]trust.Ref, error) {
	if opts.push && len(opts.tags) == 0 {
		return nil, cmdutil.UsageError{Err: errors.New("--push needs a tag to push and sign: add -t NAME:TAG")}
	}
	if len(opts.tags) == 0 {
		return nil, nil
	}
	images := make([]string, len(opts.tags))
	for i, t := range opts.tags {
		ref, err := trust.ParseRef(t)
		if err != nil {
			return nil, err
		}
		if ref.Digest != "" {
			return nil, fmt.Errorf("-t %s: a tag cannot carry a digest", t)
		}
		if ref.Tag == "" {
			ref = ref.WithTag("latest")
		}
		images[i] = ref.String()
	}
	return groupByRepository(images)
}

// readBuildInput reads the Dockerfile the build will use. A URL context
// and a build context archive on stdin are refused: their Dockerfile is
// read only by the builder, so it cannot be verified first.
func readBuildInput(d *cmdutil.Deps, opts buildOptions) (buildInput, error) {
	proceed := "Build from a local directory (clone or unpack it first), or add --disable-content-trust to build without verifying base images."
	if isURLContext(opts.context) {
		return buildInput{}, fmt.Errorf("cannot verify the base images of a build from a URL (%s): its Dockerfile is read only by the builder. %s", opts.context, proceed)
	}
	switch {
	case opts.file == "-" && opts.context == "-":
		return buildInput{}, cmdutil.UsageError{Err: errors.New("invalid argument: can't use stdin for both build context and dockerfile")}
	case opts.file == "-" || opts.context == "-":
		src, err := io.ReadAll(d.CLI.In())
		if err != nil {
			return buildInput{}, fmt.Errorf("reading the Dockerfile from stdin: %w", err)
		}
		if opts.context == "-" && isArchive(src) {
			return buildInput{}, fmt.Errorf("cannot verify the base images of a build context given as an archive on stdin: its Dockerfile is read only by the builder. %s", proceed)
		}
		return buildInput{dockerfile: src, fromStdin: true}, nil
	}
	path := opts.file
	if path == "" {
		path = filepath.Join(opts.context, "Dockerfile")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			// docker build falls back to "dockerfile" too.
			if _, err := os.Stat(filepath.Join(opts.context, "dockerfile")); err == nil {
				path = filepath.Join(opts.context, "dockerfile")
			}
		}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return buildInput{}, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	return buildInput{dockerfile: src}, nil
}

// isURLContext reports whether docker build would fetch the context:
// a Git repository or a remote tarball (docker/cli's urlutil rules).
func isURLContext(s string) bool {
	for _, p := range []string{"http://", "https://", "git://", "git@", "github.com/"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// isArchive reports whether b starts like a tar archive, plain or
// compressed (gzip, bzip2, xz, zstd), as docker build detects it.
func isArchive(b []byte) bool {
	for _, magic := range [][]byte{{0x1f, 0x8b}, []byte("BZh"), {0xfd, '7', 'z', 'X', 'Z', 0x00}, {0x28, 0xb5, 0x2f, 0xfd}} {
		if bytes.HasPrefix(b, magic) {
			return true
		}
	}
	return len(b) >= 262 && string(b[257:262]) == "ustar"
}

// buildArgValues turns --build-arg KEY=VALUE (or KEY, taken from the
// environment when set, as docker does) into a map.
func buildArgValues(args []string, getenv func(string) string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			if v = getenv(k); v == "" {
				continue
			}
		}
		out[k] = v
	}
	return out
}

// buildContextValues turns --build-context NAME=VALUE into a map.
func buildContextValues(contexts []string) map[string]string {
	out := map[string]string{}
	for _, c := range contexts {
		k, v, _ := strings.Cut(c, "=")
		out[k] = v
	}
	return out
}

// buildxContexts are the --build-context flags for buildx: one per image
// read, to its signed digest, and the user's own, with those that are
// images pinned the same way.
func buildxContexts(sources []buildfile.Source, pins []string, user []string) []string {
	var args []string
	seen := map[string]bool{}
	pinnedContext := map[string]string{}
	for i, s := range sources {
		if pins[i] == "" {
			continue
		}
		if s.Kind == buildfile.BuildContext {
			pinnedContext[s.Context] = pins[i]
			continue
		}
		if seen[s.Context] {
			continue
		}
		seen[s.Context] = true
		args = append(args, "--build-context="+s.Context+"=docker-image://"+pins[i])
	}
	for _, c := range user {
		name, _, _ := strings.Cut(c, "=")
		if p, ok := pinnedContext[name]; ok {
			c = name + "=docker-image://" + p
		}
		args = append(args, "--build-context="+c)
	}
	return args
}
