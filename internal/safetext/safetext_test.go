package safetext

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain names are unchanged", "myreg.azurecr.io/app:v1.2-rc_3", "myreg.azurecr.io/app:v1.2-rc_3"},
		{"non-ASCII letters are unchanged", "café/日本", "café/日本"},
		{"clear screen", "v1\x1b[2J\x1b[H", `v1\x1b[2J\x1b[H`},
		{"window title with BEL", "\x1b]0;pwned\x07tag", `\x1b]0;pwned\x07tag`},
		{"recolour", "\x1b[31mred", `\x1b[31mred`},
		{"carriage return overwrites the line", "ok\rFAKE", `ok\x0dFAKE`},
		{"newline and tab break tables", "a\nb\tc", `a\x0ab\x09c`},
		{"DEL", "a\x7f", `a\x7f`},
		{"8-bit CSI", "a\u009b2J", `a\u009b2J`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Escape(tc.in)
			assert.Check(t, is.Equal(got, tc.want))
			assert.Check(t, Safe(got), "escaped text must itself be safe: %q", got)
			assert.Check(t, is.Equal(Safe(tc.in), tc.in == tc.want))
		})
	}
	assert.Check(t, is.DeepEqual(Escapes([]string{"a", "\x1b"}), []string{"a", `\x1b`}))
	assert.Check(t, is.Equal(EscapeText("error: tag \x1b[2J\nremedy:\tdo\rthis"), "error: tag \\x1b[2J\nremedy:\tdo\\x0dthis"))
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "v1", "\x1b[2J", "\u202e", "\xff\xfe", "a\u009bb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Escape(s)
		if !Safe(got) {
			t.Fatalf("Escape(%q) = %q is not safe", s, got)
		}
		if Safe(s) != (got == s) {
			t.Fatalf("Safe(%q) = %v but Escape changed it to %q", s, Safe(s), got)
		}
	})
}
