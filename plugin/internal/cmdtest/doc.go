// Package cmdtest holds the helpers of the command packages' tests: a fake
// docker CLI, engine and registry, deps over them, the sandbox, and a root
// to run a group's commands under. It is imported from _test.go files only.
package cmdtest
