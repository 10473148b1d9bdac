#!/usr/bin/env bash
# bench/http1-nginx.sh: decoy against nginx, HTTP/1.1 on loopback.
#
# Both servers answer GET /users/42 with the same 168-byte JSON body. Each one
# runs pinned to CPU 0, wrk runs pinned to CPU 1, and the script reports the
# server's CPU time per request (read from /proc), which is what separates
# fast servers once the single wrk core is the bottleneck. Runs alternate
# (nginx, decoy, then decoy, nginx, ...) so that machine drift hits both
# alike, and the summary gives decoy/nginx ratios of CPU per request and of
# the p99 per round.
# See bench/README.md for the method and the columns.
#
# Usage: bench/http1-nginx.sh            (from anywhere in the repository)
# Environment:
#   MODE=keepalive     keepalive: one connection carries every request (default)
#                      close: a new connection per request (wrk -H 'Connection: close')
#                      tls: TLS 1.3 keep-alive, both servers with one certificate
#                      made here by openssl and the same cipher suite
#   DURATION=10        seconds per measured wrk run
#   ROUNDS=2           how many times each server is measured
#   CONNS=64           wrk connections for the throughput run (the c=1 run is separate)
#   WARMUP=1           seconds of unmeasured load before each measurement (0: none)
#   SERVERS="nginx decoy"  which servers to run, in order; "fasthttp" adds a
#                      bare fasthttp server (bench/fhref, keepalive and close
#                      modes), the library decoy's HTTP/1.1 path is built on
#   SERVER_CPU=0 CLIENT_CPU=1  the CPUs to pin server and wrk to
#   DECOY_BIN=path     use this decoy binary instead of building ./cmd/decoy
#   DECOY_FLAGS=...    more flags for decoy serve (e.g. "--journal-size 0")
#   DECOY_SOURCE=openapi  decoy serves the body as an OpenAPI example (default: a stub)
#   STUB_HEADERS="Server: nginx/1.22.1"  more headers on decoy's stub (YAML
#                      flow-map entries, comma-separated)
#   TLS_CIPHERSUITE=TLS_AES_128_GCM_SHA256  nginx's TLS 1.3 suite (MODE=tls)
#   RESULTS_TSV=path   also append one tab-separated line per run to this file
#   KEEP_TMP=1         keep the temporary directory (configs, logs) for inspection
set -euo pipefail

MODE=${MODE:-keepalive}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-64}
WARMUP=${WARMUP:-1}
SERVERS=${SERVERS:-nginx decoy}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
RESULTS_TSV=${RESULTS_TSV:-}

BENCH_NAME=http1-nginx
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- prerequisites

check_prereqs() {
	case $MODE in
	keepalive | close | tls) ;;
	*) die "unknown MODE=$MODE (want keepalive, close or tls)" ;;
	esac
	local -a tools=(wrk taskset curl getconf timeout awk)
	[[ $MODE != tls ]] || tools+=(openssl)
	case " $SERVERS " in *" nginx "*) tools+=(nginx) ;; esac
	case " $SERVERS " in *" decoy "*) [[ -n $DECOY_BIN ]] || tools+=(go) ;; esac
	case " $SERVERS " in *" fasthttp "*) tools+=(go) ;; esac
	require_tools "Debian: apt-get install -y nginx wrk curl openssl util-linux coreutils; Go from /usr/local/go/bin" "${tools[@]}"
	require_cpus
	local s
	for s in $SERVERS; do
		case $s in
		nginx | decoy) ;;
		fasthttp) [[ $MODE != tls ]] || die "SERVERS: fasthttp runs without TLS only (MODE=keepalive or close)" ;;
		*) die "unknown server in SERVERS: $s (want nginx, decoy and/or fasthttp)" ;;
		esac
	done
}

# The URL wrk asks, and curl's extra arguments, for MODE.
SCHEME=http
CURL_ARGS=()
WRK_ARGS=()
setup_mode() {
	case $MODE in
	close)
		WRK_ARGS=(-H 'Connection: close')
		CURL_ARGS=(-H 'Connection: close')
		;;
	tls)
		SCHEME=https
		make_cert "$TMP/tls"
		CURL_ARGS=(--cacert "$TMP/tls/cert.pem" --http1.1)
		;;
	esac
}

