package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestReferenceUpToDate fails when docs/reference does not match the
// commands: a command, flag or help text changed without `make docs`.
func TestReferenceUpToDate(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(filepath.Join("..", "..", "docs", "reference"), true, false, &stdout, &stderr); code != 0 {
		t.Fatalf("docs/reference is out of date; run `make docs` and commit the result:\n%s", stderr.String())
	}
}

func TestCheckReportsMissingPages(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(dir, true, false, &stdout, &stderr)
	assert.Equal(t, code, 1)
	assert.Check(t, is.Contains(stderr.String(), "acrtrust_push.md: missing"))
	assert.Check(t, is.Contains(stderr.String(), "run `make docs`"))

	// Generating fixes it.
	stdout.Reset()
	stderr.Reset()
	assert.Equal(t, run(dir, false, false, &stdout, &stderr), 0, stderr.String())
	assert.Equal(t, run(dir, true, false, &stdout, &stderr), 0, stderr.String())
	page, err := os.ReadFile(filepath.Join(dir, "acrtrust_pull.md"))
	assert.NilError(t, err)
	assert.Check(t, strings.HasPrefix(string(page), "# docker acrtrust pull\n"))
	assert.Check(t, is.Contains(string(page), "`--disable-content-trust`"))
}
