package plugin

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acrtrust/docker-acrtrust/trust"
)

type expiringRole struct {
	Role    string
	Expires time.Time
}

// parseDays accepts Go durations and whole days ("30d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err == nil && days >= 0 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur < 0 {
		return 0, usageError{fmt.Errorf("invalid --expiry-warning %q: use a duration such as 720h or 30d", s)}
	}
	return dur, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseDuration is parseDays with the flag's name in its error.
func parseDuration(flag, s string) (time.Duration, error) {
	w, err := parseDays(s)
	if err != nil {
		return 0, usageError{fmt.Errorf("invalid %s %q: use a duration such as 720h or 30d", flag, s)}
	}
	return w, nil
}

// withoutReferrersTags drops the referrers tag schema's tags from a tag list.
func withoutReferrersTags(tags []string) []string {
	out := tags[:0:0]
	for _, t := range tags {
		if !trust.IsReferrersTag(t) {
			out = append(out, t)
		}
	}
	return out
}
