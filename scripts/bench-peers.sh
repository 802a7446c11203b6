#!/usr/bin/env bash
# docker acrtrust and its peers, side by side on one sandbox (make bench-peers).
#
# Starts bin/acrtrust-sandbox with --verbose (one log line per request) and
# --seed (unsigned random images in the registry, so no engine is needed to
# sign), then measures, on the same host:
#
#   1. Signing 100 tags of one repository (each repository initialised with a
#      first signature before the timed part, so every peer does the same work):
#        docker-acrtrust sign with 100 arguments (one process, one publish)
#        the notary CLI's staged batch: notary addhash x100, then notary publish
#        docker trust sign per tag (a docker CLI older than v29: it pushes each
#        local image and publishes once per tag), only with a reachable engine
#   2. A warm resolution of a signed tag (trust cache already populated):
#        docker-acrtrust resolve  vs  notary lookup
#      wall time (median of N runs) and the requests each run sends to the
#      host, counted from the sandbox's request log between runs.
#   3. With an engine: docker pull NAME@DIGEST vs docker acrtrust pull NAME:TAG
#      vs DOCKER_CONTENT_TRUST=1 docker pull NAME:TAG (a docker CLI before v29)
#      of the same small image, removed before every run (median of N).
#   3b. With an engine: the same for a realistic image (64 MiB in 4 layers,
#      built here from random data and pushed signed), and where the fixed
#      cost of a trusted pull goes: the docker CLI's plugin dispatch
#      (`docker acrtrust version`), the TUF round trips (a warm resolve) and
#      the tagging (`docker tag`).
#   4. Auditing a registry: a second sandbox seeded with --seed-registry
#      (1,000 signed repositories of 20 tags), then
#        docker-acrtrust audit of the whole registry (catalog), median of 3
#        runs, wall time and peak memory (max RSS, /usr/bin/time)
#        a shell loop of `notary list` per repository (what people scripted)
#        docker-acrtrust audit --repos of the first 250, 500 and 1,000
#        repositories: how time and memory scale
#
# Prints a markdown table and writes it to bin/bench-peers.md. Everything runs
# on 127.0.0.1 in a throw-away directory (DOCKER_CONFIG, notary trust dir);
# the sandbox is stopped and the images pulled here are removed on exit.
#
# Timing is bash's (date +%s%N around each run), not hyperfine: the request
# counts must come from the very runs that are timed, between two reads of
# the sandbox log.
#
# Environment:
#   BENCH_PEERS_TAGS       tags signed per peer (default 100, at most 500)
#   BENCH_PEERS_RUNS       runs of each warm resolution (default 9, at most 50)
#   BENCH_PEERS_PULL_RUNS  runs of each pull (default 5, at most 20)
#   BENCH_PEERS_OUT        where to write the table (default bin/bench-peers.md)
#   BENCH_PEERS_AUDIT_REPOS repositories seeded for the audit (default 1000, at most 5000;
#                          0 skips the audit benchmark)
#   BENCH_PEERS_AUDIT_TAGS signed tags per repository (default 20, at most 100)
#   BENCH_PEERS_AUDIT_LOOPS 0 skips the shell loops the audit is compared with
#                          (notary list, docker trust inspect); default 1
#   BENCH_PEERS_ONLY       "audit" runs only the audit benchmark (4), "pull"
#                          only the pulls: the small image against a plain
#                          pull and Docker's DCT pull (3), the realistic
#                          image and the fixed cost (3b)
#   BENCH_PEERS_LATENCY    milliseconds added to every request by the sandboxes
#                          (--latency; default 0, at most 1000): a registry a
#                          round trip away, e.g. 20
#   BENCH_PEERS_RATE       requests per second the sandboxes serve before
#                          answering 429 (--rate; default 0: no limit)
#   DOCKER_HOST            the engine to use; without it, the current docker
#                          context's, else the default socket
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
plugin="$root/bin/docker-acrtrust"
sandbox_bin="$root/bin/acrtrust-sandbox"
out_md="${BENCH_PEERS_OUT:-$root/bin/bench-peers.md}"

fail() { printf 'bench-peers: %s\n' "$*" >&2; exit 1; }
note() { printf 'bench-peers: %s\n' "$*" >&2; }

# bounded NAME VALUE MIN MAX: VALUE must be an integer in [MIN, MAX].
bounded() {
	[[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
		fail "$1=$2: want a whole number from $3 to $4"
	printf '%s' "$2"
}
ntags="$(bounded BENCH_PEERS_TAGS "${BENCH_PEERS_TAGS:-100}" 1 500)"
runs="$(bounded BENCH_PEERS_RUNS "${BENCH_PEERS_RUNS:-9}" 1 50)"
pull_runs="$(bounded BENCH_PEERS_PULL_RUNS "${BENCH_PEERS_PULL_RUNS:-5}" 1 20)"
audit_repos="$(bounded BENCH_PEERS_AUDIT_REPOS "${BENCH_PEERS_AUDIT_REPOS:-1000}" 0 5000)"
audit_tags="$(bounded BENCH_PEERS_AUDIT_TAGS "${BENCH_PEERS_AUDIT_TAGS:-20}" 1 100)"
only="${BENCH_PEERS_ONLY:-all}"
audit_loops="$(bounded BENCH_PEERS_AUDIT_LOOPS "${BENCH_PEERS_AUDIT_LOOPS:-1}" 0 1)"
latency="$(bounded BENCH_PEERS_LATENCY "${BENCH_PEERS_LATENCY:-0}" 0 1000)"
rate="$(bounded BENCH_PEERS_RATE "${BENCH_PEERS_RATE:-0}" 0 1000000)"
network_args=(--latency "$latency" --rate "$rate")
case "$only" in all | audit | pull) ;; *) fail "BENCH_PEERS_ONLY=$only: want all, audit or pull" ;; esac

[ -x "$plugin" ] && [ -x "$sandbox_bin" ] || fail "build first: make build sandbox (or run make bench-peers)"
command -v curl >/dev/null 2>&1 || fail "curl is needed (apt-get install curl)"

# ---------------------------------------------------------------- the peers

