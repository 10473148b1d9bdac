#!/usr/bin/env bash
# bench/peers.sh: decoy beside nginx and the mock servers people compare it
# with, all measured in one run on this machine.
#
# MODE=peers: every server answers GET /users/42 with the same 168-byte JSON
# body (lib.sh's BODY; the body each one returns is checked byte for byte
# before it is measured). Peers run as their users run them: the default
# configuration, except where a row's name says otherwise. One row each:
# requests/s, p50/p99 at CONNS connections (wrk --latency), server CPU time
# per request (utime+stime of the server's process tree from /proc), c=1 p50,
# peak resident memory (VmHWM summed over the process tree) and start-up time
# (launch until the first 200). A peer that cannot be installed or started
# gets a row that says why.
#
# MODE=openapi: decoy and Prism serve bench/peers/orders.yaml, both
# validating requests (decoy's validation: enforce and Prism's validator are
# both on by default; a bad request is checked to be refused by each before
# measuring): GET /orders?status=open&limit=20 and POST /orders with a JSON
# body. Requests/s and CPU per request, and their ratios.
#
# MODE=all (the default) runs both. Servers run pinned to SERVER_CPU, wrk to
# CLIENT_CPU, one server at a time, listening on 127.0.0.1 only. Peers are
# installed with npm (and go install) into PEERS_CACHE, so reruns start at
# once. Everything started is stopped by PID from the EXIT trap (lib.sh).
#
# Usage: bench/peers.sh                       (from anywhere in the repository)
# Environment:
#   MODE=all            all, peers or openapi
#   DURATION=10         seconds of each measured wrk run
#   WARMUP=2            seconds of unmeasured load before each measurement
#   JVM_WARMUP=10       the same for WireMock, whose JIT compiler needs longer
#                       (it runs on the same pinned CPU)
#   CONNS=64            wrk connections of the throughput run (c=1 is separate)
#   SERVERS="..."       MODE=peers rows, in order (default: every known one)
#   OPENAPI_SERVERS="decoy prism prism-warn"  MODE=openapi servers
#   START_TIMEOUT=60    seconds a server has to answer its first 200
#   PEERS_CACHE=dir     where peers are installed (default
#                       ${XDG_CACHE_HOME:-$HOME/.cache}/decoy-bench)
#   PRISM_VERSION MOCKOON_VERSION MOUNTEBANK_VERSION WIREMOCK_VERSION
#   JSON_SERVER_VERSION GRIPMOCK_VERSION   the versions installed
#   SERVER_CPU=0 CLIENT_CPU=1, DECOY_BIN, DECOY_FLAGS, KEEP_TMP   as in http1-nginx.sh
set -euo pipefail

MODE=${MODE:-all}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
JVM_WARMUP=${JVM_WARMUP:-10}
CONNS=${CONNS:-64}
ALL_PEERS="nginx decoy prism prism-warn mockoon mountebank mountebank-ka wiremock wiremock-nojournal json-server gripmock"
SERVERS=${SERVERS:-$ALL_PEERS}
OPENAPI_SERVERS=${OPENAPI_SERVERS:-decoy prism prism-warn}
START_TIMEOUT=${START_TIMEOUT:-60}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PEERS_CACHE=${PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decoy-bench}
PRISM_VERSION=${PRISM_VERSION:-5.14.2}
MOCKOON_VERSION=${MOCKOON_VERSION:-9.9.0}
MOUNTEBANK_VERSION=${MOUNTEBANK_VERSION:-2.9.1}
WIREMOCK_VERSION=${WIREMOCK_VERSION:-3.13.2}
JSON_SERVER_VERSION=${JSON_SERVER_VERSION:-0.17.4}
GRIPMOCK_MODULE=${GRIPMOCK_MODULE:-github.com/bavix/gripmock/v3}
GRIPMOCK_VERSION=${GRIPMOCK_VERSION:-latest}

BENCH_NAME=peers
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SPEC=$REPO_ROOT/bench/peers/orders.yaml
# The MODE=openapi requests: a valid and an invalid one of each kind.
GET_QUERY='status=open&limit=20'
GET_QUERY_BAD='status=open&limit=500'
ORDER_BODY='{"item":"tea","quantity":2,"email":"ada@example.com","note":"leave it at the door"}'
ORDER_BODY_BAD='{"item":"tea","quantity":0,"email":"ada@example.com"}'


# ---------------------------------------------------------------- prerequisites

