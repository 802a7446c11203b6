// Command acrtrust-sandbox runs an ACR-like login server on loopback: a
// registry, a Notary server and a token service on one TLS host, with the
// identities of package sandbox. It is for trying docker acrtrust without an
// Azure subscription and for scripted end-to-end tests.
//
// The first line on stdout is ACRTRUST_SANDBOX_HOST=<host:port>, followed by
// ACRTRUST_SANDBOX_CA=<path> and ACRTRUST_SANDBOX_IDENTITY_TOKEN=<token>, then
// one ACRTRUST_SANDBOX_SEED=<host>/<repo>:<tag>@<digest> per --seed, for
// scripts; then instructions for people. It runs until SIGINT or SIGTERM.
//
// --seed REPO:TAG (repeatable) pushes a small random image to the registry at
// start, unsigned, so that a demo without a docker engine has something to
// sign remotely (docker acrtrust sign).
//
// --hostile MODE[=REPO] (repeatable) turns the trust server hostile for
// REPO (the path without host, e.g. team/app), or for every repository
// without =REPO: compromise, rollback, freeze, expired or tamper (see
// package sandbox, [sandbox.Hostility]), to watch a client refuse each
// attack. A repository's own mode wins over the one for every repository.
//
// --seed-registry REPOSxTAGS seeds REPOS signed repositories seed/r0000,
// seed/r0001, ... of TAGS signed tags (t00, t01, ...) each, before the first
// line is printed: a registry to audit.
//
// --latency MS adds MS milliseconds to every request, and --rate N answers
// 429 Too Many Requests with Retry-After above N requests per second, as
// ACR does over its SKU's limits: a registry a round trip away that
// throttles, for benchmarks and for trying the retries (see package
// sandbox, [sandbox.Network]). Seeding is done before they apply.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/distribution/reference"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

type options struct {
	addr         string
	anonymous    bool
	caOut        string
	dockerConfig string
	verbose      bool
	seeds        []seed
	hostile      []hostile
	seedRegistry [2]int // --seed-registry REPOSxTAGS
	latencyMS    int    // --latency MS
	rate         int    // --rate N
}

// hostile is a --hostile MODE[=REPO]; repo "" is every repository.
type hostile struct {
	mode sandbox.Hostility
	repo string
}

func parseHostile(s string) (hostile, error) {
	mode, repo, hasRepo := strings.Cut(s, "=")
	h, err := sandbox.ParseHostility(mode)
	if err != nil {
		return hostile{}, fmt.Errorf("--hostile %q: %w", s, err)
	}
	if hasRepo {
		if repo == "" {
			return hostile{}, fmt.Errorf("--hostile %q: want MODE or MODE=REPO, e.g. tamper=demo/hello", s)
		}
		if _, err := reference.ParseNormalizedNamed("localhost/" + repo); err != nil {
			return hostile{}, fmt.Errorf("--hostile %q: %w", s, err)
		}
	}
	return hostile{mode: h, repo: repo}, nil
}

// parseCount parses a flag's whole number, 0 or more.
func parseCount(s, flag, want string, out *int) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%s %q: want a whole number of %s", flag, s, want)
	}
	*out = n
	return nil
}

// seed is a --seed REPO:TAG: an image to push at start.
type seed struct{ repo, tag string }

func parseSeed(s string) (seed, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 || strings.Contains(s[i+1:], "/") {
		return seed{}, fmt.Errorf("--seed %q: want REPO:TAG, e.g. demo/hello:v1", s)
	}
	repo, tag := s[:i], s[i+1:]
	if _, err := reference.ParseNormalizedNamed("localhost/" + repo + ":" + tag); err != nil {
		return seed{}, fmt.Errorf("--seed %q: %w", s, err)
	}
	return seed{repo: repo, tag: tag}, nil
}

