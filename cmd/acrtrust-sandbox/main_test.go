package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

func TestParseSeed(t *testing.T) {
	tests := []struct {
		in      string
		want    seed
		wantErr string
	}{
		{in: "demo/hello:v1", want: seed{repo: "demo/hello", tag: "v1"}},
		{in: "app:1.0", want: seed{repo: "app", tag: "1.0"}},
		{in: "app", wantErr: "want REPO:TAG"},
		{in: "app:", wantErr: "want REPO:TAG"},
		{in: ":v1", wantErr: "want REPO:TAG"},
		{in: "Upper/app:v1", wantErr: `--seed "Upper/app:v1"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSeed(tc.in)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
}

func TestSeedsArePushedAndPrinted(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	defer sb.Close()
	seeded, err := pushSeeds(context.Background(), sb, []seed{{repo: "demo/hello", tag: "v1"}, {repo: "app", tag: "2.0"}})
	assert.NilError(t, err)
	assert.Assert(t, is.Len(seeded, 2))
	assert.Check(t, strings.HasPrefix(seeded[0], sb.Host()+"/demo/hello:v1@sha256:"), seeded[0])

	var out bytes.Buffer
	printInstructions(&out, sb, options{}, "/tmp/ca.crt", seeded)
	lines := strings.Split(out.String(), "\n")
	assert.Check(t, strings.HasPrefix(lines[0], "ACRTRUST_SANDBOX_HOST="), "the first line stays the host")
	assert.Check(t, is.Equal(lines[3], "ACRTRUST_SANDBOX_SEED="+seeded[0]))
	assert.Check(t, is.Equal(lines[4], "ACRTRUST_SANDBOX_SEED="+seeded[1]))
	assert.Check(t, is.Contains(out.String(), "docker acrtrust sign "+sb.Host()+"/app:2.0\n"))
}
