// Package buildfile reads a Dockerfile the way BuildKit does and lists every
// image a build of it reads: each FROM (with ARG defaults and --build-arg
// values applied), each COPY --from and RUN --mount=from that names an image
// rather than a stage, and the --build-context sources that are images.
// It parses with BuildKit's own parser and instruction packages, never with
// regular expressions, and applies the rules of BuildKit's Dockerfile
// frontend (dockerfile2llb) for what is a stage and what is an image.
//
// It also writes the copy of a Dockerfile in which those images are pinned
// by digest, for builders that cannot take named build contexts.
package buildfile

// Longer than 400 lines on purpose: one walk over BuildKit's parsed
// instructions, kept in one piece so stage scoping reads in order.

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// scratch is the empty image; it is not read from anywhere.
const scratch = "scratch"

// Kind says where a build reads an image.
type Kind int

const (
	// From is the base of a stage.
	From Kind = iota + 1
	// CopyFrom is COPY --from=IMAGE.
	CopyFrom
	// RunMount is RUN --mount=from=IMAGE.
	RunMount
	// BuildContext is a --build-context NAME=docker-image://IMAGE.
	BuildContext
)

// Source is one place where the build reads an image.
type Source struct {
	Kind Kind
	// Line is the 1-based Dockerfile line of the instruction; 0 for a
	// --build-context.
	Line int
	// Written is the image as the build sees it: after ARG expansion, as
	// the user wrote it otherwise (e.g. "alpine:3.19").
	Written string
	// Image is Written normalized (docker.io/library/alpine:3.19); a
	// reference without tag or digest gets ":latest", as BuildKit does.
	Image reference.Named
	// Context is the --build-context name: for a BuildContext source its
	// own name, otherwise the name under which BuildKit would look up a
	// named context standing in for this image (see [ContextName]).
	Context string
	// Stage is the index of the stage the instruction is in; -1 for a
	// --build-context.
	Stage int

	// raw is the token as written in the file (ARGs unexpanded), for Rewrite.
	raw string
	// mount is the index of the --mount flag of a RunMount source.
	mount int
}

// Pinned reports whether the image is referenced by digest already.
func (s Source) Pinned() bool {
	_, ok := s.Image.(reference.Digested)
	return ok
}

// Instruction names the instruction, as a user reads it in a message:
// "FROM", "COPY --from", "RUN --mount" or "--build-context NAME".
func (s Source) Instruction() string {
	switch s.Kind {
	case From:
		return "FROM"
	case CopyFrom:
		return "COPY --from"
	case RunMount:
		return "RUN --mount"
	case BuildContext:
		return "--build-context " + s.Context
	}
	return "?"
}

// Options are the build's inputs that change what a Dockerfile reads.
type Options struct {
	// BuildArgs are the --build-arg values. Nil means none.
	BuildArgs map[string]string
	// Contexts are the --build-context values by name (NAME=VALUE).
	Contexts map[string]string
	// Target is the --target stage; "" builds the last stage.
	Target string
	// Platform is the target platform of the build ("linux/amd64"); ""
	// means this machine's. It sets TARGETPLATFORM and friends, which a
	// FROM may use without declaring them.
	Platform string
}

// Analysis is what a Dockerfile reads.
type Analysis struct {
	// Sources lists the images the build reads, in file order, the
	// --build-context images last (sorted by name). Stages, scratch and
	// named contexts that are not images are not listed.
	Sources []Source
	// Syntax is the image of a "# syntax=" directive, "" when none.
	Syntax string
	// SyntaxLine is the line of the syntax directive.
	SyntaxLine int

	lines  []string
	stages []instructions.Stage
	nodes  []*parser.Node // the FROM node of each stage
}

// Analyze parses dockerfile and lists the images a build with opts reads.
// Only the stages up to Target (or all) are read: neither builder builds
// the stages after the target.
func Analyze(dockerfile []byte, opts Options) (*Analysis, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	a := &Analysis{lines: strings.SplitAfter(string(dockerfile), "\n")}
	if s, _, loc, ok := parser.DetectSyntax(dockerfile); ok {
		a.Syntax = s
		if len(loc) > 0 {
			a.SyntaxLine = loc[0].Start.Line
		}
	}
	metaArgs, err := a.parseStages(res.AST.Children)
	if err != nil {
		return nil, err
	}
	lex := shell.NewLex(res.EscapeToken)
	global, err := globalArgs(lex, metaArgs, opts)
	if err != nil {
		return nil, err
	}
	contexts, err := normalizeContexts(opts.Contexts)
	if err != nil {
		return nil, err
	}
	last, err := targetStage(a.stages, opts.Target)
	if err != nil {
		return nil, err
	}
	r := stageReader{a: a, lex: lex, global: global, contexts: contexts, stageIndex: stageIndex(a.stages)}
	for i := 0; i <= last; i++ {
		if err := r.read(i); err != nil {
			return nil, err
		}
	}
	if err := a.addContextImages(opts.Contexts); err != nil {
		return nil, err
	}
	return a, nil
}

