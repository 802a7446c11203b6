package main

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"gotest.tools/v3/assert"

	acrplugin "github.com/acrtrust/docker-acrtrust/plugin"
)

// The docker CLI reads the metadata before every plugin command; main
// answers it without plugin.Run, so it must write what plugin.Run writes.
func TestMetadataIsWhatPluginRunWrites(t *testing.T) {
	var got bytes.Buffer
	assert.NilError(t, writeMetadata(&got, pluginMetadata()))

	dockerCLI, err := command.NewDockerCli()
	assert.NilError(t, err)
	savedArgs := os.Args
	t.Cleanup(func() { os.Args = savedArgs })
	os.Args = []string{"docker-acrtrust", metadata.MetadataSubcommandName}
	want := captureStdout(t, func() {
		assert.NilError(t, plugin.RunPlugin(dockerCLI, acrplugin.NewRootCommand(dockerCLI, Version), pluginMetadata()))
	})

	assert.Equal(t, got.String(), want)
	assert.Assert(t, bytes.Contains(got.Bytes(), []byte(`"SchemaVersion": "0.1.0"`)), got.String())
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	assert.NilError(t, err)
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	func() {
		defer func() { os.Stdout = saved }()
		f()
	}()
	assert.NilError(t, w.Close())
	return <-done
}
