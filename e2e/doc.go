// Package e2e holds the end-to-end tests of docker acrtrust, behind the
// build tag e2e: the plugin binary driven through the real docker CLI, a
// private dockerd, and the in-process ACR-like sandbox (registry, Notary
// server and token service on one loopback TLS host), with interop checks
// against Docker's own content trust and the notary CLI.
//
//	go test -tags e2e -count=1 ./e2e/...   (make e2e)
//
// The plugin is driven by docker CLI v29, the version users have, which
// Debian does not package: the harness runs scripts/build-docker-cli.sh,
// which builds it from the docker/cli version in go.mod (once; it is cached
// under bin/docker-cli). Docker's own content trust was removed in v29, so
// the interop tests use the newest docker older than v29 as the peer
// (here /usr/local/bin/docker, 28.2.2). make e2e runs the suite twice: the
// plugin driven by v29, then by that docker 28 (E2E_DOCKER_CLI=dct).
//
// The harness (TestMain) builds the plugin, starts dockerd as root with its
// socket, data and exec roots in a temporary directory, and gives each test
// an isolated DOCKER_CONFIG that finds the plugin through
// "cliPluginsExtraDirs", trusts the sandbox CA and is logged in as the
// sandbox's signer. When no engine can be started, or docker v29 cannot be
// built, the tests skip with the reason, except under CI=true, where that is
// a failure.
//
// Environment:
//
//	CI=true                 a missing engine or tool fails instead of skipping
//	E2E_DOCKER_HOST         use this engine instead of starting dockerd
//	E2E_DOCKER_CLI          the docker CLI that drives the plugin: a path or
//	                        name, "dct" for the content trust peer, or "v29"
//	                        (the default: built by scripts/build-docker-cli.sh)
//	E2E_DCT_DOCKER_CLI      the content trust peer (default: the newest docker
//	                        older than v29 among docker on PATH,
//	                        /usr/local/bin/docker and /usr/bin/docker)
//	DOCKER_CLI_CACHE        where the v29 build is cached (default bin/docker-cli)
//	ACRTRUST_E2E_WORKDIR    parent of the harness's temporary directory
package e2e