// parseStages reads the instructions into stages; it returns the ARGs
// before the first FROM.
func (a *Analysis) parseStages(nodes []*parser.Node) ([]instructions.ArgCommand, error) {
	var metaArgs []instructions.ArgCommand
	for _, n := range nodes {
		cmd, err := instructions.ParseInstruction(n)
		if err != nil {
			return nil, fmt.Errorf("Dockerfile:%d: %w", n.StartLine, err)
		}
		switch c := cmd.(type) {
		case *instructions.Stage:
			a.stages = append(a.stages, *c)
			a.nodes = append(a.nodes, n)
		case *instructions.ArgCommand:
			if len(a.stages) == 0 {
				metaArgs = append(metaArgs, *c)
				continue
			}
			a.stages[len(a.stages)-1].AddCommand(c)
		case instructions.Command:
			if len(a.stages) == 0 {
				return nil, fmt.Errorf("Dockerfile:%d: %s before the first FROM", n.StartLine, strings.ToUpper(n.Value))
			}
			a.stages[len(a.stages)-1].AddCommand(c)
		}
	}
	if len(a.stages) == 0 {
		return nil, errors.New("the Dockerfile has no FROM instruction")
	}
	return metaArgs, nil
}

// targetStage is the index of the last stage the build reads: target's,
// or the last one.
func targetStage(stages []instructions.Stage, target string) (int, error) {
	if target == "" {
		return len(stages) - 1, nil
	}
	for i, st := range stages {
		if strings.EqualFold(st.Name, target) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("target stage %q could not be found", target)
}

// stageIndex maps stage names, lowercase as BuildKit keys them, to the
// first stage of that name.
func stageIndex(stages []instructions.Stage) map[string]int {
	index := map[string]int{}
	for i, st := range stages {
		if st.Name != "" {
			if _, dup := index[strings.ToLower(st.Name)]; !dup {
				index[strings.ToLower(st.Name)] = i
			}
		}
	}
	return index
}

// stageReader lists the images that the stages read.
type stageReader struct {
	a          *Analysis
	lex        *shell.Lex
	global     shell.EnvGetter
	contexts   map[string]string
	stageIndex map[string]int
}

// read lists the images stage i reads: its FROM, COPY --from and RUN
// --mount from=. A stage named like a build context is replaced by that
// context whole: its FROM and instructions are never read.
func (r stageReader) read(i int) error {
	a, st := r.a, r.a.stages[i]
	if st.Name != "" {
		if _, ok := r.contexts[contextKey(st.Name)]; ok {
			return nil
		}
	}
	line := a.nodes[i].StartLine
	name, _, err := r.lex.ProcessWord(st.BaseName, r.global)
	if err != nil {
		return fmt.Errorf("Dockerfile:%d: expanding %q: %w", line, st.BaseName, err)
	}
	if name == "" {
		return fmt.Errorf("Dockerfile:%d: base name (%s) should not be blank", line, st.BaseName)
	}
	// A FROM names an earlier stage only (BuildKit adds stages in
	// order); a later stage of that name does not count.
	if j, ok := r.stageIndex[strings.ToLower(name)]; !ok || j >= i {
		if err := a.addImage(From, line, i, name, st.BaseName, -1, r.contexts); err != nil {
			return err
		}
	}
	for _, c := range st.Commands {
		if err := r.readCommand(i, c); err != nil {
			return err
		}
	}
	return nil
}

// readCommand lists the image a COPY --from or RUN --mount from= of
// stage i reads, if any.
func (r stageReader) readCommand(i int, c instructions.Command) error {
	a, stages := r.a, len(r.a.stages)
	switch c := c.(type) {
	case *instructions.CopyCommand:
		if c.From == "" {
			return nil
		}
		// BuildKit refuses variables in --from; so do we, rather
		// than guess what it would read.
		if strings.ContainsRune(c.From, '$') {
			return fmt.Errorf("Dockerfile:%d: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround", lineOf(c))
		}
		if isStage(c.From, r.stageIndex, stages) {
			return nil
		}
		return a.addImage(CopyFrom, lineOf(c), i, c.From, c.From, -1, r.contexts)
	case *instructions.RunCommand:
		for k, m := range instructions.GetMounts(c) {
			// The instructions package refuses variables in from=,
			// as BuildKit does: what is written is what is read.
			if m.From == "" || isStage(m.From, r.stageIndex, stages) {
				continue
			}
			if err := a.addImage(RunMount, lineOf(c), i, m.From, m.From, k, r.contexts); err != nil {
				return err
			}
		}
	}
	return nil
}

// addContextImages lists every --build-context that is an image, whether
// or not a stage reads it, sorted by name.
func (a *Analysis) addContextImages(contexts map[string]string) error {
	var names []string
	for name := range contexts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ref, ok := strings.CutPrefix(contexts[name], "docker-image://")
		if !ok {
			continue
		}
		named, err := reference.ParseNormalizedNamed(ref)
		if err != nil {
			return fmt.Errorf("--build-context %s: %w", name, err)
		}
		a.Sources = append(a.Sources, Source{
			Kind: BuildContext, Written: ref, Image: reference.TagNameOnly(named),
			Context: name, Stage: -1,
		})
	}
	return nil
}