# start PORT SERVER: start SERVER on 127.0.0.1:PORT for MODE.
start() {
	local port=$1 server=$2
	case $server:$MODE in
	nginx:tls) start_nginx "$port" ssl "$(nginx_tls_conf "$TMP/tls")" ;;
	nginx:*) start_nginx "$port" "" ;;
	decoy:tls)
		start_decoy --http "" --https "127.0.0.1:$port" --admin "" \
			--tls-cert "$TMP/tls/cert.pem" --tls-key "$TMP/tls/key.pem"
		;;
	decoy:*) start_decoy --http "127.0.0.1:$port" --https "" --admin "" ;;
	fasthttp:*)
		taskset -c "$SERVER_CPU" "$FHREF" -addr "127.0.0.1:$port" -body "$BODY" >"$TMP/fhref.log" 2>&1 &
		SERVER_PID=$!
		started "$SERVER_PID"
		SERVER_LOG=$TMP/fhref.log
		;;
	esac
}


# ---------------------------------------------------------------- measuring

# run_wrk CONNS SECONDS PORT OUTFILE: wrk pinned to CLIENT_CPU, bounded by timeout.
run_wrk() {
	local conns=$1 secs=$2 port=$3 out=$4
	timeout "$((secs + 30))" taskset -c "$CLIENT_CPU" \
		wrk -t1 -c"$conns" -d"${secs}s" --latency "${WRK_ARGS[@]+"${WRK_ARGS[@]}"}" \
		"$SCHEME://127.0.0.1:$port$PATH_UNDER_TEST" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed against port $port"; }
}

ROWS=() # one "server rps p50 p99 cpu_us rss_mib c1_p50" line per run

# measure SERVER ROUND: start the server, warm up, run wrk -c CONNS (CPU per
# request measured around it), then wrk -c1 for latency, then stop the server.
measure() {
	local server=$1 round=$2 port
	port=$(free_port)
	start "$port" "$server"
	wait_ready "$server" "$SERVER_PID" "$SCHEME://127.0.0.1:$port$PATH_UNDER_TEST" "$SERVER_LOG" \
		"${CURL_ARGS[@]+"${CURL_ARGS[@]}"}"
	if [[ $MODE == tls && $round == 1 ]]; then
		log "$server negotiates $(tls_params "$port")"
	fi

	local out=$TMP/$server-$round
	if ((WARMUP > 0)); then
		run_wrk "$CONNS" "$WARMUP" "$port" "$out.warmup"
	fi

	local before after
	before=$(tree_ticks "$SERVER_PID")
	run_wrk "$CONNS" "$DURATION" "$port" "$out.c$CONNS"
	after=$(tree_ticks "$SERVER_PID")
	local rss_kib
	rss_kib=$(tree_rss_kib "$SERVER_PID")

	run_wrk 1 "$DURATION" "$port" "$out.c1"
	stop_server "$SERVER_PID"

	local requests rps p50 p99 errors c1_p50 cpu_us rss_mib
	requests=$(wrk_stat "$out.c$CONNS" requests)
	rps=$(wrk_stat "$out.c$CONNS" rps)
	p50=$(wrk_stat "$out.c$CONNS" p50)
	p99=$(wrk_stat "$out.c$CONNS" p99)
	errors=$(wrk_stat "$out.c$CONNS" errors)
	c1_p50=$(wrk_stat "$out.c1" p50)
	[[ $requests =~ ^[0-9]+$ && $requests -gt 0 ]] || { cat "$out.c$CONNS" >&2; die "$server: wrk completed no requests"; }
	((errors == 0)) || log "WARNING: $server round $round: $errors socket errors or non-2xx responses (see $out.c$CONNS)"
	cpu_us=$(us_per "$((after - before))" "$requests")
	rss_mib=$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')

	printf '%-5s  %-6s  %10s  %8s  %8s  %12s  %7s  %10s\n' \
		"$round" "$server" "$rps" "$p50" "$p99" "$cpu_us" "$rss_mib" "$c1_p50"
	ROWS+=("$server $rps $p50 $p99 $cpu_us $rss_mib $c1_p50")
	if [[ -n $RESULTS_TSV ]]; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$round" "$server" \
			"$rps" "$p50" "$p99" "$cpu_us" "$rss_mib" "$c1_p50" "$MODE" >>"$RESULTS_TSV"
	fi
}

