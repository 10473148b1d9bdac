#!/usr/bin/env bash
# bench/pgo.sh: make the CPU profile decoy's profile-guided build uses
# (cmd/decoy/default.pgo, picked up by `go build` on its own).
#
# decoy, built without PGO and with DECOY_CPUPROFILE set, serves the
# workloads the benchmarks measure, one after the other, each for DURATION
# seconds with the client pinned to CLIENT_CPU and decoy to SERVER_CPU:
#   - HTTP/1.1 keep-alive, 64 connections, the 168-byte JSON stub (wrk);
#   - HTTP/1.1 with a new connection per request (wrk, Connection: close);
#   - h2c, 16 connections x 10 streams (h2load), when h2load is installed;
#   - gRPC unary calls to the demo service (ghz), when ghz is installed;
#   - OpenAPI: GET with validated query parameters on bench/peers/orders.yaml.
# decoy then stops (SIGTERM) and writes the profile, which is copied to OUT.
#
# Usage: bench/pgo.sh
# Environment:
#   DURATION=15       seconds per workload
#   OUT=cmd/decoy/default.pgo  where the profile goes
#   SERVER_CPU=0 CLIENT_CPU=1
#   KEEP_TMP=1        keep the temporary directory
set -euo pipefail

DURATION=${DURATION:-15}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

BENCH_NAME=pgo
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OUT=${OUT:-$REPO_ROOT/cmd/decoy/default.pgo}

require_tools "Debian: apt-get install -y wrk curl util-linux; Go from /usr/local/go/bin" wrk taskset curl timeout go
require_cpus
bench_init
check_idle

log "building decoy without PGO"
(cd "$REPO_ROOT" && CGO_ENABLED=0 timeout 600 go build -pgo=off -o "$TMP/decoy" ./cmd/decoy) || die "go build failed"

PORT=$(free_port)
GRPC_PORT=$(free_port)
DECOY_BIN=$TMP/decoy
STUB_FILES="$REPO_ROOT/bench/peers/orders.yaml $REPO_ROOT/internal/demo/demo.proto $REPO_ROOT/internal/demo/demo-grpc.yaml" \
	DECOY_CPUPROFILE=$TMP/cpu.pprof start_decoy --http "127.0.0.1:$PORT" --https "" --admin "" --grpc "127.0.0.1:$GRPC_PORT"
pid=$SERVER_PID
wait_ready decoy "$pid" "http://127.0.0.1:$PORT$PATH_UNDER_TEST" "$SERVER_LOG"

client() { timeout "$((DURATION + 30))" taskset -c "$CLIENT_CPU" "$@" >"$TMP/client.log" 2>&1 || {
	cat "$TMP/client.log" >&2
	die "$1 failed"
}; }

log "HTTP/1.1 keep-alive"
client wrk -t1 -c64 -d"${DURATION}s" "http://127.0.0.1:$PORT$PATH_UNDER_TEST"
log "HTTP/1.1, a connection per request"
client wrk -t1 -c16 -d"${DURATION}s" -H "Connection: close" "http://127.0.0.1:$PORT$PATH_UNDER_TEST"
log "OpenAPI GET with validated parameters"
client wrk -t1 -c64 -d"${DURATION}s" "http://127.0.0.1:$PORT/orders?status=open&limit=20"
if command -v h2load >/dev/null 2>&1; then
	log "h2c"
	client h2load -c16 -m10 -D"$DURATION" "http://127.0.0.1:$PORT$PATH_UNDER_TEST"
else
	log "h2load not installed: no h2c workload"
fi
if command -v ghz >/dev/null 2>&1; then
	log "gRPC unary"
	client ghz --insecure -c16 -z"${DURATION}s" --proto "$REPO_ROOT/internal/demo/demo.proto" \
		--call decoy.demo.v1.Users/GetUser -d '{"id": 42}' "127.0.0.1:$GRPC_PORT"
else
	log "ghz not installed: no gRPC workload"
fi

stop_server "$pid"
[[ -s $TMP/cpu.pprof ]] || die "decoy wrote no profile; log: $SERVER_LOG"
cp "$TMP/cpu.pprof" "$OUT"
log "wrote $OUT ($(wc -c <"$OUT") bytes)"
