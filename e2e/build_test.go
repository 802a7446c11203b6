//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// The file every image imported by importFile holds.
const baseFile = "acrtrust-e2e"

// importFile creates an image tagged ref holding /acrtrust-e2e with
// content, with `docker import`.
func (c *client) importFile(t *testing.T, ref, content string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: baseFile, Mode: 0o644, Size: int64(len(content)), ModTime: time.Now()}))
	_, err := tw.Write([]byte(content))
	assert.NilError(t, err)
	assert.NilError(t, tw.Close())
	c.run(t, icmd.Command(h.docker, "import", "-", ref), icmd.WithStdin(&buf)).Assert(t, icmd.Success)
}

// readFile extracts one file from an image: `docker create` (the
// container never runs) and `docker cp` to a tar stream.
func (c *client) readFile(t *testing.T, image, path string) string {
	t.Helper()
	create := c.docker(t, "create", image, "/none")
	create.Assert(t, icmd.Success)
	id := strings.TrimSpace(create.Stdout())
	defer c.docker(t, "rm", id)
	cp := c.docker(t, "cp", id+":"+path, "-")
	cp.Assert(t, icmd.Success)
	tr := tar.NewReader(strings.NewReader(cp.Stdout()))
	hdr, err := tr.Next()
	assert.NilError(t, err)
	assert.Equal(t, hdr.Name, filepath.Base(path))
	data, err := io.ReadAll(tr)
	assert.NilError(t, err)
	return string(data)
}

// buildContext writes a build context: a Dockerfile and a file it copies.
func buildContext(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644))
	return dir
}

// TestBuildFromSignedBase: the build reads the signed base even after the
// registry's tag was moved to another image; unsigned bases and
// repositories without trust data stop the build before anything is built.
func TestBuildFromSignedBase(t *testing.T) {
	c := newClient(t).withPassphrases()
	base := newRepo(t)

	// base:v1 signed, then the tag moved to other content, unsigned.
	c.importFile(t, base+":v1", "the signed base\n")
	push := c.acrtrust(t, "push", base+":v1")
	push.Assert(t, icmd.Expected{Out: "Successfully signed " + base + ":v1"})
	signed := pushedDigest(t, push.Stdout(), "v1")
	c.rmi(t, base+":v1")
	c.importFile(t, base+":v1", "what the tag was moved to\n")
	moved := c.acrtrust(t, "push", "--disable-content-trust", base+":v1")
	moved.Assert(t, icmd.Success)
	movedDigest := pushedDigest(t, moved.Stdout(), "v1")
	assert.Assert(t, movedDigest != signed)
	c.rmi(t, base+":v1")
	// base:dev unsigned.
	c.importFile(t, base+":dev", "unsigned\n")
	c.acrtrust(t, "push", "--disable-content-trust", base+":dev").Assert(t, icmd.Success)
	c.rmi(t, base+":dev")

	app := newRepo(t)
	dir := buildContext(t, `ARG BASE=`+base+`:v1
FROM ${BASE} AS base
FROM scratch
COPY --from=base /`+baseFile+` /from-base
COPY --from=`+base+`:v1 /`+baseFile+` /copied
COPY hello.txt /hello.txt
`)

	t.Run("the signed base is built from", func(t *testing.T) {
		res := c.acrtrust(t, "build", "-t", app+":v1", dir)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stderr(), "FROM "+base+":v1 → "+base+"@"+signed+" (signed by targets)\n"))
		assert.Check(t, is.Contains(res.Stderr(), "WARNING: Dockerfile:2: the registry's tag "+base+":v1 now serves "+movedDigest))
		assert.Check(t, is.Contains(res.Stderr(), "COPY --from "+base+":v1 → "+base+"@"+signed+" (signed by targets)\n"))
		assert.Check(t, is.Equal(c.readFile(t, app+":v1", "/from-base"), "the signed base\n"))
		assert.Check(t, is.Equal(c.readFile(t, app+":v1", "/copied"), "the signed base\n"))
		assert.Check(t, is.Equal(c.readFile(t, app+":v1", "/hello.txt"), "hello\n"))
		// The user's Dockerfile is untouched.
		df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
		assert.NilError(t, err)
		assert.Check(t, is.Contains(string(df), "FROM ${BASE} AS base"))
	})

	t.Run("an unsigned base: nothing is built", func(t *testing.T) {
		res := c.acrtrust(t, "build", "--build-arg", "BASE="+base+":dev", "-t", app+":unsigned", dir)
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: "Dockerfile:2: FROM " + base + ":dev: No valid trust data for dev"})
		assert.Check(t, is.Contains(res.Stderr(), "--disable-content-trust"))
		assert.Check(t, !strings.Contains(res.Combined(), "Step 1/"), "the builder ran:\n%s", res.Combined())
		assert.Check(t, !c.imageExists(t, app+":unsigned"))
		assert.Check(t, !c.imageExists(t, base+":dev"), "the unsigned base was pulled")
	})

	t.Run("a repository without trust data: nothing is built", func(t *testing.T) {
		plain := newRepo(t)
		c.importFile(t, plain+":v1", "plain\n")
		c.acrtrust(t, "push", "--disable-content-trust", plain+":v1").Assert(t, icmd.Success)
		c.rmi(t, plain+":v1")
		res := c.acrtrust(t, "build", "--build-arg", "BASE="+plain+":v1", "-t", app+":plain", dir)
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: "remote trust data does not exist for " + plain})
		assert.Check(t, !c.imageExists(t, app+":plain"))
	})

	t.Run("--disable-content-trust builds from the tag, with a warning", func(t *testing.T) {
		res := c.acrtrust(t, "build", "--disable-content-trust", "-t", app+":plain", dir)
		res.Assert(t, icmd.Expected{Err: "WARNING: content trust is disabled"})
		assert.Check(t, is.Equal(c.readFile(t, app+":plain", "/from-base"), "what the tag was moved to\n"))
		assert.Check(t, is.Equal(c.readFile(t, app+":plain", "/copied"), "what the tag was moved to\n"))
	})
}

