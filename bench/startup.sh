#!/usr/bin/env bash
# bench/startup.sh: how fast decoy starts and how much memory it holds at rest.
#
# Cases, each started ROUNDS times (the median is reported):
#   demo      `decoy serve` with no files: the built-in demo (HTTP, TLS, gRPC);
#   10k       10,000 stubs on distinct paths, plus 100 stubs on one path that
#             differ by a header, in one YAML file;
#   10k-json  the same stubs as a JSON file;
#   spec      the OpenAPI document SPEC (not run unless CASES names it), its
#             first answer on SPEC_PATH. For GitHub's API:
#             npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz
#             CASES=spec SPEC=package/generated/api.github.com.json bench/startup.sh
# Start-up is the wall time from launch until the first 200 answered over
# HTTP/1.1, asked by bash itself (/dev/tcp) every 2 ms: no process is
# started per try, so the polling takes next to nothing from decoy's CPUs
# (curl in a loop took 0.1 s from the demo's start, and up to 2 s from the
# 10,000 stubs', on a machine where a process start cost 20-30 ms).
# PROBE=curl polls with curl as before.
# Memory at rest is VmRSS two seconds after the first answer, with no load.
#
# Usage: bench/startup.sh
# Environment:
#   ROUNDS=5          starts per case
#   CASES="demo 10k 10k-json"   (and spec)
#   SPEC=path         the OpenAPI document of the spec case
#   SPEC_PATH=/       the path asked of it (an operation answering 200)
#   DECOY_BIN=path    use this decoy binary instead of building ./cmd/decoy
#   KEEP_TMP=1        keep the temporary directory
set -euo pipefail

ROUNDS=${ROUNDS:-5}
CASES=${CASES:-demo 10k 10k-json}

BENCH_NAME=startup
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tools=(curl getconf timeout awk)
[[ -n $DECOY_BIN ]] || tools+=(go)
require_tools "Debian: apt-get install -y curl coreutils; Go from /usr/local/go/bin" "${tools[@]}"
bench_init
check_idle
build_decoy

# make_stubs: $TMP/10k.yaml and $TMP/10k.json.
make_stubs() {
	awk 'BEGIN {
		for (i = 0; i < 10000; i++)
			printf "- request: {method: GET, path: /items/%d}\n  response: {status: 200, headers: {Content-Type: application/json}, body: {id: %d, name: item-%d}}\n", i, i, i
		for (i = 0; i < 100; i++)
			printf "- request: {method: GET, path: /tenant, headers: {X-Tenant: {equals: t%d}}}\n  response: {status: 200, body: {tenant: t%d}}\n", i, i
	}' >"$TMP/10k.yaml"
	awk 'BEGIN {
		printf "["
		for (i = 0; i < 10000; i++)
			printf "%s{\"request\":{\"method\":\"GET\",\"path\":\"/items/%d\"},\"response\":{\"status\":200,\"headers\":{\"Content-Type\":\"application/json\"},\"body\":{\"id\":%d,\"name\":\"item-%d\"}}}\n", (i ? "," : ""), i, i, i
		for (i = 0; i < 100; i++)
			printf ",{\"request\":{\"method\":\"GET\",\"path\":\"/tenant\",\"headers\":{\"X-Tenant\":{\"equals\":\"t%d\"}}},\"response\":{\"status\":200,\"body\":{\"tenant\":\"t%d\"}}}\n", i, i
		print "]"
	}' >"$TMP/10k.json"
}

# answered URL: true when an HTTP/1.1 GET of URL (http://127.0.0.1:PORT/PATH)
# is answered 200. With PROBE=curl, curl asks; else bash itself, over
# /dev/tcp, after waiting 2 ms on the never-written descriptor 4 (a pause
# that starts no process).
answered() {
	if [[ ${PROBE:-bash} == curl ]]; then
		curl -sf -o /dev/null --max-time 1 "$1" 2>/dev/null
		return
	fi
	local rest=${1#http://} line=""
	local hostport=${rest%%/*} path=/${rest#*/}
	read -r -t 0.002 -u 4 _ || true
	{ exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"; } 2>/dev/null || return 1
	printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
	IFS= read -r -t 1 line <&3 || true
	exec 3<&- 3>&-
	[[ $line == "HTTP/1.1 200 "* ]]
}

# start_once CASE: launch decoy, wait for the first 200, print "ms rss_kib".
start_once() {
	local case=$1 port url pid t0 t1 i
	local -a files=()
	port=$(free_port)
	case $case in
	demo) url=http://127.0.0.1:$port/users ;;
	10k) files=("$TMP/10k.yaml") url=http://127.0.0.1:$port/items/9999 ;;
	10k-json) files=("$TMP/10k.json") url=http://127.0.0.1:$port/items/9999 ;;
	spec)
		[[ -f ${SPEC:-} ]] || die "CASES=spec needs SPEC=path of an OpenAPI document"
		files=("$SPEC") url=http://127.0.0.1:$port${SPEC_PATH:-/}
		;;
	*) die "unknown case $case (want demo, 10k, 10k-json or spec)" ;;
	esac
	local -a listen=(--http "127.0.0.1:$port" --admin "")
	if [[ $case == demo ]]; then
		# The demo's TLS and gRPC listeners are part of its start-up.
		listen+=(--https "127.0.0.1:$(free_port)" --grpc "127.0.0.1:$(free_port)")
	else
		listen+=(--https "" --grpc "")
	fi
	t0=$(date +%s%N)
	"$DECOY_BIN" serve --quiet "${listen[@]}" "${files[@]+"${files[@]}"}" >"$TMP/$case.log" 2>&1 &
	pid=$!
	started "$pid"
	for ((i = 0; i < 3000; i++)); do
		if answered "$url"; then
			break
		fi
		kill -0 "$pid" 2>/dev/null || { cat "$TMP/$case.log" >&2; die "decoy exited during start-up ($case)"; }
	done
	t1=$(date +%s%N)
	((i < 3000)) || die "decoy did not answer $url ($case)"
	sleep 2
	echo "$(((t1 - t0) / 1000000)) $(tree_rss_kib "$pid")"
	stop_server "$pid"
}


make_stubs
# The pause between tries (see answered): a FIFO nobody writes to.
mkfifo "$TMP/pause"
exec 4<>"$TMP/pause"
echo "# $(machine_line); $(date -u +%Y-%m-%dT%H:%MZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %8s %14s %14s %16s\n' case rounds start_ms_p50 start_ms_max rss_at_rest_mib
for c in $CASES; do
	: >"$TMP/$c.times"
	for ((r = 0; r < ROUNDS; r++)); do
		start_once "$c" >>"$TMP/$c.times"
	done
	ms=$(cut -d' ' -f1 "$TMP/$c.times" | median)
	max=$(cut -d' ' -f1 "$TMP/$c.times" | sort -n | tail -1)
	rss=$(cut -d' ' -f2 "$TMP/$c.times" | median)
	printf '%-10s %8d %14s %14s %16.1f\n' "$c" "$ROUNDS" "$ms" "$max" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
done
