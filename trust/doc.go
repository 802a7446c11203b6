// Package trust is everything Notary for docker acrtrust: where the trust
// server is, how to reach it (TLS and registry token auth), opening a
// repository's trust data, and the operations on it (resolve, sign, revoke,
// inspect, delegations), returning data and never printing.
//
// It does not import cobra, the docker CLI command packages or the plugin:
// the plugin reads configuration and the environment once and passes values.
package trust
