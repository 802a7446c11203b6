package cmdutil

import (
	"context"
	"io"
)

// BuilderKind is the builder that `docker build` runs.
type BuilderKind int

const (
	// classicBuilder is the engine's own (legacy) builder: no named build
	// contexts, so it gets a pinned copy of the Dockerfile.
	ClassicBuilder BuilderKind = iota
	// buildxBuilder is BuildKit through the buildx plugin: it gets a
	// --build-context per image and reads the user's Dockerfile.
	BuildxBuilder
)

func (k BuilderKind) String() string {
	if k == BuildxBuilder {
		return "buildx"
	}
	return "the classic builder"
}

// BuildTool runs `docker build` for the build command.
type BuildTool interface {
	// kind tells which builder `docker build` will use.
	Kind() BuilderKind
	// run runs `docker build ARGS...` with docker's own output on this
	// process's stdout and stderr; stdin, when not nil, replaces ours.
	Run(ctx context.Context, args []string, stdin io.Reader) error
}
