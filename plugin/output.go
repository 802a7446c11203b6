package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/templates"
	"github.com/spf13/pflag"
)

// formatFlagUsage is the help of every --format flag: docker's convention.
const formatFlagUsage = `Format output: "json" for JSON, or a Go template (with docker's template functions) applied to each item`

// addFormatFlag adds --format to flags.
func addFormatFlag(flags *pflag.FlagSet, target *string) {
	flags.StringVar(target, "format", "", formatFlagUsage)
}

// isJSONFormat reports whether format asks for JSON ("json" or docker's "{{json .}}").
func isJSONFormat(format string) bool {
	f := strings.TrimSpace(format)
	return f == "json" || f == "{{json .}}"
}

// writeJSON writes v as indented JSON, the way docker trust inspect did.
func writeJSON(out io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return fmt.Errorf("encoding JSON output: %w", err)
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}

// writeTemplate applies the Go template format to each item, one line each.
func writeTemplate[T any](out io.Writer, format string, items []T) error {
	tmpl, err := templates.Parse(format)
	if err != nil {
		return usageError{fmt.Errorf("parsing --format template: %w", err)}
	}
	for _, it := range items {
		var sb strings.Builder
		if err := tmpl.Execute(&sb, it); err != nil {
			return fmt.Errorf("executing --format template: %w", err)
		}
		if _, err := fmt.Fprintln(out, sb.String()); err != nil {
			return err
		}
	}
	return nil
}

// usageError marks an error as a usage error (exit code 125).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// writeFormatted writes items as --format asks: JSON, or the template once
// per item. It reports false when format is empty: the caller writes its
// table.
func writeFormatted[T any](out io.Writer, format string, items []T) (bool, error) {
	switch {
	case isJSONFormat(format):
		return true, writeJSON(out, items)
	case format != "":
		return true, writeTemplate(out, format, items)
	}
	return false, nil
}