# summary: per-server means, and decoy/nginx ratios (of the means, per round,
# and the rounds' median).
summary() {
	echo
	printf '%s\n' "${ROWS[@]}" | awk -v order="$SERVERS" '
		{ n[$1]++; rps[$1] += $2; cpu[$1] += $5; c1[$1] += $7; cpus[$1, n[$1]] = $5; p99s[$1, n[$1]] = $4 }
		END {
			printf "%-6s  %5s  %10s  %14s  %14s\n", "server", "runs", "mean req/s", "mean us CPU/req", "mean c=1 p50 us"
			k = split(order, names, " ")
			for (j = 1; j <= k; j++) if ((s = names[j]) in n && !(s in done)) {
				done[s] = 1
				printf "%-6s  %5d  %10.0f  %15.1f  %15.0f\n", s, n[s], rps[s] / n[s], cpu[s] / n[s], c1[s] / n[s]
			}
			if (n["nginx"] && n["decoy"]) {
				per = ""
				m = 0
				for (i = 1; i <= n["decoy"] && i <= n["nginx"]; i++) {
					r[++m] = cpus["decoy", i] / cpus["nginx", i]
					per = per sprintf("%s%.2f", (i > 1 ? ", " : ""), r[m])
				}
				# The median of the rounds: one round disturbed by other
				# work on the machine moves the mean, not the median.
				for (i = 2; i <= m; i++) for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
				med = (m % 2) ? r[(m + 1) / 2] : (r[m / 2] + r[m / 2 + 1]) / 2
				printf "\nratio decoy/nginx of mean us CPU per request: %.2f  (per round: %s; median %.2f)\n",
					(cpu["decoy"] / n["decoy"]) / (cpu["nginx"] / n["nginx"]), per, med
				# The p99 by round: with the core of wrk the limit, single
				# rounds of either server move a lot, so what counts is
				# how often the p99 of decoy is the lower, and the median
				# ratio.
				per = ""
				lower = 0
				for (i = 1; i <= m; i++) {
					q[i] = p99s["decoy", i] / p99s["nginx", i]
					lower += q[i] < 1
					per = per sprintf("%s%.2f", (i > 1 ? ", " : ""), q[i])
				}
				for (i = 2; i <= m; i++) for (j = i; j > 1 && q[j - 1] > q[j]; j--) { t = q[j]; q[j] = q[j - 1]; q[j - 1] = t }
				med = (m % 2) ? q[(m + 1) / 2] : (q[m / 2] + q[m / 2 + 1]) / 2
				printf "ratio decoy/nginx of p99: decoy the lower in %d of %d rounds (per round: %s; median %.2f)\n", lower, m, per, med
			}
			if (n["nginx"] && n["fasthttp"])
				printf "ratio fasthttp/nginx of mean us CPU per request: %.2f\n", (cpu["fasthttp"] / n["fasthttp"]) / (cpu["nginx"] / n["nginx"])
			if (n["fasthttp"] && n["decoy"])
				printf "ratio decoy/fasthttp of mean us CPU per request: %.2f\n", (cpu["decoy"] / n["decoy"]) / (cpu["fasthttp"] / n["fasthttp"])
		}'
}

# ---------------------------------------------------------------- main

check_prereqs
check_idle
bench_init
setup_mode
case " $SERVERS " in *" decoy "*) build_decoy ;; esac
FHREF=$TMP/fhref
case " $SERVERS " in *" fasthttp "*) go_build ./bench/fhref "$FHREF" ;; esac

case $MODE in
keepalive) what="HTTP/1.1 keep-alive" ;;
close) what="HTTP/1.1, a new connection per request (Connection: close)" ;;
tls) what="HTTP/1.1 over TLS, keep-alive" ;;
esac
log "MODE=$MODE: GET $PATH_UNDER_TEST, ${#BODY}-byte body, $what on 127.0.0.1"
log "server on CPU $SERVER_CPU, wrk -t1 on CPU $CLIENT_CPU; ${DURATION}s per run (${WARMUP}s warm-up), $ROUNDS rounds of: $SERVERS"
log "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //')${DECOY_BIN:+; decoy: $DECOY_BIN}"
echo
printf '%-5s  %-6s  %10s  %8s  %8s  %12s  %7s  %10s\n' \
	round server req/s "p50 us" "p99 us" "us CPU/req" "RSS MiB" "c=1 p50 us"
# Each round starts with the next server in turn (nginx decoy, decoy nginx,
# ...), so that neither always runs first after a pause.
read -r -a order <<<"$SERVERS"
for ((r = 1; r <= ROUNDS; r++)); do
	for ((k = 0; k < ${#order[@]}; k++)); do
		measure "${order[(r - 1 + k) % ${#order[@]}]}" "$r"
	done
done
summary
