// Package runargs splits a `docker run` or `docker create` command line
// where docker splits it: the flags before IMAGE, IMAGE, and the command
// with its own arguments after it. Which flags take a value comes from the
// flag set docker itself builds for the command (the caller passes it), so
// nothing here lists docker's flags by hand and a new docker flag needs no
// change here.
package runargs

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// ErrNoImage is returned when the command line ends before IMAGE.
var ErrNoImage = errors.New(`"docker run" and "docker create" require at least 1 argument: IMAGE`)

// Flag is one flag as the user typed it: the argument or two it took.
type Flag struct {
	Names []string // the flags' long names: one, or several for a cluster of shorthands (-it)
	Args  []string // the arguments exactly as typed: ["-e", "X=Y"], ["--rm"], ["-it"]
	Own   bool     // the caller's own flag, not docker's
}

// Line is a command line split at IMAGE.
type Line struct {
	Flags    []Flag   // every flag before IMAGE, in order
	DashDash bool     // a "--" ended the flags before IMAGE
	Image    string   // IMAGE as typed
	Command  []string // COMMAND and its arguments after IMAGE, untouched

	parsed *pflag.FlagSet
}

// Value returns the value docker's parser gave the flag name (its default
// when not given) and whether the command line gave it.
func (l Line) Value(name string) (string, bool) {
	if l.parsed == nil {
		return "", false
	}
	f := l.parsed.Lookup(name)
	if f == nil {
		return "", false
	}
	return f.Value.String(), f.Changed
}

// Split parses args (everything after `run` or `create`) with own and
// docker, the flag set of docker's own run or create command. Flags of own
// take precedence over docker's flags of the same name (both define
// --disable-content-trust). The values of own's flags are set as a side
// effect, as pflag does. Help (--help) is reported as pflag.ErrHelp.
func Split(own, docker *pflag.FlagSet, args []string) (Line, error) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetInterspersed(false) // as docker's run and create: flags stop at IMAGE
	fs.Usage = func() {}
	fs.SetOutput(discard{})
	fs.AddFlagSet(own)
	fs.AddFlagSet(docker) // skips names own already has
	var parsed []string
	err := fs.ParseAll(args, func(f *pflag.Flag, value string) error {
		parsed = append(parsed, f.Name)
		return fs.Set(f.Name, value)
	})
	if err != nil {
		return Line{}, err
	}
	if h := fs.Lookup("help"); h != nil && h.Changed && h.Value.String() == "true" {
		return Line{}, pflag.ErrHelp
	}
	line, err := segment(fs, own, args)
	if err != nil {
		return Line{}, err
	}
	// The walk and pflag must agree flag by flag; if a future pflag parses
	// differently, refuse rather than hand docker a different command line.
	var names []string
	for _, f := range line.Flags {
		names = append(names, f.Names...)
	}
	if !slices.Equal(names, parsed) || !slices.Equal(append([]string{line.Image}, line.Command...), fs.Args()) {
		return Line{}, fmt.Errorf("cannot split the command line %q at IMAGE: flags %v, docker's parser read %v", args, names, parsed)
	}
	line.parsed = fs
	return line, nil
}

// segment walks args as pflag does (parseArgs, parseLongArg,
// parseSingleShortArg) and records which arguments each flag took.
func segment(fs, own *pflag.FlagSet, args []string) (Line, error) {
	var line Line
	i := 0
	for i < len(args) {
		s := args[i]
		if s == "--" {
			line.DashDash = true
			i++
			break
		}
		if len(s) < 2 || s[0] != '-' {
			break
		}
		read := shortFlags
		if s[1] == '-' {
			read = longFlag
		}
		names, n, err := read(fs, args[i:])
		if err != nil {
			return Line{}, err
		}
		f := Flag{Names: names, Args: args[i : i+n], Own: own.Lookup(names[0]) != nil}
		for _, name := range names[1:] {
			if (own.Lookup(name) != nil) != f.Own {
				return Line{}, fmt.Errorf("%s mixes flags of docker and of this command: give them separately", s)
			}
		}
		line.Flags = append(line.Flags, f)
		i += n
	}
	if i >= len(args) {
		return Line{}, ErrNoImage
	}
	line.Image = args[i]
	line.Command = append([]string{}, args[i+1:]...)
	return line, nil
}

// longFlag reads --name, --name=value or --name value.
func longFlag(fs *pflag.FlagSet, args []string) ([]string, int, error) {
	name, _, hasValue := strings.Cut(args[0][2:], "=")
	f := fs.Lookup(name)
	if f == nil {
		return nil, 0, fmt.Errorf("unknown flag: --%s", name)
	}
	if hasValue || f.NoOptDefVal != "" {
		return []string{f.Name}, 1, nil
	}
	if len(args) < 2 {
		return nil, 0, fmt.Errorf("flag needs an argument: --%s", name)
	}
	return []string{f.Name}, 2, nil
}

// shortFlags reads a cluster of shorthands (-it, -e X=Y, -eX=Y, -d=false):
// the first shorthand that takes a value ends the cluster and takes the
// rest of it, or the next argument.
func shortFlags(fs *pflag.FlagSet, args []string) ([]string, int, error) {
	var names []string
	cluster := args[0][1:]
	for len(cluster) > 0 {
		c := cluster[0]
		f := fs.ShorthandLookup(string(c))
		if f == nil {
			return nil, 0, fmt.Errorf("unknown shorthand flag: %q in -%s", c, args[0][1:])
		}
		names = append(names, f.Name)
		rest := cluster[1:]
		switch {
		case len(cluster) > 2 && cluster[1] == '=':
			return names, 1, nil // -f=value
		case f.NoOptDefVal != "":
			cluster = rest
		case rest != "":
			return names, 1, nil // -eX=Y
		case len(args) < 2:
			return nil, 0, fmt.Errorf("flag needs an argument: %q in -%s", c, args[0][1:])
		default:
			return names, 2, nil
		}
	}
	return names, 1, nil
}

// DockerArgs returns the command line for docker: the flags that are not
// the caller's own, exactly as typed, then image in place of IMAGE, then
// the command untouched.
func (l Line) DockerArgs(image string) []string {
	var out []string
	for _, f := range l.Flags {
		if !f.Own {
			out = append(out, f.Args...)
		}
	}
	if l.DashDash {
		out = append(out, "--")
	}
	out = append(out, image)
	return append(out, l.Command...)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