# A docker CLI that still has content trust (< v29): the one on PATH, else
# Debian's /usr/bin/docker or /usr/local/bin/docker.
dct_docker=""
dct_version=""
for c in "$(command -v docker 2>/dev/null || true)" /usr/bin/docker /usr/local/bin/docker; do
	[ -n "$c" ] && [ -x "$c" ] || continue
	v="$("$c" version --format '{{.Client.Version}}' 2>/dev/null </dev/null || true)"
	v="${v#v}"
	major="${v%%.*}"
	if [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -lt 29 ]; then
		dct_docker="$c"
		dct_version="$v"
		break
	fi
done

notary_bin="$(command -v notary 2>/dev/null || true)"

# Is an engine reachable? The throw-away DOCKER_CONFIG below has no docker
# contexts, so pin the engine the user's docker command talks to now.
docker_bin="$(command -v docker 2>/dev/null || true)"
engine=""
why_no_engine="no docker CLI on PATH"
if [ -n "$docker_bin" ]; then
	if [ -z "${DOCKER_HOST:-}" ]; then
		DOCKER_HOST="$("$docker_bin" context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null </dev/null || true)"
		[ -n "$DOCKER_HOST" ] && export DOCKER_HOST
	fi
	if engine="$("$docker_bin" version --format '{{.Server.Version}}' 2>&1 </dev/null)"; then
		why_no_engine=""
	else
		why_no_engine="no engine${DOCKER_HOST:+ at $DOCKER_HOST}"
		engine=""
	fi
fi

# --------------------------------------------------------------- set-up

work="$(mktemp -d "${TMPDIR:-/tmp}/acrtrust-bench-peers.XXXXXX")"
sandbox_pid=""
audit_sandbox_pid=""
pulled=() # images this script put into the engine, removed on exit
cleanup() {
	status=$?
	if [ -n "$engine" ] && [ "${#pulled[@]}" -gt 0 ]; then
		DOCKER_CONFIG="$work/docker" "$docker_bin" rmi -f "${pulled[@]}" >/dev/null 2>&1 </dev/null || true
	fi
	for pid in "$sandbox_pid" "$audit_sandbox_pid"; do
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

peers=(acrtrust)
[ -n "$notary_bin" ] && peers+=(notary)
[ -n "$engine" ] && [ -n "$dct_docker" ] && peers+=(docker)

tagname() { printf 't%03d\n' "$1"; }
seed_args=()
for p in "${peers[@]}"; do
	seed_args+=(--seed "bench/$p:init")
	for ((i = 0; i < ntags; i++)); do
		seed_args+=(--seed "bench/$p:$(tagname "$i")")
	done
done

note "starting the sandbox with $((${#seed_args[@]} / 2)) seeded images"
log="$work/sandbox.log"
"$sandbox_bin" --verbose "${network_args[@]}" --ca-out "$work/ca.crt" "${seed_args[@]}" >"$work/sandbox.out" 2>"$log" </dev/null &
sandbox_pid=$!
for _ in $(seq 1 1200); do
	grep -q '^Press Ctrl-C' "$work/sandbox.out" 2>/dev/null && break
	kill -0 "$sandbox_pid" 2>/dev/null || fail "the sandbox exited: $(tail -n 5 "$log")"
	sleep 0.1
done
grep -q '^Press Ctrl-C' "$work/sandbox.out" || fail "the sandbox did not start within 120 seconds"
host="$(sed -n 's/^ACRTRUST_SANDBOX_HOST=//p' "$work/sandbox.out")"
note "sandbox at https://$host"

# digest_of REPO:TAG: the digest the sandbox seeded.
declare -A seed_digest=()
while IFS= read -r line; do
	ref="${line%@*}"
	seed_digest["${ref#"$host"/}"]="${line#*@}"
done < <(sed -n 's/^ACRTRUST_SANDBOX_SEED=//p' "$work/sandbox.out")

user=signer
password=sandbox-pass-1234
auth="$(printf '%s:%s' "$user" "$password" | base64 | tr -d '\n')"

# A DOCKER_CONFIG per peer: logged in as the signer, the sandbox CA where
# docker and docker acrtrust look for it, and the plugin found by docker.
new_config() {
	local dir="$work/$1"
	mkdir -p "$dir/tls/$host"
	chmod 0700 "$dir"
	cp "$work/ca.crt" "$dir/tls/$host/ca.crt"
	printf '{"cliPluginsExtraDirs": ["%s"], "auths": {"%s": {"auth": "%s"}}}\n' "$root/bin" "$host" "$auth" >"$dir/config.json"
}
new_config acrtrust
new_config docker

# Passphrases for this throw-away run only: in the environment, never in argv.
export DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE="bench-root-passphrase"
export DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE="bench-repository-passphrase"
export NOTARY_ROOT_PASSPHRASE="bench-root-passphrase"
export NOTARY_TARGETS_PASSPHRASE="bench-repository-passphrase"
export NOTARY_SNAPSHOT_PASSPHRASE="bench-snapshot-passphrase"
export NOTARY_AUTH="$auth"

# ------------------------------------------------------------ measuring

# Request log lines look like "15:04:05.000 GET /v2/... 200 signer 1.2ms".
log_lines() { wc -l <"$log"; }

# window FROM: classify the request lines logged after line FROM, as
# "total trust token other publishes". Waits a moment first: the sandbox
# writes a line after it has answered, so the client may exit before it.
window() {
	sleep 0.1
	tail -n +"$(($1 + 1))" "$log" | awk '
		$1 ~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]+$/ && $3 ~ /^\// {
			total++
			if ($3 ~ /\/_trust\//) trust++
			else if ($3 ~ /^\/oauth2\/token/) token++
			else other++
			if ($2 == "POST" && $3 ~ /\/_trust\/tuf\/$/ && $4 ~ /^2/) pub++
		}
		END { printf "%d %d %d %d %d\n", total, trust, token, other, pub }'
}

