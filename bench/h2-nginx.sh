#!/usr/bin/env bash
# bench/h2-nginx.sh: decoy against nginx over HTTP/2 on loopback, with h2load.
#
# Both servers answer GET /users/42 with the same 168-byte JSON body, over
# h2c with prior knowledge (MODE=h2c: nginx `listen PORT http2;`, decoy's
# plain HTTP port) or over TLS with ALPN h2 (MODE=tls: one certificate made
# here, the same TLS 1.3 cipher suite on both). The server runs pinned to
# CPU 0, h2load to CPU 1; the script reports the server's CPU time per
# request from /proc, requests/s and latency percentiles (from h2load's
# per-request log), interleaving the servers round after round.
# See bench/README.md for the method and the columns.
#
# Usage: bench/h2-nginx.sh               (from anywhere in the repository)
# Environment:
#   MODE=h2c           h2c: HTTP/2 with prior knowledge on a plain port (default)
#                      tls: HTTP/2 over TLS 1.3 (ALPN h2)
#   BODY_BYTES=N       serve a body of N bytes from a file instead (nginx with
#                      sendfile, decoy from a bodyFile stub); the defaults
#                      below then become REQUESTS=3000 CONNS=4 STREAMS=4 WARMUP=300
#   REQUESTS=300000    requests per measured h2load run (h2load -n)
#   CONNS=16 STREAMS=10  h2load -c and -m (concurrent streams per connection)
#   WARMUP=20000       requests of an unmeasured h2load run before each measurement (0: none)
#   ROUNDS=3           how many times each server is measured
#   SERVERS="nginx decoy"  which servers to run, in order
#   SERVER_CPU=0 CLIENT_CPU=1  the CPUs to pin server and h2load to
#   LATENCY=1          have h2load log every request to compute p50/p99 (0: skip;
#                      the log costs h2load, not the server, some CPU)
#   DECOY_BIN=path     use this decoy binary instead of building ./cmd/decoy
#   DECOY_FLAGS=...    more flags for decoy serve (e.g. "--journal-size 0")
#   TLS_CIPHERSUITE=TLS_AES_128_GCM_SHA256  nginx's TLS 1.3 suite (MODE=tls)
#   RESULTS_TSV=path   also append one tab-separated line per run to this file
#   KEEP_TMP=1         keep the temporary directory (configs, logs) for inspection
set -euo pipefail

MODE=${MODE:-h2c}
BODY_BYTES=${BODY_BYTES:-}
if [[ -n $BODY_BYTES ]]; then
	REQUESTS=${REQUESTS:-3000} CONNS=${CONNS:-4} STREAMS=${STREAMS:-4} WARMUP=${WARMUP:-300}
fi
REQUESTS=${REQUESTS:-300000}
CONNS=${CONNS:-16}
STREAMS=${STREAMS:-10}
WARMUP=${WARMUP:-20000}
ROUNDS=${ROUNDS:-3}
SERVERS=${SERVERS:-nginx decoy}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
LATENCY=${LATENCY:-1}
RESULTS_TSV=${RESULTS_TSV:-}

BENCH_NAME=h2-nginx
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_prereqs() {
	case $MODE in
	h2c | tls) ;;
	*) die "unknown MODE=$MODE (want h2c or tls)" ;;
	esac
	[[ $REQUESTS =~ ^[0-9]+$ && $REQUESTS -ge 1000 ]] || die "REQUESTS=$REQUESTS: want a number of at least 1000"
	[[ -z $BODY_BYTES || ($BODY_BYTES =~ ^[0-9]+$ && $BODY_BYTES -ge 2) ]] || die "BODY_BYTES=$BODY_BYTES: want a number of bytes, at least 2"
	[[ -z $BODY_BYTES || ${DECOY_SOURCE:-stub} == stub ]] || die "BODY_BYTES is served from a native stub only (DECOY_SOURCE=${DECOY_SOURCE:-})"
	local -a tools=(h2load taskset curl getconf timeout awk sort)
	[[ $MODE != tls ]] || tools+=(openssl)
	case " $SERVERS " in *" nginx "*) tools+=(nginx) ;; esac
	case " $SERVERS " in *" decoy "*) [[ -n $DECOY_BIN ]] || tools+=(go) ;; esac
	require_tools "Debian: apt-get install -y nginx nghttp2-client curl openssl util-linux coreutils; Go from /usr/local/go/bin" "${tools[@]}"
	require_cpus
	curl -V | grep -qw HTTP2 || die "this curl has no HTTP/2 support (needed to check the servers' answers)"
	local s
	for s in $SERVERS; do
		[[ $s == nginx || $s == decoy ]] || die "unknown server in SERVERS: $s (want nginx and/or decoy)"
	done
	if [[ $MODE == h2c && " $SERVERS " == *" nginx "* ]]; then
		# nginx serves h2c (prior knowledge) only when built with HTTP/2.
		nginx -V 2>&1 | grep -q -- --with-http_v2_module || die "this nginx is built without --with-http_v2_module"
	fi
}

