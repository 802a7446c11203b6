package plugin

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// fakeBuilder records the docker build it was asked to run.
type fakeBuilder struct {
	builder cmdutil.BuilderKind
	runs    int
	args    []string
	stdin   string
	err     error
}

func (b *fakeBuilder) Kind() cmdutil.BuilderKind { return b.builder }
func (b *fakeBuilder) Run(_ context.Context, args []string, stdin io.Reader) error {
	b.runs++
	b.args = args
	if stdin != nil {
		data, _ := io.ReadAll(stdin)
		b.stdin = string(data)
	}
	return b.err
}

// hasArg reports whether the build was given exactly arg.
func (b *fakeBuilder) hasArg(arg string) bool {
	for _, a := range b.args {
		if a == arg {
			return true
		}
	}
	return false
}

// buildSandbox is a sandbox with signed bases: base:v1 and tools:v3 signed,
// base:dev pushed unsigned, plain:v1 in a repository without trust data.
type buildSandbox struct {
	sb     *sandbox.Sandbox
	host   string
	signed map[string]digest.Digest // "base:v1" -> signed digest
}

func newBuildSandbox(t *testing.T) *buildSandbox {
	t.Helper()
	sb := cmdtest.StartSandbox(t)
	ctx := context.Background()
	bs := &buildSandbox{sb: sb, host: sb.Host(), signed: map[string]digest.Digest{}}
	d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserSigner, cmdtest.PassphraseEnv())
	for _, image := range []string{"base:v1", "tools:v3"} {
		repo, tag, _ := strings.Cut(image, ":")
		desc, err := sb.PushRandomImage(ctx, repo, tag)
		assert.NilError(t, err)
		bs.signed[image] = desc.Digest
		assert.NilError(t, runCommand(t, d, "push", bs.host+"/"+image))
	}
	_, err := sb.PushRandomImage(ctx, "base", "dev")
	assert.NilError(t, err)
	_, err = sb.PushRandomImage(ctx, "plain", "v1")
	assert.NilError(t, err)
	return bs
}

// pinned is host/image@signed-digest for a signed image.
func (bs *buildSandbox) pinned(image string) string {
	repo, _, _ := strings.Cut(image, ":")
	return bs.host + "/" + repo + "@" + bs.signed[image].String()
}

// writeDockerfile writes a build context holding a Dockerfile.
func writeDockerfile(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(content), 0o644))
	return dir
}

// buildDeps returns deps for a consumer of the sandbox with a fake builder.
func buildDeps(t *testing.T, bs *buildSandbox, kind cmdutil.BuilderKind, env map[string]string) (*cmdutil.Deps, *cmdtest.FakeCLI, *cmdtest.FakeEngine, *fakeBuilder) {
	t.Helper()
	d, cli, eng := cmdtest.SandboxDeps(t, bs.sb, sandbox.UserSigner, env)
	b := &fakeBuilder{builder: kind}
	d.Builder = b
	return d, cli, eng, b
}

