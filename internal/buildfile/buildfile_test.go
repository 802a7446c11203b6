package buildfile

import (
	"runtime"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// read is one image read, as a test states it: kind, line, image
// (normalized), and the --build-context name BuildKit looks up for it.
type read struct {
	Kind    Kind
	Line    int
	Image   string
	Context string
}

func reads(a *Analysis) []read {
	var out []read
	for _, s := range a.Sources {
		out = append(out, read{Kind: s.Kind, Line: s.Line, Image: s.Image.String(), Context: s.Context})
	}
	return out
}

const pinnedDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		opts       Options
		want       []read
	}{
		{
			name: "multi-stage: stage references are not images",
			dockerfile: `FROM golang:1.22 AS build
RUN go build -o /app .
FROM build AS test
RUN go test ./...
COPY --from=myreg.azurecr.io/tools:v3 /bin/lint /lint
FROM myreg.azurecr.io/base:v1
COPY --from=build /app /app
COPY --from=0 /app /app0
`,
			want: []read{
				{From, 1, "docker.io/library/golang:1.22", "golang:1.22"},
				{CopyFrom, 5, "myreg.azurecr.io/tools:v3", "myreg.azurecr.io/tools:v3"},
				{From, 6, "myreg.azurecr.io/base:v1", "myreg.azurecr.io/base:v1"},
			},
		},
		{
			name: "ARG before FROM: its default",
			dockerfile: `ARG REGISTRY=myreg.azurecr.io
ARG TAG=v1
FROM ${REGISTRY}/base:$TAG
`,
			want: []read{{From, 3, "myreg.azurecr.io/base:v1", "myreg.azurecr.io/base:v1"}},
		},
		{
			name: "ARG before FROM: --build-arg wins over the default",
			dockerfile: `ARG TAG=v1
FROM myreg.azurecr.io/base:${TAG}
`,
			opts: Options{BuildArgs: map[string]string{"TAG": "v2"}},
			want: []read{{From, 2, "myreg.azurecr.io/base:v2", "myreg.azurecr.io/base:v2"}},
		},
		{
			name: "ARG before FROM: a default built from another ARG",
			dockerfile: `ARG REG=myreg.azurecr.io
ARG IMAGE=$REG/base
FROM $IMAGE
`,
			want: []read{{From, 3, "myreg.azurecr.io/base:latest", "myreg.azurecr.io/base"}},
		},
		{
			name: "--platform in FROM does not change the image",
			dockerfile: `FROM --platform=$BUILDPLATFORM myreg.azurecr.io/sdk:v1 AS build
FROM --platform=linux/arm64 myreg.azurecr.io/base:v1
COPY --from=build /out /
`,
			want: []read{
				{From, 1, "myreg.azurecr.io/sdk:v1", "myreg.azurecr.io/sdk:v1"},
				{From, 2, "myreg.azurecr.io/base:v1", "myreg.azurecr.io/base:v1"},
			},
		},
		{
			name: "a platform ARG in the image name",
			dockerfile: `FROM myreg.azurecr.io/base:v1-${TARGETARCH}
`,
			opts: Options{Platform: "linux/arm64"},
			want: []read{{From, 1, "myreg.azurecr.io/base:v1-arm64", "myreg.azurecr.io/base:v1-arm64"}},
		},
		{
			name: "COPY --from an image",
			dockerfile: `FROM scratch
COPY --from=myreg.azurecr.io/tools:v3 /bin/tool /tool
COPY --from=busybox /bin/busybox /busybox
`,
			want: []read{
				{CopyFrom, 2, "myreg.azurecr.io/tools:v3", "myreg.azurecr.io/tools:v3"},
				{CopyFrom, 3, "docker.io/library/busybox:latest", "busybox"},
			},
		},
		{
			name: "a stage name shadows the image of that name",
			dockerfile: `FROM myreg.azurecr.io/alpine:3 AS alpine
FROM alpine
COPY --from=alpine /etc/os-release /
FROM scratch
COPY --from=ALPINE /etc/os-release /
`,
			want: []read{{From, 1, "myreg.azurecr.io/alpine:3", "myreg.azurecr.io/alpine:3"}},
		},
		{
			name: "a FROM before the stage of that name is defined is the image",
			dockerfile: `FROM alpine:3.19
FROM myreg.azurecr.io/base:v1 AS alpine
`,
			want: []read{
				{From, 1, "docker.io/library/alpine:3.19", "alpine:3.19"},
				{From, 2, "myreg.azurecr.io/base:v1", "myreg.azurecr.io/base:v1"},
			},
		},
		{
			name: "references pinned by digest are listed as pinned",
			dockerfile: `FROM myreg.azurecr.io/base@` + pinnedDigest + `
COPY --from=myreg.azurecr.io/tools:v3@` + pinnedDigest + ` /t /t
`,
			want: []read{
				{From, 1, "myreg.azurecr.io/base@" + pinnedDigest, "myreg.azurecr.io/base@" + pinnedDigest},
				{CopyFrom, 2, "myreg.azurecr.io/tools:v3@" + pinnedDigest, "myreg.azurecr.io/tools:v3@" + pinnedDigest},
			},
		},
		{
			name:       "FROM scratch reads nothing",
			dockerfile: "FROM scratch\nCOPY a /a\n",
			want:       nil,
		},
		{
			name: "RUN --mount=from an image",
			dockerfile: `FROM scratch AS src
FROM myreg.azurecr.io/base:v1
RUN --mount=type=bind,from=myreg.azurecr.io/tools:v3,target=/t /t/run
RUN --mount=from=src,target=/s --mount=type=cache,target=/c true
`,
			want: []read{
				{From, 2, "myreg.azurecr.io/base:v1", "myreg.azurecr.io/base:v1"},
				{RunMount, 3, "myreg.azurecr.io/tools:v3", "myreg.azurecr.io/tools:v3"},
			},
		},
		{
			name: "--target: stages after it are not read",
			dockerfile: `FROM myreg.azurecr.io/base:v1 AS base
FROM myreg.azurecr.io/other:v1 AS other
`,
			opts: Options{Target: "base"},
			want: []read{{From, 1, "myreg.azurecr.io/base:v1", "myreg.azurecr.io/base:v1"}},
		},
		{
			name: "--build-context: images are read, a named context stands in for the FROM of that name",
			dockerfile: `FROM alpine:3.19
FROM myreg.azurecr.io/base:v1
COPY --from=tools /t /t
`,
			opts: Options{Contexts: map[string]string{
				"alpine:3.19": "docker-image://myreg.azurecr.io/alpine:3.19",
				"tools":       "./tools",
			}},
			want: []read{
				{From, 2, "myreg.azurecr.io/base:v1", "myreg.azurecr.io/base:v1"},
				{BuildContext, 0, "myreg.azurecr.io/alpine:3.19", "alpine:3.19"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Analyze([]byte(tc.dockerfile), tc.opts)
			assert.NilError(t, err)
			assert.DeepEqual(t, reads(a), tc.want)
		})
	}
}

