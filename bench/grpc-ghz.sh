#!/usr/bin/env bash
# bench/grpc-ghz.sh: decoy against a compiled-in grpc-go server, unary gRPC
# over h2c on loopback, with ghz; and decoy's other ports, which serve the
# same calls: the HTTP port (h2c, decoy's own HTTP/2 loop) and the TLS port.
#
# The service is
#   service Bench { rpc Get(google.protobuf.Int64Value) returns (google.protobuf.StringValue); }
# bench/grpcref (grpc-go, a hand-written grpc.ServiceDesc over protobuf's
# compiled wrapper types) answers it from Go code; decoy compiles the same
# service from a .proto file at start and answers from a stub with the same
# StringValue (the 168-byte JSON text of the HTTP benchmarks). The server
# runs pinned to CPU 0, ghz to CPU 1; the script reports requests/s, p50/p99
# and the server's CPU time per call from /proc, interleaving the servers.
# The servers: grpcref; decoy (its gRPC port, on decoy's own HTTP/2 loop);
# decoy-go (the gRPC port on grpc-go's transport, --grpc-engine go);
# decoy-http (the same calls on decoy's HTTP port, h2c); decoy-https (on its
# TLS port, ghz --skipTLS: TLS costs CPU the others do not pay).
# CALL picks the call: get (the 168-byte answer), big (an answer of
# REPLY_BYTES, 1 MiB by default; grpcref -reply-bytes) or health
# (grpc.health.v1.Health/Check for "", grpc-go's health service in grpcref;
# ghz reads the descriptors by server reflection).
# ghz's single core is usually the limit, so compare CPU per call too.
# See bench/README.md for the method and the columns.
#
# Usage: bench/grpc-ghz.sh               (from anywhere in the repository)
# Environment:
#   CALL=get           get, big or health (see above)
#   REPLY_BYTES=1048576  the size of the answer with CALL=big
#   REQUESTS=200000    calls per measured ghz run (ghz -n; 5000 with CALL=big)
#   CONCURRENCY=50     ghz -c (workers); CONNECTIONS=1 ghz --connections
#   WARMUP=20000       calls of an unmeasured ghz run before each measurement
#                      (0: none; 500 with CALL=big)
#   ROUNDS=3           how many times each server is measured
#   SERVERS="grpcref decoy"  which servers to run, in order: grpcref, decoy,
#                      decoy-go, decoy-http, decoy-https
#   SERVER_CPU=0 CLIENT_CPU=1  the CPUs to pin server and ghz to
#   DECOY_BIN=path     use this decoy binary instead of building ./cmd/decoy
#   DECOY_FLAGS="--journal-size 0"  more flags for decoy serve (the default
#                      turns the request journal off, as docs/grpc.md advises
#                      for load tests; DECOY_FLAGS= keeps it on)
#   GHZ=path           the ghz binary (default: ghz on PATH, else ~/go/bin/ghz)
#   RESULTS_TSV=path   also append one tab-separated line per run to this file
#   KEEP_TMP=1         keep the temporary directory (configs, logs) for inspection
set -euo pipefail

CALL=${CALL:-get}
REPLY_BYTES=${REPLY_BYTES:-1048576}
if [[ $CALL == big ]]; then
	REQUESTS=${REQUESTS:-5000}
	WARMUP=${WARMUP:-500}
fi
REQUESTS=${REQUESTS:-200000}
CONCURRENCY=${CONCURRENCY:-50}
CONNECTIONS=${CONNECTIONS:-1}
WARMUP=${WARMUP:-20000}
ROUNDS=${ROUNDS:-3}
SERVERS=${SERVERS:-grpcref decoy}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
DECOY_FLAGS=${DECOY_FLAGS---journal-size 0}
GHZ=${GHZ:-}
RESULTS_TSV=${RESULTS_TSV:-}

BENCH_NAME=grpc-ghz
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

METHOD=bench.v1.Bench.Get
REQUEST_JSON=42 # the Int64Value every call sends
case $CALL in
get) ;;
big) ;; # BODY becomes REPLY_BYTES of 'x' after the checks
health)
	METHOD=grpc.health.v1.Health.Check
	REQUEST_JSON='{}'
	;;
