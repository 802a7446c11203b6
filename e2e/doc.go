// Package e2e holds the end-to-end tests of docker acrtrust, behind the
// build tag e2e: the plugin binary driven through the real docker CLI, a
// private dockerd, and the in-process ACR-like sandbox (registry, Notary
// server and token service on one loopback TLS host), with interop checks
// against Docker's own content trust and the notary CLI.
//
//	go test -tags e2e -count=1 ./e2e/...   (make e2e)
//
// The harness (TestMain) builds the plugin, starts dockerd as root with its
// socket, data and exec roots in a temporary directory, and gives each test
// an isolated DOCKER_CONFIG that finds the plugin through
// "cliPluginsExtraDirs", trusts the sandbox CA and is logged in as the
// sandbox's signer. When no engine can be started the tests skip with the
// reason, except under CI=true, where that is a failure.
//
// Environment:
//
//	CI=true                 a missing engine or tool fails instead of skipping
//	E2E_DOCKER_HOST         use this engine instead of starting dockerd
//	E2E_DOCKER_CLI          the docker CLI to drive (default: docker on PATH)
//	ACRTRUST_E2E_WORKDIR    parent of the harness's temporary directory
package e2e
