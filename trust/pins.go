package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
)

// PinsFileName is the pins file's name under <DOCKER_CONFIG>/trust.
const PinsFileName = "pins.json"

// Pins is a pins file: notary's own trust pinning configuration, the
// "trust_pinning" section of a notary client config.json, so the file a team
// commits works with `notary -c FILE` too. See docs/security.md.
//
//	{
//	  "trust_pinning": {
//	    "certs": {"myregistry.azurecr.io/app": ["<root key ID>", ...],
//	              "myregistry.azurecr.io/team/*": ["..."]},
//	    "ca":    {"myregistry.azurecr.io/team/": "team-root-ca.pem"},
//	    "disable_tofu": true
//	  }
//	}
//
// Root key IDs are the IDs that root.json lists (what `inspect` shows under
// Root). A certs name ending in "*" matches every repository it prefixes; a
// ca name is a plain prefix. CA paths are relative to the pins file.
type Pins struct {
	// Certs maps a repository (GUN) or a prefix ending in "*" to root key IDs.
	Certs map[string][]string `json:"certs,omitempty"`
	// CA maps a repository prefix to a PEM file of CA certificates.
	CA map[string]string `json:"ca,omitempty"`
	// DisableTOFU refuses every repository that no pin covers.
	DisableTOFU bool `json:"disable_tofu,omitempty"`

	// dir is the pins file's directory, against which CA paths resolve.
	dir string
}

// pinsFile is the document: notary config keys other than trust_pinning
// are accepted (and ignored) so a notary config.json can be shared.
type pinsFile struct {
	TrustPinning *Pins          `json:"trust_pinning"`
	TrustDir     any            `json:"trust_dir,omitempty"`
	RemoteServer map[string]any `json:"remote_server,omitempty"`
}

// Pin is the pin that covers one repository.
type Pin struct {
	// Pattern is the pins file entry: a GUN, a "prefix*", or a CA prefix.
	Pattern string
	// KeyIDs are the pinned root key IDs; empty for a CA pin.
	KeyIDs []string
	// CA is the CA file of a CA pin, as resolved against the pins file.
	CA string
}

// PinsFileError is a pins file that cannot be used. No pins are taken from
// it: a broken file must never mean "nothing is pinned".
type PinsFileError struct {
	Path string
	Line int // 1-based; 0 when the problem has no place in the file
	Err  error
}

func (e *PinsFileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("pins file %s, line %d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("pins file %s: %v", e.Path, e.Err)
}

func (e *PinsFileError) Unwrap() error { return e.Err }

// MaxPinsFileSize bounds the pins file: 128 MiB holds over a million
// entries. A larger file, or anything but a regular file (a FIFO, which
// would block every command, or a device such as /dev/zero, which never
// ends), is refused without being read.
const MaxPinsFileSize = 128 << 20

// LoadPins reads the pins file at path. A file that does not exist is an
// empty set of pins; anything else that cannot be read or parsed, or is
// not a regular file of at most MaxPinsFileSize bytes, is a
// *PinsFileError.
func LoadPins(path string) (Pins, error) {
	b, err := readPinsFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Pins{dir: filepath.Dir(path)}, nil
	}
	if err != nil {
		return Pins{}, &PinsFileError{Path: path, Err: err}
	}
	return ParsePins(path, b)
}

// readPinsFile reads path only if it is a regular file within
// MaxPinsFileSize.
func readPinsFile(path string) ([]byte, error) {
	b, err := capped.ReadRegularFile(path, MaxPinsFileSize)
	if capped.IsTooLarge(err) {
		return nil, fmt.Errorf("%w: too large for a pins file (at most %d MiB)", err, MaxPinsFileSize>>20)
	}
	return b, err
}