*) die "CALL=$CALL: want get, big or health" ;;
esac

find_go_tool() { # NAME: NAME on PATH, else in GOPATH/bin
	if command -v "$1" >/dev/null 2>&1; then
		command -v "$1"
	elif [[ -x $HOME/go/bin/$1 ]]; then
		echo "$HOME/go/bin/$1"
	elif command -v go >/dev/null 2>&1 && [[ -x $(go env GOPATH)/bin/$1 ]]; then
		echo "$(go env GOPATH)/bin/$1"
	fi
}

check_prereqs() {
	[[ $REQUESTS =~ ^[0-9]+$ && $REQUESTS -ge 1000 ]] || die "REQUESTS=$REQUESTS: want a number of at least 1000"
	require_tools "Debian: apt-get install -y jq util-linux coreutils; Go from /usr/local/go/bin" \
		taskset getconf timeout awk jq go
	[[ -n $GHZ ]] || GHZ=$(find_go_tool ghz)
	[[ -n $GHZ && -x $GHZ ]] ||
		die "ghz not found (go install github.com/bojand/ghz/cmd/ghz@v0.120.0 -- @latest gives the old v0.93.0; or set GHZ=path)"
	GRPCURL=$(find_go_tool grpcurl)
	require_cpus
	local s
	for s in $SERVERS; do
		case $s in
		grpcref | decoy | decoy-go | decoy-http | decoy-https) ;;
		*) die "unknown server in SERVERS: $s (want grpcref, decoy, decoy-go, decoy-http, decoy-https)" ;;
		esac
	done
}

# write_files: the .proto file (for decoy and for ghz) and decoy's stub.
write_files() {
	write_bench_proto "$TMP/proto"
	# A YAML string is the JSON form of a StringValue: the reply is BODY's text.
	cat >"$TMP/stubs.yaml" <<EOF
- request: {path: /bench.v1.Bench/Get}
  response:
    body: '$BODY'
EOF
}

# start PORT SERVER: start SERVER on 127.0.0.1:PORT, pinned to SERVER_CPU.
start() {
	local port=$1 server=$2
	case $server in
	grpcref)
		local -a reply=(-reply "$BODY")
		[[ $CALL != big ]] || reply=(-reply-bytes "$REPLY_BYTES")
		taskset -c "$SERVER_CPU" "$TMP/grpcref" -addr "127.0.0.1:$port" "${reply[@]}" \
			>"$TMP/grpcref.log" 2>&1 &
		SERVER_PID=$!
		started "$SERVER_PID"
		SERVER_LOG=$TMP/grpcref.log
		;;
	decoy*)
		local -a extra=() ports=(--http "" --https "" --grpc "")
		# shellcheck disable=SC2206 # DECOY_FLAGS is a list of words on purpose
		[[ -z $DECOY_FLAGS ]] || extra=($DECOY_FLAGS)
		case $server in
		decoy) ports[5]=127.0.0.1:$port ;;
		decoy-go) ports[5]=127.0.0.1:$port extra+=(--grpc-engine go) ;;
		decoy-http) ports[1]=127.0.0.1:$port ;;
		decoy-https) ports[3]=127.0.0.1:$port ;;
		esac
		taskset -c "$SERVER_CPU" "$DECOY_BIN" serve --quiet --admin "" \
			"${ports[@]}" "${extra[@]+"${extra[@]}"}" \
			"$TMP/proto/bench/v1/bench.proto" "$TMP/stubs.yaml" >"$TMP/decoy.log" 2>&1 &
		SERVER_PID=$!
		started "$SERVER_PID"
		SERVER_LOG=$TMP/decoy.log
		;;
	esac
}

# TLS is set (by measure) while the server under test is decoy-https.
TLS=0