check_prereqs() {
	case $MODE in
	all | peers | openapi) ;;
	*) die "unknown MODE=$MODE (want all, peers or openapi)" ;;
	esac
	local s
	for s in $SERVERS; do
		case " $ALL_PEERS " in *" $s "*) ;; *) die "unknown server in SERVERS: $s (known: $ALL_PEERS)" ;; esac
	done
	for s in $OPENAPI_SERVERS; do
		case $s in decoy | prism | prism-warn) ;; *) die "unknown server in OPENAPI_SERVERS: $s (known: decoy prism prism-warn)" ;; esac
	done
	local -a tools=(wrk taskset curl getconf timeout awk date)
	[[ -n $DECOY_BIN ]] || tools+=(go)
	case " $SERVERS " in *" nginx "*) [[ $MODE == openapi ]] || tools+=(nginx) ;; esac
	require_tools "Debian: apt-get install -y nginx wrk curl util-linux coreutils; Go from /usr/local/go/bin" "${tools[@]}"
	require_cpus
	[[ -f $SPEC ]] || die "missing $SPEC"
}

# which_servers: the servers of the modes that run.
which_servers() {
	case $MODE in
	peers) echo "$SERVERS" ;;
	openapi) echo "decoy $OPENAPI_SERVERS" ;;
	all) echo "$SERVERS $OPENAPI_SERVERS" ;;
	esac
}

# ---------------------------------------------------------------- installing peers

declare -A NOT_RUN=() # server -> why it cannot run
declare -A VERSION=() # server -> what runs
NPM_BIN=

# npm_install PKG VERSION BIN: install PKG@VERSION into its own folder under
# PEERS_CACHE (once), and set NPM_BIN to its executable BIN. On failure,
# returns 1 with NPM_BIN set to the reason.
npm_install() {
	local pkg=$1 ver=$2 bin=$3 dir
	dir=$PEERS_CACHE/npm/${pkg//[@\/]/_}-$ver
	NPM_BIN=$dir/node_modules/.bin/$bin
	[[ -x $NPM_BIN ]] && return
	if ! command -v npm >/dev/null 2>&1; then
		NPM_BIN="npm not found (Debian: apt-get install -y npm)"
		return 1
	fi
	log "installing $pkg@$ver into $dir"
	mkdir -p "$dir"
	[[ -f $dir/package.json ]] || echo '{"private": true}' >"$dir/package.json"
	if ! npm_config_cache=$PEERS_CACHE/npm-cache timeout 600 npm install --prefix "$dir" \
		--no-audit --no-fund --save-exact "$pkg@$ver" >"$dir/install.log" 2>&1 || [[ ! -x $NPM_BIN ]]; then
		NPM_BIN="npm install $pkg@$ver failed: $({ grep -m2 '^npm error' "$dir/install.log" || tail -n1 "$dir/install.log"; } | tr '\n' ' ')"
		return 1
	fi
}

# install_peers: install what the servers of this run need, noting in
# NOT_RUN the ones that cannot be installed.
install_peers() {
	local s java_major
	mkdir -p "$PEERS_CACHE"
	for s in $(which_servers); do
		[[ -z ${VERSION[$s]:-} && -z ${NOT_RUN[$s]:-} ]] || continue
		case $s in
		nginx) VERSION[$s]="nginx $(nginx -v 2>&1 | sed 's/^nginx version: nginx\///')" ;;
		decoy) VERSION[$s]="decoy $(cd "$REPO_ROOT" && git describe --always --dirty 2>/dev/null || echo '?')" ;;
		prism | prism-warn)
			if npm_install @stoplight/prism-cli "$PRISM_VERSION" prism; then
				PRISM_BIN=$NPM_BIN
				VERSION[$s]="@stoplight/prism-cli $PRISM_VERSION"
			else NOT_RUN[$s]=$NPM_BIN; fi
			;;
		mockoon)
			if npm_install @mockoon/cli "$MOCKOON_VERSION" mockoon-cli; then
				MOCKOON_BIN=$NPM_BIN
				VERSION[$s]="@mockoon/cli $MOCKOON_VERSION"
			else NOT_RUN[$s]=$NPM_BIN; fi
			;;
		mountebank | mountebank-ka)
			if npm_install mountebank "$MOUNTEBANK_VERSION" mb; then
				MB_BIN=$NPM_BIN
				VERSION[$s]="mountebank $MOUNTEBANK_VERSION"
			else NOT_RUN[$s]=$NPM_BIN; fi
			;;
		wiremock | wiremock-nojournal)
			java_major=$(java -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == 1 ? v[2] : v[1]); exit }') || true
			if [[ -z $java_major ]]; then
				NOT_RUN[$s]="java not found (WireMock 3 needs Java 11+; Debian: apt-get install -y openjdk-17-jre-headless)"
			elif ((java_major < 11)); then
				NOT_RUN[$s]="java $java_major is too old (WireMock 3 needs Java 11+)"
			elif npm_install wiremock "$WIREMOCK_VERSION" wiremock; then
				WIREMOCK_JAR=$(find "$PEERS_CACHE/npm/wiremock-$WIREMOCK_VERSION/node_modules/wiremock" -name 'wiremock-standalone-*.jar' | sed -n 1p)
				if [[ -n $WIREMOCK_JAR ]]; then
					VERSION[$s]="wiremock standalone jar $WIREMOCK_VERSION (npm package), Java $java_major"
				else
					NOT_RUN[$s]="the npm package wiremock@$WIREMOCK_VERSION has no wiremock-standalone jar"
				fi
			else NOT_RUN[$s]=$NPM_BIN; fi
			;;
		json-server)
			if npm_install json-server "$JSON_SERVER_VERSION" json-server; then
				JSON_SERVER_BIN=$NPM_BIN
				VERSION[$s]="json-server $JSON_SERVER_VERSION"
			else NOT_RUN[$s]=$NPM_BIN; fi
			;;
		gripmock) install_gripmock ;;
		esac
	done
	if [[ -n ${VERSION[prism]:-}${VERSION[mockoon]:-}${VERSION[mountebank]:-}${VERSION[json-server]:-} ]]; then
		VERSION[node]="node $(node --version 2>/dev/null || echo '?')"
	fi
}

