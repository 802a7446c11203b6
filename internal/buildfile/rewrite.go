package buildfile

import (
	"fmt"
	"strings"
)

// Rewrite returns a copy of the Dockerfile in which each source i in pins
// reads pins[i] (an IMAGE@DIGEST reference) instead of what it names. The
// copy has the same number of lines, so a builder's messages point at the
// user's own lines. Sources not in pins are left as they are; so is every
// byte outside the rewritten instructions.
func (a *Analysis) Rewrite(pins map[int]string) ([]byte, error) {
	lines := append([]string(nil), a.lines...)
	for i, pinned := range pins {
		if i < 0 || i >= len(a.Sources) {
			return nil, fmt.Errorf("rewriting the Dockerfile: no source %d", i)
		}
		s := a.Sources[i]
		switch s.Kind {
		case From:
			if err := a.rewriteFrom(lines, s, pinned); err != nil {
				return nil, err
			}
		case CopyFrom:
			if err := replaceToken(lines, s, "--from="+s.raw, "--from="+pinned); err != nil {
				return nil, err
			}
		case RunMount:
			if err := replaceToken(lines, s, "from="+s.raw, "from="+pinned); err != nil {
				return nil, err
			}
		case BuildContext:
			return nil, fmt.Errorf("rewriting the Dockerfile: %s is not in the Dockerfile", s.Instruction())
		}
	}
	return []byte(strings.Join(lines, "")), nil
}

// rewriteFrom writes the FROM instruction of s's stage anew, with the
// --platform and stage name as written, and blank lines for the
// continuation lines it had.
func (a *Analysis) rewriteFrom(lines []string, s Source, pinned string) error {
	st, n := a.stages[s.Stage], a.nodes[s.Stage]
	if n.StartLine < 1 || n.EndLine > len(lines) {
		return fmt.Errorf("rewriting the Dockerfile: line %d: out of range", n.StartLine)
	}
	from := "FROM "
	if st.Platform != "" {
		from += "--platform=" + st.Platform + " "
	}
	from += pinned
	if st.Name != "" {
		from += " AS " + st.Name
	}
	lines[n.StartLine-1] = from + "\n"
	for l := n.StartLine; l < n.EndLine; l++ {
		lines[l] = "\n"
	}
	return nil
}

// replaceToken replaces the first old in the lines of s's instruction.
func replaceToken(lines []string, s Source, old, new string) error {
	start, end := s.Line, s.Line
	for _, n := range instructionEnd(lines, s.Line) {
		end = n
	}
	for l := start; l <= end && l <= len(lines); l++ {
		if strings.Contains(lines[l-1], old) {
			lines[l-1] = strings.Replace(lines[l-1], old, new, 1)
			return nil
		}
	}
	return fmt.Errorf("Dockerfile:%d: cannot pin %s %s: %q is not written as such on the line", s.Line, s.Instruction(), s.Written, old)
}

// instructionEnd returns the last line of the instruction starting at
// line: continuation lines end with a backslash.
func instructionEnd(lines []string, line int) []int {
	var out []int
	for l := line; l <= len(lines); l++ {
		out = append(out, l)
		if !strings.HasSuffix(strings.TrimRight(lines[l-1], " \t\r\n"), "\\") {
			break
		}
	}
	return out
}
