#!/usr/bin/env bash
# bench/stubcount.sh: does a request cost more when decoy holds more stubs?
#
# Two stub sets, each served by its own decoy in turn, every stub answering
# the same 168-byte JSON body:
#   small   10 stubs: GET /users/42, 8 other paths, and one stub on
#           /variants that asks for the header X-Variant: v99;
#   large   10,000 stubs: GET /users/42, 9,899 other paths, and 100 stubs
#           on /variants differing by the value they ask of X-Variant
#           (v0 ... v99, in that order, so v99 is the last tried).
# Two requests against each, HTTP/1.1 keep-alive, wrk -t1 -c64:
#   path     GET /users/42 (an exact path among the others);
#   header   GET /variants with X-Variant: v99 (among 100, the last).
# The figure is decoy's CPU time per request (utime + stime from /proc),
# large against small for the same request, one ratio per round and their
# median. decoy runs pinned to SERVER_CPU, wrk to CLIENT_CPU.
#
# Usage: bench/stubcount.sh
# Environment:
#   DURATION=6        seconds of each measured wrk run (after 1 s of warm-up)
#   ROUNDS=3          rounds of: small, large
#   CONNS=64          wrk's connections
#   SERVER_CPU=0 CLIENT_CPU=1
#   DECOY_BIN=path    use this decoy binary instead of building ./cmd/decoy
#   DECOY_FLAGS=...   more flags for decoy serve
#   KEEP_TMP=1        keep the temporary directory
set -euo pipefail

DURATION=${DURATION:-6}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

BENCH_NAME=stubcount
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tools=(wrk taskset curl timeout awk)
[[ -n $DECOY_BIN ]] || tools+=(go)
require_tools "Debian: apt-get install -y wrk curl util-linux; Go from /usr/local/go/bin" "${tools[@]}"
require_cpus
((DURATION > 0 && ROUNDS > 0 && CONNS > 0)) || die "DURATION, ROUNDS and CONNS must be positive"

bench_init
machine_line
check_idle
build_decoy

# stubs FILE PATHS VARIANTS: the stubs beside start_decoy's GET /users/42:
# PATHS other exact paths, then VARIANTS stubs on /variants asking for
# X-Variant: v(100-VARIANTS) ... v99, all answering BODY.
stubs() {
	awk -v paths="$2" -v variants="$3" -v body="$BODY" 'BEGIN {
		r = "  response: {status: 200, headers: {Content-Type: application/json}, body: '\''" body "'\''}"
		for (i = 0; i < paths; i++)
			printf "- request: {method: GET, path: /items/%d}\n%s\n", i, r
		for (i = 100 - variants; i < 100; i++)
			printf "- request: {method: GET, path: /variants, headers: {X-Variant: {equals: v%d}}}\n%s\n", i, r
	}' >"$1"
}
stubs "$TMP/small.yaml" 8 1
stubs "$TMP/large.yaml" 9899 100

ROWS=() # "set request cpu_us rps p99" per run

# run_wrk PORT OUT [WRK ARGS...]: wrk pinned to CLIENT_CPU on /users/42 or,
# with -H, on /variants.
run_wrk() {
	local port=$1 out=$2 secs=$3
	shift 3
	timeout "$((secs + 30))" taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${secs}s" --latency "$@" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed against port $port"; }
}

measure() {
	local set=$1 round=$2 port
	port=$(free_port)
	STUB_FILES=$TMP/$set.yaml start_decoy --http "127.0.0.1:$port" --https "" --grpc "" --admin ""
	wait_ready "decoy ($set)" "$SERVER_PID" "http://127.0.0.1:$port$PATH_UNDER_TEST" "$SERVER_LOG"
	[[ $(curl -sf --max-time 2 -H 'X-Variant: v99' "http://127.0.0.1:$port/variants") == "$BODY" ]] ||
		die "decoy ($set) does not answer GET /variants with X-Variant: v99"
	local req before after out requests errors
	for req in path header; do
		local -a args=("http://127.0.0.1:$port$PATH_UNDER_TEST")
		[[ $req == path ]] || args=(-H 'X-Variant: v99' "http://127.0.0.1:$port/variants")
		out=$TMP/$set-$req-$round
		run_wrk "$port" "$out.warmup" 1 "${args[@]}"
		before=$(tree_ticks "$SERVER_PID")
		run_wrk "$port" "$out" "$DURATION" "${args[@]}"
		after=$(tree_ticks "$SERVER_PID")
		requests=$(wrk_stat "$out" requests)
		errors=$(wrk_stat "$out" errors)
		[[ $requests =~ ^[0-9]+$ && $requests -gt 0 ]] || { cat "$out" >&2; die "decoy ($set): wrk completed no requests"; }
		((errors == 0)) || die "decoy ($set) round $round: $errors socket errors or non-2xx responses (see $out)"
		local cpu_us
		cpu_us=$(us_per "$((after - before))" "$requests")
		printf '%-5s  %-5s  %-6s  %10s  %8s  %12s\n' "$round" "$set" "$req" \
			"$(wrk_stat "$out" rps)" "$(wrk_stat "$out" p99)" "$cpu_us"
		ROWS+=("$set $req $cpu_us")
	done
	stop_server "$SERVER_PID"
	forget "$SERVER_PID"
}

log "small: 10 stubs; large: 10,000 (9,900 paths, 100 on /variants by X-Variant); wrk -t1 -c$CONNS, ${DURATION}s per run"
echo
printf '%-5s  %-5s  %-6s  %10s  %8s  %12s\n' round set req req/s "p99 us" "us CPU/req"
for ((r = 1; r <= ROUNDS; r++)); do
	measure small "$r"
	measure large "$r"
done

echo
printf '%s\n' "${ROWS[@]}" | awk '
	{ k = $1 SUBSEP $2; n[k]++; v[k, n[k]] = $3 }
	END {
		split("path header", reqs, " ")
		for (q = 1; q <= 2; q++) {
			req = reqs[q]; s = "small" SUBSEP req; l = "large" SUBSEP req
			m = 0; per = ""
			for (i = 1; i <= n[s] && i <= n[l]; i++) {
				r[++m] = v[l, i] / v[s, i]
				per = per sprintf("%s%.2f", (i > 1 ? ", " : ""), r[m])
			}
			for (i = 2; i <= m; i++) for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
			med = (m % 2) ? r[(m + 1) / 2] : (r[m / 2] + r[m / 2 + 1]) / 2
			printf "%-6s  large/small CPU per request: median %.2f (per round: %s)\n", req, med, per
		}
	}'