// newFlagSet returns the command line flags, filling opts, with a usage
// text that lists the identities and the hostile modes.
func newFlagSet(opts *options) *flag.FlagSet {
	fs := flag.NewFlagSet("acrtrust-sandbox", flag.ContinueOnError)
	fs.StringVar(&opts.addr, "addr", "127.0.0.1:0", "Listen address (loopback only)")
	fs.BoolVar(&opts.anonymous, "anonymous", false, "Turn off authentication: anyone may read and write everything")
	fs.StringVar(&opts.caOut, "ca-out", "", "Write the CA certificate (PEM) to this file")
	fs.StringVar(&opts.dockerConfig, "docker-config", "", "Install the CA certificate in this Docker config directory (tls/<host>/ca.crt)")
	fs.BoolVar(&opts.verbose, "verbose", false, "Log every request to stderr")
	fs.Func("seed", "Push a random image to `REPO:TAG` at start (repeatable), to sign without a docker engine", func(s string) error {
		sd, err := parseSeed(s)
		if err == nil {
			opts.seeds = append(opts.seeds, sd)
		}
		return err
	})
	fs.Func("hostile", "Serve hostile trust data: `MODE[=REPO]` for REPO, or for every repository without =REPO (repeatable; a repository's own mode wins; see Hostile modes)", func(s string) error {
		h, err := parseHostile(s)
		if err == nil {
			opts.hostile = append(opts.hostile, h)
		}
		return err
	})
	fs.Func("latency", "Add `MS` milliseconds to every request, as a registry a round trip away", func(s string) error {
		return parseCount(s, "--latency", "milliseconds, e.g. 20", &opts.latencyMS)
	})
	fs.Func("rate", "Serve at most `N` requests per second; above it answer 429 with Retry-After, as ACR throttles", func(s string) error {
		return parseCount(s, "--rate", "requests per second, e.g. 100", &opts.rate)
	})
	fs.Func("seed-registry", "Seed `REPOSxTAGS` signed repositories seed/r0000... with TAGS signed tags each (e.g. 1000x20), for audit", func(s string) error {
		_, err := fmt.Sscanf(s, "%dx%d", &opts.seedRegistry[0], &opts.seedRegistry[1])
		if err != nil || opts.seedRegistry[0] < 1 || opts.seedRegistry[1] < 0 {
			return fmt.Errorf("--seed-registry %q: want REPOSxTAGS, e.g. 1000x20", s)
		}
		return nil
	})
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: acrtrust-sandbox [OPTIONS]\n\nRun an ACR-like registry with content trust on loopback.\n\nOptions:\n")
		fs.PrintDefaults()
		fmt.Fprintf(w, "\nIdentities (password %s), as ACR's roles:\n", sandbox.Password)
		writeIdentities(w, "printed at start")
		fmt.Fprintf(w, "\nHostile modes (--hostile), what a notary client then gets:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, m := range hostileModes {
			fmt.Fprintf(tw, "  %s\t%s\n", m.mode, m.help)
		}
		_ = tw.Flush()
	}
	return fs
}

// hostileModes describes the modes for --help.
var hostileModes = []struct {
	mode sandbox.Hostility
	help string
}{
	{sandbox.HostileOff, "genuine trust data (the default)"},
	{sandbox.HostileCompromise, "a forged repository under new keys, tags pointing at other images: root rotation failure if the root is cached, else accepted (trust on first use)"},
	{sandbox.HostileRollback, "the first timestamp and what it references: version lower than current, if newer was seen (publish twice first)"},
	{sandbox.HostileFreeze, "the timestamp of activation, re-signed expired: timestamp expired"},
	{sandbox.HostileExpired, "the snapshot re-signed expired, under a fresh timestamp: snapshot expired"},
	{sandbox.HostileTamper, "targets pointing at other images, original signatures kept, snapshot and timestamp re-signed: signature threshold not met"},
	{sandbox.HostileCorrupt, "targets changed after the snapshot listed it, genuine snapshot and timestamp: checksum mismatch"},
	{sandbox.HostileLoopLink, "every page of the catalog and tag listings links to itself as the next page: a listing that follows it never ends"},
	{sandbox.HostileEscapeNames, "the catalog and tag listings gain names with terminal escape sequences (clear screen, window title, colour)"},
	{sandbox.HostileRedirectHTTP, "trust metadata requests are redirected to plain http:// on the same host"},
	{sandbox.HostileRedirectHost, "trust metadata requests are redirected to https on the sandbox's other name (localhost or 127.0.0.1)"},
}

