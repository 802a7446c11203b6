// Package plugin holds the root command of docker acrtrust and its
// top-level commands (push, pull, build, resolve, verify, refresh, sign,
// inspect, revoke, version): flags, an options struct, a run function, and
// output. The command groups are packages below it (key, signer, pin,
// audit, doctor, migrate); what commands share is in internal/cmdutil, and
// internal/explain prints each command's error with its remedy and picks
// the exit code. Only plugin and the packages below it import cobra and the
// docker CLI command packages; trust, keystore and notationbridge do the
// work.
package plugin
