// Command docs-gen writes the command reference in docs/reference from the
// plugin's command tree (make docs), or checks that it is up to date
// (make docs-check, and the test beside this file, which go test ./... runs).
//
//	docs-gen [-dir docs/reference] [-check]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/internal/docsgen"
	"github.com/acrtrust/docker-acrtrust/plugin"
)

func main() {
	fs := flag.NewFlagSet("docs-gen", flag.ContinueOnError)
	dir := fs.String("dir", "docs/reference", "Reference directory")
	check := fs.Bool("check", false, "Only check that the reference is up to date; exit 1 if not")
	verbose := fs.Bool("v", false, "Log every page generated")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	os.Exit(run(*dir, *check, *verbose, os.Stdout, os.Stderr))
}

func run(dir string, check, verbose bool, stdout, stderr io.Writer) int {
	root, err := rootCommand()
	if err != nil {
		fmt.Fprintln(stderr, "docs-gen:", err)
		return 1
	}
	opts := docsgen.Options{Root: root, Dir: dir}
	if verbose {
		opts.Log = stderr
	}
	if !check {
		if err := docsgen.Generate(opts); err != nil {
			fmt.Fprintln(stderr, "docs-gen:", err)
			return 1
		}
		fmt.Fprintf(stdout, "reference pages in %s are up to date\n", dir)
		return 0
	}
	problems, err := docsgen.Check(opts)
	if err != nil {
		fmt.Fprintln(stderr, "docs-gen:", err)
		return 1
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "the command reference in %s does not match the commands:\n", dir)
		for _, p := range problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
		fmt.Fprintln(stderr, "run `make docs` and commit the result (pages of removed commands must be deleted by hand)")
		return 1
	}
	fmt.Fprintf(stdout, "reference pages in %s are up to date\n", dir)
	return 0
}

// rootCommand builds the plugin's command tree. A docker CLI that is not
// initialised is enough: building the tree touches no daemon or config.
func rootCommand() (*cobra.Command, error) {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		return nil, err
	}
	return plugin.NewRootCommand(dockerCLI, ""), nil
}
