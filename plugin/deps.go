package plugin

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	registrytypes "github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/pflag"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// registryReader is what the commands need from a registry.
type registryReader interface {
	Resolve(ctx context.Context, ref trust.Ref) (ocispec.Descriptor, error)
	Tags(ctx context.Context, ref trust.Ref) ([]string, error)
}

// The variables of docker acrtrust's own (docs/security.md).
const (
	envPins       = "ACRTRUST_PINS"
	envRequirePin = "ACRTRUST_REQUIRE_PIN"
	envOffline    = "ACRTRUST_OFFLINE"
)

// environment holds the variables Docker's content trust read, and ours,
// read once.
type environment struct {
	// contentTrust is false only when DOCKER_CONTENT_TRUST is a parseable false.
	contentTrust bool
	server       string
	passphrases  keystore.Env
	pins         string // ACRTRUST_PINS
	// requirePin is set unless ACRTRUST_REQUIRE_PIN is empty or a parseable
	// false: a typo must not turn a security check off.
	requirePin bool
	// offline is set only when ACRTRUST_OFFLINE is a parseable true: a typo
	// must not turn fail-closed off.
	offline bool
}

func readEnvironment(getenv func(string) string) environment {
	enabled := true
	if v := getenv("DOCKER_CONTENT_TRUST"); v != "" {
		if b, err := strconv.ParseBool(v); err == nil && !b {
			enabled = false
		}
	}
	env := environment{
		contentTrust: enabled,
		server:       getenv("DOCKER_CONTENT_TRUST_SERVER"),
		passphrases:  keystore.EnvFromLookup(getenv),
		pins:         getenv(envPins),
	}
	if v := getenv(envRequirePin); v != "" {
		b, err := strconv.ParseBool(v)
		env.requirePin = err != nil || b
	}
	if b, err := strconv.ParseBool(getenv(envOffline)); err == nil {
		env.offline = b
	}
	return env
}

// globalFlags are the root command's persistent flags.
type globalFlags struct {
	pins       string
	requirePin bool
	offline    bool
}

// addGlobalFlags adds the root command's persistent flags, which fill
// d.flags.
func addGlobalFlags(flags *pflag.FlagSet, d *deps) {
	flags.StringVar(&d.flags.pins, "pins", "", "Pins file (default $ACRTRUST_PINS, else $DOCKER_CONFIG/trust/pins.json)")
	flags.BoolVar(&d.flags.requirePin, "require-pin", false, "Refuse repositories that no pin covers (also ACRTRUST_REQUIRE_PIN=1)")
	flags.BoolVar(&d.flags.offline, "offline", false, "Read trust data from this machine's cache without contacting the trust server (also ACRTRUST_OFFLINE=1)")
}

// deps is everything the commands use, built once when the first command
// runs (the docker CLI is initialised by then). Tests set fields before
// running a command; init fills only what is unset.
type deps struct {
	cli    command.Cli
	getenv func(string) string
	flags  globalFlags
	// ctx is the running command's context (it ends on Ctrl-C).
	ctx context.Context

	once               sync.Once
	env                environment
	configDir          string
	audit              *trust.Audit
	network            trust.Network
	openRepo           trust.RepoFactory
	registry           registryReader
	oras               orasRepositories // the registry for Notation (migrate.go); set with registry
	engine             engine
	builder            buildTool // nil: the docker CLI that runs the plugin (build_tool.go)
	registryConfigOnce sync.Once
	registryConfig     *registrytypes.ServiceConfig

	// passErr tells why the passphrase retriever gave up, if it did.
	passErr func() error

	// pinsPath is the pins file in use; pins what it holds, or pinsErr why
	// it cannot be used (then no trust data is opened).
	pinsPath string
	pins     trust.Pins
	pinsErr  error
	// offlineWarned lists the repositories whose offline use was announced.
	offlineWarned map[string]bool
}

func newDeps(dockerCLI command.Cli) *deps {
	return &deps{cli: dockerCLI, getenv: os.Getenv}
}