// addImage records that the build reads name, unless it is scratch or a
// build context stands in for it.
func (a *Analysis) addImage(kind Kind, line, stage int, name, raw string, mount int, contexts map[string]string) error {
	if name == scratch {
		return nil
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return fmt.Errorf("Dockerfile:%d: %s %s: %w", line, (Source{Kind: kind}).Instruction(), name, err)
	}
	key := ContextName(named)
	if _, ok := contexts[key]; ok {
		// The --build-context of that name is what the build reads.
		return nil
	}
	a.Sources = append(a.Sources, Source{
		Kind: kind, Line: line, Written: name, Image: reference.TagNameOnly(named),
		Context: key, Stage: stage, raw: raw, mount: mount,
	})
	return nil
}

// ContextName is the --build-context name BuildKit looks up for an image
// reference: its familiar form without ":latest" (dockerui.NamedContext).
func ContextName(named reference.Named) string {
	return strings.TrimSuffix(reference.FamiliarString(reference.TagNameOnly(named)), ":latest")
}

// contextKey normalizes a --build-context name the way BuildKit matches it.
func contextKey(name string) string {
	if named, err := reference.ParseNormalizedNamed(name); err == nil {
		return ContextName(named)
	}
	return name
}

func normalizeContexts(contexts map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for name, v := range contexts {
		if name == "" {
			return nil, fmt.Errorf("--build-context %q: a name is required (NAME=VALUE)", "="+v)
		}
		out[contextKey(name)] = v
	}
	return out, nil
}

// isStage reports whether a --from value names a stage: a stage name
// (anywhere in the file) or a stage index.
func isStage(from string, stageIndex map[string]int, stages int) bool {
	if _, ok := stageIndex[strings.ToLower(from)]; ok {
		return true
	}
	if n, err := strconv.Atoi(from); err == nil && n >= 0 && n < stages {
		return true
	}
	return false
}

func lineOf(c interface{ Location() []parser.Range }) int {
	if loc := c.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

// globalArgs are what a FROM line may use: the platform arguments BuildKit
// defines, then the ARGs before the first FROM with their defaults, each
// replaced by a --build-arg of the same name (dockerfile2llb buildMetaArgs).
func globalArgs(lex *shell.Lex, metaArgs []instructions.ArgCommand, opts Options) (*envList, error) {
	env := &envList{}
	target := platforms.DefaultSpec()
	if opts.Platform != "" {
		first, _, _ := strings.Cut(opts.Platform, ",")
		p, err := platforms.Parse(strings.TrimSpace(first))
		if err != nil {
			return nil, fmt.Errorf("--platform %s: %w", opts.Platform, err)
		}
		target = p
	}
	build := platforms.DefaultSpec()
	for _, kv := range [][2]string{
		{"BUILDPLATFORM", platforms.Format(build)},
		{"BUILDOS", build.OS},
		{"BUILDARCH", build.Architecture},
		{"BUILDVARIANT", build.Variant},
		{"TARGETPLATFORM", platforms.Format(target)},
		{"TARGETOS", target.OS},
		{"TARGETARCH", target.Architecture},
		{"TARGETVARIANT", target.Variant},
		{"TARGETSTAGE", opts.Target},
	} {
		env.set(kv[0], kv[1])
	}
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			if v, ok := opts.BuildArgs[kv.Key]; ok {
				env.set(kv.Key, v)
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, env)
			if err != nil {
				return nil, fmt.Errorf("Dockerfile:%d: ARG %s: %w", lineOf(&cmd), kv.Key, err)
			}
			env.set(kv.Key, v)
		}
	}
	return env, nil
}

// envList is a shell.EnvGetter that keeps the order of its keys.
type envList struct {
	keys []string
	vals map[string]string
}

func (e *envList) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

// Get implements shell.EnvGetter.
func (e *envList) Get(k string) (string, bool) {
	v, ok := e.vals[k]
	return v, ok
}

// Keys implements shell.EnvGetter.
func (e *envList) Keys() []string { return e.keys }
