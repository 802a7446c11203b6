package cmdutil

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	registrytypes "github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/pflag"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// RegistryReader is what the commands need from a registry.
type RegistryReader interface {
	Resolve(ctx context.Context, ref trust.Ref) (ocispec.Descriptor, error)
	Tags(ctx context.Context, ref trust.Ref) ([]string, error)
}

// The variables of docker acrtrust's own (docs/security.md).
const (
	envPins       = "ACRTRUST_PINS"
	envRequirePin = "ACRTRUST_REQUIRE_PIN"
	envOffline    = "ACRTRUST_OFFLINE"
	// EnvTrustRedirectHosts lists (comma-separated HOST[:PORT]) where the
	// trust server may redirect trust metadata requests, over https.
	EnvTrustRedirectHosts = "ACRTRUST_TRUST_REDIRECT_HOSTS"
)

// Environment holds the variables Docker's content trust read, and ours,
// read once.
type Environment struct {
	// ContentTrust is false only when DOCKER_CONTENT_TRUST is a parseable false.
	ContentTrust bool
	// contentTrustValue is DOCKER_CONTENT_TRUST as set, for the warning
	// that names what turned content trust off.
	contentTrustValue string
	Server            string
	Passphrases       keystore.Env
	pins              string // ACRTRUST_PINS
	// requirePin is set unless ACRTRUST_REQUIRE_PIN is empty or a parseable
	// false: a typo must not turn a security check off.
	requirePin bool
	// offline is set only when ACRTRUST_OFFLINE is a parseable true: a typo
	// must not turn fail-closed off.
	offline bool
	// redirectHosts are ACRTRUST_TRUST_REDIRECT_HOSTS.
	redirectHosts []string
}

func readEnvironment(getenv func(string) string) Environment {
	enabled := true
	if v := getenv("DOCKER_CONTENT_TRUST"); v != "" {
		if b, err := strconv.ParseBool(v); err == nil && !b {
			enabled = false
		}
	}
	env := Environment{
		ContentTrust:      enabled,
		contentTrustValue: getenv("DOCKER_CONTENT_TRUST"),
		Server:            getenv("DOCKER_CONTENT_TRUST_SERVER"),
		Passphrases:       keystore.EnvFromLookup(getenv),
		pins:              getenv(envPins),
	}
	if v := getenv(envRequirePin); v != "" {
		b, err := strconv.ParseBool(v)
		env.requirePin = err != nil || b
	}
	if b, err := strconv.ParseBool(getenv(envOffline)); err == nil {
		env.offline = b
	}
	for _, h := range strings.Split(getenv(EnvTrustRedirectHosts), ",") {
		if h = strings.TrimSpace(h); h != "" {
			env.redirectHosts = append(env.redirectHosts, h)
		}
	}
	return env
}

// globalFlags are the root command's persistent flags.
type globalFlags struct {
	pins         string
	requirePin   bool
	offline      bool
	maxRetryWait retryWaitFlag // network.go
}

// AddGlobalFlags adds the root command's persistent flags, which fill
// d.flags.
func AddGlobalFlags(flags *pflag.FlagSet, d *Deps) {
	flags.StringVar(&d.flags.pins, "pins", "", "Pins file (default $ACRTRUST_PINS, else $DOCKER_CONFIG/trust/pins.json)")
	flags.BoolVar(&d.flags.requirePin, "require-pin", false, "Refuse repositories that no pin covers (also ACRTRUST_REQUIRE_PIN=1)")
	flags.BoolVar(&d.flags.offline, "offline", false, "Read trust data from this machine's cache without contacting the trust server (also ACRTRUST_OFFLINE=1)")
	addNetworkFlags(flags, d)
}

// Deps is everything the commands use, built once when the first command
// runs (the docker CLI is initialised by then). Tests set fields before
// running a command; init fills only what is unset.
type Deps struct {
	CLI    command.Cli
	Getenv func(string) string
	flags  globalFlags
	// Ctx is the running command's context (it ends on Ctrl-C).
	Ctx context.Context

	once      sync.Once
	Env       Environment
	ConfigDir string
	Audit     *trust.Audit
	Network   trust.Network
	OpenRepo  trust.RepoFactory
	Registry  RegistryReader
	// ListBudget caps the memory of all registry listings of the command
	// together, whatever --parallel is (issue 21); set by Init.
	ListBudget         *trust.ListBudget
	ORAS               ORASRepositories // the registry for Notation; set with Registry
	Engine             Engine
	Builder            BuildTool // nil: the docker CLI that runs the plugin (plugin/build_tool.go)
	registryConfigOnce sync.Once
	registryConfig     *registrytypes.ServiceConfig

	// passErr tells why the passphrase retriever gave up, if it did.
	passErr func() error

	// PinsPath is the pins file in use; Pins what it holds, or PinsErr why
	// it cannot be used (then no trust data is opened).
	PinsPath string
	Pins     trust.Pins
	PinsErr  error
	// offlineWarned lists the repositories whose offline use was announced.
	offlineWarned map[string]bool
	// trustOffBy is what turned content trust off for this run (Trusted).
	trustOffBy string
	// Parallel is the running command's --parallel, 0 for a command
	// without one: the throttling remedy names it (network.go).
	Parallel int
	// setupErr is a variable that makes the environment unusable.
	setupErr error
}

