#!/usr/bin/env bash
# Content trust against the built-in sandbox (make demo).
#
# Starts bin/acrtrust-sandbox (an ACR-like registry with content trust on
# 127.0.0.1) and works in a throw-away DOCKER_CONFIG, logged in as the
# sandbox's signer; your own ~/.docker (keys, logins) is not touched.
#
# With a reachable docker engine: builds a tiny image locally, signs it with
# `docker acrtrust push`, removes it, pulls it back with `docker acrtrust
# pull`, and shows that an unsigned tag is refused.
#
# Without one: the sandbox seeds two unsigned images, and the demo signs one
# remotely (`sign`: digest and size from the registry), then shows `inspect`,
# `resolve` and `verify`. Nothing is pulled, so it says that the engine part
# was skipped.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
plugin="$root/bin/docker-acrtrust"
sandbox_bin="$root/bin/acrtrust-sandbox"

# Bold headings only on a terminal, and not when NO_COLOR is set
# (https://no-color.org): CI logs and `make demo | tee` get plain text.
bold="" plain=""
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	bold="$(printf '\033[1m')" plain="$(printf '\033[0m')"
fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }
run() { printf '$ %s\n' "$*"; "$@"; }

[ -x "$plugin" ] && [ -x "$sandbox_bin" ] || fail "build first: make build sandbox (or run make demo)"

# Is there an engine? The throw-away DOCKER_CONFIG below has no docker
# contexts, so pin the engine the user's docker command talks to now.
engine=""
why_no_engine=""
if command -v docker >/dev/null 2>&1; then
	if [ -z "${DOCKER_HOST:-}" ]; then
		DOCKER_HOST="$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)"
		[ -n "$DOCKER_HOST" ] && export DOCKER_HOST
	fi
	if engine="$(docker version --format '{{.Server.Version}}' 2>&1)"; then
		:
	else
		why_no_engine="no docker engine is reachable${DOCKER_HOST:+ at $DOCKER_HOST}: $(printf '%s' "$engine" | tail -n1)"
		engine=""
	fi
else
	why_no_engine="no docker CLI on PATH"
fi

# acrtrust runs the plugin through docker when there is a docker CLI, else
# the binary on its own (docker-acrtrust COMMAND).
acrtrust() {
	if command -v docker >/dev/null 2>&1; then
		run docker acrtrust "$@"
	else
		run "$plugin" "$@"
	fi
}

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
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export DOCKER_CONFIG="$work/docker"
mkdir -p "$DOCKER_CONFIG"
printf '{"cliPluginsExtraDirs": ["%s"]}\n' "$root/bin" >"$DOCKER_CONFIG/config.json"

say "Starting the sandbox (registry + Notary server + token service on one TLS host)"
seed_args=()
[ -n "$engine" ] || seed_args=(--seed demo/hello:v1 --seed demo/hello:dev)
"$sandbox_bin" --docker-config "$DOCKER_CONFIG" "${seed_args[@]}" >"$work/sandbox.out" 2>"$work/sandbox.err" &
sandbox_pid=$!
host=""
for _ in $(seq 1 100); do
	host="$(sed -n 's/^ACRTRUST_SANDBOX_HOST=//p' "$work/sandbox.out" 2>/dev/null | head -n1)"
	[ -n "$host" ] && grep -q '^$' "$work/sandbox.out" && break
	kill -0 "$sandbox_pid" 2>/dev/null || fail "the sandbox exited: $(cat "$work/sandbox.err")"
	sleep 0.1
done
[ -n "$host" ] || fail "the sandbox did not start within 10 seconds"
echo "sandbox at https://$host"
repo="$host/demo/hello"

# Demo-only passphrases; real ones belong in a secret store or a prompt.
export DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE="demo-root-passphrase"
export DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE="demo-repository-passphrase"

if [ -z "$engine" ]; then
	say "No engine ($why_no_engine): signing remotely instead"
	# docker login goes through the engine; store the login as it would.
	auth="$(printf 'signer:sandbox-pass-1234' | base64 | tr -d '\n')"
	printf '{"cliPluginsExtraDirs": ["%s"], "auths": {"%s": {"auth": "%s"}}}\n' "$root/bin" "$host" "$auth" >"$DOCKER_CONFIG/config.json"
	sed -n 's/^ACRTRUST_SANDBOX_SEED=/in the registry, unsigned: /p' "$work/sandbox.out"

	say "Sign a tag that is only in the registry (digest and size read from it)"
	acrtrust sign "$repo:v1"

	say "Inspect the trust data"
	acrtrust inspect --pretty "$repo"

	say "Resolve the signed tag to the digest a deploy pins"
	acrtrust resolve "$repo:v1"

	say "Pin the repository's root key, so a fresh machine never trusts on first use"
	acrtrust --pins "$work/pins.json" pin add -y "$repo"
	acrtrust --pins "$work/pins.json" --require-pin resolve "$repo:v1"

	say "Verify every tag in the registry against the trust data (dev is unsigned, so it fails)"
	if acrtrust verify "$repo"; then
		fail "verify passed with an unsigned tag: that is a bug"
	fi

	say "Done without an engine. For the push and pull part, start Docker (or set DOCKER_HOST) and run make demo again"
	exit 0
fi

echo "engine $engine${DOCKER_HOST:+ at $DOCKER_HOST}"

say "Logging in as the sandbox's signer (AcrPush + AcrImageSigner)"
printf '$ docker login %s -u signer --password-stdin\n' "$host"
printf 'sandbox-pass-1234\n' | docker login "$host" -u signer --password-stdin 2>/dev/null

say "Building a tiny image locally"
mkdir -p "$work/rootfs"
printf 'hello from docker acrtrust, %s\n' "$(date -u +%FT%TZ)" >"$work/rootfs/hello.txt"
tar -C "$work/rootfs" -cf "$work/image.tar" .
run docker import "$work/image.tar" "$repo:v1"
images+=("$repo:v1")

say "Signed push: the first one creates the root and repository keys"
if ! acrtrust push "$repo:v1"; then
	fail "the push failed. If your engine runs in a VM (Docker Desktop), 127.0.0.1 there is not this machine's: run the demo where dockerd runs."
fi
echo
echo "keys in \$DOCKER_CONFIG/trust/private:"
ls -l "$DOCKER_CONFIG/trust/private"

say "Pin the repository's root key, so a fresh machine never trusts on first use"
acrtrust --pins "$work/pins.json" pin add -y "$repo"

say "Trusted pull with pins required: resolve v1 from verified trust data, pull by digest, tag"
run docker rmi "$repo:v1"
acrtrust --pins "$work/pins.json" --require-pin pull "$repo:v1"

say "An unsigned tag is refused, and nothing is pulled"
run docker tag "$repo:v1" "$repo:unsigned"
images+=("$repo:unsigned")
acrtrust push --disable-content-trust -q "$repo:unsigned"
run docker rmi "$repo:unsigned"
if acrtrust pull "$repo:unsigned"; then
	fail "the unsigned tag was pulled: that is a bug"
fi

say "Done: $repo:v1 was signed, pushed and pulled with verified trust data"
