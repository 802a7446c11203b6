// Package migrate holds the migrate command: verify a tag through content
// trust, then sign the same digest with Notation, recording provenance.
package migrate
