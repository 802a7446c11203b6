//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// TestPluginIsFound checks that the docker CLI is the one the pass asked for
// (v29 unless E2E_DOCKER_CLI says otherwise), that it finds the plugin through
// cliPluginsExtraDirs, lists it as valid with the version from -ldflags,
// and runs its commands; and that the binary also runs on its own.
func TestPluginIsFound(t *testing.T) {
	c := newClient(t)

	t.Run("the docker CLI is the one this pass asked for", func(t *testing.T) {
		res := c.docker(t, "version", "--format", "{{.Client.Version}}")
		res.Assert(t, icmd.Success)
		got := strings.TrimSpace(res.Stdout())
		assert.Check(t, is.Equal(got, h.dockerVersion))
		major := versionNumbers(got)[0]
		switch os.Getenv("E2E_DOCKER_CLI") {
		case "", "v29":
			assert.Check(t, major >= 29, "docker %s drives the plugin, not v29", got)
		case "dct":
			assert.Check(t, major < 29, "docker %s drives the plugin, not the content trust peer", got)
			assert.Check(t, is.Equal(h.docker, h.dctDocker))
		}
	})

	t.Run("help lists the commands", func(t *testing.T) {
		res := c.acrtrust(t, "--help")
		res.Assert(t, icmd.Success)
		for _, sub := range []string{"push", "pull", "version"} {
			assert.Check(t, regexp.MustCompile(`(?m)^\s+`+sub+`\s+\S`).MatchString(res.Stdout()),
				"`docker acrtrust --help` does not list %s:\n%s", sub, res.Stdout())
		}
		assert.Check(t, is.Contains(res.Stdout(), "docker acrtrust COMMAND"))
	})

	t.Run("docker info shows the plugin as valid", func(t *testing.T) {
		res := c.docker(t, "info", "--format", "{{json .ClientInfo.Plugins}}")
		res.Assert(t, icmd.Success)
		var plugins []struct {
			Name, Version, Path string
			Err                 any
		}
		assert.NilError(t, json.Unmarshal([]byte(strings.TrimSpace(res.Stdout())), &plugins), res.Stdout())
		found := false
		for _, p := range plugins {
			if p.Name != "acrtrust" {
				continue
			}
			found = true
			assert.Check(t, is.Nil(p.Err), "docker reports the plugin as invalid")
			assert.Check(t, is.Equal(p.Version, h.version))
			assert.Check(t, is.Equal(p.Path, h.plugin))
		}
		assert.Check(t, found, "docker info does not list acrtrust: %s", res.Stdout())
	})

	t.Run("docker acrtrust version", func(t *testing.T) {
		res := c.acrtrust(t, "version")
		res.Assert(t, icmd.Success)
		assert.Check(t, strings.HasPrefix(res.Stdout(), "docker-acrtrust "+h.version+" ("), res.Stdout())
	})

	t.Run("standalone docker-acrtrust version", func(t *testing.T) {
		res := c.run(t, icmd.Command(h.plugin, "version"))
		res.Assert(t, icmd.Success)
		assert.Check(t, strings.HasPrefix(res.Stdout(), "docker-acrtrust "+h.version+" ("), res.Stdout())
	})

	t.Run("an unknown command is a usage error", func(t *testing.T) {
		res := c.acrtrust(t, "no-such-command")
		assert.Check(t, res.ExitCode != 0, res.Combined())
		assert.Check(t, is.Contains(res.Combined(), "no-such-command"))
	})
}