// ParsePins parses the contents of the pins file at path (path names it in
// errors and anchors relative CA paths). Unknown fields, malformed key IDs
// and names, and unreadable CA files are errors with their line.
func ParsePins(path string, b []byte) (Pins, error) {
	fail := func(offset int64, err error) (Pins, error) {
		return Pins{}, &PinsFileError{Path: path, Line: lineAt(b, offset), Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var f pinsFile
	if err := dec.Decode(&f); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return fail(syn.Offset, err)
		case errors.As(err, &typ):
			return fail(typ.Offset, err)
		case errors.Is(err, io.ErrUnexpectedEOF):
			// The decoder names no place: the file ends inside a value.
			return Pins{}, &PinsFileError{Path: path, Line: lastLine(b), Err: errors.New("the file ends before the JSON does: a closing brace, bracket or quote is missing")}
		case errors.Is(err, io.EOF):
			return Pins{}, &PinsFileError{Path: path, Line: lastLine(b), Err: errors.New(`the file holds no JSON: a pins file is an object such as {"trust_pinning": {"certs": {...}}}`)}
		}
		return fail(0, err)
	}
	if dec.More() {
		return fail(dec.InputOffset(), errors.New("more than one JSON document"))
	}
	if field, at := unknownField(b); field != "" {
		return fail(at, fmt.Errorf("unknown field %q (pins go under \"trust_pinning\": \"certs\", \"ca\", \"disable_tofu\")", field))
	}
	if f.TrustPinning == nil {
		return fail(0, errors.New(`no "trust_pinning" object`))
	}
	p := *f.TrustPinning
	p.dir = filepath.Dir(path)
	// Entries are checked in map order, and the first failing one in
	// sorted order is reported; its position is looked up only then: the
	// decoder keeps none, and a search per entry (and a sort) made parsing
	// quadratic (issue 21).
	bad, badErr := "", error(nil)
	note := func(pattern string, err error) {
		if err != nil && (badErr == nil || pattern < bad) {
			bad, badErr = pattern, err
		}
	}
	for pattern, ids := range p.Certs {
		note(pattern, checkCertsPin(pattern, ids))
	}
	if badErr != nil {
		at := offsetOf(b, fmt.Sprintf("%q", bad), 0)
		var idErr *keyIDError
		if errors.As(badErr, &idErr) {
			at = offsetOf(b, fmt.Sprintf("%q", idErr.id), at)
		}
		return fail(at, badErr)
	}
	for _, prefix := range sortedKeys(p.CA) {
		at := func() int64 { return offsetOf(b, fmt.Sprintf("%q", prefix), 0) }
		if err := checkPinPattern(prefix, false); err != nil {
			return fail(at(), err)
		}
		if _, err := loadCAs(p.caPath(p.CA[prefix])); err != nil {
			return fail(at(), fmt.Errorf("%s: %w", prefix, err))
		}
	}
	return p, nil
}

// checkCertsPin checks one certs entry: its pattern and its key IDs.
func checkCertsPin(pattern string, ids []string) error {
	if err := checkPinPattern(pattern, true); err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("%s: no root key IDs", pattern)
	}
	for _, id := range ids {
		if !isKeyID(id) {
			return &keyIDError{pattern: pattern, id: id}
		}
	}
	return nil
}

// keyIDError is a certs entry with a malformed key ID.
type keyIDError struct{ pattern, id string }

func (e *keyIDError) Error() string {
	return fmt.Sprintf("%s: %q is not a root key ID (64 lowercase hex digits, as `docker acrtrust inspect` shows under Root)", e.pattern, e.id)
}

// isKeyID reports whether id is a root key ID: 64 lowercase hex digits.
func isKeyID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkPinPattern accepts a repository name, a prefix ending in "*" (for
// certs), or a plain prefix (for ca).
func checkPinPattern(pattern string, certs bool) error {
	name := pattern
	if certs {
		name = strings.TrimSuffix(pattern, "*")
	}
	if !certs && strings.Contains(name, "*") {
		// notary matches a ca entry as a plain prefix: "*" would be a
		// character that no repository name has.
		return fmt.Errorf("%q is not a CA pin prefix: a CA pin takes a plain prefix, without \"*\" (write it as %s)", pattern, caPrefixExample(name))
	}
	if name == "" || strings.ContainsAny(name, "* \t") || strings.Contains(name, "://") {
		return fmt.Errorf("%q is not a repository name or prefix (write it as myregistry.azurecr.io/app or myregistry.azurecr.io/team/*)", pattern)
	}
	if !strings.Contains(name, "/") {
		return fmt.Errorf("%q names no repository: a pin is for myregistry.azurecr.io/REPOSITORY or a prefix of one", pattern)
	}
	return nil
}

// caPrefixExample is pattern as a CA pin takes it: cut at its first "*",
// or the generic example when nothing is left.
func caPrefixExample(pattern string) string {
	prefix, _, _ := strings.Cut(pattern, "*")
	if !strings.Contains(prefix, "/") || strings.ContainsAny(prefix, " \t") {
		return "myregistry.azurecr.io/team/"
	}
	return prefix
}

func loadCAs(path string) ([]*x509.Certificate, error) {
	certs, err := utils.LoadCertBundleFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA file %q: %w", path, err)
	}
	return certs, nil
}