# install_gripmock: GripMock serves gRPC only, so it has no row of its own
# in an HTTP table; its row says whether it installs here, and where.
install_gripmock() {
	local dir=$PEERS_CACHE/go/bin out
	if [[ -x $dir/gripmock ]]; then
		NOT_RUN[gripmock]="installed ($dir/gripmock) but serves gRPC only: not comparable in this HTTP table"
		return
	fi
	if ! command -v go >/dev/null 2>&1; then
		NOT_RUN[gripmock]="go not found"
		return
	fi
	log "installing $GRIPMOCK_MODULE@$GRIPMOCK_VERSION with go install"
	mkdir -p "$dir"
	if out=$(cd "$TMP" && GOBIN=$dir GOFLAGS=-mod=mod timeout 600 go install "$GRIPMOCK_MODULE@$GRIPMOCK_VERSION" 2>&1); then
		NOT_RUN[gripmock]="installed ($dir/gripmock) but serves gRPC only: not comparable in this HTTP table"
	else
		# One line, without the command repeated or the proxy's address.
		out=$(tail -n3 <<<"$out" | tr '\n\t' '  ' | sed -e "s|go: $GRIPMOCK_MODULE@$GRIPMOCK_VERSION: ||" \
			-e 's|reading https\{0,1\}://[^ ]*: ||' -e 's/  */ /g' -e 's/ $//')
		NOT_RUN[gripmock]="go install $GRIPMOCK_MODULE@$GRIPMOCK_VERSION failed: ${out:0:200}"
	fi
}

# ---------------------------------------------------------------- starting servers

LAUNCH_MS=0
now_ms() { date +%s%3N; }

# launch DIR LOG CMD...: start CMD in DIR pinned to SERVER_CPU, with HOME in
# the temporary directory (so that peers write their logs and settings
# there), output to LOG. Sets SERVER_PID, SERVER_LOG and LAUNCH_MS.
launch() {
	local dir=$1 logf=$2
	shift 2
	mkdir -p "$TMP/home"
	LAUNCH_MS=$(now_ms)
	(cd "$dir" && HOME=$TMP/home exec taskset -c "$SERVER_CPU" "$@") >"$logf" 2>&1 &
	SERVER_PID=$!
	started "$SERVER_PID"
	SERVER_LOG=$logf
}

# json_string S: S as a JSON string (S holds no backslashes or control characters).
json_string() { printf '"%s"' "${1//\"/\\\"}"; }

