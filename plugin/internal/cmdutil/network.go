package cmdutil

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/acrtrust/docker-acrtrust/internal/adaptive"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// The network: how long a request may wait for a registry that throttles,
// the token cache, and bulk commands that slow down when throttled
// (docs/troubleshooting.md, docs/security.md).
const (
	envMaxRetryWait = "ACRTRUST_MAX_RETRY_WAIT"
	envNoTokenCache = "ACRTRUST_NO_TOKEN_CACHE"
)

// retryWaitFlag is --max-retry-wait: a duration, remembered as set or not,
// so that ACRTRUST_MAX_RETRY_WAIT applies only without the flag.
type retryWaitFlag struct {
	wait time.Duration
	set  bool
}

func (f *retryWaitFlag) String() string {
	if !f.set {
		return ""
	}
	return f.wait.String()
}

func (f *retryWaitFlag) Set(s string) error {
	w, err := parseRetryWait(s)
	if err != nil {
		return err
	}
	f.wait, f.set = w, true
	return nil
}

func (f *retryWaitFlag) Type() string { return "duration" }

func parseRetryWait(s string) (time.Duration, error) {
	w, err := time.ParseDuration(s)
	if err != nil || w < 0 {
		return 0, fmt.Errorf("%q is not a wait: want a duration such as 90s or 5m (0 turns retries off)", s)
	}
	return w, nil
}

// addNetworkFlags adds the root's network flags.
func addNetworkFlags(flags *pflag.FlagSet, d *Deps) {
	flags.Var(&d.flags.maxRetryWait, "max-retry-wait",
		"How long one request may wait in all for a registry that throttles or fails, before giving up (default 1m; also "+envMaxRetryWait+")")
}

// TokenCacheDir is where registry tokens are kept between commands.
func (d *Deps) TokenCacheDir() string { return filepath.Join(d.ConfigDir, "acrtrust", "tokens") }

// configureNetwork sets the retry bound and the token cache of d.Network.
// A bad ACRTRUST_MAX_RETRY_WAIT is kept for SetupError.
func (d *Deps) configureNetwork() {
	switch v := d.Getenv(envMaxRetryWait); {
	case d.flags.maxRetryWait.set:
		d.Network.MaxRetryWait = d.flags.maxRetryWait.wait
	case v != "":
		w, err := parseRetryWait(v)
		if err != nil {
			d.setupErr = UsageError{Err: fmt.Errorf("%s: %w", envMaxRetryWait, err)}
		}
		d.Network.MaxRetryWait = w
	}
	if d.Network.MaxRetryWait == 0 && (d.flags.maxRetryWait.set || d.Getenv(envMaxRetryWait) != "") {
		d.Network.MaxRetryWait = -1 // 0 asked for: no retries (the library's zero is its default)
	}
	// Any value but a parseable false turns the cache off: a typo errs on
	// the side of keeping nothing on disk.
	off := false
	if v := d.Getenv(envNoTokenCache); v != "" {
		b, err := strconv.ParseBool(v)
		off = err != nil || b
	}
	if !off {
		d.Network.Tokens = trust.NewTokenCache(d.TokenCacheDir())
		d.Network.Roots = trust.NewRootCache(d.RootCacheDir())
	} else {
		d.Network.Roots = trust.NewRootCache("") // this run only
	}
}

// RootCacheDir is where the root that verified each trust server is kept
// between commands (trust.RootCache).
func (d *Deps) RootCacheDir() string { return filepath.Join(d.ConfigDir, "acrtrust", "tls-roots") }

// SetupError is what made the environment unusable (a bad variable), nil
// when nothing did.
func (d *Deps) SetupError() error { return d.setupErr }

// retryWaitText is the bound in force, for remedies.
func (d *Deps) retryWaitText() string {
	switch w := d.Network.MaxRetryWait; {
	case w < 0:
		return "0, no retries"
	case w == 0:
		return trust.DefaultMaxRetryWait.String()
	default:
		return w.String()
	}
}

// ThrottledRemedy explains a registry, trust server or token service that
// kept answering 429 past the retry bound. It is never a login, role or
// certificate problem, and says so.
func (d *Deps) ThrottledRemedy(re *trust.RetryError) string {
	r := fmt.Sprintf("%s is throttling requests (429 Too Many Requests): this is not a login, role or certificate problem. "+
		"ACR limits each registry's requests per minute by its SKU, and parallel commands and CI jobs against one registry add up", re.Host)
	if name := ACRRegistryName(re.Host); name != "" {
		r += fmt.Sprintf(" (`az acr show --name %s --query sku.name` shows the SKU; content trust needs Premium, which has the highest limits)", name)
	}
	r += ". "
	if d.Parallel > 0 {
		r += fmt.Sprintf("Lower --parallel (it was %d), or run", d.Parallel)
	} else {
		r += "Run"
	}
	return r + fmt.Sprintf(" it again in a minute or two, when the registry is less busy; to let each request wait longer for it, "+
		"raise --max-retry-wait (it was %s; also %s).", d.retryWaitText(), envMaxRetryWait)
}

// Adaptive returns a bound on work in flight that starts at parallel and
// halves while the registry throttles, and a context whose requests report
// throttling to it: a bulk command (audit, migrate, sign of many tags)
// takes a slot per item with Acquire and Release.
func (d *Deps) Adaptive(ctx context.Context, parallel int) (context.Context, *adaptive.Limiter) {
	l := adaptive.New(parallel)
	return trust.WithWaitObserver(ctx, l.Throttled), l
}

// ReportThrottling says on stderr what throttling cost a bulk command,
// when the registry throttled it at all.
func (d *Deps) ReportThrottling(l *adaptive.Limiter, what string) {
	st := l.Stats()
	if st.Throttled == 0 {
		return
	}
	_, _ = fmt.Fprintf(d.CLI.Err(), "Throttled: the registry answered 429 to %d requests; waiting for it cost %s in all, "+
		"and %s went down to %d at a time.\n", st.Throttled, st.Waited.Round(100*time.Millisecond), what, st.Lowest)
}
