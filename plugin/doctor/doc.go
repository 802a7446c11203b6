// Package doctor holds the doctor command: what the login may do with a
// repository (registry, trust server, roles, pins, keys, expiry), checked
// without side effects.
package doctor