func TestBuildBuildsFromSignedDigests(t *testing.T) {
	t.Parallel() // it owns its sandbox
	bs := newBuildSandbox(t)
	h := bs.host
	const pinnedElsewhere = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	dockerfile := `# syntax is not set: the classic builder ignores it anyway
ARG REGISTRY=` + h + `
ARG BASE_TAG=v1
FROM --platform=$BUILDPLATFORM ${REGISTRY}/base:${BASE_TAG} AS build
RUN echo build
FROM build AS test
COPY --from=` + h + `/tools:v3 /bin/tool /tool
FROM ` + h + `/other@` + pinnedElsewhere + ` AS other
FROM scratch AS busybox
COPY --from=build /out /out
FROM busybox
COPY --from=busybox /out /again
`
	dir := writeDockerfile(t, dockerfile)

	t.Run("classic builder: a pinned copy on stdin", func(t *testing.T) {
		d, cli, _, b := buildDeps(t, bs, cmdutil.ClassicBuilder, nil)
		assert.NilError(t, runCommand(t, d, "build", "-t", h+"/app:v1", "--no-cache", dir))

		stderr := cli.ErrBuf.String()
		assert.Check(t, is.Contains(stderr, "FROM "+h+"/base:v1 → "+bs.pinned("base:v1")+" (signed by targets)\n"))
		assert.Check(t, is.Contains(stderr, "COPY --from "+h+"/tools:v3 → "+bs.pinned("tools:v3")+" (signed by targets)\n"))
		assert.Check(t, is.Contains(stderr, "FROM "+h+"/other@"+pinnedElsewhere+" (pinned by digest)\n"))
		assert.Check(t, is.Equal(strings.Count(stderr, "→"), 2), "one line per image, stages and scratch excepted:\n%s", stderr)

		assert.Equal(t, b.runs, 1)
		assert.Check(t, b.hasArg("--file=-"), "%v", b.args)
		assert.Check(t, b.hasArg("--tag="+h+"/app:v1"), "%v", b.args)
		assert.Check(t, b.hasArg("--no-cache=true"), "%v", b.args)
		assert.Check(t, is.Equal(b.args[len(b.args)-1], dir))
		assert.Check(t, is.Contains(b.stdin, "FROM --platform=$BUILDPLATFORM "+bs.pinned("base:v1")+" AS build\n"))
		assert.Check(t, is.Contains(b.stdin, "COPY --from="+bs.pinned("tools:v3")+" /bin/tool /tool\n"))
		assert.Check(t, is.Contains(b.stdin, "FROM build AS test\n"), "a stage reference stays")
		assert.Check(t, is.Contains(b.stdin, "FROM "+h+"/other@"+pinnedElsewhere+" AS other\n"), "a digest stays")
		assert.Check(t, is.Contains(b.stdin, "FROM scratch AS busybox\n"))
		assert.Check(t, is.Contains(b.stdin, "FROM busybox\n"), "a stage shadowing an image (docker.io/library/busybox) stays a stage")
		assert.Check(t, is.Contains(b.stdin, "COPY --from=busybox /out /again\n"), "a stage shadowing an image stays a stage")
		assert.Check(t, is.Equal(strings.Count(b.stdin, "\n"), strings.Count(dockerfile, "\n")))

		// The user's Dockerfile is untouched.
		got, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
		assert.NilError(t, err)
		assert.Check(t, is.Equal(string(got), dockerfile))
	})

	t.Run("buildx: a build context per image, the Dockerfile as it is", func(t *testing.T) {
		d, _, _, b := buildDeps(t, bs, cmdutil.BuildxBuilder, nil)
		assert.NilError(t, runCommand(t, d, "build", "-t", h+"/app:v1", dir))
		assert.Equal(t, b.runs, 1)
		assert.Check(t, b.hasArg("--build-context="+h+"/base:v1=docker-image://"+bs.pinned("base:v1")), "%v", b.args)
		assert.Check(t, b.hasArg("--build-context="+h+"/tools:v3=docker-image://"+bs.pinned("tools:v3")), "%v", b.args)
		assert.Check(t, !b.hasArg("--file=-"), "%v", b.args)
		assert.Check(t, is.Equal(b.stdin, ""), "buildx reads the user's Dockerfile")
		for _, a := range b.args {
			assert.Check(t, !strings.Contains(a, "other@"), "a digest reference gets no build context: %s", a)
		}
	})

	t.Run("--build-arg replaces the ARG default", func(t *testing.T) {
		d, cli, _, b := buildDeps(t, bs, cmdutil.ClassicBuilder, nil)
		err := runCommand(t, d, "build", "--build-arg", "BASE_TAG=dev", dir)
		assert.Check(t, is.ErrorContains(err, "Dockerfile:4: FROM "+h+"/base:dev"))
		assert.Check(t, is.Equal(b.runs, 0), "nothing may be built")
		assert.Check(t, !strings.Contains(cli.ErrBuf.String(), "→"))
	})

	t.Run("--build-context docker-image sources are verified too", func(t *testing.T) {
		d, cli, _, b := buildDeps(t, bs, cmdutil.BuildxBuilder, nil)
		assert.NilError(t, runCommand(t, d, "build", "--build-context", "extra="+"docker-image://"+h+"/tools:v3", "--build-context", "src=./src", dir))
		assert.Check(t, b.hasArg("--build-context=extra=docker-image://"+bs.pinned("tools:v3")), "%v", b.args)
		assert.Check(t, b.hasArg("--build-context=src=./src"), "%v", b.args)
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "--build-context extra "+h+"/tools:v3 → "+bs.pinned("tools:v3")))
	})
}