# start_peer SERVER PORT: start SERVER answering GET PATH_UNDER_TEST with BODY
# on 127.0.0.1:PORT. Sets PROBE_URL (and SERVER_PID etc. through launch).
start_peer() {
	local s=$1 port=$2 dir=$TMP/peer-$1
	mkdir -p "$dir"
	PROBE_URL=http://127.0.0.1:$port$PATH_UNDER_TEST
	case $s in
	nginx)
		LAUNCH_MS=$(now_ms)
		start_nginx "$port" ""
		;;
	decoy)
		LAUNCH_MS=$(now_ms)
		start_decoy --http "127.0.0.1:$port" --https "" --admin ""
		;;
	prism | prism-warn)
		# The example is written as JSON (a YAML flow mapping), so that the
		# bytes Prism serializes are BODY's.
		cat >"$dir/users.yaml" <<EOF
openapi: 3.0.3
info: {title: users, version: "1.0"}
paths:
  /users/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: a user
          content:
            application/json:
              example: $BODY
EOF
		local -a quiet=()
		[[ $s != prism-warn ]] || quiet=(--verboseLevel warn)
		launch "$dir" "$dir/prism.log" "$PRISM_BIN" mock --host 127.0.0.1 --port "$port" \
			"${quiet[@]+"${quiet[@]}"}" "$dir/users.yaml"
		;;
	mockoon)
		# A Mockoon environment (data file) with one route, as the desktop
		# application saves it; the other settings at their defaults.
		cat >"$dir/environment.json" <<EOF
{
  "uuid": "4f0c8a52-0d2e-4c1b-9a57-3d3f6a1b0001", "lastMigration": 33,
  "name": "decoy-bench", "endpointPrefix": "", "latency": 0,
  "port": $port, "hostname": "127.0.0.1", "folders": [],
  "routes": [{
    "uuid": "4f0c8a52-0d2e-4c1b-9a57-3d3f6a1b0002", "type": "http", "documentation": "",
    "method": "get", "endpoint": "${PATH_UNDER_TEST#/}",
    "responses": [{
      "uuid": "4f0c8a52-0d2e-4c1b-9a57-3d3f6a1b0003", "body": $(json_string "$BODY"),
      "latency": 0, "statusCode": 200, "label": "",
      "headers": [{"key": "Content-Type", "value": "application/json"}],
      "bodyType": "INLINE", "filePath": "", "databucketID": "", "sendFileAsBody": false,
      "rules": [], "rulesOperator": "OR", "disableTemplating": false,
      "fallbackTo404": false, "default": true, "crudKey": "id", "callbacks": []
    }],
    "responseMode": null, "streamingMode": null, "streamingInterval": 0
  }],
  "rootChildren": [{"type": "route", "uuid": "4f0c8a52-0d2e-4c1b-9a57-3d3f6a1b0002"}],
  "proxyMode": false, "proxyHost": "", "proxyRemovePrefix": false,
  "tlsOptions": {"enabled": false, "type": "CERT", "pfxPath": "", "certPath": "", "keyPath": "", "caPath": "", "passphrase": ""},
  "cors": true, "headers": [], "proxyReqHeaders": [], "proxyResHeaders": [], "data": [], "callbacks": []
}
EOF
		launch "$dir" "$dir/mockoon.log" "$MOCKOON_BIN" start --data "$dir/environment.json"
		;;
	mountebank | mountebank-ka)
		# mb's own API on one port, the imposter on another. mountebank
		# answers with Connection: close unless the response says otherwise;
		# mountebank-ka sends Connection: keep-alive.
		local imposter headers='"Content-Type": "application/json"'
		imposter=$(free_port)
		[[ $s != mountebank-ka ]] || headers+=', "Connection": "keep-alive"'
		cat >"$dir/imposters.json" <<EOF
{"imposters": [{
  "protocol": "http", "port": $imposter, "host": "127.0.0.1",
  "stubs": [{
    "predicates": [{"equals": {"method": "GET", "path": "$PATH_UNDER_TEST"}}],
    "responses": [{"is": {"statusCode": 200, "headers": {$headers}, "body": $(json_string "$BODY")}}]
  }]
}]}
EOF
		PROBE_URL=http://127.0.0.1:$imposter$PATH_UNDER_TEST
		launch "$dir" "$dir/mb.out" "$MB_BIN" start --host 127.0.0.1 --port "$port" \
			--configfile "$dir/imposters.json" --pidfile "$dir/mb.pid"
		;;
	wiremock | wiremock-nojournal)
		mkdir -p "$dir/root/mappings"
		cat >"$dir/root/mappings/users.json" <<EOF
{
  "request": {"method": "GET", "url": "$PATH_UNDER_TEST"},
  "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": $(json_string "$BODY")}
}
EOF
		local -a journal=()
		[[ $s != wiremock-nojournal ]] || journal=(--no-request-journal)
		launch "$dir" "$dir/wiremock.log" java -jar "$WIREMOCK_JAR" --port "$port" \
			--bind-address 127.0.0.1 --root-dir "$dir/root" "${journal[@]+"${journal[@]}"}"
		;;
	json-server)
		# json-server pretty-prints JSON (Express "json spaces" 2); this
		# middleware sets it to 0 so the body is BODY's 168 bytes.
		printf '{"users": [%s]}\n' "$BODY" >"$dir/db.json"
		cat >"$dir/compact.js" <<'EOF'