# timed FILE CMD...: runs CMD with its output in FILE; sets elapsed_ms and
# counts ("total trust token other publishes"). Returns CMD's status.
elapsed_ms=0
counts=""
timed() {
	local file="$1" from start end rc=0
	shift
	from="$(log_lines)"
	start="$(date +%s%N)"
	"$@" >"$file" 2>&1 </dev/null || rc=$?
	end="$(date +%s%N)"
	elapsed_ms=$(((end - start) / 1000000))
	counts="$(window "$from")"
	return "$rc"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%d\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# spread VALUES...: "N" when all equal, else "min–max".
spread() {
	local sorted
	sorted="$(printf '%s\n' "$@" | sort -n)"
	local lo hi
	lo="$(head -n1 <<<"$sorted")"
	hi="$(tail -n1 <<<"$sorted")"
	if [ "$lo" = "$hi" ]; then printf '%s' "$lo"; else printf '%s–%s' "$lo" "$hi"; fi
}

fmt_ms() {
	if [ "$1" -ge 1000 ]; then
		awk -v ms="$1" 'BEGIN { printf "%.2f s", ms / 1000 }'
	else
		printf '%d ms' "$1"
	fi
}

rows=()
failed=0
# row BENCHMARK PEER TIME REQUESTS BREAKDOWN PUBLISHES NOTE
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 |"); }
skip_row() { row "$1" "$2" "skipped: $3" "" "" "" ""; }
fail_row() {
	row "$1" "$2" "**failed**" "" "" "" "${3//$'\n'/; }"
	failed=1
}
# fail_detail FILE: the end of a peer's output, on stderr.
fail_detail() { note "last lines of its output:"; tail -n 15 "$1" | sed 's/^/    /' >&2; }

# breakdown "total trust token other publishes" -> table cells
cells_total() { set -- $1; printf '%s' "$1"; }
cells_split() { set -- $1; printf '%s / %s / %s' "$2" "$3" "$4"; }
cells_pub() { set -- $1; printf '%s' "$5"; }

acrtrust() { DOCKER_CONFIG="$work/acrtrust" "$plugin" "$@"; }
notary_cli() { "$notary_bin" -s "https://$host" -d "$work/notary" --tlscacert "$work/ca.crt" "$@"; }
dct() { DOCKER_CONFIG="$work/docker" "$dct_docker" "$@"; }

# registry_manifests REPO TAG...: fetches the manifests the registry serves
# for REPO:TAG (one token, one curl run) and sets reg_digest[TAG] (sha256
# hex) and reg_size[TAG] from their bytes.
declare -A reg_digest=() reg_size=()
registry_manifests() {
	local repo="$1" dir="$work/manifests/$1" token t codes curl_args=()
	shift
	reg_digest=()
	reg_size=()
	rm -rf "$dir"
	mkdir -p "$dir"
	token="$(curl -sS --cacert "$work/ca.crt" -u "$user:$password" \
		"https://$host/oauth2/token?service=$host&scope=repository:$repo:pull" </dev/null | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
	[ -n "$token" ] || return 1
	for t in "$@"; do
		curl_args+=(-o "$dir/$t" "https://$host/v2/$repo/manifests/$t")
	done
	codes="$(curl -sS --cacert "$work/ca.crt" -H "Authorization: Bearer $token" \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' \
		-w '%{http_code}\n' "${curl_args[@]}" </dev/null | sort -u)"
	[ "$codes" = 200 ] || return 1
	for t in "$@"; do
		reg_size[$t]="$(wc -c <"$dir/$t")"
		reg_digest[$t]="$(sha256sum "$dir/$t" | cut -d' ' -f1)"
	done
}

# check_signed PEER: every tag of bench/PEER is signed with the digest the
# registry serves for it now, as an independent reader (docker-acrtrust
# inspect with an empty trust cache) sees it. Prints what is wrong.
check_signed() {
	local p="$1" cfg="$work/check-$1" got want t tags bad=0
	mapfile -t tags < <(printf 'init\n'; for ((i = 0; i < ntags; i++)); do tagname "$i"; done)
	registry_manifests "bench/$p" "${tags[@]}" || {
		printf 'could not read the manifests of bench/%s from the registry\n' "$p"
		return 1
	}
	rm -rf "$cfg"
	new_config "check-$1"
	got="$(DOCKER_CONFIG="$cfg" "$plugin" inspect --format '{{range .SignedTags}}{{.SignedTag}} {{.Digest}}{{"\n"}}{{end}}' "$host/bench/$p" </dev/null 2>&1)" || {
		printf 'inspect failed: %s\n' "$got"
		return 1
	}
	for t in "${tags[@]}"; do
		want="${reg_digest[$t]}"
		if ! grep -qx "$t $want" <<<"$got"; then
			[ "$bad" -lt 3 ] && printf 'bench/%s:%s is not signed with sha256:%s\n' "$p" "$t" "$want"
			bad=$((bad + 1))
		fi
	done
	[ "$bad" -eq 0 ] || {
		printf '%d of %d tags wrong\n' "$bad" "${#tags[@]}"
		return 1
	}
}

tag_list() { for ((i = 0; i < ntags; i++)); do printf '%s/bench/%s:%s\n' "$host" "$1" "$(tagname "$i")"; done; }

# ------------------------------------------------- 1. signing N tags

# repeat LABEL RUNS CMD...: one untimed warm-up run, then RUNS timed runs;
# sets rep_ms (the median), rep_total and rep_split (the requests per run,
# as table cells; "3–4" when the runs differed).
repeat() {
	local label="$1" n="$2" i t1 t2 t3 t4 ms=() totals=() trusts=() tokens=() others=()
	shift 2
	if ! "$@" >"$work/$label-warm.out" 2>&1 </dev/null; then
		fail_detail "$work/$label-warm.out"
		return 1
	fi
	for ((i = 0; i < n; i++)); do
		[ -n "${before_each:-}" ] && $before_each
		timed "$work/$label-$i.out" "$@" || { fail_detail "$work/$label-$i.out"; return 1; }
		ms+=("$elapsed_ms")
		read -r t1 t2 t3 t4 _ <<<"$counts"
		totals+=("$t1")
		trusts+=("$t2")
		tokens+=("$t3")
		others+=("$t4")
	done
	rep_ms="$(median "${ms[@]}")"
	rep_total="$(spread "${totals[@]}")"
	rep_split="$(spread "${trusts[@]}") / $(spread "${tokens[@]}") / $(spread "${others[@]}")"
}

# interleaved N LABEL CMD [LABEL CMD ...]: every CMD (a command or function
# without arguments) once untimed, then N rounds that run each CMD in turn,
# with $before_each before every run. A machine that slows down or speeds up
# while it runs then weighs on every peer alike, which blocks of runs of one
# peer after another do not (the 64 MiB pull moved by 30% between blocks).
# Sets il_ms[LABEL] (the median), il_total[LABEL] and il_split[LABEL], as
# repeat sets rep_*; returns 1 when a run fails, with its label in il_failed.
declare -A il_ms=() il_total=() il_split=()
il_failed=""
interleaved() {
	local n="$1" i j label t1 t2 t3 t4
	shift
	local -a labels=() cmds=()
	while [ $# -ge 2 ]; do
		labels+=("$1")
		cmds+=("$2")
		shift 2
	done
	local -A ms=() tot=() tr=() tk=() ot=()
	for j in "${!labels[@]}"; do
		[ -n "${before_each:-}" ] && $before_each
		if ! "${cmds[j]}" >"$work/${labels[j]}-warm.out" 2>&1 </dev/null; then
			il_failed="${labels[j]}"
			fail_detail "$work/${labels[j]}-warm.out"
			return 1
		fi
	done
	for ((i = 0; i < n; i++)); do
		for j in "${!labels[@]}"; do
			label="${labels[j]}"
			[ -n "${before_each:-}" ] && $before_each
			if ! timed "$work/$label-$i.out" "${cmds[j]}"; then
				il_failed="$label"
				fail_detail "$work/$label-$i.out"
				return 1
			fi
			read -r t1 t2 t3 t4 _ <<<"$counts"
			ms[$label]+=" $elapsed_ms"
			tot[$label]+=" $t1"
			tr[$label]+=" $t2"
			tk[$label]+=" $t3"
			ot[$label]+=" $t4"
		done
	done
	for label in "${labels[@]}"; do
		# shellcheck disable=SC2086 # the lists are words on purpose
		il_ms[$label]="$(median ${ms[$label]})"
		# shellcheck disable=SC2086
		il_total[$label]="$(spread ${tot[$label]})"
		# shellcheck disable=SC2086
		il_split[$label]="$(spread ${tr[$label]}) / $(spread ${tk[$label]}) / $(spread ${ot[$label]})"
	done
}

if [ "$only" = all ]; then # sections 1 and 2

bench_sign="sign $ntags tags"

# docker acrtrust: one process, all tags as arguments.
note "sign: docker-acrtrust sign with $ntags arguments"
if ! acrtrust sign "$host/bench/acrtrust:init" >"$work/acrtrust-init.out" 2>&1 </dev/null; then
	fail_row "$bench_sign" "\`docker-acrtrust sign\`" "initialising failed"
	fail_detail "$work/acrtrust-init.out"
else
	mapfile -t args < <(tag_list acrtrust)
	if timed "$work/acrtrust-sign.out" acrtrust sign "${args[@]}"; then
		if why="$(check_signed acrtrust)"; then
			row "$bench_sign" "\`docker-acrtrust sign\` (1 process, $ntags arguments)" "$(fmt_ms "$elapsed_ms") (1 run)" \
				"$(cells_total "$counts")" "$(cells_split "$counts")" "$(cells_pub "$counts")" ""
		else
			fail_row "$bench_sign" "\`docker-acrtrust sign\`" "$why"
		fi
	else
		fail_row "$bench_sign" "\`docker-acrtrust sign\`" "exit status $?"
		fail_detail "$work/acrtrust-sign.out"
	fi
fi

# notary CLI: addhash per tag (staged locally), then one publish. Digests and
# sizes are those of the manifests the registry serves, read before the timed
# part.
notary_batch() {
	local t
	for t in "${notary_tags[@]}"; do
		notary_cli addhash "$host/bench/notary" "$t" "${notary_size[$t]}" --sha256 "${notary_hex[$t]}" || return
	done
	notary_cli publish "$host/bench/notary"
}
declare -A notary_size=() notary_hex=()
if [ -z "$notary_bin" ]; then
	skip_row "$bench_sign" "notary CLI: \`addhash\` ×$ntags + \`publish\`" "no notary CLI (apt-get install notary)"
else
	note "sign: notary addhash x$ntags + notary publish"
	notary_tags=()
	for ((i = 0; i < ntags; i++)); do notary_tags+=("$(tagname "$i")"); done
	registry_ok=0
	if registry_manifests bench/notary init "${notary_tags[@]}"; then
		registry_ok=1
		for t in init "${notary_tags[@]}"; do
			notary_size[$t]="${reg_size[$t]}"
			notary_hex[$t]="${reg_digest[$t]}"
		done
	fi
	if [ "$registry_ok" = 0 ]; then
		fail_row "$bench_sign" "notary CLI" "could not read the manifests from the registry"
	elif ! {
		notary_cli init "$host/bench/notary" &&
			notary_cli addhash "$host/bench/notary" init "${notary_size[init]}" --sha256 "${notary_hex[init]}" &&
			notary_cli publish "$host/bench/notary"
	} >"$work/notary-init.out" 2>&1 </dev/null; then
		fail_row "$bench_sign" "notary CLI" "initialising failed"
		fail_detail "$work/notary-init.out"
	elif timed "$work/notary-sign.out" notary_batch; then
		if why="$(check_signed notary)"; then
			row "$bench_sign" "notary CLI: \`addhash\` ×$ntags + \`publish\` ($((ntags + 1)) processes)" "$(fmt_ms "$elapsed_ms") (1 run)" \
				"$(cells_total "$counts")" "$(cells_split "$counts")" "$(cells_pub "$counts")" "snapshot signed by the client (notary's default)"
		else
			fail_row "$bench_sign" "notary CLI" "$why"
		fi
	else
		fail_row "$bench_sign" "notary CLI" "exit status $?"
		fail_detail "$work/notary-sign.out"
	fi
fi

# docker trust sign: one process, one push and one publish per tag; the
# images must be local, so they are pulled from the sandbox first.
docker_sign_all() {
	local ref
	for ref in "${docker_refs[@]}"; do
		dct trust sign "$ref" || return
	done
}
dct_label="\`docker trust sign\` ×$ntags"
if [ -z "$engine" ]; then
	skip_row "$bench_sign" "$dct_label" "no engine"
	[ -n "$why_no_engine" ] && note "docker trust sign skipped: $why_no_engine"
elif [ -z "$dct_docker" ]; then
	skip_row "$bench_sign" "\`docker trust sign\`" "no docker CLI older than v29 (apt-get install docker.io)"
else
	note "sign: pulling $((ntags + 1)) images into the engine for docker trust sign"
	mapfile -t docker_refs < <(tag_list docker)
	prep_ok=1
	for ref in "$host/bench/docker:init" "${docker_refs[@]}"; do
		pulled+=("$ref")
		if ! dct pull -q "$ref" >>"$work/docker-prep.out" 2>&1 </dev/null; then
			prep_ok=0
			break
		fi
	done
	if [ "$prep_ok" = 0 ]; then
		fail_row "$bench_sign" "$dct_label" "pulling the images into the engine failed"
		fail_detail "$work/docker-prep.out"
	elif ! dct trust sign "$host/bench/docker:init" >"$work/docker-init.out" 2>&1 </dev/null; then
		fail_row "$bench_sign" "$dct_label" "initialising failed"
		fail_detail "$work/docker-init.out"
	else
		note "sign: docker trust sign x$ntags"
		if timed "$work/docker-sign.out" docker_sign_all; then
			if why="$(check_signed docker)"; then
				row "$bench_sign" "$dct_label (Docker $dct_version, $ntags processes)" "$(fmt_ms "$elapsed_ms") (1 run)" \
					"$(cells_total "$counts")" "$(cells_split "$counts")" "$(cells_pub "$counts")" "pushes each image, then signs it"
			else
				fail_row "$bench_sign" "$dct_label" "$why"
			fi
		else
			fail_row "$bench_sign" "$dct_label" "exit status $?"
			fail_detail "$work/docker-sign.out"
		fi
	fi
fi

# --------------------------------------------- 2. warm resolution

bench_resolve="warm resolution of a signed tag"


note "resolve: docker-acrtrust resolve, $runs runs"
before_each=""
if repeat acrtrust-resolve "$runs" acrtrust resolve "$host/bench/acrtrust:$(tagname 0)"; then
	got="$(cat "$work/acrtrust-resolve-0.out")"
	want="$host/bench/acrtrust@${seed_digest["bench/acrtrust:$(tagname 0)"]}"
	if [ "$got" = "$want" ]; then
		row "$bench_resolve" "\`docker-acrtrust resolve\`" "$(fmt_ms "$rep_ms") (median of $runs)" "$rep_total" "$rep_split" "" ""
	else
		fail_row "$bench_resolve" "\`docker-acrtrust resolve\`" "printed $got, want $want"
	fi
else
	fail_row "$bench_resolve" "\`docker-acrtrust resolve\`" "a run failed"
fi

if [ -z "$notary_bin" ]; then
	skip_row "$bench_resolve" "\`notary lookup\`" "no notary CLI (apt-get install notary)"
elif [ -f "$work/notary-sign.out" ]; then
	note "resolve: notary lookup, $runs runs"
	if repeat notary-lookup "$runs" notary_cli lookup "$host/bench/notary" "$(tagname 0)"; then
		want="${seed_digest["bench/notary:$(tagname 0)"]}"
		if grep -q "^$(tagname 0) $want " "$work/notary-lookup-0.out"; then
			row "$bench_resolve" "\`notary lookup\`" "$(fmt_ms "$rep_ms") (median of $runs)" "$rep_total" "$rep_split" "" ""
		else
			fail_row "$bench_resolve" "\`notary lookup\`" "did not print $want"
		fi
	else
		fail_row "$bench_resolve" "\`notary lookup\`" "a run failed"
	fi
else
	skip_row "$bench_resolve" "\`notary lookup\`" "nothing signed with the notary CLI"
fi

fi # sections 1 and 2

# ------------------------------------------------- 3. pull, with an engine

if [ "$only" = all ] || [ "$only" = pull ]; then
if [ "$only" = pull ]; then
	# Sections 1 and 2 did not run: sign the tag that is pulled.
	acrtrust sign "$host/bench/acrtrust:$(tagname 0)" >"$work/pull-sign.out" 2>&1 </dev/null ||
		{ fail_detail "$work/pull-sign.out"; fail "signing $host/bench/acrtrust:$(tagname 0) for the pull failed"; }
fi

bench_pull="pull a small signed image"

pull_note=""
if [ -z "$engine" ]; then
	skip_row "$bench_pull" "\`docker pull NAME@DIGEST\`" "no engine"
	skip_row "$bench_pull" "\`docker acrtrust pull NAME:TAG\`" "no engine"
else
	name="$host/bench/acrtrust"
	tag="$(tagname 0)"
	digest="${seed_digest["bench/acrtrust:$tag"]}"
	pulled+=("$name:$tag" "$name@$digest")
	docker_cfg() { DOCKER_CONFIG="$work/acrtrust" "$docker_bin" "$@"; }
	remove_image() { docker_cfg rmi -f "$name:$tag" "$name@$digest" >/dev/null 2>&1 </dev/null || true; }
	plain_pull() { docker_cfg pull "$name@$digest"; }
	trusted_pull() { docker_cfg acrtrust pull "$name:$tag"; }
	# Docker's own trusted pull (a docker CLI older than v29) of the same
	# tag, from its own DOCKER_CONFIG: the untimed first run warms its
	# trust cache, as the signing warmed docker acrtrust's.
	dct_pull() { DOCKER_CONTENT_TRUST=1 DOCKER_CONFIG="$work/docker" "$dct_docker" pull "$name:$tag"; }
	dct_label="\`DOCKER_CONTENT_TRUST=1 docker pull NAME:TAG\`"
	pull_peers=(plain-pull plain_pull trusted-pull trusted_pull)
	[ -n "$dct_docker" ] && pull_peers+=(dct-pull dct_pull)
	before_each=remove_image
	note "pull: docker pull NAME@DIGEST, docker acrtrust pull NAME:TAG${dct_docker:+ and the DCT pull of Docker $dct_version}, $pull_runs rounds"
	if ! docker_cfg acrtrust version >"$work/plugin-version.out" 2>&1 </dev/null; then
		fail_row "$bench_pull" "\`docker acrtrust pull NAME:TAG\`" "docker does not run the plugin"
		fail_detail "$work/plugin-version.out"
	elif ! interleaved "$pull_runs" "${pull_peers[@]}"; then
		fail_row "$bench_pull" "$il_failed" "a run failed"
	elif ! grep -q "$digest" "$work/trusted-pull-0.out"; then
		fail_row "$bench_pull" "\`docker acrtrust pull NAME:TAG\`" "did not pull $digest"
	else
		plain_ms="${il_ms[plain-pull]}" trusted_ms="${il_ms[trusted-pull]}"
		row "$bench_pull" "\`docker pull NAME@DIGEST\`" "$(fmt_ms "$plain_ms") (median of $pull_runs, interleaved)" "${il_total[plain-pull]}" "${il_split[plain-pull]}" "" ""
		if [ -n "$dct_docker" ]; then
			row "$bench_pull" "$dct_label (Docker $dct_version)" "$(fmt_ms "${il_ms[dct-pull]}") (median of $pull_runs, interleaved)" "${il_total[dct-pull]}" "${il_split[dct-pull]}" "" ""
			pull_note="$(awk -v a="$trusted_ms" -v b="${il_ms[dct-pull]}" -v p="$plain_ms" 'BEGIN { printf "%+d ms vs the plain pull; %.2f× Docker'"'"'s DCT pull (target: at most 0.9×)", a - p, a / b }')"
		else
			skip_row "$bench_pull" "$dct_label" "no docker CLI with content trust"
			pull_note="$(awk -v a="$trusted_ms" -v p="$plain_ms" 'BEGIN { printf "%+d ms vs the plain pull", a - p }')"
		fi
		row "$bench_pull" "\`docker acrtrust pull NAME:TAG\`" "$(fmt_ms "$trusted_ms") (median of $pull_runs, interleaved)" "${il_total[trusted-pull]}" "${il_split[trusted-pull]}" "" "$pull_note"
	fi
	before_each=""
	remove_image
fi

fi # section 3

# ------------------------------ 3b. pull a realistic image, and the fixed cost

bench_big="pull a 64 MiB image in 4 layers"
bench_fixed="fixed cost of a trusted pull"
if [ "$only" = all ] || [ "$only" = pull ]; then
if [ -z "$engine" ]; then
	skip_row "$bench_big" "\`docker pull NAME@DIGEST\`" "no engine"
	skip_row "$bench_big" "\`docker acrtrust pull NAME:TAG\`" "no engine"
else
	docker_cfg() { DOCKER_CONFIG="$work/acrtrust" "$docker_bin" "$@"; }
	big="$host/bench/big"
	mkdir -p "$work/big"
	for i in 1 2 3 4; do head -c 16M /dev/urandom >"$work/big/layer$i"; done
	printf 'FROM scratch\nCOPY layer1 /l1\nCOPY layer2 /l2\nCOPY layer3 /l3\nCOPY layer4 /l4\n' >"$work/big/Dockerfile"
	note "big pull: building and pushing a 64 MiB image in 4 layers (signed)"
	pulled+=("$big:v1")
	if ! DOCKER_BUILDKIT=0 docker_cfg build -q -t "$big:v1" "$work/big" >"$work/big-build.out" 2>&1 </dev/null ||
		! docker_cfg acrtrust push "$big:v1" >"$work/big-push.out" 2>&1 </dev/null; then
		fail_row "$bench_big" "\`docker acrtrust push\`" "building or pushing the image failed"
		fail_detail "$work/big-push.out"
	else
		bigdigest="$(acrtrust resolve "$big:v1" </dev/null)"
		bigdigest="${bigdigest##*@}"
		pulled+=("$big@$bigdigest")
		remove_big() { docker_cfg rmi -f "$big:v1" "$big@$bigdigest" >/dev/null 2>&1 </dev/null || true; }
		before_each=remove_big
		big_plain() { docker_cfg pull "$big@$bigdigest"; }
		big_trusted() { docker_cfg acrtrust pull "$big:v1"; }
		note "big pull: docker pull NAME@DIGEST and docker acrtrust pull NAME:TAG, $pull_runs rounds"
		if interleaved "$pull_runs" big-plain big_plain big-trusted big_trusted; then
			a="${il_ms[big-trusted]}" b="${il_ms[big-plain]}"
			big_note="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%+d ms, %.3f× the plain pull (target: at most 1.05×)", a - b, a / b }')"
			row "$bench_big" "\`docker pull NAME@DIGEST\`" "$(fmt_ms "$b") (median of $pull_runs, interleaved)" "${il_total[big-plain]}" "${il_split[big-plain]}" "" ""
			row "$bench_big" "\`docker acrtrust pull NAME:TAG\`" "$(fmt_ms "$a") (median of $pull_runs, interleaved)" "${il_total[big-trusted]}" "${il_split[big-trusted]}" "" "$big_note"
		else
			fail_row "$bench_big" "$il_failed" "a run failed"
		fi
		before_each=""
		# Where the fixed cost goes, each part on its own.
		note "fixed cost: plugin dispatch, warm resolution, tagging ($pull_runs runs each)"
		docker_cfg pull -q "$big@$bigdigest" >/dev/null 2>&1 </dev/null || true
		if repeat fixed-dispatch "$pull_runs" docker_cfg acrtrust version; then
			row "$bench_fixed" "\`docker acrtrust version\` (the docker CLI runs the plugin)" "$(fmt_ms "$rep_ms") (median of $pull_runs)" "$rep_total" "$rep_split" "" ""
		fi
		if repeat fixed-resolve "$pull_runs" acrtrust resolve "$big:v1"; then
			row "$bench_fixed" "\`docker-acrtrust resolve\` (TUF round trips, warm)" "$(fmt_ms "$rep_ms") (median of $pull_runs)" "$rep_total" "$rep_split" "" ""
		fi
		if repeat fixed-tag "$pull_runs" docker_cfg tag "$big@$bigdigest" "$big:v1"; then
			row "$bench_fixed" "\`docker tag\` (tagging by the engine)" "$(fmt_ms "$rep_ms") (median of $pull_runs)" "$rep_total" "$rep_split" "" ""
		fi
		remove_big
	fi