// writeIdentities writes the identities and the ACR roles they stand for;
// identityToken is what to show as the identity token's password.
func writeIdentities(w io.Writer, identityToken string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\tAcrPull: pull, read trust data\n", sandbox.UserPull)
	fmt.Fprintf(tw, "  %s\tAcrPush: push and pull, read trust data\n", sandbox.UserPush)
	fmt.Fprintf(tw, "  %s\tAcrPush + AcrImageSigner: push, pull and sign\n", sandbox.UserSigner)
	fmt.Fprintf(tw, "  %s\tadmin account: push and pull, cannot push trust data\n", sandbox.UserAdmin)
	fmt.Fprintf(tw, "  %s\trepository-scoped token for scoped/*: no access to trust data\n", sandbox.UserScoped)
	fmt.Fprintf(tw, "  %s\tidentity token (as `az acr login` stores it), signer rights; password: %s\n",
		sandbox.IdentityTokenUser, identityToken)
	_ = tw.Flush()
}

func main() {
	var opts options
	fs := newFlagSet(&opts)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "acrtrust-sandbox: unexpected arguments: %v\n", fs.Args())
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "acrtrust-sandbox: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options, stdout, stderr io.Writer) error {
	sbOpts := sandbox.Options{Addr: opts.addr, Anonymous: opts.anonymous}
	if opts.verbose {
		sbOpts.Log = stderr
	}
	sb, err := sandbox.Start(sbOpts)
	if err != nil {
		return err
	}
	defer sb.Close()

	caPath, cleanup, err := writeCA(sb, opts)
	if err != nil {
		return err
	}
	defer cleanup()

	seeded, err := pushSeeds(ctx, sb, opts.seeds)
	if err != nil {
		return err
	}
	if err := applyHostile(sb, opts.hostile); err != nil {
		return err
	}
	if n := opts.seedRegistry[0]; n > 0 {
		if _, err := sb.SeedMany(ctx, "seed/r", n, opts.seedRegistry[1]); err != nil {
			return fmt.Errorf("seeding the registry: %w", err)
		}
	}
	// After seeding, which the limits would only slow down.
	sb.SetNetwork(sandbox.Network{Latency: time.Duration(opts.latencyMS) * time.Millisecond, Rate: opts.rate})
	printInstructions(stdout, sb, opts, caPath, seeded)
	<-ctx.Done()
	fmt.Fprintln(stderr, "acrtrust-sandbox: stopping")
	return sb.Close()
}

// writeCA writes the CA where asked and returns the path to show. Without
// --ca-out or --docker-config it writes a temporary file removed at exit.
func writeCA(sb *sandbox.Sandbox, opts options) (path string, cleanup func(), err error) {
	cleanup = func() {}
	if opts.dockerConfig != "" {
		if err := sb.InstallCA(opts.dockerConfig); err != nil {
			return "", cleanup, fmt.Errorf("installing the CA certificate: %w", err)
		}
		path = filepath.Join(opts.dockerConfig, "tls", sb.Host(), "ca.crt")
	}
	if opts.caOut != "" {
		if err := os.WriteFile(opts.caOut, sb.CACertPEM(), 0o644); err != nil {
			return "", cleanup, fmt.Errorf("writing the CA certificate: %w", err)
		}
		path = opts.caOut
	}
	if path == "" {
		dir, err := os.MkdirTemp("", "acrtrust-sandbox-")
		if err != nil {
			return "", cleanup, err
		}
		cleanup = func() { _ = os.RemoveAll(dir) }
		path = filepath.Join(dir, "ca.crt")
		if err := os.WriteFile(path, sb.CACertPEM(), 0o644); err != nil {
			cleanup()
			return "", func() {}, err
		}
	}
	return path, cleanup, nil
}

// pushSeeds pushes a random image for each seed and returns each as
// HOST/REPO:TAG@DIGEST.
func pushSeeds(ctx context.Context, sb *sandbox.Sandbox, seeds []seed) ([]string, error) {
	var out []string
	for _, sd := range seeds {
		desc, err := sb.PushRandomImage(ctx, sd.repo, sd.tag)
		if err != nil {
			return nil, fmt.Errorf("seeding %s:%s: %w", sd.repo, sd.tag, err)
		}
		out = append(out, fmt.Sprintf("%s/%s:%s@%s", sb.Host(), sd.repo, sd.tag, desc.Digest))
	}
	return out, nil
}