func TestBuildRefusesUnverifiedBases(t *testing.T) {
	t.Parallel() // it owns its sandbox
	bs := newBuildSandbox(t)
	h := bs.host
	tests := []struct {
		name       string
		dockerfile string
		wantErr    []string
	}{
		{
			name:       "an unsigned tag",
			dockerfile: "FROM " + h + "/base:v1\nFROM " + h + "/base:dev\n",
			wantErr: []string{
				"Dockerfile:2: FROM " + h + "/base:dev: No valid trust data for dev",
				"docker acrtrust sign " + h + "/base:dev",
				"--disable-content-trust",
				"Nothing was built",
			},
		},
		{
			name:       "a repository without trust data",
			dockerfile: "FROM scratch\nCOPY --from=" + h + "/plain:v1 /a /a\n",
			wantErr: []string{
				"Dockerfile:2: COPY --from " + h + "/plain:v1: ",
				"remote trust data does not exist for " + h + "/plain",
				"--disable-content-trust",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _, eng, b := buildDeps(t, bs, cmdutil.ClassicBuilder, nil)
			err := runCommand(t, d, "build", "--push", "-t", h+"/app:v1", writeDockerfile(t, tc.dockerfile))
			var st cli.StatusError
			assert.Assert(t, asStatus(err, &st), "%v", err)
			assert.Check(t, is.Equal(st.StatusCode, 1))
			for _, w := range tc.wantErr {
				assert.Check(t, is.Contains(st.Status, w))
			}
			assert.Check(t, is.Equal(b.runs, 0), "nothing may be built")
			assert.Check(t, is.Len(eng.Pushed, 0), "nothing may be pushed")
		})
	}
}

func asStatus(err error, st *cli.StatusError) bool {
	s, ok := err.(cli.StatusError)
	*st = s
	return ok
}

// driftRegistry is the sandbox's registry, except that the tags in moved
// serve other content, and the digests in gone are not there.
type driftRegistry struct {
	cmdutil.RegistryReader
	moved map[string]ocispec.Descriptor
	gone  map[digest.Digest]bool
}

func (r driftRegistry) Resolve(ctx context.Context, ref trust.Ref) (ocispec.Descriptor, error) {
	if ref.Digest != "" && r.gone[ref.Digest] {
		return ocispec.Descriptor{}, cmdtest.ErrNotFound
	}
	if desc, ok := r.moved[ref.Name.Name()+":"+ref.Tag]; ok && ref.Digest == "" {
		return desc, nil
	}
	return r.RegistryReader.Resolve(ctx, ref)
}

func TestBuildWhenTheTagDrifted(t *testing.T) {
	t.Parallel() // it owns its sandbox
	bs := newBuildSandbox(t)
	h := bs.host
	dir := writeDockerfile(t, "FROM "+h+"/base:v1\n")
	other := cmdtest.DescriptorOf("another image")

	t.Run("the signed image is still there: it is what is built", func(t *testing.T) {
		d, cli, _, b := buildDeps(t, bs, cmdutil.ClassicBuilder, nil)
		d.Init()
		d.Registry = driftRegistry{RegistryReader: d.Registry, moved: map[string]ocispec.Descriptor{h + "/base:v1": other}}
		assert.NilError(t, runCommand(t, d, "build", dir))
		assert.Check(t, is.Contains(cli.ErrBuf.String(), "WARNING: Dockerfile:1: the registry's tag "+h+"/base:v1 now serves "+other.Digest.String()))
		assert.Check(t, is.Contains(b.stdin, "FROM "+bs.pinned("base:v1")+"\n"))
	})

	t.Run("the signed image is gone: nothing is built", func(t *testing.T) {
		d, _, _, b := buildDeps(t, bs, cmdutil.ClassicBuilder, nil)
		d.Init()
		d.Registry = driftRegistry{
			RegistryReader: d.Registry,
			moved:          map[string]ocispec.Descriptor{h + "/base:v1": other},
			gone:           map[digest.Digest]bool{bs.signed["base:v1"]: true},
		}
		err := runCommand(t, d, "build", dir)
		assert.Check(t, is.ErrorContains(err, "Dockerfile:1: FROM "+h+"/base:v1: the registry's tag "+h+"/base:v1 has drifted from its signed digest"))
		assert.Check(t, is.ErrorContains(err, "Push the signed image to the tag again"))
		assert.Check(t, is.Equal(b.runs, 0))
	})
}

