// Package audit holds the audit command: every repository of a registry
// (or a prefix), signed, unsigned, drifted or expiring, as a table, JSON or
// HTML, with --fail-on rules for pipelines.
package audit
