#!/usr/bin/env bash
# bench/delay.sh: do delays cost throughput? decoy answers GET /users/42 after
# a fixed delay; wrk holds CONNS keep-alive connections, each waiting for its
# answer before asking again, so the best possible rate is CONNS / DELAY
# requests/s (10,000 for 1,000 connections and 100 ms). The script reports
# the rate reached as a share of that bound, and how late the answers were:
# wrk's p50/p99 minus the delay. decoy runs pinned to SERVER_CPU, wrk to
# CLIENT_CPU.
#
# Usage: bench/delay.sh
# Environment:
#   CONNS=1000        connections (each one request in flight)
#   DELAY_MS=100      the stub's fixed latency
#   DURATION=10       seconds of measured load (after WARMUP)
#   WARMUP=2          seconds of unmeasured load first
#   SERVER_CPU=0 CLIENT_CPU=1  the CPUs to pin decoy and wrk to
#   DECOY_BIN=path    use this decoy binary instead of building ./cmd/decoy
#   DECOY_FLAGS=...   more flags for decoy serve
#   KEEP_TMP=1        keep the temporary directory
set -euo pipefail

CONNS=${CONNS:-1000}
DELAY_MS=${DELAY_MS:-100}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

BENCH_NAME=delay
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tools=(wrk taskset curl getconf timeout awk)
[[ -n $DECOY_BIN ]] || tools+=(go)
require_tools "Debian: apt-get install -y wrk curl util-linux coreutils; Go from /usr/local/go/bin" "${tools[@]}"
require_cpus
((CONNS > 0 && DELAY_MS > 0)) || die "CONNS and DELAY_MS must be positive"
nofile=$(ulimit -n)
((nofile > CONNS + 100)) || die "open-file limit $nofile is too low for $CONNS connections (ulimit -n $((CONNS + 1000)))"

bench_init
check_idle
build_decoy

run_wrk() {
	local secs=$1 out=$2
	timeout "$((secs + 30))" taskset -c "$CLIENT_CPU" \
		wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 10s --latency \
		"http://127.0.0.1:$PORT$PATH_UNDER_TEST" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed"; }
}

PORT=$(free_port)
dir=$TMP/decoy-run
mkdir -p "$dir"
cat >"$dir/stubs.yaml" <<EOF
- request: {method: GET, path: $PATH_UNDER_TEST}
  response:
    status: 200
    headers: {Content-Type: application/json}
    body: '$BODY'
    latency: ${DELAY_MS}ms
EOF
extra=()
# shellcheck disable=SC2206 # DECOY_FLAGS is a list of words on purpose
[[ -z ${DECOY_FLAGS:-} ]] || extra=($DECOY_FLAGS)
taskset -c "$SERVER_CPU" "$DECOY_BIN" serve --quiet --http "127.0.0.1:$PORT" --https "" --admin "" \
	--grpc "" --journal-size 0 "${extra[@]+"${extra[@]}"}" "$dir/stubs.yaml" >"$dir/decoy.log" 2>&1 &
SERVER_PID=$!
started "$SERVER_PID"
wait_ready decoy "$SERVER_PID" "http://127.0.0.1:$PORT$PATH_UNDER_TEST" "$dir/decoy.log"

((WARMUP <= 0)) || run_wrk "$WARMUP" "$TMP/warmup.txt"
t0=$(tree_ticks "$SERVER_PID")
run_wrk "$DURATION" "$TMP/wrk.txt"
t1=$(tree_ticks "$SERVER_PID")
rss=$(tree_rss_kib "$SERVER_PID")

out=$TMP/wrk.txt
requests=$(wrk_stat "$out" requests)
rps=$(wrk_stat "$out" rps)
p50=$(wrk_stat "$out" p50)
p99=$(wrk_stat "$out" p99)
errors=$(wrk_stat "$out" errors)
bound=$(awk -v c="$CONNS" -v d="$DELAY_MS" 'BEGIN { printf "%.0f", c * 1000 / d }')

echo "# $(machine_line); $(date -u +%Y-%m-%dT%H:%MZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# wrk -t1 -c$CONNS -d${DURATION}s against a stub with latency ${DELAY_MS}ms (decoy on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)"
printf '%-12s %10s %10s %10s %14s %14s %14s %8s %10s %9s\n' connections delay_ms rps bound share late_p50_ms late_p99_ms errors cpu_us/req rss_mib
awk -v c="$CONNS" -v d="$DELAY_MS" -v rps="$rps" -v b="$bound" -v p50="$p50" -v p99="$p99" -v e="$errors" \
	-v cpu="$(us_per $((t1 - t0)) "$requests")" -v rss="$rss" 'BEGIN {
	printf "%-12d %10d %10d %10d %13.1f%% %14.2f %14.2f %8d %10s %9.1f\n",
		c, d, rps, b, 100 * rps / b, (p50 - d * 1000) / 1000, (p99 - d * 1000) / 1000, e, cpu, rss / 1024
}'