SCHEME=http
CURL_ARGS=(--http2-prior-knowledge)
setup_mode() {
	if [[ -n $BODY_BYTES ]]; then
		# JSON: one string of printable bytes, readable by nginx's
		# workers, which may run as another user.
		mkdir -m 755 "$TMP/www"
		chmod 711 "$TMP"
		BODY_FILE=$TMP/www/body.json
		{ printf '"'; head -c "$((BODY_BYTES - 2))" /dev/zero | tr '\0' x; printf '"'; } >"$BODY_FILE"
		chmod 644 "$BODY_FILE"
		PATH_UNDER_TEST=/body.json
	fi
	if [[ $MODE == tls ]]; then
		SCHEME=https
		make_cert "$TMP/tls"
		CURL_ARGS=(--http2 --cacert "$TMP/tls/cert.pem")
	fi
}

# start PORT SERVER: start SERVER on 127.0.0.1:PORT for MODE.
start() {
	local port=$1 server=$2
	case $server:$MODE in
	nginx:h2c) start_nginx "$port" http2 ;;
	nginx:tls) start_nginx "$port" "ssl http2" "$(nginx_tls_conf "$TMP/tls")" ;;
	decoy:h2c) start_decoy --http "127.0.0.1:$port" --https "" --admin "" ;;
	decoy:tls)
		start_decoy --http "" --https "127.0.0.1:$port" --admin "" \
			--tls-cert "$TMP/tls/cert.pem" --tls-key "$TMP/tls/key.pem"
		;;
	esac
}

# run_h2load N PORT OUTFILE [LOGFILE]: h2load pinned to CLIENT_CPU, one
# thread, bounded by timeout.
run_h2load() {
	local n=$1 port=$2 out=$3 logfile=${4:-}
	local -a args=(-t1 -c"$CONNS" -m"$STREAMS" -n"$n")
	[[ -z $logfile ]] || args+=(--log-file="$logfile")
	timeout 300 taskset -c "$CLIENT_CPU" \
		h2load "${args[@]}" "$SCHEME://127.0.0.1:$port$PATH_UNDER_TEST" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "h2load failed against port $port"; }
}

# h2_stat OUTFILE NAME: succeeded | rps | failed (not 2xx, errored or timed out).
h2_stat() {
	case $2 in
	succeeded) awk '/^requests:/ { gsub(",", ""); for (i = 2; i < NF; i++) if ($(i + 1) == "succeeded") print $i }' "$1" ;;
	rps) awk '/^finished in/ { gsub(",", ""); printf "%.0f", $4 }' "$1" ;;
	failed) awk '/^requests:/ { gsub(",", ""); for (i = 2; i < NF; i++) if ($(i + 1) ~ /^(failed|errored|timeout)$/) n += $i }
		/^status codes:/ { gsub(",", ""); for (i = 3; i < NF; i++) if ($(i + 1) ~ /^[345]xx$/) n += $i }
		END { print n + 0 }' "$1" ;;
	esac
}

# percentiles LOGFILE: "p50 p99" in µs from h2load's per-request log.
percentiles() {
	[[ -s $1 ]] || { echo "- -"; return; }
	cut -f3 "$1" | sort -n | awk '{ v[NR] = $1 } END {
		i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
		i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
		print v[i50], v[i99]
	}'
}

ROWS=() # one "server rps p50 p99 cpu_us rss_mib" line per run