fi
fi

# ------------------------------------------------ 4. auditing a registry

# rss_timed FILE CMD...: like timed, and sets rss_mib to the peak resident
# memory of CMD (GNU time's %M, in KiB).
rss_mib=""
# Requests are counted in the audit sandbox's log ($alog), as timed does.
rss_timed() {
	local file="$1" start end from rc=0
	shift
	from="$(wc -l <"$alog")"
	start="$(date +%s%N)"
	/usr/bin/time -f '%M' -o "$file.rss" "$@" >"$file" 2>"$file.err" </dev/null || rc=$?
	end="$(date +%s%N)"
	elapsed_ms=$(((end - start) / 1000000))
	rss_mib="$(awk '/^[0-9]+$/ { printf "%.0f", $1 / 1024 }' "$file.rss")"
	counts="$(log="$alog" window "$from")"
	return "$rc"
}

bench_audit="audit $audit_repos repositories × $audit_tags signed tags"

# dct_inspect_loop_row: the loop people ran with Docker's own content trust,
# `docker trust inspect` per repository (a docker CLI older than v29; it
# needs no engine), timed against the audit's median.
dct_inspect_loop_row() {
	local label="shell loop: \`docker trust inspect\` per repository ($audit_repos processes)" dcfg i
	if [ -z "$dct_docker" ]; then
		skip_row "$bench_audit" "$label" "no docker CLI with content trust"
		return
	fi
	dcfg="$(audit_config dct-audit)"
	dct_loop() {
		for ((i = 0; i < audit_repos; i++)); do
			DOCKER_CONFIG="$dcfg" "$dct_docker" trust inspect "$ahost/$(printf 'seed/r%04d' "$i")" || return
		done
	}
	note "audit: a shell loop of docker trust inspect (Docker $dct_version) over $audit_repos repositories"
	if timed_in "$alog" "$work/dct-loop.out" dct_loop; then
		local ratio=""
		[ -n "$audit_ms" ] && [ "$audit_ms" -gt 0 ] && ratio="$(awk -v a="$elapsed_ms" -v b="$audit_ms" 'BEGIN { printf "docker-acrtrust audit is %.1f× faster (target: at least 10×)", a / b }')"
		row "$bench_audit" "$label, Docker $dct_version" "$(fmt_ms "$elapsed_ms") (1 run)" "$(cells_total "$counts")" "$(cells_split "$counts")" "$(cells_pub "$counts")" "$ratio"
	else
		fail_row "$bench_audit" "$label" "a run failed"
		fail_detail "$work/dct-loop.out"
	fi
}

