#!/usr/bin/env bash
# bench/overhead.sh: decoy's own time per request at half its maximum
# throughput, from its metric decoy_processing_seconds (from the parsed
# request to the response ready to write; injected delay excluded).
#
# 1. wrk -t1 -c64 finds the maximum requests/s of the static stub
#    (GET /users/42, the 168-byte JSON body) for DURATION seconds;
# 2. wrk then offers about half of that: CONNS_HALF connections that each
#    wait PACE_MS between their requests (wrk's Lua delay()), with
#    CONNS_HALF = (max / 2) x PACE_MS / 1000, then scaled by what an
#    unmeasured paced run reached (each request's latency adds to the wait);
# 3. the histogram of decoy_processing_seconds is read from the admin API
#    before and after step 2; the difference gives the share of requests
#    within 100 µs and the bucket bound holding the 99th percentile.
# decoy runs pinned to SERVER_CPU, wrk to CLIENT_CPU, both on loopback.
#
# Usage: bench/overhead.sh
# Environment:
#   DURATION=10       seconds per wrk run
#   PACE_MS=10        wait between two requests of a connection at half load
#   SERVER_CPU=0 CLIENT_CPU=1
#   DECOY_BIN=path    use this decoy binary instead of building ./cmd/decoy
#   DECOY_FLAGS=...   more flags for decoy serve
#   KEEP_TMP=1        keep the temporary directory
set -euo pipefail

DURATION=${DURATION:-10}
PACE_MS=${PACE_MS:-10}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

BENCH_NAME=overhead
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tools=(wrk taskset curl timeout awk)
[[ -n $DECOY_BIN ]] || tools+=(go)
require_tools "Debian: apt-get install -y wrk curl util-linux; Go from /usr/local/go/bin" "${tools[@]}"
require_cpus
((DURATION > 0 && PACE_MS > 0)) || die "DURATION and PACE_MS must be positive"

bench_init
machine_line
check_idle
build_decoy

PORT=$(free_port)
ADMIN=$(free_port)
start_decoy --http "127.0.0.1:$PORT" --https "" --grpc "" --admin "127.0.0.1:$ADMIN"
URL=http://127.0.0.1:$PORT$PATH_UNDER_TEST
wait_ready decoy "$SERVER_PID" "$URL" "$SERVER_LOG"

# histogram FILE: "le count" lines of decoy_processing_seconds, summed over stubs.
histogram() {
	curl -sf --max-time 5 "http://127.0.0.1:$ADMIN/metrics" |
		awk '/^decoy_processing_seconds_bucket\{/ {
			match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5)
			sum[le] += $NF
		} END { for (le in sum) print le, sum[le] }' | sort -g >"$1"
	[[ -s $1 ]] || die "no decoy_processing_seconds in the admin API's /metrics"
}

run() {
	local out=$1
	shift
	timeout "$((DURATION + 30))" taskset -c "$CLIENT_CPU" wrk -t1 -d"${DURATION}s" --latency "$@" "$URL" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed"; }
	(($(wrk_stat "$out" errors) == 0)) || { cat "$out" >&2; die "wrk saw errors"; }
}

log "maximum: wrk -c64"
run "$TMP/max.txt" -c64
max=$(wrk_stat "$TMP/max.txt" rps)
conns=$(((max / 2) * PACE_MS / 1000))
((conns > 0)) || die "maximum of $max requests/s is too low to pace"
cat >"$TMP/pace.lua" <<LUA
function delay() return $PACE_MS end
LUA
# Each request's own latency adds to PACE_MS: one unmeasured run tells by
# how much, and the connection count is scaled to land near half.
log "pacing: wrk -c$conns, each connection waiting ${PACE_MS} ms between requests"
run "$TMP/pace.txt" -c"$conns" -s "$TMP/pace.lua"
paced=$(wrk_stat "$TMP/pace.txt" rps)
((paced > 0)) || die "no requests at the paced rate"
conns=$((conns * (max / 2) / paced))
log "half: wrk -c$conns"
histogram "$TMP/before.txt"
run "$TMP/half.txt" -c"$conns" -s "$TMP/pace.lua"
histogram "$TMP/after.txt"
half=$(wrk_stat "$TMP/half.txt" rps)

# The difference of the two cumulative histograms, then the shares.
awk -v max="$max" -v half="$half" \
	-v p50="$(wrk_stat "$TMP/half.txt" p50)" -v p99="$(wrk_stat "$TMP/half.txt" p99)" '
	NR == FNR { before[$1] = $2; next }
	{ k++; le[k] = $1; n[k] = $2 - before[$1] }
	END {
		total = n[k] # le="+Inf", the last line
		if (total <= 0) { print "no requests counted"; exit 1 }
		for (i = 1; i <= k; i++) {
			if (le[i] + 0 == 0.0001) within = n[i]
			if (!p99b && n[i] >= 0.99 * total) p99b = le[i]
		}
		printf "maximum %d requests/s; at half load %d requests/s (%.0f%%), client p50 %d us, p99 %d us\n", max, half, 100 * half / max, p50, p99
		printf "decoy_processing_seconds over %d requests: %.3f%% within 100 us; p99 <= %s s (bucket bound)\n", total, 100 * within / total, p99b
	}' "$TMP/before.txt" "$TMP/after.txt"