func TestAnalyzePinned(t *testing.T) {
	a, err := Analyze([]byte("FROM myreg.azurecr.io/base@"+pinnedDigest+"\nFROM myreg.azurecr.io/base:v1\n"), Options{})
	assert.NilError(t, err)
	assert.Equal(t, len(a.Sources), 2)
	assert.Check(t, a.Sources[0].Pinned())
	assert.Check(t, !a.Sources[1].Pinned())
}

func TestAnalyzeDefaultPlatform(t *testing.T) {
	a, err := Analyze([]byte("FROM myreg.azurecr.io/base:${TARGETOS}-${TARGETARCH}\n"), Options{})
	assert.NilError(t, err)
	assert.Equal(t, a.Sources[0].Written, "myreg.azurecr.io/base:linux-"+runtime.GOARCH)
}

func TestAnalyzeSyntax(t *testing.T) {
	a, err := Analyze([]byte("# syntax=docker/dockerfile:1\nFROM scratch\n"), Options{})
	assert.NilError(t, err)
	assert.Equal(t, a.Syntax, "docker/dockerfile:1")
	assert.Equal(t, a.SyntaxLine, 1)
}

func TestAnalyzeErrors(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		opts             Options
		want             string
	}{
		{name: "no FROM", dockerfile: "ARG X=1\n", want: "no FROM"},
		{name: "variable in RUN --mount=from", dockerfile: "FROM scratch\nARG X=alpine\nRUN --mount=from=$X,target=/x true\n", want: "Dockerfile:3: 'from' doesn't support variable expansion"},
		{name: "instruction before FROM", dockerfile: "RUN true\nFROM scratch\n", want: "Dockerfile:1: RUN before the first FROM"},
		{name: "blank base", dockerfile: "ARG BASE\nFROM $BASE\n", want: "Dockerfile:2: base name ($BASE) should not be blank"},
		{name: "invalid reference", dockerfile: "FROM Alpine\n", want: "Dockerfile:1: FROM Alpine"},
		{name: "variable in COPY --from", dockerfile: "FROM scratch\nARG X=alpine\nCOPY --from=$X /a /a\n", want: "Dockerfile:3: variable expansion is not supported for --from"},
		{name: "unknown target", dockerfile: "FROM scratch AS a\n", opts: Options{Target: "b"}, want: `target stage "b" could not be found`},
		{name: "unknown instruction", dockerfile: "FROM scratch\nFROBNICATE x\n", want: "Dockerfile:2:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Analyze([]byte(tc.dockerfile), tc.opts)
			assert.Check(t, is.ErrorContains(err, tc.want))
		})
	}
}

func TestRewrite(t *testing.T) {
	const base = "myreg.azurecr.io/base@" + pinnedDigest
	const tools = "myreg.azurecr.io/tools@" + pinnedDigest
	src := `# the user's comment
ARG TAG=v1
FROM --platform=$BUILDPLATFORM \
     myreg.azurecr.io/base:${TAG} AS build
RUN echo hi
FROM build
COPY --from=myreg.azurecr.io/tools:v3 /t /t
RUN --mount=type=bind,from=myreg.azurecr.io/tools:v3,target=/t true
FROM myreg.azurecr.io/base@` + pinnedDigest + `
`
	a, err := Analyze([]byte(src), Options{})
	assert.NilError(t, err)
	assert.Equal(t, len(a.Sources), 4)
	out, err := a.Rewrite(map[int]string{0: base, 1: tools, 2: tools})
	assert.NilError(t, err)
	want := `# the user's comment
ARG TAG=v1
FROM --platform=$BUILDPLATFORM ` + base + ` AS build

RUN echo hi
FROM build
COPY --from=` + tools + ` /t /t
RUN --mount=type=bind,from=` + tools + `,target=/t true
FROM myreg.azurecr.io/base@` + pinnedDigest + `
`
	assert.Equal(t, string(out), want)
	assert.Equal(t, strings.Count(string(out), "\n"), strings.Count(src, "\n"), "line numbers stay the user's")

	// The copy reads exactly the pinned images.
	again, err := Analyze(out, Options{})
	assert.NilError(t, err)
	for _, s := range again.Sources {
		assert.Check(t, s.Pinned(), "%s line %d is not pinned", s.Instruction(), s.Line)
	}
}
