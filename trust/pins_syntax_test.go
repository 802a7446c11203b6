package trust

import (
	"errors"
	"strings"
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

// TestParsePinsNamesAnUnknownField: a key a pins file does not have, in the
// document or in trust_pinning, is refused with its line; notary's other
// config keys and keys in another case (as encoding/json reads them) are
// not.
func TestParsePinsNamesAnUnknownField(t *testing.T) {
	for _, tc := range []struct {
		name, doc, field string
		line             int
	}{
		{"in trust_pinning", "{\n  \"trust_pinning\": {\n    \"cert\": {}\n  }\n}\n", "cert", 3},
		{"at the top", "{\n  \"trust_pinning\": {},\n  \"pins\": {}\n}\n", "pins", 3},
		{"after a nested value", "{\"remote_server\": {\"url\": \"x\", \"y\": {\"z\": 1}},\n \"trust_pinning\": {\"certs\": {\"a/b\": []},\n \"tofu\": true}}", "tofu", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePins("/p/pins.json", []byte(tc.doc))
			var pe *PinsFileError
			assert.Assert(t, errors.As(err, &pe), "%v", err)
			assert.Check(t, is.Equal(pe.Line, tc.line))
			assert.Check(t, is.ErrorContains(err, `unknown field "`+tc.field+`"`))
		})
	}
	for _, doc := range []string{
		`{"trust_dir": "~/.notary", "remote_server": {"url": "https://x"}, "trust_pinning": {"disable_tofu": true}}`,
		`{"Trust_Pinning": {"CERTS": {}, "Disable_TOFU": false}}`,
		`{"trust_pinning": null}`,
	} {
		_, err := ParsePins("/p/pins.json", []byte(doc))
		if err != nil {
			assert.Check(t, !strings.Contains(err.Error(), "unknown field"), "%s: %v", doc, err)
		}
	}
}
