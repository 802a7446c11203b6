#!/usr/bin/env bash
# Signed push and trusted pull against the built-in sandbox (make demo).
#
# Starts bin/acrtrust-sandbox (an ACR-like registry with content trust on
# 127.0.0.1), and in a throw-away DOCKER_CONFIG: logs in as the sandbox's
# signer, builds a tiny image locally, signs it with `docker acrtrust push`,
# removes it, pulls it back with `docker acrtrust pull`, and shows that an
# unsigned tag is refused. Your own ~/.docker (keys, logins) is not touched.
#
# Needs a docker CLI and a reachable docker engine (the one your docker
# command uses) that can reach 127.0.0.1 on this machine. Without one it
# says so and exits 1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
plugin="$root/bin/docker-acrtrust"
sandbox_bin="$root/bin/acrtrust-sandbox"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }
run() { printf '$ %s\n' "$*"; "$@"; }

[ -x "$plugin" ] && [ -x "$sandbox_bin" ] || fail "build first: make build sandbox (or run make demo)"

command -v docker >/dev/null 2>&1 || fail "no docker CLI on PATH. The demo drives a docker engine; install Docker and try again."

# The throw-away DOCKER_CONFIG below has no docker contexts, so pin the
# engine the user's docker command talks to now.
if [ -z "${DOCKER_HOST:-}" ]; then
	DOCKER_HOST="$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)"
	[ -n "$DOCKER_HOST" ] && export DOCKER_HOST
fi
if ! server="$(docker version --format '{{.Server.Version}}' 2>&1)"; then
	printf 'demo: no docker engine is reachable%s:\n%s\n' "${DOCKER_HOST:+ at $DOCKER_HOST}" "$server" >&2
	fail "start Docker (or set DOCKER_HOST) and run make demo again. The demo needs an engine to push and pull images."
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/acrtrust-demo.XXXXXX")"
sandbox_pid=""
images=()
cleanup() {
	status=$?
	if [ "${#images[@]}" -gt 0 ]; then
		DOCKER_CONFIG="$work/docker" docker rmi "${images[@]}" >/dev/null 2>&1 || true
	fi
	if [ -n "$sandbox_pid" ]; then
		kill "$sandbox_pid" 2>/dev/null || true
		wait "$sandbox_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT INT TERM

export DOCKER_CONFIG="$work/docker"
mkdir -p "$DOCKER_CONFIG"
printf '{"cliPluginsExtraDirs": ["%s"]}\n' "$root/bin" >"$DOCKER_CONFIG/config.json"

say "Starting the sandbox (registry + Notary server + token service on one TLS host)"
"$sandbox_bin" --docker-config "$DOCKER_CONFIG" >"$work/sandbox.out" 2>"$work/sandbox.err" &
sandbox_pid=$!
host=""
for _ in $(seq 1 100); do
	host="$(sed -n 's/^ACRTRUST_SANDBOX_HOST=//p' "$work/sandbox.out" 2>/dev/null | head -n1)"
	[ -n "$host" ] && break
	kill -0 "$sandbox_pid" 2>/dev/null || fail "the sandbox exited: $(cat "$work/sandbox.err")"
	sleep 0.1
done
[ -n "$host" ] || fail "the sandbox did not start within 10 seconds"
echo "sandbox at https://$host (engine $server${DOCKER_HOST:+ at $DOCKER_HOST})"
repo="$host/demo/hello"

say "Logging in as the sandbox's signer (AcrPush + AcrImageSigner)"
printf '$ docker login %s -u signer --password-stdin\n' "$host"
printf 'sandbox-pass-1234\n' | docker login "$host" -u signer --password-stdin 2>/dev/null

say "Building a tiny image locally"
mkdir -p "$work/rootfs"
printf 'hello from docker acrtrust, %s\n' "$(date -u +%FT%TZ)" >"$work/rootfs/hello.txt"
tar -C "$work/rootfs" -cf "$work/image.tar" .
run docker import "$work/image.tar" "$repo:v1"
images+=("$repo:v1")

# Demo-only passphrases; real ones belong in a secret store or a prompt.
export DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE="demo-root-passphrase"
export DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE="demo-repository-passphrase"

say "Signed push: the first one creates the root and repository keys"
if ! run docker acrtrust push "$repo:v1"; then
	fail "the push failed. If your engine runs in a VM (Docker Desktop), 127.0.0.1 there is not this machine's: run the demo where dockerd runs."
fi
echo
echo "keys in \$DOCKER_CONFIG/trust/private:"
ls -l "$DOCKER_CONFIG/trust/private"

say "Trusted pull: resolve v1 from verified trust data, pull by digest, tag"
run docker rmi "$repo:v1"
run docker acrtrust pull "$repo:v1"

say "An unsigned tag is refused, and nothing is pulled"
run docker tag "$repo:v1" "$repo:unsigned"
images+=("$repo:unsigned")
run docker acrtrust push --disable-content-trust -q "$repo:unsigned"
run docker rmi "$repo:unsigned"
if run docker acrtrust pull "$repo:unsigned"; then
	fail "the unsigned tag was pulled: that is a bug"
fi

say "Done: $repo:v1 was signed, pushed and pulled with verified trust data"
