package plugin

import (
	"fmt"
	"runtime"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
)

func newVersionCommand(d *cmdutil.Deps, version string) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the docker acrtrust version",
		Args:  cli.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(d.CLI.Out(), "docker-acrtrust %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