// TestBuildPushSigns: build --push pushes every tag and signs each with the
// digest the registry serves, in one publish; docker trust inspect agrees.
func TestBuildPushSigns(t *testing.T) {
	c := newClient(t).withPassphrases()
	base := newRepo(t)
	c.importFile(t, base+":v1", "the signed base\n")
	c.acrtrust(t, "push", base+":v1").Assert(t, icmd.Success)

	app := newRepo(t)
	dir := buildContext(t, "FROM "+base+":v1\nCOPY hello.txt /hello.txt\n")
	res := c.acrtrust(t, "build", "--push", "-t", app+":v1", "-t", app+":stable", dir)
	res.Assert(t, icmd.Success)
	assertNoSecrets(t, res)
	out := res.Stdout()
	assert.Check(t, is.Equal(strings.Count(out, "Signing and pushing trust metadata"), 1), "one publish:\n%s", out)
	assert.Check(t, is.Contains(out, "Successfully signed "+app+":v1\n"))
	assert.Check(t, is.Contains(out, "Successfully signed "+app+":stable\n"))
	pushed := map[string]string{"v1": pushedDigest(t, out, "v1"), "stable": pushedDigest(t, out, "stable")}

	// Our own reading, from another machine.
	other := newClient(t)
	for tag, digest := range pushed {
		r := other.acrtrust(t, "resolve", app+":"+tag)
		r.Assert(t, icmd.Success)
		assert.Check(t, is.Equal(r.Stdout(), app+"@"+digest+"\n"))
	}

	// docker trust inspect agrees.
	if h.dctDocker == "" {
		skipOrFail(t, "no docker CLI with content trust (older than v29) found: apt-get install docker.io")
	}
	inspect := c.run(t, icmd.Command(h.dctDocker, "trust", "inspect", app), icmd.WithEnv(c.environ(dctEnv()...)...))
	inspect.Assert(t, icmd.Success)
	var repos []struct {
		SignedTags []struct{ SignedTag, Digest string }
	}
	assert.NilError(t, json.Unmarshal([]byte(inspect.Stdout()), &repos))
	assert.Assert(t, is.Len(repos, 1))
	got := map[string]string{}
	for _, st := range repos[0].SignedTags {
		got[st.SignedTag] = "sha256:" + st.Digest
	}
	assert.Check(t, is.DeepEqual(got, pushed))
}

// TestBuildWithBuildx: when the docker CLI has buildx, `docker build` goes
// to it, with a --build-context per image pinned to the signed digest and
// the user's Dockerfile. The buildx here is a stand-in plugin that records
// the arguments docker hands it (no real buildx can run in this engine).
func TestBuildWithBuildx(t *testing.T) {
	c := newClient(t).withPassphrases()
	base := newRepo(t)
	c.importFile(t, base+":v1", "the signed base\n")
	push := c.acrtrust(t, "push", base+":v1")
	push.Assert(t, icmd.Success)
	signed := pushedDigest(t, push.Stdout(), "v1")

	// The stand-in buildx, in a plugin directory of this client only.
	pluginDir := t.TempDir()
	argsFile := filepath.Join(t.TempDir(), "buildx-args")
	script := "#!/bin/sh\n" +
		`if [ "$1" = docker-cli-plugin-metadata ]; then echo '{"SchemaVersion":"0.1.0","Vendor":"e2e","Version":"v0.0.1"}'; exit 0; fi` + "\n" +
		`printf '%s\n' "$@" > "$ACRTRUST_E2E_BUILDX_ARGS"` + "\n"
	assert.NilError(t, os.WriteFile(filepath.Join(pluginDir, "docker-buildx"), []byte(script), 0o755))
	cfgPath := filepath.Join(c.config, "config.json")
	raw, err := os.ReadFile(cfgPath)
	assert.NilError(t, err)
	var cfg map[string]any
	assert.NilError(t, json.Unmarshal(raw, &cfg))
	cfg["cliPluginsExtraDirs"] = []string{h.pluginDir, pluginDir}
	raw, err = json.Marshal(cfg)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(cfgPath, raw, 0o600))
	c.env["ACRTRUST_E2E_BUILDX_ARGS"] = argsFile

	dockerfile := "FROM " + base + ":v1\nCOPY hello.txt /hello.txt\n"
	dir := buildContext(t, dockerfile)
	app := newRepo(t)
	res := c.acrtrust(t, "build", "--platform", "linux/amd64,linux/arm64", "-t", app+":v1", dir)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stderr(), "FROM "+base+":v1 → "+base+"@"+signed+" (signed by targets)\n"))

	recorded, err := os.ReadFile(argsFile)
	assert.NilError(t, err, "docker did not run buildx")
	args := strings.Split(strings.TrimSpace(string(recorded)), "\n")
	assert.Check(t, is.Contains(args, "build"))
	assert.Check(t, is.Contains(args, "--build-context="+base+":v1=docker-image://"+base+"@"+signed))
	assert.Check(t, is.Contains(args, "--tag="+app+":v1"))
	assert.Check(t, is.Contains(args, "--platform=linux/amd64,linux/arm64"))
	assert.Check(t, is.Equal(args[len(args)-1], dir))
	for _, a := range args {
		assert.Check(t, !strings.HasPrefix(a, "--file"), "buildx reads the user's Dockerfile: %s", a)
	}
}
