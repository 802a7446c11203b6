package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
)

// --fail-on: the policy a registry must meet, and its violations.

// failPolicy is a parsed --fail-on.
type failPolicy struct {
	unsigned, drift, missing bool
	// notationMissing and notationInvalid gate the move to Notation.
	notationMissing, notationInvalid bool
	expiring                         time.Duration // 0: not a rule
	expiringText                     string        // as given
	rules                            []string      // as given, for messages
}

func parseFailOn(s string, defaultWindow time.Duration) (failPolicy, error) {
	var p failPolicy
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, val, hasVal := strings.Cut(f, "=")
		switch {
		case name == "unsigned" && !hasVal:
			p.unsigned = true
		case (name == "drift" || name == "drifted") && !hasVal:
			p.drift = true
		case name == "missing" && !hasVal:
			p.missing = true
		case name == "notation-missing" && !hasVal:
			p.notationMissing = true
		case name == "notation-invalid" && !hasVal:
			p.notationInvalid = true
		case name == "expiring":
			p.expiring, p.expiringText = defaultWindow, "--expiring-within"
			if hasVal {
				p.expiringText = val
				w, err := cmdutil.ParseDuration("--fail-on expiring", val)
				if err != nil {
					return p, err
				}
				p.expiring = w
			}
			if p.expiring == 0 {
				p.expiring = time.Nanosecond // expired already
			}
		default:
			return p, cmdutil.UsageError{Err: fmt.Errorf("invalid --fail-on rule %q: use unsigned, drift, missing, expiring=DURATION, notation-missing or notation-invalid", f)}
		}
		p.rules = append(p.rules, f)
	}
	return p, nil
}

// policyViolations says which --fail-on rules the audited repositories break.
func policyViolations(p failPolicy, rows []auditRow, now time.Time) []string {
	var out []string
	count := func(rule string, n func(auditRow) int) {
		tags, repos := 0, 0
		for _, r := range rows {
			if k := n(r); k > 0 {
				tags += k
				repos++
			}
		}
		if tags > 0 {
			out = append(out, fmt.Sprintf("%s: %d tags in %d repositories", rule, tags, repos))
		}
	}
	if p.unsigned {
		count("unsigned", func(r auditRow) int { return r.Unsigned })
	}
	if p.drift {
		count("drift", func(r auditRow) int { return r.Drifted })
	}
	if p.missing {
		count("missing", func(r auditRow) int { return r.Missing })
	}
	if p.notationMissing {
		count("notation-missing", func(r auditRow) int { return notationCount(r, func(c NotationCounts) int { return c.NotationMissing }) })
	}
	if p.notationInvalid {
		count("notation-invalid", func(r auditRow) int { return notationCount(r, func(c NotationCounts) int { return c.NotationInvalid }) })
	}
	if p.expiring > 0 {
		limit := now.Add(p.expiring)
		var names []string
		for _, r := range rows {
			if r.Earliest != nil && r.Earliest.Expires.Before(limit) {
				names = append(names, r.Name)
			}
		}
		if len(names) > 0 {
			out = append(out, fmt.Sprintf("expiring within %s: %d repositories (%s)", p.expiringText, len(names), strings.Join(firstN(names, 5), ", ")))
		}
	}
	return out
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), fmt.Sprintf("and %d more", len(s)-n))
}

func notationCount(r auditRow, f func(NotationCounts) int) int {
	if r.Notation == nil {
		return 0
	}
	return f(*r.Notation)
}