module.exports = (req, res, next) => { req.app.set("json spaces", 0); next(); };
EOF
		launch "$dir" "$dir/json-server.log" "$JSON_SERVER_BIN" "$dir/db.json" \
			--host 127.0.0.1 --port "$port" --middlewares "$dir/compact.js"
		;;
	esac
}

# start_openapi SERVER PORT: start SERVER serving SPEC with request validation.
start_openapi() {
	local s=$1 port=$2 dir=$TMP/openapi-$1
	mkdir -p "$dir"
	PROBE_URL="http://127.0.0.1:$port/orders?$GET_QUERY"
	case $s in
	decoy)
		local -a extra=()
		# shellcheck disable=SC2206 # DECOY_FLAGS is a list of words on purpose
		[[ -z ${DECOY_FLAGS:-} ]] || extra=($DECOY_FLAGS)
		launch "$dir" "$dir/decoy.log" "$DECOY_BIN" serve --quiet --http "127.0.0.1:$port" \
			--https "" --admin "" "${extra[@]+"${extra[@]}"}" "$SPEC"
		;;
	prism | prism-warn)
		local -a quiet=()
		[[ $s != prism-warn ]] || quiet=(--verboseLevel warn)
		launch "$dir" "$dir/prism.log" "$PRISM_BIN" mock --host 127.0.0.1 --port "$port" \
			"${quiet[@]+"${quiet[@]}"}" "$SPEC"
		;;
	esac
}

READY_MS=0
REASON=

# last_log_line FILE: the last non-blank line of FILE, colour codes removed, shortened.
last_log_line() {
	local line
	line=$(sed 's/\x1b\[[0-9;]*m//g' "$1" 2>/dev/null | awk 'NF { l = $0 } END { print l }')
	echo "${line:0:160}"
}

# wait_200 NAME URL: poll URL every 20 ms until it answers 200 (sets
# READY_MS). Returns 1 with REASON set if the server exits or START_TIMEOUT
# passes first.
wait_200() {
	local name=$1 url=$2 deadline code
	deadline=$(($(now_ms) + START_TIMEOUT * 1000))
	while :; do
		code=$(curl -s --max-time 2 -o "$TMP/probe" -w '%{http_code}' "$url" 2>/dev/null) || true
		if [[ $code == 200 ]]; then
			READY_MS=$(now_ms)
			return
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			REASON="exited during start-up: $(last_log_line "$SERVER_LOG")"
			return 1
		fi
		if (($(now_ms) > deadline)); then
			REASON="no 200 from $url within ${START_TIMEOUT}s (last status ${code:-none}): $(last_log_line "$SERVER_LOG")"
			return 1
		fi
		sleep 0.02
	done
}

# check_body NAME URL: the body and Content-Type SERVER returns must be
# BODY and application/json; else returns 1 with REASON set. Logs the header size.
check_body() {
	local name=$1 url=$2 info body hsize ctype
	info=$(curl -s --max-time 5 -o "$TMP/probe" -w '%{size_header} %{content_type}' "$url") || {
		REASON="curl $url failed"
		return 1
	}
	body=$(<"$TMP/probe")
	read -r hsize ctype <<<"$info"
	if [[ $body != "$BODY" ]]; then
		REASON="answered a different body (${#body} bytes): ${body:0:80}"
		return 1
	fi
	if [[ $ctype != application/json* ]]; then
		REASON="answered Content-Type $ctype, not application/json"
		return 1
	fi
	log "$name: same body (${#body} bytes) with $hsize header bytes, Content-Type $ctype"
}

