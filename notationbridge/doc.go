// Package notationbridge carries content trust's verdicts over to Notation:
// it signs, with notation-go, the digest that content trust verified for a
// tag, records where that digest came from in the signature's user metadata,
// finds the signatures a key already made (so that a migration can be run
// again), verifies with notation's trust policy and trust store, and writes
// the policy and store that `notation verify` and Ratify need.
//
// Signing, envelopes (JWS and COSE) and verification are notation-go's;
// registry access is oras-go's remote.Repository, which the caller builds
// with the project's own auth and TLS (trust.Registry). Like the other
// library packages it never prints and never reads the environment.
package notationbridge
