// Package pin holds the pin commands (add, list, remove): the root key IDs
// or CA that the pins file requires per repository or prefix.
package pin