// ListBudgetBytes is the memory all registry listings of one command may
// hold at once: the names of about 3 million tags or repositories. One
// listing may take at most trust.DefaultListMaxBytes of it.
const ListBudgetBytes = 256 << 20

func NewDeps(dockerCLI command.Cli) *Deps {
	return &Deps{CLI: dockerCLI, Getenv: os.Getenv}
}

func (d *Deps) Init() {
	d.once.Do(func() {
		d.Env = readEnvironment(d.Getenv)
		if d.ConfigDir == "" {
			d.ConfigDir = config.Dir()
		}
		if d.Audit == nil {
			d.Audit = &trust.Audit{}
		}
		d.Network = trust.Network{
			CertsDir:    filepath.Join(d.ConfigDir, "tls"),
			Credentials: d.Credentials,
			UserAgent:   "docker-acrtrust",
			Insecure:    d.insecureRegistry,
			// Trust metadata is redirected only to https on the trust
			// server's own host, or to these (trust/redirect.go).
			TrustRedirectHosts: d.Env.redirectHosts,
			Pool:               trust.NewPool(), // one handshake and one token per scope for a whole run (audit)
		}
		d.configureNetwork() // retry bound, token cache (network.go)
		d.loadPins()
		if d.OpenRepo == nil {
			retriever, lastErr := keystore.RetrieverFrom(keystore.Sources{
				Env: d.Env.Passphrases,
				Prompter: keystore.Prompter{
					In:         d.CLI.In(),
					Out:        d.CLI.Out(),
					IsTerminal: d.CLI.In().IsTerminal(),
					Done:       d.interrupted,
				},
				ShortEnv: d.WarnShortPassphrase,
			})
			d.passErr = lastErr
			d.OpenRepo = func(ctx context.Context, ref trust.Ref, write bool) (trust.Repository, error) {
				if d.PinsErr != nil {
					return nil, d.PinsErr
				}
				if write {
					// notary writes keys into the key store (a first
					// signing, a rotation): not into one others can
					// write to, nor through a link out of it.
					if err := keystore.CheckWritable(d.TrustDir()); err != nil {
						return nil, err
					}
				}
				// Built per call: pin add and key rotate change the pins.
				opener := trust.Opener{
					TrustDir:          d.TrustDir(),
					ServerOverride:    d.Env.Server,
					Network:           d.Network,
					PassRetriever:     retriever,
					PassphraseFailure: lastErr,
					Audit:             d.Audit,
					Pins:              d.Pins,
					RequirePin:        d.RequirePin(),
					Offline:           d.Offline(),
				}
				repo, err := opener.Open(ctx, ref, write)
				if err == nil && opener.Offline {
					d.warnOffline(ref)
				}
				return repo, err
			}
		}
		if d.ListBudget == nil {
			d.ListBudget = trust.NewListBudget(ListBudgetBytes)
		}
		if d.Registry == nil {
			reg := trust.NewRegistry(d.Network, d.Audit)
			reg.Limits = trust.ListLimits{Budget: d.ListBudget}
			d.Registry, d.ORAS = reg, reg
		}
		if d.Engine == nil {
			d.Engine = DockerEngine{CLI: d.CLI, Tokens: d.Network}
		}
	})
}

// interrupted is the channel that closes when the running command is
// interrupted; nil (never) outside a command.
func (d *Deps) interrupted() <-chan struct{} {
	if d.Ctx == nil {
		return nil
	}
	return d.Ctx.Done()
}

// Credentials reads the login for a registry host from the docker config
// and its credential helpers.
func (d *Deps) Credentials(host string) (trust.Credential, error) {
	key := host
	if host == "docker.io" || host == "registry-1.docker.io" {
		key = "https://index.docker.io/v1/"
	}
	ac, err := d.CLI.ConfigFile().GetAuthConfig(key)
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
func (d *Deps) daemonRegistryConfig() *registrytypes.ServiceConfig {
	d.registryConfigOnce.Do(func() {
		info, err := d.CLI.Client().Info(context.Background(), client.InfoOptions{})
		if err == nil {
			d.registryConfig = info.Info.RegistryConfig
		}
	})
	return d.registryConfig
}

// insecureRegistry applies docker's rule: loopback registries, and those the
// daemon reports as insecure, may use plain HTTP or unverified TLS.
func (d *Deps) insecureRegistry(host string) bool {
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

// ORASRepositories reaches a repository through oras-go with the project's
// auth and TLS (trust.Registry), for notation-go.
type ORASRepositories interface {
	WithRepository(ref trust.Ref, fn func(*remote.Repository) error) error
}