# run_ghz N PORT OUTFILE: ghz pinned to CLIENT_CPU, JSON report, bounded by timeout.
run_ghz() {
	local n=$1 port=$2 out=$3 mode=--insecure # ghz's word for cleartext
	((TLS == 0)) || mode=--skipTLS
	local -a proto=(--proto "$TMP/proto/bench/v1/bench.proto" --import-paths "$TMP/proto")
	[[ $CALL != health ]] || proto=() # by server reflection
	timeout 600 taskset -c "$CLIENT_CPU" "$GHZ" "$mode" "${proto[@]+"${proto[@]}"}" \
		--call "$METHOD" -d "$REQUEST_JSON" \
		-c "$CONCURRENCY" --connections "$CONNECTIONS" -n "$n" \
		-O json -o "$out" "127.0.0.1:$port" 2>"$out.err" ||
		{ cat "$out.err" >&2; die "ghz failed against port $port"; }
}

# wait_grpc NAME PID PORT: wait until the server answers a call; check the
# answer with grpcurl when it is installed.
wait_grpc() {
	local name=$1 pid=$2 port=$3 i
	wait_port "$name" "$pid" "$port" "$SERVER_LOG"
	for ((i = 0; i < 50; i++)); do
		run_ghz 1 "$port" "$TMP/probe.json"
		if [[ $(jq -r '.statusCodeDistribution.OK // 0' "$TMP/probe.json") == 1 ]]; then
			break
		fi
		((i < 49)) || die "$name does not answer $METHOD: $(jq -c '.errorDistribution' "$TMP/probe.json")"
		sleep 0.2
	done
	if [[ -n $GRPCURL && $CALL == health ]]; then
		local got mode=-plaintext
		((TLS == 0)) || mode=-insecure
		got=$(timeout 10 "$GRPCURL" "$mode" -d '{}' "127.0.0.1:$port" grpc.health.v1.Health/Check | jq -r .status) ||
			die "$name: grpcurl could not call $METHOD"
		[[ $got == SERVING ]] || die "$name answered health status $got, want SERVING"
		log "$name ready on 127.0.0.1:$port: health SERVING (checked with grpcurl)"
	elif [[ -n $GRPCURL ]]; then
		local got
		local mode=-plaintext
		((TLS == 0)) || mode=-insecure
		got=$(timeout 10 "$GRPCURL" "$mode" -max-msg-sz $((REPLY_BYTES + 1024)) -import-path "$TMP/proto" -proto bench/v1/bench.proto \
			-d "$REQUEST_JSON" "127.0.0.1:$port" bench.v1.Bench/Get | jq -r .) ||
			die "$name: grpcurl could not call $METHOD"
		[[ $got == "$BODY" ]] || die "$name answered a different StringValue (${#got} bytes)"
		log "$name ready on 127.0.0.1:$port: answers the ${#BODY}-byte StringValue (checked with grpcurl)"
	else
		log "$name ready on 127.0.0.1:$port (grpcurl not installed: the answer's content is not checked)"
	fi
}

ROWS=() # one "server rps p50 p99 cpu_us rss_mib" line per run