func (p Pins) caPath(file string) string {
	if filepath.IsAbs(file) || p.dir == "" {
		return file
	}
	return filepath.Join(p.dir, file)
}

// Lookup returns the pin that covers gun, with notary's precedence: the
// repository's own certs entry, then the longest "prefix*" certs entry, then
// the longest ca prefix (trustpinning.NewTrustPinChecker).
func (p Pins) Lookup(gun data.GUN) (Pin, bool) {
	g := gun.String()
	if ids, ok := p.Certs[g]; ok {
		return Pin{Pattern: g, KeyIDs: ids}, true
	}
	// The prefixes of g, longest first: a lookup costs the length of the
	// name, not the size of the pins file.
	for i := len(g); i > 0; i-- {
		if ids, ok := p.Certs[g[:i]+"*"]; ok {
			return Pin{Pattern: g[:i] + "*", KeyIDs: ids}, true
		}
	}
	for i := len(g); i > 0; i-- {
		if file, ok := p.CA[g[:i]]; ok {
			return Pin{Pattern: g[:i], CA: p.caPath(file)}, true
		}
	}
	return Pin{}, false
}

// Config is the pins as notary's client takes them, CA paths resolved.
func (p Pins) Config() trustpinning.TrustPinConfig {
	cfg := trustpinning.TrustPinConfig{Certs: p.Certs, DisableTOFU: p.DisableTOFU}
	if len(p.CA) > 0 {
		cfg.CA = make(map[string]string, len(p.CA))
		for prefix, file := range p.CA {
			cfg.CA[prefix] = p.caPath(file)
		}
	}
	return cfg
}

// Empty reports whether no repository is pinned.
func (p Pins) Empty() bool { return len(p.Certs) == 0 && len(p.CA) == 0 }

// SetCerts pins pattern to keyIDs (replacing what it had), sorted.
func (p *Pins) SetCerts(pattern string, keyIDs []string) error {
	if err := checkPinPattern(pattern, true); err != nil {
		return err
	}
	for _, id := range keyIDs {
		if !isKeyID(id) {
			return fmt.Errorf("%q is not a root key ID (64 lowercase hex digits, as `docker acrtrust inspect` shows under Root)", id)
		}
	}
	if p.Certs == nil {
		p.Certs = map[string][]string{}
	}
	p.Certs[pattern] = sortedCopy(keyIDs)
	return nil
}

// SetCA pins the repositories under prefix to the CA certificates in file,
// which must hold at least one. The path is stored as given.
func (p *Pins) SetCA(prefix, file string) error {
	if err := checkPinPattern(prefix, false); err != nil {
		return err
	}
	if _, err := loadCAs(p.caPath(file)); err != nil {
		return err
	}
	if p.CA == nil {
		p.CA = map[string]string{}
	}
	p.CA[prefix] = file
	return nil
}

// Remove deletes the certs and ca entries named pattern, and reports
// whether there was one.
func (p *Pins) Remove(pattern string) bool {
	_, inCerts := p.Certs[pattern]
	_, inCA := p.CA[pattern]
	delete(p.Certs, pattern)
	delete(p.CA, pattern)
	return inCerts || inCA
}