// applyHostile puts the --hostile modes in force: those for every
// repository first, then those for one repository, so that a repository's
// own mode wins whatever the order of the flags (SetHostile for every
// repository replaces the modes of single repositories). Among modes for
// the same repository, the last one wins.
func applyHostile(sb *sandbox.Sandbox, modes []hostile) error {
	ordered := slices.Clone(modes)
	slices.SortStableFunc(ordered, func(a, b hostile) int {
		switch {
		case a.repo == "" && b.repo != "":
			return -1
		case a.repo != "" && b.repo == "":
			return 1
		}
		return 0
	})
	for _, h := range ordered {
		if err := sb.SetHostile(h.repo, h.mode); err != nil {
			return err
		}
	}
	return nil
}

func printInstructions(w io.Writer, sb *sandbox.Sandbox, opts options, caPath string, seeded []string) {
	host := sb.Host()
	fmt.Fprintf(w, "ACRTRUST_SANDBOX_HOST=%s\n", host)
	fmt.Fprintf(w, "ACRTRUST_SANDBOX_CA=%s\n", caPath)
	fmt.Fprintf(w, "ACRTRUST_SANDBOX_IDENTITY_TOKEN=%s\n", sb.IdentityToken())
	for _, s := range seeded {
		fmt.Fprintf(w, "ACRTRUST_SANDBOX_SEED=%s\n", s)
	}
	fmt.Fprintf(w, "\nacrtrust sandbox: an ACR-like registry with content trust at %s\n", sb.URL())
	fmt.Fprintf(w, "  registry, trust server (GUN %s/<repo>) and token service on one host\n", host)
	fmt.Fprintf(w, "  CA certificate: %s\n", caPath)
	if opts.anonymous {
		fmt.Fprintf(w, "\nAuthentication is OFF (--anonymous): anyone may read and write everything.\n")
	} else {
		fmt.Fprintf(w, "\nIdentities (password %s):\n", sandbox.Password)
		writeIdentities(w, sb.IdentityToken())
	}
	for _, h := range opts.hostile {
		repo := "every repository"
		if h.repo != "" {
			repo = host + "/" + h.repo
		}
		fmt.Fprintf(w, "\nWARNING: hostile trust server (--hostile): %s for %s\n", h.mode, repo)
	}
	fmt.Fprintf(w, "\nTry it:\n")
	if opts.dockerConfig != "" {
		fmt.Fprintf(w, "  export DOCKER_CONFIG=%s\n", opts.dockerConfig)
	} else {
		fmt.Fprintf(w, "  mkdir -p ~/.docker/tls/%s && cp %s ~/.docker/tls/%s/ca.crt\n", host, caPath, host)
	}
	if !opts.anonymous {
		fmt.Fprintf(w, "  echo %s | docker login %s -u %s --password-stdin\n", sandbox.Password, host, sandbox.UserSigner)
	}
	// The trust server is the registry host, as on ACR: no
	// DOCKER_CONTENT_TRUST_SERVER needed. Nothing can be pulled here, so
	// the image is imported from a tarball made on the spot.
	fmt.Fprintf(w, "  echo hello >hello.txt && tar -cf hello.tar hello.txt && docker import hello.tar %s/hello:v1\n", host)
	fmt.Fprintf(w, "  docker acrtrust push %s/hello:v1\n", host)
	if len(seeded) == 0 {
		fmt.Fprintf(w, "  (no docker engine? restart with --seed hello:v1 and run: docker acrtrust sign %s/hello:v1)\n", host)
	}
	if len(seeded) > 0 {
		fmt.Fprintf(w, "\nSeeded images (unsigned), to sign without a docker engine:\n")
		for _, s := range seeded {
			name, _, _ := strings.Cut(s, "@")
			fmt.Fprintf(w, "  %s\n", s)
			fmt.Fprintf(w, "  docker acrtrust sign %s\n", name)
		}
	}
	fmt.Fprintf(w, "\ndockerd treats 127.0.0.0/8 as insecure registries and accepts the sandbox certificate as it is.\n")
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}
