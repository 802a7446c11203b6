package plugin

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/docker/cli/cli/streams"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"

	"github.com/acrtrust/docker-acrtrust/trust"
)

// fakeCLI is the part of command.Cli the commands use, over buffers. Any
// other method panics through the nil embedded interface, which shows a
// command reaching for something it should not.
type fakeCLI struct {
	command.Cli
	in     *streams.In
	out    *streams.Out
	err    *streams.Out
	outBuf *bytes.Buffer
	errBuf *bytes.Buffer
	cfg    *configfile.ConfigFile
}

func newFakeCLI(t testing.TB, stdin string) *fakeCLI {
	t.Helper()
	outBuf, errBuf := &bytes.Buffer{}, &bytes.Buffer{}
	return &fakeCLI{
		in:     streams.NewIn(io.NopCloser(strings.NewReader(stdin))),
		out:    streams.NewOut(outBuf),
		err:    streams.NewOut(errBuf),
		outBuf: outBuf,
		errBuf: errBuf,
		cfg:    configfile.New(filepath.Join(t.TempDir(), "config.json")),
	}
}

func (c *fakeCLI) In() *streams.In                    { return c.in }
func (c *fakeCLI) Out() *streams.Out                  { return c.out }
func (c *fakeCLI) Err() *streams.Out                  { return c.err }
func (c *fakeCLI) ConfigFile() *configfile.ConfigFile { return c.cfg }
func (c *fakeCLI) login(host, user, pass string) {
	c.cfg.AuthConfigs[host] = types.AuthConfig{Username: user, Password: pass, ServerAddress: host}
}
func (c *fakeCLI) loginIdentityToken(host, token string) {
	c.cfg.AuthConfigs[host] = types.AuthConfig{Username: "00000000-0000-0000-0000-000000000000", IdentityToken: token, ServerAddress: host}
}

// newTestDeps returns deps over cli with the given environment and a fresh
// DOCKER_CONFIG directory; fields left nil are built for real by init.
func newTestDeps(t testing.TB, cli *fakeCLI, env map[string]string) *deps {
	t.Helper()
	return &deps{
		cli:       cli,
		getenv:    func(k string) string { return env[k] },
		configDir: t.TempDir(),
	}
}

// runCommand runs the whole command tree with args, as docker would.
func runCommand(t testing.TB, d *deps, args ...string) error {
	t.Helper()
	cmd := newRootCommand(d, "test")
	cmd.SetArgs(args)
	cmd.SetOut(d.cli.Out())
	cmd.SetErr(d.cli.Err())
	return cmd.ExecuteContext(context.Background())
}

// fakeEngine records what the commands asked of the engine.
type fakeEngine struct {
	mu       sync.Mutex
	pushed   []string
	pulled   []string
	tagged   [][2]string
	pushErr  error
	pullErr  error
	reported string // digest the push stream reports, "" for a containerd-store engine
}

func (e *fakeEngine) push(_ context.Context, ref string, out io.Writer) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pushErr != nil {
		return "", e.pushErr
	}
	e.pushed = append(e.pushed, ref)
	_, _ = io.WriteString(out, "pushing "+ref+"\n")
	return e.reported, nil
}

func (e *fakeEngine) pull(_ context.Context, ref string, _ string, out io.Writer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pullErr != nil {
		return e.pullErr
	}
	e.pulled = append(e.pulled, ref)
	_, _ = io.WriteString(out, "pulling "+ref+"\n")
	return nil
}

func (e *fakeEngine) tag(_ context.Context, source, target string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tagged = append(e.tagged, [2]string{source, target})
	return nil
}

// fakeRegistry serves fixed descriptors per "name:tag".
type fakeRegistry struct {
	descs map[string]ocispec.Descriptor
}

func (r fakeRegistry) Resolve(_ context.Context, ref trust.Ref) (ocispec.Descriptor, error) {
	d, ok := r.descs[ref.Name.Name()+":"+ref.Tag]
	if !ok {
		return ocispec.Descriptor{}, errNotFound
	}
	return d, nil
}

func (r fakeRegistry) Tags(_ context.Context, ref trust.Ref) ([]string, error) {
	var tags []string
	prefix := ref.Name.Name() + ":"
	for k := range r.descs {
		if strings.HasPrefix(k, prefix) {
			tags = append(tags, strings.TrimPrefix(k, prefix))
		}
	}
	return tags, nil
}

var errNotFound = &notFoundError{}

type notFoundError struct{}

func (*notFoundError) Error() string { return "manifest unknown" }
func (*notFoundError) Unwrap() error { return errdef.ErrNotFound }

func descriptorOf(content string) ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest,
		Digest:    digest.FromString(content),
		Size:      int64(len(content)),
	}
}