# ---------------------------------------------------------------- measuring

# run_wrk CONNS SECONDS URL OUTFILE [WRK_ARGS...]: wrk pinned to CLIENT_CPU,
# bounded by timeout. Returns 1 (REASON set) if wrk fails.
run_wrk() {
	local conns=$1 secs=$2 url=$3 out=$4
	shift 4
	if ! timeout "$((secs + 30))" taskset -c "$CLIENT_CPU" \
		wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s --latency "$@" "$url" >"$out" 2>&1; then
		REASON="wrk -c$conns failed: $(last_log_line "$out")"
		return 1
	fi
}

# tree_hwm_kib PID: peak resident memory (VmHWM) summed over PID's process tree, in KiB.
tree_hwm_kib() {
	local total=0 pid kib
	for pid in $(tree_pids "$1"); do
		kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		total=$((total + ${kib:-0}))
	done
	echo "$total"
}

PEER_ROWS=()  # "server rps p50 p99 cpu_us c1_p50 hwm_mib startup_ms errors"
declare -A PEER_FAIL=()

# measure_peer SERVER: one row of the MODE=peers table.
measure_peer() {
	local s=$1 port out=$TMP/wrk-$1
	REASON=${NOT_RUN[$s]:-}
	if [[ -n $REASON ]]; then
		PEER_FAIL[$s]=$REASON
		log "$s: not run: $REASON"
		return
	fi
	port=$(free_port)
	start_peer "$s" "$port"
	if ! wait_200 "$s" "$PROBE_URL" || ! check_body "$s" "$PROBE_URL"; then
		stop_server "$SERVER_PID"
		PEER_FAIL[$s]=$REASON
		log "$s: not run: $REASON"
		return
	fi
	local startup=$((READY_MS - LAUNCH_MS)) before after warmup=$WARMUP
	[[ $s != wiremock* ]] || warmup=$JVM_WARMUP
	log "$s: first 200 after $startup ms; measuring (${warmup}s warm-up, ${DURATION}s at c=$CONNS, ${DURATION}s at c=1)"
	if { ((warmup <= 0)) || run_wrk "$CONNS" "$warmup" "$PROBE_URL" "$out.warmup"; } &&
		before=$(tree_ticks "$SERVER_PID") &&
		run_wrk "$CONNS" "$DURATION" "$PROBE_URL" "$out.c$CONNS" &&
		after=$(tree_ticks "$SERVER_PID") &&
		run_wrk 1 "$DURATION" "$PROBE_URL" "$out.c1"; then
		:
	else
		stop_server "$SERVER_PID"
		PEER_FAIL[$s]=$REASON
		log "$s: failed: $REASON"
		return
	fi
	local hwm_kib
	hwm_kib=$(tree_hwm_kib "$SERVER_PID")
	stop_server "$SERVER_PID"

	local requests errors
	requests=$(wrk_stat "$out.c$CONNS" requests)
	errors=$(wrk_stat "$out.c$CONNS" errors)
	if ! [[ $requests =~ ^[0-9]+$ && $requests -gt 0 ]]; then
		PEER_FAIL[$s]="wrk completed no requests: $(last_log_line "$out.c$CONNS")"
		return
	fi
	((errors == 0)) || log "WARNING: $s: $errors socket errors or non-2xx responses (see $out.c$CONNS)"
	PEER_ROWS+=("$s $(wrk_stat "$out.c$CONNS" rps) $(wrk_stat "$out.c$CONNS" p50) $(wrk_stat "$out.c$CONNS" p99) $(us_per "$((after - before))" "$requests") $(wrk_stat "$out.c1" p50) $(awk -v k="$hwm_kib" 'BEGIN { printf "%.1f", k / 1024 }') $startup $errors")
}

