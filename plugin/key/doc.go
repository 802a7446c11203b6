// Package key holds the key commands (generate, load, list, backup,
// restore, rotate, passwd) over the docker-compatible key store.
package key