func TestBuildPushSigns(t *testing.T) {
	t.Parallel() // it owns its sandbox
	bs := newBuildSandbox(t)
	h := bs.host
	ctx := context.Background()
	dir := writeDockerfile(t, "FROM "+h+"/base:v1\n")

	t.Run("classic builder: the engine pushes every tag, one publish signs them", func(t *testing.T) {
		// What the engine's push puts in the registry.
		v1, err := bs.sb.PushRandomImage(ctx, "app", "v1")
		assert.NilError(t, err)
		latest, err := bs.sb.PushRandomImage(ctx, "app", "latest")
		assert.NilError(t, err)
		d, cli, eng, b := buildDeps(t, bs, cmdutil.ClassicBuilder, cmdtest.PassphraseEnv())

		assert.NilError(t, runCommand(t, d, "build", "--push", "-t", h+"/app:v1", "-t", h+"/app", dir))
		assert.Check(t, !b.hasArg("--push"), "the classic builder has no --push: %v", b.args)
		assert.Check(t, is.DeepEqual(eng.Pushed, []string{h + "/app:v1", h + "/app:latest"}))
		out := cli.OutBuf.String()
		assert.Check(t, is.Contains(out, "Successfully signed "+h+"/app:v1\n"))
		assert.Check(t, is.Contains(out, "Successfully signed "+h+"/app:latest\n"))
		assert.Check(t, is.Equal(strings.Count(out, "Signing and pushing trust metadata"), 1), "one publish")
		for image, want := range map[string]digest.Digest{h + "/app:v1": v1.Digest, h + "/app:latest": latest.Digest} {
			got, err := cmdtest.IndependentResolve(t, bs.sb, image)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(got.Digest, want), image)
		}
	})

	t.Run("buildx: buildx pushes, the index is signed", func(t *testing.T) {
		index, err := bs.sb.PushRandomIndex(ctx, "multi", "v1")
		assert.NilError(t, err)
		d, _, eng, b := buildDeps(t, bs, cmdutil.BuildxBuilder, cmdtest.PassphraseEnv())
		assert.NilError(t, runCommand(t, d, "build", "--push", "--platform", "linux/amd64,linux/arm64", "-t", h+"/multi:v1", dir))
		assert.Check(t, b.hasArg("--push"), "%v", b.args)
		assert.Check(t, b.hasArg("--platform=linux/amd64,linux/arm64"), "%v", b.args)
		assert.Check(t, is.Len(eng.Pushed, 0), "buildx pushed")
		got, err := cmdtest.IndependentResolve(t, bs.sb, h+"/multi:v1")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got.Digest, index.Digest))
		assert.Check(t, is.Equal(got.Size, index.Size))
	})

	t.Run("fails closed when signing fails", func(t *testing.T) {
		_, err := bs.sb.PushRandomImage(ctx, "nokeys", "v1")
		assert.NilError(t, err)
		d, _, eng, _ := buildDeps(t, bs, cmdutil.ClassicBuilder, nil) // no passphrases, no terminal
		err = runCommand(t, d, "build", "--push", "-t", h+"/nokeys:v1", dir)
		assert.Check(t, is.ErrorContains(err, h+"/nokeys:v1 was pushed to the registry but is NOT signed"))
		assert.Check(t, is.DeepEqual(eng.Pushed, []string{h + "/nokeys:v1"}))
	})

	t.Run("a failed build pushes nothing", func(t *testing.T) {
		d, _, eng, b := buildDeps(t, bs, cmdutil.ClassicBuilder, cmdtest.PassphraseEnv())
		b.err = cli.StatusError{StatusCode: 7}
		err := runCommand(t, d, "build", "--push", "-t", h+"/app:v1", dir)
		var st cli.StatusError
		assert.Assert(t, asStatus(err, &st), "%v", err)
		assert.Check(t, is.Equal(st.StatusCode, 7), "docker build's exit code")
		assert.Check(t, is.Len(eng.Pushed, 0))
	})
}

