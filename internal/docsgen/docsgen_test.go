package docsgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"
)

// testTree is a small command tree shaped like the plugin's.
func testTree(pushFlags ...string) *cobra.Command {
	root := &cobra.Command{Use: "acrtrust", Short: "Docker Content Trust for Azure Container Registry"}
	push := &cobra.Command{Use: "push [OPTIONS] NAME[:TAG]", Short: "Push an image and sign the pushed tag", Run: func(*cobra.Command, []string) {}}
	push.Flags().BoolP("quiet", "q", false, "Suppress verbose output")
	for _, f := range pushFlags {
		push.Flags().Bool(f, false, "Added later")
	}
	hidden := &cobra.Command{Use: "secret", Short: "Not for users", Hidden: true, Run: func(*cobra.Command, []string) {}}
	root.AddCommand(push, hidden)
	return root
}

func readPage(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	assert.NilError(t, err)
	return string(b)
}

func writePage(t *testing.T, dir, name, content string) {
	t.Helper()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

func TestGenerateNewPages(t *testing.T) {
	dir := t.TempDir()
	assert.NilError(t, Generate(Options{Root: testTree(), Dir: dir}))

	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// One page per visible command, the hidden one left out.
	assert.DeepEqual(t, names, []string{"acrtrust.md", "acrtrust_push.md"})
	golden.Assert(t, readPage(t, dir, "acrtrust_push.md"), "push-new.golden")
	assert.Check(t, is.Contains(readPage(t, dir, "acrtrust.md"), "[`push`](acrtrust_push.md)"))
}

func TestGenerateKeepsHandWrittenText(t *testing.T) {
	const handWritten = "\n## Description\n\nPushes, then signs.\n\n## Examples\n\n```console\n$ docker acrtrust push myreg.azurecr.io/app:v1\n```\n"
	tests := []struct {
		name string
		page string
	}{
		{
			name: "with markers and a stale generated block",
			page: "# docker acrtrust push\n\n<!---MARKER_GEN_START-->\nOld text that the generator replaces\n<!---MARKER_GEN_END-->\n" + handWritten,
		},
		{
			name: "without markers",
			page: "# docker acrtrust push\n" + handWritten,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writePage(t, dir, "acrtrust_push.md", tc.page)
			assert.NilError(t, Generate(Options{Root: testTree(), Dir: dir}))
			got := readPage(t, dir, "acrtrust_push.md")
			assert.Check(t, is.Contains(got, handWritten))
			assert.Check(t, !strings.Contains(got, "Old text"), got)
			assert.Check(t, strings.HasPrefix(got, "# docker acrtrust push\n\n<!---MARKER_GEN_START-->\nPush an image and sign the pushed tag\n"), got)
			assert.Check(t, is.Contains(got, "| `-q`, `--quiet` | `bool` |"))
			// The generated block comes before the hand-written sections.
			assert.Check(t, strings.Index(got, "<!---MARKER_GEN_END-->") < strings.Index(got, "## Description"), got)
		})
	}
}

// cli-docs-tool copies a page over its target without truncating it; a page
// that got shorter must not keep the tail of its longer predecessor.
func TestGenerateShorterPageLeavesNoTail(t *testing.T) {
	dir := t.TempDir()
	assert.NilError(t, Generate(Options{Root: testTree("extra-one", "extra-two", "extra-three"), Dir: dir}))
	long := readPage(t, dir, "acrtrust_push.md")
	assert.Assert(t, is.Contains(long, "--extra-three"))

	assert.NilError(t, Generate(Options{Root: testTree(), Dir: dir}))
	short := readPage(t, dir, "acrtrust_push.md")
	assert.Check(t, !strings.Contains(short, "extra"), short)
	assert.Check(t, strings.HasSuffix(short, "<!---MARKER_GEN_END-->\n\n"), short)
}

func TestGenerateRejectsHalfMarkedPage(t *testing.T) {
	dir := t.TempDir()
	writePage(t, dir, "acrtrust_push.md", "# docker acrtrust push\n\n<!---MARKER_GEN_START-->\nno end\n")
	err := Generate(Options{Root: testTree(), Dir: dir})
	assert.ErrorContains(t, err, "acrtrust_push.md: it has only one of")
	// The page is left as it was.
	assert.Equal(t, readPage(t, dir, "acrtrust_push.md"), "# docker acrtrust push\n\n<!---MARKER_GEN_START-->\nno end\n")
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		after func(t *testing.T, dir string)
		tree  *cobra.Command
		want  []string
	}{
		{
			name: "up to date",
			tree: testTree(),
		},
		{
			name: "a flag was added",
			tree: testTree("new-flag"),
			want: []string{"acrtrust_push.md: out of date"},
		},
		{
			name:  "a page was deleted",
			tree:  testTree(),
			after: func(t *testing.T, dir string) { assert.NilError(t, os.Remove(filepath.Join(dir, "acrtrust_push.md"))) },
			want:  []string{"acrtrust_push.md: missing"},
		},
		{
			name: "a page documents a command that does not exist",
			tree: testTree(),
			after: func(t *testing.T, dir string) {
				writePage(t, dir, "acrtrust_gone.md", "# docker acrtrust gone\n\n<!---MARKER_GEN_START-->\n<!---MARKER_GEN_END-->\n")
			},
			want: []string{"acrtrust_gone.md: documents no command"},
		},
		{
			name: "a hand-written page without markers",
			tree: testTree(),
			after: func(t *testing.T, dir string) {
				writePage(t, dir, "acrtrust_push.md", "# docker acrtrust push\n\nHand-written.\n")
			},
			want: []string{"acrtrust_push.md: out of date"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			assert.NilError(t, Generate(Options{Root: testTree(), Dir: dir}))
			if tc.after != nil {
				tc.after(t, dir)
			}
			problems, err := Check(Options{Root: tc.tree, Dir: dir})
			assert.NilError(t, err)
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			assert.DeepEqual(t, got, tc.want)

			// Check never writes.
			if len(tc.want) > 0 {
				again, err := Check(Options{Root: tc.tree, Dir: dir})
				assert.NilError(t, err)
				assert.Equal(t, len(again), len(problems))
			}
		})
	}
}
