// Package safetext makes text that a server (or a file) supplied safe to
// show on a terminal: names, messages and annotations from a registry or a
// trust server. Control characters are escaped visibly instead of being
// interpreted, so an escape sequence in a tag cannot clear the screen, set
// the window title or recolour a table (issue 21). JSON output does not use
// it: encoding/json already escapes control characters, and JSON stays exact.
package safetext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every character that a terminal would interpret
// rather than show written as a visible Go-style escape: C0 controls
// (ESC, BEL, CR, tab, newline, ...) and DEL as \x1b, C1 controls (U+0080 to
// U+009F, the 8-bit CSI among them) and the bidirectional overrides and
// isolates that reorder what follows them (U+202A-U+202E, U+2066-U+2069) as
// \u009b, and bytes that are not UTF-8 as \xff. Other text, non-ASCII
// letters included, is returned as it is.
func Escape(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// EscapeText is Escape for a message of several lines: newlines and tabs
// are kept as they are (they are the message's own layout); every other
// control character is escaped.
func EscapeText(s string) string {
	if !strings.ContainsAny(s, "\n\t") {
		return Escape(s)
	}
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\t' {
			b.WriteString(Escape(s[start:i]))
			b.WriteByte(s[i])
			start = i + 1
		}
	}
	b.WriteString(Escape(s[start:]))
	return b.String()
}

// Escapes returns each of ss escaped, in a new slice.
func Escapes(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Escape(s)
	}
	return out
}

// Safe reports whether s is shown as it is by Escape.
func Safe(s string) bool { return firstUnsafe(s) < 0 }

// firstUnsafe is the byte offset of the first character Escape rewrites,
// or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || unsafeRune(r) {
			return i
		}
		i += size
	}
	return -1
}

// unsafeRune reports non-ASCII runes a terminal interprets: C1 controls
// and the bidirectional formatting characters (Trojan Source, CVE-2021-42574).
func unsafeRune(r rune) bool {
	return r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 ||
		r == 0x200e || r == 0x200f || r == 0x061c
}