func (d *deps) init() {
	d.once.Do(func() {
		d.env = readEnvironment(d.getenv)
		if d.configDir == "" {
			d.configDir = config.Dir()
		}
		if d.audit == nil {
			d.audit = &trust.Audit{}
		}
		d.network = trust.Network{
			CertsDir:    filepath.Join(d.configDir, "tls"),
			Credentials: d.credentials,
			UserAgent:   "docker-acrtrust",
			Insecure:    d.insecureRegistry,
			Pool:        trust.NewPool(), // one handshake and one token per scope for a whole run (audit)
		}
		d.loadPins()
		if d.openRepo == nil {
			retriever, lastErr := keystore.Retriever(d.env.passphrases, keystore.Prompter{
				In:         d.cli.In(),
				Out:        d.cli.Out(),
				IsTerminal: d.cli.In().IsTerminal(),
				Done:       d.interrupted,
			})
			d.passErr = lastErr
			d.openRepo = func(ctx context.Context, ref trust.Ref, write bool) (trust.Repository, error) {
				if d.pinsErr != nil {
					return nil, d.pinsErr
				}
				// Built per call: pin add and key rotate change the pins.
				opener := trust.Opener{
					TrustDir:          d.trustDir(),
					ServerOverride:    d.env.server,
					Network:           d.network,
					PassRetriever:     retriever,
					PassphraseFailure: lastErr,
					Audit:             d.audit,
					Pins:              d.pins,
					RequirePin:        d.requirePin(),
					Offline:           d.offline(),
				}
				repo, err := opener.Open(ctx, ref, write)
				if err == nil && opener.Offline {
					d.warnOffline(ref)
				}
				return repo, err
			}
		}
		if d.registry == nil {
			reg := trust.NewRegistry(d.network, d.audit)
			d.registry, d.oras = reg, reg
		}
		if d.engine == nil {
			d.engine = dockerEngine{cli: d.cli}
		}
	})
}

// interrupted is the channel that closes when the running command is
// interrupted; nil (never) outside a command.
func (d *deps) interrupted() <-chan struct{} {
	if d.ctx == nil {
		return nil
	}
	return d.ctx.Done()
}

// credentials reads the login for a registry host from the docker config
// and its credential helpers.
func (d *deps) credentials(host string) (trust.Credential, error) {
	key := host
	if host == "docker.io" || host == "registry-1.docker.io" {
		key = "https://index.docker.io/v1/"
	}
	ac, err := d.cli.ConfigFile().GetAuthConfig(key)
	if err != nil {
		return trust.Credential{}, err
	}
	return trust.Credential{
		Username:      ac.Username,
		Password:      ac.Password,
		IdentityToken: ac.IdentityToken,
		RegistryToken: ac.RegistryToken,
	}, nil
}

// daemonRegistryConfig asks the engine once per run for its registry
// configuration; nil when no engine answers (remote signing needs none).
func (d *deps) daemonRegistryConfig() *registrytypes.ServiceConfig {
	d.registryConfigOnce.Do(func() {
		info, err := d.cli.Client().Info(context.Background(), client.InfoOptions{})
		if err == nil {
			d.registryConfig = info.Info.RegistryConfig
		}
	})
	return d.registryConfig
}

// insecureRegistry applies docker's rule: loopback registries, and those the
// daemon reports as insecure, may use plain HTTP or unverified TLS.
func (d *deps) insecureRegistry(host string) bool {
	if trust.IsLoopback(host) {
		return true
	}
	rc := d.daemonRegistryConfig()
	if rc == nil {
		return false
	}
	if ic, ok := rc.IndexConfigs[host]; ok && ic != nil {
		return !ic.Secure
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	addrs, err := net.LookupIP(h)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		for _, p := range rc.InsecureRegistryCIDRs {
			if ip, ok := netip.AddrFromSlice(a); ok && p.Contains(ip.Unmap()) {
				return true
			}
		}
	}
	return false
}
