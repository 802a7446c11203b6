// Package signer holds the signer commands (add, remove): the delegations
// targets/releases and targets/NAME of a repository's trust data.
package signer