# timed_in LOG FILE CMD...: timed, with the requests counted in LOG.
timed_in() {
	local l="$1" file="$2" from start end rc=0
	shift 2
	from="$(wc -l <"$l")"
	start="$(date +%s%N)"
	"$@" >"$file" 2>&1 </dev/null || rc=$?
	end="$(date +%s%N)"
	elapsed_ms=$(((end - start) / 1000000))
	counts="$(log="$l" window "$from")"
	return "$rc"
}
if [ "$audit_repos" -eq 0 ]; then
	note "audit: skipped (BENCH_PEERS_AUDIT_REPOS=0)"
elif [ ! -x /usr/bin/time ]; then
	skip_row "$bench_audit" "\`docker-acrtrust audit\`" "no /usr/bin/time (apt-get install time)"
else
	note "audit: starting a second sandbox seeded with ${audit_repos}x$audit_tags"
	alog="$work/audit-sandbox.log"
	"$sandbox_bin" --verbose "${network_args[@]}" --ca-out "$work/audit-ca.crt" --seed-registry "${audit_repos}x$audit_tags" >"$work/audit-sandbox.out" 2>"$alog" </dev/null &
	audit_sandbox_pid=$!
	for _ in $(seq 1 1200); do
		grep -q '^Press Ctrl-C' "$work/audit-sandbox.out" 2>/dev/null && break
		kill -0 "$audit_sandbox_pid" 2>/dev/null || fail "the audit sandbox exited: $(tail -n 5 "$alog")"
		sleep 0.1
	done
	ahost="$(sed -n 's/^ACRTRUST_SANDBOX_HOST=//p' "$work/audit-sandbox.out")"
	[ -n "$ahost" ] || fail "the audit sandbox did not start within 120 seconds"
	aauth="$(printf '%s:%s' puller "$password" | base64 | tr -d '\n')"
	# audit_config NAME: a DOCKER_CONFIG logged in as the puller (AcrPull), empty trust cache.
	audit_config() {
		local dir="$work/$1"
		rm -rf "$dir"
		mkdir -p "$dir/tls/$ahost"
		chmod 0700 "$dir"
		cp "$work/audit-ca.crt" "$dir/tls/$ahost/ca.crt"
		printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$ahost" "$aauth" >"$dir/config.json"
		printf '%s' "$dir"
	}
	# check_audit FILE N: the JSON report lists N repositories, all signed.
	check_audit() {
		local s
		s="$(tr -d ' \n' <"$1" | grep -o '"Summary":{"Repositories":[0-9]*,"Listed":[0-9]*,"WithTrustData":[0-9]*,"SignedTags":[0-9]*,"UnsignedTags":0,"DriftedTags":0,"MissingTags":0,"Errors":0' || true)"
		[[ "$s" == *"\"Repositories\":$2,"*"\"SignedTags\":$(($2 * audit_tags)),"* ]]
	}
	# audit never writes the trust cache, so every run reads the trust data
	# afresh: three runs, the median and the spread.
	audit_ms=""
	cfg="$(audit_config audit-catalog)"
	a_ms=()
	a_rss=()
	a_total=()
	a_split=()
	for run in 1 2 3; do
		note "audit: docker-acrtrust audit of the whole registry, run $run of 3"
		if rss_timed "$work/audit-$run.json" env DOCKER_CONFIG="$cfg" "$plugin" audit --format json "$ahost" && check_audit "$work/audit-$run.json" "$audit_repos"; then
			a_ms+=("$elapsed_ms")
			a_rss+=("$rss_mib")
			read -r t1 t2 t3 t4 _ <<<"$counts"
			a_total+=("$t1")
			a_split+=("$t2 / $t3 / $t4")
		else
			fail_row "$bench_audit" "\`docker-acrtrust audit\` (run $run)" "exit status or report wrong"
			fail_detail "$work/audit-$run.json.err"
			break
		fi
	done
	if [ "${#a_ms[@]}" -eq 3 ]; then
		audit_ms="$(median "${a_ms[@]}")"
		row "$bench_audit" "\`docker-acrtrust audit REGISTRY\` (catalog, --parallel 8)" "$(fmt_ms "$audit_ms") (median of 3; $(spread "${a_ms[@]}") ms)" "$(spread "${a_total[@]}")" "${a_split[0]}" "0" "peak memory $(spread "${a_rss[@]}") MiB"
	fi
	for n in 250 500 1000; do
		[ "$n" -le "$audit_repos" ] || continue
		for ((i = 0; i < n; i++)); do printf 'seed/r%04d\n' "$i"; done >"$work/repos-$n.txt"
		cfg="$(audit_config "audit-$n")"
		note "audit: --repos with $n repositories"
		if rss_timed "$work/audit-$n.json" env DOCKER_CONFIG="$cfg" "$plugin" audit --format json --repos "$work/repos-$n.txt" "$ahost" && check_audit "$work/audit-$n.json" "$n"; then
			row "audit scaling" "\`docker-acrtrust audit --repos\` $n repositories" "$(fmt_ms "$elapsed_ms") (1 run)" "$(cells_total "$counts")" "$(cells_split "$counts")" "$(cells_pub "$counts")" "peak memory ${rss_mib} MiB"
		else
			fail_row "audit scaling" "\`docker-acrtrust audit --repos\` $n" "exit status or report wrong"
			fail_detail "$work/audit-$n.json.err"
		fi
	done
	if [ "$audit_loops" -eq 0 ]; then
		note "audit: shell loops skipped (BENCH_PEERS_AUDIT_LOOPS=0)"
	elif [ -z "$notary_bin" ]; then
		skip_row "$bench_audit" "shell loop of \`notary list\`" "no notary CLI (apt-get install notary)"
	else
		notary_loop() {
			local i
			for ((i = 0; i < audit_repos; i++)); do
				"$notary_bin" -s "https://$ahost" -d "$work/notary-audit" --tlscacert "$work/audit-ca.crt" \
					list "$ahost/$(printf 'seed/r%04d' "$i")" || return
			done
		}
		note "audit: a shell loop of notary list over $audit_repos repositories"
		from="$(wc -l <"$alog")"
		start="$(date +%s%N)"
		if NOTARY_AUTH="$aauth" notary_loop >"$work/notary-loop.out" 2>&1 </dev/null; then
			end="$(date +%s%N)"
			loop_ms=$(((end - start) / 1000000))
			counts="$(log="$alog" window "$from")"
			lines="$(grep -cE '[0-9a-f]{64}' "$work/notary-loop.out" || true)"
			ratio=""
			[ -n "$audit_ms" ] && [ "$audit_ms" -gt 0 ] && ratio="$(awk -v a="$loop_ms" -v b="$audit_ms" 'BEGIN { printf "docker-acrtrust audit is %.1f× faster; notary list reads trust data only, audit also compares every tag with the registry", a / b }')"
			row "$bench_audit" "shell loop: \`notary list\` per repository ($audit_repos processes)" "$(fmt_ms "$loop_ms") (1 run)" "$(cells_total "$counts")" "$(cells_split "$counts")" "$(cells_pub "$counts")" "$lines signed tags listed; $ratio"
		else
			fail_row "$bench_audit" "shell loop of \`notary list\`" "a run failed"
			fail_detail "$work/notary-loop.out"
		fi
	fi
	[ "$audit_loops" -eq 0 ] || dct_inspect_loop_row
