// Package plugin holds the cobra commands of docker acrtrust: flags, an
// options struct, a run function, and output formatting. It is the only
// package that imports cobra and the docker CLI command packages; trust and
// keystore do the work.
package plugin
