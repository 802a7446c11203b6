package cmdutil

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDays accepts Go durations and whole days ("30d").
func ParseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err == nil && days >= 0 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur < 0 {
		return 0, UsageError{fmt.Errorf("invalid --expiry-warning %q: use a duration such as 720h or 30d", s)}
	}
	return dur, nil
}

// ParseDuration is parseDays with the flag's name in its error.
func ParseDuration(flag, s string) (time.Duration, error) {
	w, err := ParseDays(s)
	if err != nil {
		return 0, UsageError{fmt.Errorf("invalid %s %q: use a duration such as 720h or 30d", flag, s)}
	}
	return w, nil
}
