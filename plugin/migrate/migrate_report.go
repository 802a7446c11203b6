package migrate

import (
	"fmt"
	"strings"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
)

// migrate's report: failures and the summary printed at the end.

func migrateFailures(r MigrateReport) []string {
	var out []string
	for _, rep := range r.Repositories {
		if rep.Error != "" {
			out = append(out, rep.Name+": "+migrateFirstLine(rep.Error))
			continue
		}
		for _, t := range rep.Tags {
			switch t.Status {
			case MigrateSigned, MigrateSkipped, MigratePlanned:
			case migrateFailed:
				out = append(out, fmt.Sprintf("%s:%s: failed: %s", rep.Repository, t.Tag, t.Error))
			default:
				out = append(out, fmt.Sprintf("%s:%s: %s", rep.Repository, t.Tag, t.Status))
			}
		}
	}
	return out
}

func migrateFirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func printMigrateSummary(d *cmdutil.Deps, r MigrateReport) {
	s := r.Summary
	out := d.CLI.Out()
	if r.DryRun {
		_, _ = fmt.Fprintf(out, "Dry run: %d tags would be signed, %d already signed, %d refused; nothing was written\n", s.WouldSign, s.AlreadySigned, s.Refused)
	} else {
		_, _ = fmt.Fprintf(out, "Summary: %d tags signed, %d already signed, %d refused, %d failed\n", s.Signed, s.AlreadySigned, s.Refused, s.Failed)
	}
	for _, rep := range r.Repositories {
		for _, t := range rep.Tags {
			if t.Unsigned && (t.Status == MigrateSigned || t.Status == MigratePlanned) {
				_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: %s:%s was not signed with content trust; its Notation signature records %s=true (--include-unsigned)\n",
					safetext.Escape(rep.Repository), safetext.Escape(t.Tag), notationbridge.MetaUnsigned)
			}
		}
	}
	if r.Policy != "" {
		_, _ = fmt.Fprintf(out, "Trust policy written: %s\n", r.Policy)
	}
}
