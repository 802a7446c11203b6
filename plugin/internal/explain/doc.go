// Package explain is where every command ends: Commands wraps the tree
// (interruptible context, Deps.Init, usage errors), and Error prints an
// error's message, then the remedy it carries, and picks the exit code.
package explain
