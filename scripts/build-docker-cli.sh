#!/usr/bin/env bash
# Builds the docker CLI at the github.com/docker/cli version in go.mod (v29)
# from the Go module graph, for the e2e tests (make docker-cli). Debian
# packages no v29 CLI, and v29 is what users have.
#
#   scripts/build-docker-cli.sh        prints the path of the binary
#
# The binary is cached as $DOCKER_CLI_CACHE/docker-VERSION (default
# bin/docker-cli/); a second run with the same version, Go toolchain and
# script prints the cached path at once. Only the Go module proxy is needed.
#
# github.com/docker/cli has no go.mod (it uses CalVer, so Go sees it as
# +incompatible and compiles it as old Go, which it is not). So the script
# compiles a copy of the module from the module cache, with docker/cli's own
# vendor.mod and vendor.sum as go.mod and go.sum: the Go version it states
# and the versions upstream builds with, moby's api and client included.
# github.com/tonistiigi/go-rosetta (macOS only: is this process translated by
# Rosetta?) is replaced by a stand-in written here with the behaviour the
# real package has off macOS, so that the build does not depend on it being
# served. Nothing third-party is kept in this repository.
#
# Logs go to stderr; stdout is only the path.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${DOCKER_CLI_CACHE:-$root/bin/docker-cli}"
module=github.com/docker/cli
# The version is go.mod's, and the copy builds as a module of its own: no
# go.work around either may change what is built.
export GOWORK=off

log() { printf 'build-docker-cli: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

command -v go >/dev/null 2>&1 || fail "no go on PATH; go.mod needs $(sed -n 's/^go //p' "$root/go.mod")"

modversion="$(cd "$root" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' "$module")" ||
	fail "cannot read the $module version from $root/go.mod"
version="${modversion#v}"
version="${version%+incompatible}"
out="$cache/docker-$version"

# What the binary depends on besides the module version.
key="$modversion $(go env GOVERSION GOOS GOARCH | tr '\n' ' ')$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
if [ -x "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$key" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

log "downloading $module@$modversion"
# $work is a module of its own, so that nothing here touches our go.mod.
printf 'module build\n' >"$work/go.mod"
info="$(cd "$work" && go mod download -json "$module@$modversion")" ||
	fail "go mod download $module@$modversion failed:
$info"
dir="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
infofile="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p')"
[ -n "$dir" ] && [ -f "$dir/vendor.mod" ] || fail "$module@$modversion has no vendor.mod in the module cache ($dir)"

src="$work/cli"
cp -R "$dir" "$src"
chmod -R u+w "$src"
# vendor/ holds only modules.txt; without it the go command uses the
# module graph instead of vendoring.
rm -rf "$src/vendor"
cp "$src/vendor.mod" "$src/go.mod"
cp "$src/vendor.sum" "$src/go.sum"

standin="$work/go-rosetta"
mkdir -p "$standin"
cat >"$standin/go.mod" <<'EOF'
module github.com/tonistiigi/go-rosetta

go 1.13
EOF
cat >"$standin/rosetta.go" <<'EOF'
// Package rosetta is a stand-in for github.com/tonistiigi/go-rosetta, written
// by scripts/build-docker-cli.sh: Rosetta exists only on macOS, and off macOS
// the real package answers as this one does.
package rosetta

import "runtime"

// Available reports whether Rosetta is installed: never, off macOS.
func Available() bool { return false }

// Enabled reports whether this process runs under Rosetta: never, off macOS.
func Enabled() bool { return false }

// NativeArch is the machine's own architecture: the process's, off macOS.
func NativeArch() string { return runtime.GOARCH }
EOF
(cd "$src" && go mod edit -replace "github.com/tonistiigi/go-rosetta=$standin")

# Module versions docker/cli names that the module proxy does not serve, and
# the served version closest below each (module wanted substitute). A
# substitute is used only when the wanted version cannot be downloaded.
#  - github.com/moby/swarmkit/v2 v2.1.3: the proxy lists it and serves its
#    .info and .mod, but answers 403 "This module version is not available"
#    for its .zip. The substitute is the last commit after v2.1.2 that it
#    serves; the CLI only uses swarmkit's API types.
substitutes=(
	"github.com/moby/swarmkit/v2 v2.1.3 v2.1.3-0.20260828175525-ad0357aedfca"
)
for s in "${substitutes[@]}"; do
	read -r mod wanted sub <<<"$s"
	[ "$(awk -v m="$mod" '$1 == m { print $2 }' "$src/go.mod")" = "$wanted" ] || continue
	if ! msg="$(cd "$work" && go mod download "$mod@$wanted" 2>&1)"; then
		log "$mod@$wanted is not served ($msg); using $sub instead"
		(cd "$src" && go mod edit -replace "$mod=$mod@$sub")
	fi
done

# As docker/cli's scripts/build/binary does, with the commit time of the
# module version as the build time so that rebuilds are the same.
buildtime="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$infofile" 2>/dev/null || true)"
ldflags="-X github.com/docker/cli/cli/version.Version=$version"
ldflags+=" -X github.com/docker/cli/cli/version.GitCommit=$modversion"
[ -n "$buildtime" ] && ldflags+=" -X github.com/docker/cli/cli/version.BuildTime=$buildtime"

log "building docker $version with $(go env GOVERSION) (first time: a few minutes)"
(cd "$src" && CGO_ENABLED=0 go build -mod=mod -buildvcs=false -trimpath -tags grpcnotrace \
	-ldflags "$ldflags" -o "$work/docker" ./cmd/docker) ||
	fail "building $module@$modversion ./cmd/docker failed (see above)"

got="$("$work/docker" --version)" || fail "the built docker does not run"
case "$got" in
"Docker version $version,"*) ;;
*) fail "the built docker says \"$got\", not version $version" ;;
esac

mv -f "$work/docker" "$out"
printf '%s\n' "$key" >"$out.stamp"
log "$got: $out"
echo "$out"