fi

# ---------------------------------------------------------------- report

cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
{
	printf '## bench-peers, %s\n\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
	printf -- '- machine: %s cores%s\n' "$(nproc 2>/dev/null || echo '?')" "${cpu:+, $cpu}"
	printf -- '- %s; sandbox https://%s (loopback, token auth, request log; %s ms added per request, %s)\n' \
		"$("$plugin" version 2>/dev/null </dev/null | head -n1)" "$host" "$latency" "$([ "$rate" -gt 0 ] && printf 'at most %s requests/s' "$rate" || printf 'no rate limit')"
	printf -- '- notary CLI: %s\n' "${notary_bin:-none}"
	printf -- '- docker CLI with content trust: %s\n' "${dct_docker:-none}${dct_version:+ ($dct_version)}"
	if [ -n "$engine" ]; then
		printf -- '- engine: %s%s\n\n' "$engine" "${DOCKER_HOST:+ at $DOCKER_HOST}"
	else
		printf -- '- engine: none (%s)\n\n' "$why_no_engine"
	fi
	printf '| Benchmark | Peer | Wall time | Requests to the host | trust / token / other | Publishes | Note |\n'
	printf '|---|---|---|---|---|---|---|\n'
	printf '%s\n' "${rows[@]}"
	printf '\nRequests are counted from the sandbox request log, per run; "trust" is /v2/<gun>/_trust/..., "token" is /oauth2/token, "other" is the registry (/v2/ ping, manifests, blobs). A spread like 3–4 means the runs differed.\n'
	printf 'Reference (from the issues): Docker 28 signed 100 tags in 9.4 s with one publish per tag; the notary CLI batch took 0.89 s; a warm resolution took Docker 28 4 requests to the trust server and the notary CLI 2.\n'
} >"$work/report.md"
mkdir -p "$(dirname "$out_md")"
cp "$work/report.md" "$out_md"
printf '\n'
cat "$work/report.md"
printf '\n(written to %s)\n' "$out_md"
exit "$failed"