// ReplaceKeyIDs makes every certs pin that names one of old name new
// instead (after a root rotation), and returns the patterns it changed.
func (p *Pins) ReplaceKeyIDs(old, new []string) []string {
	var changed []string
	for _, pattern := range sortedKeys(p.Certs) {
		ids := p.Certs[pattern]
		keep := make([]string, 0, len(ids)+len(new))
		replaced := false
		for _, id := range ids {
			if slices.Contains(old, id) {
				replaced = true
				continue
			}
			keep = append(keep, id)
		}
		if !replaced {
			continue
		}
		for _, id := range new {
			if !slices.Contains(keep, id) {
				keep = append(keep, id)
			}
		}
		p.Certs[pattern] = sortedCopy(keep)
		changed = append(changed, pattern)
	}
	return changed
}

// Entries lists every pin in the file, sorted by pattern (certs before ca
// for the same pattern).
func (p Pins) Entries() []Pin {
	var out []Pin
	for _, pattern := range sortedKeys(p.Certs) {
		out = append(out, Pin{Pattern: pattern, KeyIDs: p.Certs[pattern]})
	}
	for _, prefix := range sortedKeys(p.CA) {
		out = append(out, Pin{Pattern: prefix, CA: p.caPath(p.CA[prefix])})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pattern < out[j].Pattern })
	return out
}

// Save writes the pins to path atomically (a temporary file renamed over
// it), readable by all: pins are public key IDs meant to be committed.
// Other notary config keys in an existing file are kept.
func (p Pins) Save(path string) error {
	doc := map[string]any{}
	old, err := readPinsFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(old, &doc); err != nil {
			return &PinsFileError{Path: path, Err: err}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return &PinsFileError{Path: path, Err: err}
	}
	doc["trust_pinning"] = p
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("writing pins file %q: %w", path, err)
	}
	b = append(b, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing pins file %q: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pins-*.json")
	if err != nil {
		return fmt.Errorf("writing pins file %q: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing pins file %q: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing pins file %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing pins file %q: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing pins file %q: %w", path, err)
	}
	return nil
}

// pinsFields are the keys the document and its "trust_pinning" object
// may have, lowercased: encoding/json matches them without regard to case.
var pinsFields = map[string]map[string]bool{
	"":              {"trust_pinning": true, "trust_dir": true, "remote_server": true},
	"trust_pinning": {"certs": true, "ca": true, "disable_tofu": true},
}

// unknownField returns the first key of the document, or of its
// "trust_pinning" object, that a pins file does not have, and the offset
// just after it; "" when there is none. It reads the keys themselves, one
// pass over a document that has already decoded: the decoder's own
// unknown-field error carries no type or place, only words.
func unknownField(b []byte) (string, int64) {
	return unknownKey(json.NewDecoder(bytes.NewReader(b)), "")
}

// unknownKey reads the object dec is at, whole, looking for a key that
// object does not have (pinsFields), and into the objects it nests.
func unknownKey(dec *json.Decoder, object string) (string, int64) {
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", 0 // null, or what the decode already refused
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", 0
		}
		key, _ := t.(string)
		at := dec.InputOffset()
		name := strings.ToLower(key)
		if !pinsFields[object][name] {
			return key, at
		}
		if _, nested := pinsFields[name]; nested && object == "" {
			if k, off := unknownKey(dec, name); k != "" {
				return k, off
			}
			continue
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", 0
		}
	}
	_, _ = dec.Token() // the closing brace
	return "", 0
}

// lineAt is the 1-based line of byte offset in b.
func lineAt(b []byte, offset int64) int {
	if offset <= 0 {
		return 0
	}
	if offset > int64(len(b)) {
		offset = int64(len(b))
	}
	return bytes.Count(b[:offset], []byte("\n")) + 1
}

// lastLine is the 1-based line of the last character in b that is not
// white space (1 for an empty file): where a file that ends too early ends.
func lastLine(b []byte) int {
	return bytes.Count(bytes.TrimRight(b, " \t\r\n"), []byte("\n")) + 1
}

// offsetOf finds s in b at or after from (a best effort to place a semantic
// error: the decoder keeps no positions for values), or 0.
func offsetOf(b []byte, s string, from int64) int64 {
	if from < 0 || from > int64(len(b)) {
		from = 0
	}
	if i := bytes.Index(b[from:], []byte(s)); i >= 0 {
		return from + int64(i) + 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