measure() {
	local server=$1 round=$2 port
	port=$(free_port)
	start "$port" "$server"
	wait_ready "$server" "$SERVER_PID" "$SCHEME://127.0.0.1:$port$PATH_UNDER_TEST" "$SERVER_LOG" "${CURL_ARGS[@]}"
	[[ $READY_HTTP_VERSION == 2 ]] || die "$server answered over HTTP/$READY_HTTP_VERSION, not HTTP/2"
	if [[ $MODE == tls && $round == 1 ]]; then
		log "$server negotiates $(tls_params "$port" h2)"
	fi

	local out=$TMP/$server-$round logfile=
	((WARMUP == 0)) || run_h2load "$WARMUP" "$port" "$out.warmup"
	[[ $LATENCY == 0 ]] || logfile=$out.log

	local before after rss_kib
	before=$(tree_ticks "$SERVER_PID")
	run_h2load "$REQUESTS" "$port" "$out.run" "$logfile"
	after=$(tree_ticks "$SERVER_PID")
	rss_kib=$(tree_rss_kib "$SERVER_PID")
	stop_server "$SERVER_PID"

	local ok rps failed cpu_us rss_mib p50 p99
	ok=$(h2_stat "$out.run" succeeded)
	rps=$(h2_stat "$out.run" rps)
	failed=$(h2_stat "$out.run" failed)
	[[ $ok =~ ^[0-9]+$ && $ok -gt 0 ]] || { cat "$out.run" >&2; die "$server: h2load completed no requests"; }
	((failed == 0)) || log "WARNING: $server round $round: $failed failed, errored, timed-out or non-2xx requests (see $out.run)"
	read -r p50 p99 < <(percentiles "$logfile")
	cpu_us=$(us_per "$((after - before))" "$ok")
	rss_mib=$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')
	printf '%-5s  %-6s  %10s  %8s  %8s  %12s  %7s  %7s\n' \
		"$round" "$server" "$rps" "$p50" "$p99" "$cpu_us" "$rss_mib" "$failed"
	ROWS+=("$server $rps $p50 $p99 $cpu_us $rss_mib")
	if [[ -n $RESULTS_TSV ]]; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$round" "$server" \
			"$rps" "$p50" "$p99" "$cpu_us" "$rss_mib" "$failed" "h2-$MODE" >>"$RESULTS_TSV"
	fi
}

summary() {
	echo
	printf '%s\n' "${ROWS[@]}" | awk -v order="$SERVERS" '
		{ n[$1]++; rps[$1] += $2; cpu[$1] += $5; cpus[$1, n[$1]] = $5; rpss[$1, n[$1]] = $2 }
		END {
			printf "%-6s  %5s  %10s  %15s\n", "server", "runs", "mean req/s", "mean us CPU/req"
			k = split(order, names, " ")
			for (j = 1; j <= k; j++) if ((s = names[j]) in n && !(s in done)) {
				done[s] = 1
				printf "%-6s  %5d  %10.0f  %15.1f\n", s, n[s], rps[s] / n[s], cpu[s] / n[s]
			}
			if (n["nginx"] && n["decoy"]) {
				per = ""; perr = ""
				for (i = 1; i <= n["decoy"] && i <= n["nginx"]; i++) {
					per = per sprintf("%s%.2f", (i > 1 ? ", " : ""), cpus["decoy", i] / cpus["nginx", i])
					perr = perr sprintf("%s%.2f", (i > 1 ? ", " : ""), rpss["decoy", i] / rpss["nginx", i])
				}
				printf "\nratio decoy/nginx of mean us CPU per request: %.2f  (per round: %s)\n",
					(cpu["decoy"] / n["decoy"]) / (cpu["nginx"] / n["nginx"]), per
				printf "ratio decoy/nginx of mean requests/s:         %.2f  (per round: %s)\n",
					(rps["decoy"] / n["decoy"]) / (rps["nginx"] / n["nginx"]), perr
			}
		}'
}

check_prereqs
check_idle
bench_init
setup_mode
case " $SERVERS " in *" decoy "*) build_decoy ;; esac

log "MODE=$MODE: GET $PATH_UNDER_TEST, ${BODY_BYTES:-${#BODY}}-byte body, HTTP/2 ($MODE) on 127.0.0.1"
log "server on CPU $SERVER_CPU, h2load -t1 -c$CONNS -m$STREAMS -n$REQUESTS on CPU $CLIENT_CPU (after $WARMUP warm-up requests), $ROUNDS rounds of: $SERVERS"
log "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //'); $(h2load --version 2>&1 | sed -n 1p)${DECOY_BIN:+; decoy: $DECOY_BIN}"
echo
printf '%-5s  %-6s  %10s  %8s  %8s  %12s  %7s  %7s\n' \
	round server req/s "p50 us" "p99 us" "us CPU/req" "RSS MiB" failed
for ((r = 1; r <= ROUNDS; r++)); do
	for s in $SERVERS; do
		measure "$s" "$r"
	done
done
summary