func TestBuildWithoutContentTrust(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{name: "--disable-content-trust", args: []string{"--disable-content-trust"}},
		{name: "DOCKER_CONTENT_TRUST=0", env: map[string]string{"DOCKER_CONTENT_TRUST": "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, tc.env)
			eng := &cmdtest.FakeEngine{}
			d.Engine = eng
			d.OpenRepo = func(context.Context, trust.Ref, bool) (trust.Repository, error) {
				t.Fatal("trust data was read")
				return nil, nil
			}
			b := &fakeBuilder{builder: cmdutil.ClassicBuilder}
			d.Builder = b
			dir := writeDockerfile(t, "FROM example.com/unsigned:v1\n")
			args := append([]string{"build", "--push", "-t", "example.com/app:v1", "-f", filepath.Join(dir, "Dockerfile")}, tc.args...)
			assert.NilError(t, runCommand(t, d, append(args, dir)...))
			// The warning names what turned trust off: the flag, or the variable (issue 17).
			assert.Check(t, is.Contains(cli.ErrBuf.String(), "WARNING: content trust is disabled by "+tc.name+": base images are not verified"))
			assert.Check(t, is.Contains(cli.ErrBuf.String(), "WARNING: content trust is disabled by "+tc.name+": example.com/app:v1 was pushed without a signature"))
			assert.Check(t, b.hasArg("--file="+filepath.Join(dir, "Dockerfile")), "%v", b.args)
			assert.Check(t, !b.hasArg("--disable-content-trust"), "%v", b.args)
			assert.Check(t, is.Equal(b.stdin, ""))
			assert.Check(t, is.DeepEqual(eng.Pushed, []string{"example.com/app:v1"}))
		})
	}
}