# peers_table: the MODE=peers table, in SERVERS order, with ratios to decoy.
peers_table() {
	local s row
	echo
	echo "GET $PATH_UNDER_TEST, ${#BODY}-byte JSON body, HTTP/1.1 keep-alive, c=$CONNS for req/s, p50, p99 and CPU; ${DURATION}s per run"
	printf '%-19s %9s %8s %8s %9s %8s %8s %8s %9s %11s  %s\n' server req/s "p50 us" "p99 us" "us CPU/req" "c=1 p50" "peak MiB" "start ms" "errors" "CPU x decoy" "note"
	local decoy_cpu=
	for row in "${PEER_ROWS[@]+"${PEER_ROWS[@]}"}"; do
		[[ $row != "decoy "* ]] || decoy_cpu=$(awk '{ print $5 }' <<<"$row")
	done
	for s in $SERVERS; do
		if [[ -n ${PEER_FAIL[$s]:-} ]]; then
			printf '%-19s %s\n' "$s" "not run: ${PEER_FAIL[$s]}"
			continue
		fi
		for row in "${PEER_ROWS[@]+"${PEER_ROWS[@]}"}"; do
			[[ $row == "$s "* ]] || continue
			awk -v d="$decoy_cpu" -v note="$(peer_note "$s")" '{
				ratio = (d > 0 ? sprintf("%.1f", $5 / d) : "?")
				printf "%-19s %9s %8s %8s %10s %8s %8s %8s %9s %11s  %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, ratio, note
			}' <<<"$row"
		done
	done
}

# peer_note SERVER: how SERVER was configured, for the table.
peer_note() {
	case $1 in
	nginx) echo "1 worker, access log off" ;;
	decoy) echo "defaults (journal on, access log off)" ;;
	prism) echo "prism mock, default logging (info, to a file)" ;;
	prism-warn) echo "prism mock --verboseLevel warn" ;;
	mockoon) echo "mockoon-cli start, defaults (transaction log to a file)" ;;
	mountebank) echo "mb, defaults: info log, Connection: close" ;;
	mountebank-ka) echo "mb, info log, response header Connection: keep-alive" ;;
	wiremock) echo "java -jar, defaults (request journal on); ${JVM_WARMUP}s warm-up" ;;
	wiremock-nojournal) echo "java -jar --no-request-journal; ${JVM_WARMUP}s warm-up" ;;
	json-server) echo "defaults (request log on) + middleware: json spaces 0" ;;
	esac
}

# ---------------------------------------------------------------- MODE=openapi

OA_ROWS=() # "server endpoint rps p50 p99 cpu_us errors"
declare -A OA_FAIL=()

# expect_status NAME WANT CURL_ARGS...: the status of a request must match
# the pattern WANT (e.g. 2??, 4??); else returns 1 with REASON set.
expect_status() {
	local name=$1 want=$2 code
	shift 2
	code=$(curl -s --max-time 5 -o "$TMP/probe" -w '%{http_code}' "$@") || true
	# shellcheck disable=SC2053 # WANT is a pattern
	if [[ $code != $want ]]; then
		REASON="$name: got status ${code:-none}, want $want: $(head -c 120 "$TMP/probe" 2>/dev/null)"
		return 1
	fi
	log "$name: $code, $(wc -c <"$TMP/probe") body bytes"
}

# measure_openapi SERVER: rows for GET and POST of the MODE=openapi table.
measure_openapi() {
	local s=$1 port base out=$TMP/wrk-openapi-$1
	REASON=${NOT_RUN[$s]:-}
	if [[ -n $REASON ]]; then
		OA_FAIL[$s]=$REASON
		return
	fi
	port=$(free_port)
	base=http://127.0.0.1:$port
	start_openapi "$s" "$port"
	local post_lua=$TMP/post-order.lua
	cat >"$post_lua" <<EOF
wrk.method = "POST"
wrk.body = '$ORDER_BODY'
wrk.headers["Content-Type"] = "application/json"
EOF
	if ! wait_200 "$s" "$PROBE_URL" ||
		! expect_status "$s GET valid" 200 "$base/orders?$GET_QUERY" ||
		! expect_status "$s GET limit=500" '4??' "$base/orders?$GET_QUERY_BAD" ||
		! expect_status "$s POST valid" 201 -H 'Content-Type: application/json' -d "$ORDER_BODY" "$base/orders" ||
		! expect_status "$s POST quantity=0" '4??' -H 'Content-Type: application/json' -d "$ORDER_BODY_BAD" "$base/orders"; then
		stop_server "$SERVER_PID"
		OA_FAIL[$s]=$REASON
		log "$s: not run: $REASON"
		return
	fi
	log "$s: first 200 after $((READY_MS - LAUNCH_MS)) ms; it validates requests"
	local ep url before after requests
	local -a args
	for ep in GET POST; do
		url="$base/orders?$GET_QUERY"
		args=()
		if [[ $ep == POST ]]; then
			url=$base/orders
			args=(-s "$post_lua")
		fi
		if { ((WARMUP <= 0)) || run_wrk "$CONNS" "$WARMUP" "$url" "$out.$ep.warmup" "${args[@]+"${args[@]}"}"; } &&
			before=$(tree_ticks "$SERVER_PID") &&
			run_wrk "$CONNS" "$DURATION" "$url" "$out.$ep" "${args[@]+"${args[@]}"}" &&
			after=$(tree_ticks "$SERVER_PID"); then
			requests=$(wrk_stat "$out.$ep" requests)
			(($(wrk_stat "$out.$ep" errors) == 0)) ||
				log "WARNING: $s $ep: socket errors or non-2xx responses (see $out.$ep)"
			OA_ROWS+=("$s $ep $(wrk_stat "$out.$ep" rps) $(wrk_stat "$out.$ep" p50) $(wrk_stat "$out.$ep" p99) $(us_per "$((after - before))" "$requests") $(wrk_stat "$out.$ep" errors)")
		else
			OA_FAIL[$s]=$REASON
			break
		fi
	done
	stop_server "$SERVER_PID"
}

