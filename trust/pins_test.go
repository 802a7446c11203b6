//go:build unix

package trust

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
)

// TestLoadPinsRefusesWhatIsNotARegularFile: a pins path that names a FIFO
// (which blocked every command) or a device (/dev/zero was read until
// memory ran out) is a *PinsFileError at once, and nothing is pinned.
func TestLoadPinsRefusesWhatIsNotARegularFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pins.json")
	assert.NilError(t, syscall.Mkfifo(fifo, 0o600))
	for _, tc := range []struct{ name, path, want string }{
		{"a FIFO", fifo, "named pipe (FIFO), not a regular file"},
		{"a device", "/dev/zero", "a device, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadPins(tc.path)
			var pe *PinsFileError
			assert.Assert(t, errors.As(err, &pe), "%v", err)
			var nr *capped.NotRegularError
			assert.Check(t, errors.As(err, &nr))
			assert.Check(t, is.ErrorContains(err, tc.want))
			// Saving over it is refused too: pin add must not replace it.
			p := Pins{}
			assert.NilError(t, p.SetCerts("r.example/app", []string{strings.Repeat("a", 64)}))
			assert.Check(t, errors.As(p.Save(tc.path), &pe))
		})
	}
}

// TestLoadPinsRefusesATooLargeFile: over MaxPinsFileSize is refused before
// it is read (a sparse file: no disk used).
func TestLoadPinsRefusesATooLargeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins.json")
	f, err := os.Create(path)
	assert.NilError(t, err)
	assert.NilError(t, f.Truncate(MaxPinsFileSize+1))
	assert.NilError(t, f.Close())
	_, err = LoadPins(path)
	var pe *PinsFileError
	assert.Assert(t, errors.As(err, &pe), "%v", err)
	assert.Check(t, capped.IsTooLarge(err))
	assert.Check(t, is.ErrorContains(err, "too large for a pins file (at most 128 MiB)"))
}

// TestParsePinsNamesTheFirstBadEntry: with entries checked in any order,
// the error still names the first bad entry in sorted order, on its line.
func TestParsePinsNamesTheFirstBadEntry(t *testing.T) {
	id := strings.Repeat("ab", 32)
	var lines []string
	for i := range 50 {
		v := id
		if i == 30 || i == 40 {
			v = "short"
		}
		lines = append(lines, fmt.Sprintf(`"r.example/app%02d": [%q]`, i, v))
	}
	doc := "{\"trust_pinning\": {\"certs\": {\n" + strings.Join(lines, ",\n") + "\n}}}\n"
	for range 5 { // map order varies between runs
		_, err := ParsePins("pins.json", []byte(doc))
		var pe *PinsFileError
		assert.Assert(t, errors.As(err, &pe))
		assert.Check(t, is.Equal(pe.Line, 32))
		assert.Check(t, is.ErrorContains(err, `r.example/app30: "short" is not a root key ID`))
	}
}

// TestPinsLookupPrecedence: the repository's own entry, then the longest
// "prefix*", then the longest CA prefix, as notary decides; a lookup reads
// the prefixes of the name, not every entry.
func TestPinsLookupPrecedence(t *testing.T) {
	id := func(c string) []string { return []string{strings.Repeat(c, 64)} }
	p := Pins{
		Certs: map[string][]string{"r.io/team/app": id("a"), "r.io/team/*": id("b"), "r.io/*": id("c"), "r.io/te*": id("d")},
		CA:    map[string]string{"r.io/": "/ca.pem", "r.io/other/": "/other.pem"},
	}
	for _, tc := range []struct{ gun, want string }{
		{"r.io/team/app", "r.io/team/app"},
		{"r.io/team/web", "r.io/team/*"},
		{"r.io/tea", "r.io/te*"},
		{"r.io/x", "r.io/*"},
	} {
		got, ok := p.Lookup(data.GUN(tc.gun))
		assert.Check(t, ok && got.Pattern == tc.want, "%s: %+v", tc.gun, got)
	}
	p.Certs = nil
	got, ok := p.Lookup("r.io/other/app")
	assert.Check(t, ok && got.CA == "/other.pem", "%+v", got)
	_, ok = p.Lookup("s.io/app")
	assert.Check(t, !ok)
}
