package trust

import (
	"errors"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestParsePinsNamesTheLineWhereTheFileEnds: a pins file cut short, or
// empty, is reported on the line where it ends, with what is wrong, rather
// than as a bare "unexpected EOF" or "EOF" that names no place (issue 17).
func TestParsePinsNamesTheLineWhereTheFileEnds(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		line      int
		want      string
	}{
		{
			name: "an object not closed",
			doc:  "{\"trust_pinning\": {\n  \"certs\": {\n    \"r.example/app\": [\"x\"]\n\n",
			line: 3,
			want: "pins file pins.json, line 3: the file ends before the JSON does: a closing brace, bracket or quote is missing",
		},
		{
			name: "a string not closed",
			doc:  "{\"trust_pinning\": {\n  \"certs\": {\n    \"r.example/ap",
			line: 3,
			want: "pins file pins.json, line 3: the file ends before the JSON does",
		},
		{
			name: "an empty file",
			doc:  "",
			line: 1,
			want: `pins file pins.json, line 1: the file holds no JSON: a pins file is an object such as {"trust_pinning"`,
		},
		{
			name: "only blank lines",
			doc:  "\n  \n\n",
			line: 1,
			want: "pins file pins.json, line 1: the file holds no JSON",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePins("pins.json", []byte(tc.doc))
			var pe *PinsFileError
			assert.Assert(t, errors.As(err, &pe), "%v", err)
			assert.Check(t, is.Equal(pe.Line, tc.line))
			assert.Check(t, is.ErrorContains(err, tc.want))
		})
	}
}