# openapi_servers: decoy, then OPENAPI_SERVERS, each once.
openapi_servers() { echo "decoy $OPENAPI_SERVERS" | awk '{ for (i = 1; i <= NF; i++) if (!seen[$i]++) print $i }'; }

openapi_table() {
	local s
	echo
	echo "OpenAPI, request validation on: GET /orders?$GET_QUERY and POST /orders (${#ORDER_BODY}-byte JSON body), c=$CONNS, ${DURATION}s per run"
	printf '%-11s %-5s %9s %8s %8s %10s %7s\n' server req "req/s" "p50 us" "p99 us" "us CPU/req" errors
	for s in $(openapi_servers); do
		[[ -z ${OA_FAIL[$s]:-} ]] || printf '%-11s %s\n' "$s" "not run: ${OA_FAIL[$s]}"
	done
	printf '%s\n' "${OA_ROWS[@]+"${OA_ROWS[@]}"}" | awk -v order="decoy $OPENAPI_SERVERS" '
		NF { rps[$1, $2] = $3; cpu[$1, $2] = $6; row[$1, $2] = $0; have[$1] = 1 }
		END {
			k = split(order, names, " ")
			for (j = 1; j <= k; j++) {
				s = names[j]
				if (!(s in have) || (s in done)) continue
				done[s] = 1
				for (e = 1; e <= 2; e++) {
					ep = (e == 1 ? "GET" : "POST")
					if (!((s, ep) in row)) continue
					split(row[s, ep], f, " ")
					printf "%-11s %-5s %9s %8s %8s %10s %7s\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7]
				}
			}
			print ""
			for (j = 1; j <= k; j++) {
				s = names[j]
				if (s == "decoy" || !(s in have)) continue
				for (e = 1; e <= 2; e++) {
					ep = (e == 1 ? "GET" : "POST")
					if (!((s, ep) in rps) || !(("decoy", ep) in rps) || rps[s, ep] <= 0 || cpu["decoy", ep] <= 0) continue
					r = rps["decoy", ep] / rps[s, ep]
					printf "decoy vs %-10s %-4s: %6.1fx the requests/s, %6.1fx less CPU per request (target: 20x the requests/s: %s)\n",
						s, ep, r, cpu[s, ep] / cpu["decoy", ep], (r >= 20 ? "met" : "NOT met")
				}
			}
		}'
}

# ---------------------------------------------------------------- main

START_S=$(date +%s)
check_prereqs
check_idle
bench_init
build_decoy
install_peers

log "MODE=$MODE; servers on CPU $SERVER_CPU, wrk -t1 on CPU $CLIENT_CPU; ${WARMUP}s warm-up, ${DURATION}s per run; 127.0.0.1 only"
log "machine: $(machine_line); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in node $(which_servers); do
	[[ -z ${VERSION[$s]:-} ]] || echo "#   $s: ${VERSION[$s]}"
done | awk '!seen[$0]++' >&2

if [[ $MODE != openapi ]]; then
	for s in $SERVERS; do
		measure_peer "$s"
	done
fi
if [[ $MODE != peers ]]; then
	for s in $(openapi_servers); do
		measure_openapi "$s"
	done
fi

[[ $MODE == openapi ]] || peers_table
[[ $MODE == peers ]] || openapi_table
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); run took $(($(date +%s) - START_S)) s"
