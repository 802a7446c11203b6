package cmdtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/docker/cli/cli/streams"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"oras.land/oras-go/v2/errdef"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// FakeCLI is the part of command.Cli the commands use, over buffers. Any
// other method panics through the nil embedded interface, which shows a
// command reaching for something it should not.
type FakeCLI struct {
	command.Cli
	Stdin  *streams.In
	out    *streams.Out
	err    *streams.Out
	OutBuf *bytes.Buffer
	ErrBuf *bytes.Buffer
	Cfg    *configfile.ConfigFile
}

func NewFakeCLI(t testing.TB, stdin string) *FakeCLI {
	t.Helper()
	outBuf, errBuf := &bytes.Buffer{}, &bytes.Buffer{}
	return &FakeCLI{
		Stdin:  streams.NewIn(io.NopCloser(strings.NewReader(stdin))),
		out:    streams.NewOut(outBuf),
		err:    streams.NewOut(errBuf),
		OutBuf: outBuf,
		ErrBuf: errBuf,
		Cfg:    configfile.New(filepath.Join(t.TempDir(), "config.json")),
	}
}

func (c *FakeCLI) In() *streams.In                    { return c.Stdin }
func (c *FakeCLI) Out() *streams.Out                  { return c.out }
func (c *FakeCLI) Err() *streams.Out                  { return c.err }
func (c *FakeCLI) ConfigFile() *configfile.ConfigFile { return c.Cfg }
func (c *FakeCLI) Login(host, user, pass string) {
	c.Cfg.AuthConfigs[host] = types.AuthConfig{Username: user, Password: pass, ServerAddress: host}
}
func (c *FakeCLI) LoginIdentityToken(host, token string) {
	c.Cfg.AuthConfigs[host] = types.AuthConfig{Username: "00000000-0000-0000-0000-000000000000", IdentityToken: token, ServerAddress: host}
}

// NewTestDeps returns deps over cli with the given environment and a fresh
// DOCKER_CONFIG directory; fields left nil are built for real by Init.
func NewTestDeps(t testing.TB, cli *FakeCLI, env map[string]string) *cmdutil.Deps {
	t.Helper()
	return &cmdutil.Deps{
		CLI:       cli,
		Getenv:    func(k string) string { return env[k] },
		ConfigDir: t.TempDir(),
	}
}

// RunTree runs the command tree cmd with args, as docker would.
func RunTree(t testing.TB, cmd *cobra.Command, d *cmdutil.Deps, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(d.CLI.Out())
	cmd.SetErr(d.CLI.Err())
	return cmd.ExecuteContext(context.Background())
}

// FakeEngine records what the commands asked of the engine.
type FakeEngine struct {
	mu       sync.Mutex
	Pushed   []string
	Pulled   []string
	Tagged   [][2]string
	PushErr  error
	pullErr  error
	Reported string          // digest the push stream reports, "" for a containerd-store engine
	Present  map[string]bool // images the engine has (Exists), besides those pulled
}

func (e *FakeEngine) Push(_ context.Context, ref string, out io.Writer) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.PushErr != nil {
		return "", e.PushErr
	}
	e.Pushed = append(e.Pushed, ref)
	_, _ = io.WriteString(out, "pushing "+ref+"\n")
	return e.Reported, nil
}

func (e *FakeEngine) Pull(_ context.Context, ref string, _ string, out io.Writer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pullErr != nil {
		return e.pullErr
	}
	e.Pulled = append(e.Pulled, ref)
	_, _ = io.WriteString(out, "pulling "+ref+"\n")
	return nil
}

func (e *FakeEngine) Exists(_ context.Context, ref string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.Pulled {
		if p == ref {
			return true, nil
		}
	}
	return e.Present[ref], nil
}

func (e *FakeEngine) Tag(_ context.Context, source, target string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Tagged = append(e.Tagged, [2]string{source, target})
	return nil
}

// FakeRegistry serves fixed descriptors per "name:tag".
type FakeRegistry struct {
	Descs map[string]ocispec.Descriptor
}

func (r FakeRegistry) Resolve(_ context.Context, ref trust.Ref) (ocispec.Descriptor, error) {
	d, ok := r.Descs[ref.Name.Name()+":"+ref.Tag]
	if !ok {
		return ocispec.Descriptor{}, ErrNotFound
	}
	return d, nil
}

func (r FakeRegistry) Tags(_ context.Context, ref trust.Ref) ([]string, error) {
	var tags []string
	prefix := ref.Name.Name() + ":"
	for k := range r.Descs {
		if strings.HasPrefix(k, prefix) {
			tags = append(tags, strings.TrimPrefix(k, prefix))
		}
	}
	return tags, nil
}

var ErrNotFound = &notFoundError{}

type notFoundError struct{}

func (*notFoundError) Error() string { return "manifest unknown" }
func (*notFoundError) Unwrap() error { return errdef.ErrNotFound }

func DescriptorOf(content string) ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest,
		Digest:    digest.FromString(content),
		Size:      int64(len(content)),
	}
}

// KeyDeps returns deps with stdin and env, initialised, and a fresh
// DOCKER_CONFIG.
func KeyDeps(t *testing.T, stdin string, env map[string]string) (*cmdutil.Deps, *FakeCLI) {
	t.Helper()
	cli := NewFakeCLI(t, stdin)
	d := NewTestDeps(t, cli, env)
	return d, cli
}

// StatusCode is the exit code the plugin gives for err.
func StatusCode(t *testing.T, err error) int {
	t.Helper()
	var st cli.StatusError
	assert.Assert(t, errors.As(err, &st), "not a status error: %v", err)
	return st.StatusCode
}

// StoredKey checks a key in d's store: 0600 in a 0700 folder, encrypted
// PKCS#8 that decrypts with pass, with the given role.
func StoredKey(t *testing.T, d *cmdutil.Deps, id string, role string, pass string) {
	t.Helper()
	trustDir := d.TrustDir()
	fi, err := os.Stat(keystore.KeyFile(trustDir, id))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), fs.FileMode(0o600)))
	di, err := os.Stat(keystore.PrivateDir(trustDir))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(di.Mode().Perm(), fs.FileMode(0o700)))
	b, err := os.ReadFile(keystore.KeyFile(trustDir, id))
	assert.NilError(t, err)
	assert.Check(t, bytes.HasPrefix(b, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")), string(b[:40]))
	gotRole, _, err := utils.ExtractPrivateKeyAttributes(b)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(gotRole.String(), role))
	k, err := utils.ParsePEMPrivateKey(b, pass)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(k.ID(), id))
}

func KeyIDs(t *testing.T, d *cmdutil.Deps) []string {
	t.Helper()
	keys, err := keystore.List(d.TrustDir())
	assert.NilError(t, err)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	sort.Strings(ids)
	return ids
}

// Root returns an "acrtrust" command with the global flags and cmds below
// it, wired the way plugin.NewRootCommand wires the whole tree, for the
// tests of a group that cannot import the root.
func Root(d *cmdutil.Deps, cmds ...*cobra.Command) *cobra.Command {
	root := &cobra.Command{
		Use:           "acrtrust",
		Args:          cmdutil.GroupArgs,
		RunE:          command.ShowHelp(d.CLI.Err()),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(explain.FlagErrorFunc)
	cmdutil.AddGlobalFlags(root.PersistentFlags(), d)
	root.AddCommand(cmds...)
	explain.Commands(root, d)
	return root
}