measure() {
	local server=$1 round=$2 port
	TLS=0
	[[ $server != decoy-https ]] || TLS=1
	port=$(free_port)
	start "$port" "$server"
	wait_grpc "$server" "$SERVER_PID" "$port"

	local out=$TMP/$server-$round
	((WARMUP == 0)) || run_ghz "$WARMUP" "$port" "$out.warmup.json"

	local before after rss_kib
	before=$(tree_ticks "$SERVER_PID")
	run_ghz "$REQUESTS" "$port" "$out.json"
	after=$(tree_ticks "$SERVER_PID")
	rss_kib=$(tree_rss_kib "$SERVER_PID")
	stop_server "$SERVER_PID"

	local ok rps errors p50 p99 cpu_us rss_mib
	read -r ok rps errors p50 p99 < <(jq -r '[
		(.statusCodeDistribution.OK // 0),
		(.rps | floor),
		(.count - (.statusCodeDistribution.OK // 0)),
		((.latencyDistribution // []) | map(select(.percentage == 50))[0].latency // 0 | . / 1000 | floor),
		((.latencyDistribution // []) | map(select(.percentage == 99))[0].latency // 0 | . / 1000 | floor)
	] | @tsv' "$out.json")
	[[ $ok =~ ^[0-9]+$ && $ok -gt 0 ]] || die "$server: ghz completed no calls (see $out.json)"
	((errors == 0)) || log "WARNING: $server round $round: $errors calls failed: $(jq -c '.errorDistribution' "$out.json")"
	cpu_us=$(us_per "$((after - before))" "$ok")
	rss_mib=$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')
	printf '%-5s  %-11s  %10s  %8s  %8s  %12s  %7s  %7s\n' \
		"$round" "$server" "$rps" "$p50" "$p99" "$cpu_us" "$rss_mib" "$errors"
	ROWS+=("$server $rps $p50 $p99 $cpu_us $rss_mib")
	if [[ -n $RESULTS_TSV ]]; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$round" "$server" \
			"$rps" "$p50" "$p99" "$cpu_us" "$rss_mib" "$errors" grpc >>"$RESULTS_TSV"
	fi
}

summary() {
	echo
	printf '%s\n' "${ROWS[@]}" | awk -v order="$SERVERS" '
		{ n[$1]++; rps[$1] += $2; cpu[$1] += $5; cpus[$1, n[$1]] = $5; rpss[$1, n[$1]] = $2 }
		END {
			printf "%-11s  %5s  %10s  %15s\n", "server", "runs", "mean req/s", "mean us CPU/req"
			k = split(order, names, " ")
			for (j = 1; j <= k; j++) if ((s = names[j]) in n && !(s in done)) {
				done[s] = 1
				printf "%-11s  %5d  %10.0f  %15.1f\n", s, n[s], rps[s] / n[s], cpu[s] / n[s]
			}
			if (!n["grpcref"]) exit
			for (j = 1; j <= k; j++) if ((s = names[j]) != "grpcref" && n[s] && !(s in shown)) {
				shown[s] = 1
				per = ""; perc = ""
				for (i = 1; i <= n[s] && i <= n["grpcref"]; i++) {
					per = per sprintf("%s%.2f", (i > 1 ? ", " : ""), rpss[s, i] / rpss["grpcref", i])
					perc = perc sprintf("%s%.2f", (i > 1 ? ", " : ""), cpus[s, i] / cpus["grpcref", i])
				}
				printf "\nratio %s/grpcref of mean requests/s:         %.2f  (per round: %s)\n",
					s, (rps[s] / n[s]) / (rps["grpcref"] / n["grpcref"]), per
				printf "ratio %s/grpcref of mean us CPU per request: %.2f  (per round: %s)\n",
					s, (cpu[s] / n[s]) / (cpu["grpcref"] / n["grpcref"]), perc
			}
		}'
}

check_prereqs
[[ $CALL != big ]] || BODY=$(head -c "$REPLY_BYTES" /dev/zero | tr '\0' x)
check_idle
bench_init
write_files
case " $SERVERS " in *" grpcref "*) go_build ./bench/grpcref "$TMP/grpcref" ;; esac
case " $SERVERS " in *" decoy"*) build_decoy ;; esac

if [[ $CALL == health ]]; then
	log "unary $METHOD (service \"\" -> SERVING), on 127.0.0.1 (decoy-https over TLS, the others h2c)"
else
	log "unary $METHOD (Int64Value $REQUEST_JSON -> ${#BODY}-byte StringValue), on 127.0.0.1 (decoy-https over TLS, the others h2c)"
fi
log "server on CPU $SERVER_CPU, ghz -c $CONCURRENCY --connections $CONNECTIONS -n $REQUESTS on CPU $CLIENT_CPU (after $WARMUP warm-up calls), $ROUNDS rounds of: $SERVERS"
log "ghz: $GHZ; decoy flags: ${DECOY_FLAGS:-(none)}${DECOY_BIN:+; decoy: $DECOY_BIN}"
echo
printf '%-5s  %-11s  %10s  %8s  %8s  %12s  %7s  %7s\n' \
	round server req/s "p50 us" "p99 us" "us CPU/req" "RSS MiB" errors
for ((r = 1; r <= ROUNDS; r++)); do
	for s in $SERVERS; do
		measure "$s" "$r"
	done
done
summary
