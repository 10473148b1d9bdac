#!/usr/bin/env bash
# bench/grpc-web.sh: decoy's CPU time per gRPC-Web call on its HTTP port,
# over HTTP/1.1 (wrk) and h2c (h2load), beside a native gRPC call over h2c
# (h2load) on the same port. The service is bench/grpc-ghz.sh's
#   service Bench { rpc Get(google.protobuf.Int64Value) returns (google.protobuf.StringValue); }
# answered from a stub with an 11-byte StringValue. decoy runs pinned to
# SERVER_CPU, the load generator to CLIENT_CPU; each round starts decoy
# afresh, checks the answer with curl, and reads decoy's CPU ticks from
# /proc around the measured run. Runs of DECOY_BIN and BASE_BIN (when set)
# alternate, for a before/after comparison of two builds.
#
# Usage: bench/grpc-web.sh               (from anywhere in the repository)
# Environment:
#   MODES="web-h1 web-h2c native-h2c"  what to measure, in order
#   ROUNDS=3           rounds of every mode and build
#   REQUESTS=100000    h2load requests per run (-n); DURATION=4 wrk seconds
#   SERVER_CPU=0 CLIENT_CPU=1
#   DECOY_BIN=path     the decoy binary (default: build ./cmd/decoy)
#   BASE_BIN=path      a second binary, measured in turn with DECOY_BIN
#   KEEP_TMP=1         keep the temporary directory
set -euo pipefail

MODES=${MODES:-web-h1 web-h2c native-h2c}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-100000}
DURATION=${DURATION:-4}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BASE_BIN=${BASE_BIN:-}

BENCH_NAME=grpc-web
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools "Debian: apt-get install -y wrk nghttp2-client curl util-linux coreutils; Go from /usr/local/go/bin" \
	wrk h2load curl taskset getconf timeout awk go
require_cpus
for m in $MODES; do
	case $m in web-h1 | web-h2c | native-h2c) ;; *) die "unknown mode in MODES: $m" ;; esac
done
[[ -z $BASE_BIN || -x $BASE_BIN ]] || die "BASE_BIN=$BASE_BIN is not an executable file"
check_idle
bench_init
build_decoy

write_bench_proto "$TMP/proto"
cat >"$TMP/stubs.yaml" <<'EOF'
- request: {path: /bench.v1.Bench/Get}
  response:
    body: 'hello world'
EOF
printf '\0\0\0\0\2\x08\x2a' >"$TMP/req.bin" # Int64Value 42, length-prefixed
cat >"$TMP/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = "\0\0\0\0\2\8\42"
wrk.headers["Content-Type"] = "application/grpc-web+proto"
EOF
CALL=/bench.v1.Bench/Get

# measure BIN MODE ROUND: one run; prints a row.
measure() {
	local bin=$1 mode=$2 round=$3 port pid before after n rps
	port=$(free_port)
	taskset -c "$SERVER_CPU" "$bin" serve --quiet --admin "" --https "" --grpc "" \
		--http "127.0.0.1:$port" --journal-size 0 "$TMP/proto/bench/v1/bench.proto" "$TMP/stubs.yaml" \
		>"$TMP/decoy.log" 2>&1 &
	pid=$!
	started "$pid"
	wait_port decoy "$pid" "$port" "$TMP/decoy.log"
	# The answer: the message (hello world) and grpc-status 0.
	curl -s --max-time 5 -X POST --data-binary @"$TMP/req.bin" -H 'content-type: application/grpc-web+proto' \
		"http://127.0.0.1:$port$CALL" | LC_ALL=C grep -aq 'hello world.*grpc-status:0' ||
		die "decoy did not answer the gRPC-Web call (see $TMP/decoy.log)"
	before=$(tree_ticks "$pid")
	case $mode in
	web-h1)
		timeout 120 taskset -c "$CLIENT_CPU" wrk -t1 -c16 -d"${DURATION}s" -s "$TMP/post.lua" \
			"http://127.0.0.1:$port$CALL" >"$TMP/out.txt"
		n=$(awk '/requests in/ { print $1 }' "$TMP/out.txt")
		rps=$(awk '/Requests\/sec/ { printf "%d", $2 }' "$TMP/out.txt")
		;;
	web-h2c | native-h2c)
		local ct=application/grpc-web+proto
		[[ $mode == web-h2c ]] || ct=application/grpc
		timeout 120 taskset -c "$CLIENT_CPU" h2load -c4 -m10 -n"$REQUESTS" -d "$TMP/req.bin" \
			-H "content-type: $ct" -H "te: trailers" "http://127.0.0.1:$port$CALL" >"$TMP/out.txt"
		grep -q "status codes: $REQUESTS 2xx" "$TMP/out.txt" || die "$mode: not every call answered 200 (see $TMP/out.txt)"
		n=$REQUESTS
		rps=$(awk '/^finished in/ { printf "%d", $4 }' "$TMP/out.txt")
		;;
	esac
	after=$(tree_ticks "$pid")
	stop_server "$pid"
	printf '%-5s  %-10s  %-12s  %10s  %10s\n' "$round" "$mode" "$(basename "$bin")" "$rps" "$(us_per "$((after - before))" "$n")"
}

log "decoy: $DECOY_BIN${BASE_BIN:+; base: $BASE_BIN}; decoy on CPU $SERVER_CPU, load on CPU $CLIENT_CPU"
printf '%-5s  %-10s  %-12s  %10s  %10s\n' round mode build req/s "us CPU/req"
for ((r = 1; r <= ROUNDS; r++)); do
	for m in $MODES; do
		[[ -z $BASE_BIN ]] || measure "$BASE_BIN" "$m" "$r"
		measure "$DECOY_BIN" "$m" "$r"
	done
done
