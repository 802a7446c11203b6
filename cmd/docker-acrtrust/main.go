// Command docker-acrtrust is the docker acrtrust CLI plugin: Docker Content
// Trust for Azure Container Registry, after Docker CLI v29 removed it.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/debug"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel"

	acrplugin "github.com/acrtrust/docker-acrtrust/plugin"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// pluginMetadata is what the docker CLI reads before every plugin command.
func pluginMetadata() metadata.Metadata {
	return metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "docker acrtrust authors",
		Version:          Version,
		ShortDescription: "Docker Content Trust for Azure Container Registry",
		URL:              "https://github.com/acrtrust/docker-acrtrust",
	}
}

func main() {
	meta := pluginMetadata()
	if len(os.Args) == 2 && os.Args[1] == metadata.MetadataSubcommandName {
		// The docker CLI runs this before every "docker acrtrust ..."
		// command: answer it without a docker CLI client or the command
		// tree, which plugin.Run would build only to print meta.
		if err := writeMetadata(os.Stdout, meta); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if plugin.RunningStandalone() {
		os.Exit(runStandalone())
	}
	os.Exit(runPlugin(func(dockerCLI command.Cli) *cobra.Command {
		cmd := acrplugin.NewRootCommand(dockerCLI, Version)
		// Chained as docker/cli's helloworld example does: the docker CLI
		// sets the log level (--debug, --log-level) in plugin.PersistentPreRunE.
		cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
			if err := plugin.PersistentPreRunE(c, args); err != nil {
				return err
			}
			quietLibraryLogs()
			return nil
		}
		return cmd
	}, meta))
}

// runPlugin is docker/cli's plugin.Run, except that an error with an exit
// status and no message (run and create hand back the status of the docker
// they ran, which has already said what went wrong) prints nothing, where
// plugin.Run prints an empty line.
func runPlugin(makeCmd func(command.Cli) *cobra.Command, meta metadata.Metadata) int {
	otel.SetErrorHandler(debug.OTELErrorHandler)
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return exitCode(dockerCLI.Err(), plugin.RunPlugin(dockerCLI, makeCmd(dockerCLI), meta))
}

// exitCode prints err (unless it is a bare exit status) and returns the
// process's exit code: a StatusError's code, else 1.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var st cli.StatusError
	if !errors.As(err, &st) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if st.Status != "" || st.Cause != nil {
		fmt.Fprintln(stderr, st)
	}
	if st.StatusCode == 0 {
		return 1 // a StatusError is a failure
	}
	return st.StatusCode
}

// writeMetadata writes meta as docker/cli's plugin.Run does for the
// docker-cli-plugin-metadata subcommand (plugin_test.go compares the two).
func writeMetadata(w io.Writer, meta metadata.Metadata) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "     ")
	return enc.Encode(meta)
}

// quietLibraryLogs discards what notary logs through the global logrus
// logger unless the log level is debug. Notary logs ordinary events at error
// level ("couldn't add target to targets" while choosing roles); what matters
// reaches the user as an error, and the rest is shown only with docker's
// --debug or --log-level=debug. Call it once the docker CLI is initialised,
// which is when the level is known.
func quietLibraryLogs() {
	if logrus.GetLevel() < logrus.DebugLevel {
		logrus.SetOutput(io.Discard)
	}
}

// runStandalone runs the commands as "docker-acrtrust ..." without the docker
// CLI in front, the way docker/buildx does.
func runStandalone() int {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts := cliflags.NewClientOptions()
	if err := dockerCLI.Initialize(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	quietLibraryLogs()
	cmd := acrplugin.NewRootCommand(dockerCLI, Version)
	cmd.Use = "docker-acrtrust"
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	return exitCode(dockerCLI.Err(), cmd.Execute())
}
