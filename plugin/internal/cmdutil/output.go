package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/templates"
	"github.com/spf13/cobra"
)

// formatFlagUsage is the help of every --format flag that takes templates:
// docker's convention.
const formatFlagUsage = `Format output: "json" for JSON, or a Go template (with docker's template functions) applied to each item`

// Formats is what a command's --format accepts: the one place each command
// declares it (addFormatFlag), checked before the command runs.
type Formats struct {
	// templates: a Go template per item besides "json"; else "json" only.
	templates bool
	// usage is the flag's help when it is "json" only.
	usage string
}

var JSONOrTemplate = Formats{templates: true}

// JSONOnly is a --format that takes "json" (one document) or nothing (text).
func JSONOnly(usage string) Formats { return Formats{usage: usage} }

// AddFormatFlag adds --format to cmd as f declares it; a value f does not
// accept is a usage error before the command runs.
func AddFormatFlag(cmd *cobra.Command, target *string, f Formats) {
	usage := formatFlagUsage
	if !f.templates {
		usage = f.usage
	}
	cmd.Flags().StringVar(target, "format", "", usage)
	prev := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if v := *target; v != "" && !f.templates && !IsJSONFormat(v) {
			return cli.StatusError{StatusCode: ExitUsage, Status: fmt.Sprintf(`invalid --format %q: %s writes text, or "json"`, v, c.Name())}
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
}

// IsJSONFormat reports whether format asks for JSON ("json" or docker's "{{json .}}").
func IsJSONFormat(format string) bool {
	f := strings.TrimSpace(format)
	return f == "json" || f == "{{json .}}"
}

// WriteJSON writes v as indented JSON, the way docker trust inspect did.
func WriteJSON(out io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return fmt.Errorf("encoding JSON output: %w", err)
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}

// WriteTemplate applies the Go template format to each item, one line each.
func WriteTemplate[T any](out io.Writer, format string, items []T) error {
	tmpl, err := templates.Parse(format)
	if err != nil {
		return UsageError{fmt.Errorf("parsing --format template: %w", err)}
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

// UsageError marks an error as a usage error (exit code 125).
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// WriteFormatted writes items as --format asks: JSON, or the template once
// per item. It reports false when format is empty: the caller writes its
// table.
func WriteFormatted[T any](out io.Writer, format string, items []T) (bool, error) {
	switch {
	case IsJSONFormat(format):
		return true, WriteJSON(out, items)
	case format != "":
		return true, WriteTemplate(out, format, items)
	}
	return false, nil
}

func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