func TestBuildInputs(t *testing.T) {
	t.Parallel() // it owns its sandbox
	bs := newBuildSandbox(t)
	h := bs.host

	t.Run("Dockerfile on stdin with -f -", func(t *testing.T) {
		d, _, _, b := buildDeps(t, bs, cmdutil.ClassicBuilder, nil)
		d.CLI.(*cmdtest.FakeCLI).Stdin = cmdtest.NewFakeCLI(t, "FROM "+h+"/base:v1\n").Stdin
		assert.NilError(t, runCommand(t, d, "build", "-f", "-", t.TempDir()))
		assert.Check(t, is.Equal(b.stdin, "FROM "+bs.pinned("base:v1")+"\n"))
		assert.Check(t, b.hasArg("--file=-"), "%v", b.args)
	})

	t.Run("Dockerfile on stdin as the context", func(t *testing.T) {
		d, _, _, b := buildDeps(t, bs, cmdutil.ClassicBuilder, nil)
		d.CLI.(*cmdtest.FakeCLI).Stdin = cmdtest.NewFakeCLI(t, "FROM "+h+"/base:v1\n").Stdin
		assert.NilError(t, runCommand(t, d, "build", "-"))
		assert.Check(t, is.Equal(b.stdin, "FROM "+bs.pinned("base:v1")+"\n"))
		assert.Check(t, is.Equal(b.args[len(b.args)-1], "-"))
		assert.Check(t, !b.hasArg("--file=-"), "%v", b.args)
	})

	t.Run("buildx gets the Dockerfile from stdin back", func(t *testing.T) {
		d, _, _, b := buildDeps(t, bs, cmdutil.BuildxBuilder, nil)
		d.CLI.(*cmdtest.FakeCLI).Stdin = cmdtest.NewFakeCLI(t, "FROM "+h+"/base:v1\n").Stdin
		assert.NilError(t, runCommand(t, d, "build", "-f", "-", t.TempDir()))
		assert.Check(t, is.Equal(b.stdin, "FROM "+h+"/base:v1\n"))
		assert.Check(t, b.hasArg("--file=-"), "%v", b.args)
	})

	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: 11}))
	_, _ = tw.Write([]byte("FROM x:v1\n\n"))
	assert.NilError(t, tw.Close())

	for _, tc := range []struct {
		name  string
		kind  cmdutil.BuilderKind
		stdin string
		args  []string
		want  string
	}{
		{name: "a URL context", args: []string{"https://github.com/example/app.git"}, want: "cannot verify the base images of a build from a URL"},
		{name: "a Git context", args: []string{"git@github.com:example/app.git"}, want: "cannot verify the base images of a build from a URL"},
		{name: "a context archive on stdin", stdin: tarball.String(), args: []string{"-"}, want: "an archive on stdin"},
		{name: "stdin twice", args: []string{"-f", "-", "-"}, want: "can't use stdin for both"},
		{name: "--build-context with the classic builder", args: []string{"--build-context", "a=docker-image://x:v1", "."}, want: "--build-context needs buildx"},
		{name: "--push without a tag", args: []string{"--push", "."}, want: "--push needs a tag to push and sign: add -t NAME:TAG"},
		{name: "a missing Dockerfile", args: []string{t.TempDir()}, want: "reading the Dockerfile"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			d, _, _, b := buildDeps(t, bs, tc.kind, nil)
			d.CLI.(*cmdtest.FakeCLI).Stdin = cmdtest.NewFakeCLI(t, tc.stdin).Stdin
			err := runCommand(t, d, append([]string{"build"}, tc.args...)...)
			assert.Check(t, is.ErrorContains(err, tc.want))
			assert.Check(t, is.Equal(b.runs, 0))
		})
	}
}

func TestBuildxContextsOfTheUser(t *testing.T) {
	// A FROM served by the user's own local context needs no trust data.
	cli := cmdtest.NewFakeCLI(t, "")
	d := cmdtest.NewTestDeps(t, cli, nil)
	d.OpenRepo = func(context.Context, trust.Ref, bool) (trust.Repository, error) {
		t.Fatal("trust data was read for an image a local context replaces")
		return nil, nil
	}
	b := &fakeBuilder{builder: cmdutil.BuildxBuilder}
	d.Builder = b
	dir := writeDockerfile(t, "FROM example.com/base:v1\n")
	assert.NilError(t, runCommand(t, d, "build", "--build-context", "example.com/base:v1=./base", dir))
	assert.Check(t, b.hasArg("--build-context=example.com/base:v1=./base"), "%v", b.args)
}

func TestBuildWithoutContentTrustBuildxPushes(t *testing.T) {
	cli := cmdtest.NewFakeCLI(t, "")
	d := cmdtest.NewTestDeps(t, cli, map[string]string{"DOCKER_CONTENT_TRUST": "0"})
	eng := &cmdtest.FakeEngine{}
	d.Engine = eng
	b := &fakeBuilder{builder: cmdutil.BuildxBuilder}
	d.Builder = b
	dir := writeDockerfile(t, "FROM example.com/unsigned:v1\n")
	assert.NilError(t, runCommand(t, d, "build", "--push", "-t", "example.com/app:v1", "--build-context", "src=./src", dir))
	assert.Check(t, b.hasArg("--push"), "buildx pushes: %v", b.args)
	assert.Check(t, b.hasArg("--build-context=src=./src"), "%v", b.args)
	assert.Check(t, is.Len(eng.Pushed, 0), "the engine must not push again")
	assert.Check(t, is.Contains(cli.ErrBuf.String(), "example.com/app:v1 was pushed without a signature"))
}
