package trust

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/theupdateframework/notary/tuf/data"
)

// FuzzParseRef: references come from users and from servers' tag lists.
// Parsing never panics, and what parses names one repository consistently.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"myregistry.azurecr.io/app:v1", "myregistry.azurecr.io/team/app", "busybox", "library/busybox:latest",
		"127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64), "localhost/a/b/c:tag", "UPPER/case", "a:b:c", "",
		"myreg.azurecr.io/app:v1@sha256:" + strings.Repeat("0", 64), "[::1]:5000/app:v1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		if r.GUN().String() != r.Name.Name() {
			t.Fatalf("GUN %q is not the name %q", r.GUN(), r.Name.Name())
		}
		if r.Registry() == "" || r.Path() == "" {
			t.Fatalf("%q parsed without registry or path: %+v", s, r)
		}
		again, err := ParseRef(r.String())
		if err != nil {
			t.Fatalf("%q parsed, but its full form %q does not: %v", s, r.String(), err)
		}
		if again.String() != r.String() || again.GUN() != r.GUN() {
			t.Fatalf("%q: %q parses back to %q", s, r.String(), again.String())
		}
		if r.Tag != "" && r.WithTag(r.Tag).String() != r.Name.Name()+":"+r.Tag {
			t.Fatalf("WithTag changed the name of %q", s)
		}
	})
}

// FuzzParsePins: the pins file is what teams commit. A file either parses
// into pins that survive a save and a load unchanged, or is a
// *PinsFileError that names a line of the file; never a panic, never
// anything else.
func FuzzParsePins(f *testing.F) {
	id := strings.Repeat("ab", 32)
	for _, s := range []string{
		`{"trust_pinning": {"certs": {"myreg.azurecr.io/app": ["` + id + `"]}}}`,
		`{"trust_pinning": {"certs": {"myreg.azurecr.io/team/*": ["` + id + `"]}, "disable_tofu": true}}`,
		`{"trust_pinning": {"ca": {"myreg.azurecr.io/": "ca.pem"}}}`,
		`{"trust_pinning": {"cert": {}}}`,
		`{"trust_dir": "~/.notary", "remote_server": {"url": "https://x"}, "trust_pinning": {}}`,
		"{\n  \"trust_pinning\": {\n    \"certs\": {\"a/b\": [\"short\"]}\n  }\n}\n",
		`{"trust_pinning": null}`, `[]`, `{`, ``,
		// Several bad entries: the first in sorted order is named, on its line.
		"{\"trust_pinning\": {\"certs\": {\n\"r.io/b\": [\"x\"],\n\"r.io/a\": [],\n\"r.io/c*\": [\"" + id + "\"]}}}",
		// A name repeated: the last one wins, as encoding/json decides.
		`{"trust_pinning": {"certs": {"r.io/a": ["` + id + `"], "r.io/a": ["` + id + `"]}}}`,
		// A key ID that also appears earlier as a name, escapes, a nested object.
		`{"trust_pinning": {"certs": {"\u0072.io/a": ["` + id + `"], "r.io/\"q": ["` + id + `"]}, "ca": {"r.io/": {}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Add(pinsFileOf(200))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "pins.json")
		p, err := ParsePins(path, b)
		if err != nil {
			var pe *PinsFileError
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if pe.Path != path || pe.Line < 0 || pe.Line > strings.Count(string(b), "\n")+1 {
				t.Fatalf("error names %s line %d of a %d-line file", pe.Path, pe.Line, strings.Count(string(b), "\n")+1)
			}
			return
		}
		if err := p.Save(path); err != nil {
			t.Fatalf("saving parsed pins: %v", err)
		}
		// Save resolves nothing: relative CA paths stay relative to the
		// file; the fuzzed CA files do not exist beside the new one.
		if len(p.CA) > 0 {
			return
		}
		q, err := LoadPins(path)
		if err != nil {
			out, _ := os.ReadFile(path)
			t.Fatalf("saved pins do not load: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(q.Entries(), p.Entries()) || q.DisableTOFU != p.DisableTOFU {
			t.Fatalf("pins changed by a save and a load: %+v -> %+v", p.Entries(), q.Entries())
		}
		for _, e := range p.Entries() {
			if strings.HasSuffix(e.Pattern, "*") {
				continue
			}
			got, ok := p.Lookup(data.GUN(e.Pattern))
			if !ok || got.Pattern != e.Pattern {
				t.Fatalf("Lookup(%q) = %+v, %v", e.Pattern, got, ok)
			}
		}
	})
}

// pinsFileOf is a pins file with n certs entries, one key ID each, one per
// line, as a large organisation's generated pins file would be.
func pinsFileOf(n int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"trust_pinning\": {\n    \"certs\": {\n")
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "      \"myregistry.azurecr.io/team%d/app%d\": [\"%064x\"]", i%100, i, i)
	}
	b.WriteString("\n    }\n  }\n}\n")
	return b.Bytes()
}
