// Package docsgen writes the command reference pages in docs/reference with
// github.com/docker/cli-docs-tool, the generator docker and buildx use for
// their own reference. A page is docs/reference/acrtrust_<cmd>.md; the tool
// rewrites only the part between the markers below (description, aliases,
// subcommands, options table) and keeps every hand-written section around
// it (## Description, ## Examples, ## Differences from docker trust).
//
// Pages written by hand before the generator existed may lack the markers:
// they get an empty marker block right after their title, so that nothing
// written by hand is lost.
package docsgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	clidocstool "github.com/docker/cli-docs-tool"
	"github.com/spf13/cobra"
)

// The markers cli-docs-tool looks for.
const (
	markerStart = "<!---MARKER_GEN_START-->"
	markerEnd   = "<!---MARKER_GEN_END-->"
)

// Options says what to document where.
type Options struct {
	// Root is the plugin's root command ("acrtrust"). It is documented as
	// "docker acrtrust", below a stand-in "docker" command, as buildx does.
	// Required. It is added to that stand-in, so use a fresh tree.
	Root *cobra.Command
	// Dir is the reference directory (docs/reference). Required.
	Dir string
	// Log receives the generator's progress lines. Nil discards them.
	Log io.Writer
}

// Generate writes the page of every visible command into Dir, creating
// missing pages and keeping the hand-written parts of existing ones.
// Pages of commands that no longer exist are left alone; [Check] reports
// them.
func Generate(opts Options) error {
	pages, err := render(opts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return fmt.Errorf("creating reference directory %q: %w", opts.Dir, err)
	}
	for _, name := range sortedKeys(pages) {
		path := filepath.Join(opts.Dir, name)
		old, err := os.ReadFile(path)
		if err == nil && bytes.Equal(old, pages[name]) {
			continue
		}
		if err := os.WriteFile(path, pages[name], 0o644); err != nil {
			return fmt.Errorf("writing reference page %q: %w", path, err)
		}
	}
	return nil
}

// Problem is a reference page that is not what [Generate] would write.
type Problem struct {
	// Page is the file name in Dir, e.g. "acrtrust_push.md".
	Page string
	// Reason is "missing", "out of date" or "documents no command".
	Reason string
}

func (p Problem) String() string { return p.Page + ": " + p.Reason }

// Check compares Dir with what [Generate] would write and returns every
// page that is missing, out of date, or belongs to no command (a page
// named like a command page, acrtrust*.md, for a command that does not
// exist). No problems means the reference is up to date.
func Check(opts Options) ([]Problem, error) {
	pages, err := render(opts)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for _, name := range sortedKeys(pages) {
		old, err := os.ReadFile(filepath.Join(opts.Dir, name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			problems = append(problems, Problem{Page: name, Reason: "missing"})
		case err != nil:
			return nil, fmt.Errorf("reading reference page: %w", err)
		case !bytes.Equal(old, pages[name]):
			problems = append(problems, Problem{Page: name, Reason: "out of date"})
		}
	}
	stale, err := filepath.Glob(filepath.Join(opts.Dir, pagePrefix(opts.Root)+"*.md"))
	if err != nil {
		return nil, err
	}
	for _, p := range stale {
		name := filepath.Base(p)
		if _, ok := pages[name]; !ok {
			problems = append(problems, Problem{Page: name, Reason: "documents no command"})
		}
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].Page < problems[j].Page })
	return problems, nil
}

// render returns the content of every page, by file name, without touching Dir.
func render(opts Options) (map[string][]byte, error) {
	if opts.Root == nil {
		return nil, errors.New("generating reference pages: no root command")
	}
	if opts.Dir == "" {
		return nil, errors.New("generating reference pages: no directory")
	}
	staging, err := os.MkdirTemp("", "docsgen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(staging)

	docker := &cobra.Command{
		Use:               "docker [OPTIONS] COMMAND [ARG...]",
		Short:             "The base command for the Docker CLI.",
		DisableAutoGenTag: true,
	}
	docker.AddCommand(opts.Root)
	names := pageNames(docker)

	// Stage the existing pages, with markers where they have none, and let
	// the tool rewrite them in place there: it copies a source page over an
	// existing target without truncating it, so a shorter page would keep
	// the tail of the old one if it wrote into Dir directly.
	for _, name := range names {
		content, err := os.ReadFile(filepath.Join(opts.Dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading reference page: %w", err)
		}
		content, err = withMarkers(name, content)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(staging, name), content, 0o644); err != nil {
			return nil, err
		}
	}
	if err := generateMarkdown(docker, staging, opts.Log); err != nil {
		return nil, err
	}
	pages := map[string][]byte{}
	for _, name := range names {
		content, err := os.ReadFile(filepath.Join(staging, name))
		if err != nil {
			return nil, fmt.Errorf("generating reference page %s: %w", name, err)
		}
		pages[name] = content
	}
	return pages, nil
}

// logMu serialises use of the standard logger, which cli-docs-tool writes
// its progress to.
var logMu sync.Mutex

func generateMarkdown(root *cobra.Command, dir string, w io.Writer) error {
	if w == nil {
		w = io.Discard
	}
	logMu.Lock()
	defer logMu.Unlock()
	prevOut, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(w)
	log.SetFlags(0)
	defer func() {
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
	}()
	c, err := clidocstool.New(clidocstool.Options{Root: root, SourceDir: dir, Plugin: true})
	if err != nil {
		return fmt.Errorf("generating reference pages: %w", err)
	}
	if err := c.GenMarkdownTree(root); err != nil {
		return fmt.Errorf("generating reference pages: %w", err)
	}
	return nil
}

// pageNames lists the page file of every visible command below root, as
// cli-docs-tool names them: the command path without "docker", joined with
// underscores.
func pageNames(root *cobra.Command) []string {
	var names []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		if c.HasParent() {
			names = append(names, pageName(c))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	sort.Strings(names)
	return names
}

func pageName(c *cobra.Command) string {
	path := c.CommandPath()
	if i := strings.IndexByte(path, ' '); i >= 0 {
		path = path[i+1:]
	}
	return strings.ReplaceAll(path, " ", "_") + ".md"
}

// pagePrefix is the name every page of root's tree starts with ("acrtrust").
func pagePrefix(root *cobra.Command) string { return root.Name() }

// withMarkers returns a page with a marker block: unchanged if it has
// one, else with an empty one after its first "# " title line (or at the
// top when it has no title). Nothing written by hand is removed. A page
// with only one of the two markers is an error: where the block ends is
// for its author to say.
func withMarkers(name string, page []byte) ([]byte, error) {
	s := string(page)
	hasStart, hasEnd := strings.Contains(s, markerStart), strings.Contains(s, markerEnd)
	switch {
	case hasStart && hasEnd:
		if strings.Index(s, markerEnd) < strings.Index(s, markerStart) {
			return nil, fmt.Errorf("reference page %s: %s comes before %s", name, markerEnd, markerStart)
		}
		return page, nil
	case hasStart || hasEnd:
		return nil, fmt.Errorf("reference page %s: it has only one of %s and %s; add the other", name, markerStart, markerEnd)
	}
	block := markerStart + "\n" + markerEnd + "\n"
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "# ") {
			head := strings.Join(lines[:i+1], "")
			if !strings.HasSuffix(head, "\n") {
				head += "\n"
			}
			rest := strings.TrimLeft(strings.Join(lines[i+1:], ""), "\n")
			return []byte(head + "\n" + block + "\n" + rest), nil
		}
	}
	return []byte(block + "\n" + s), nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
