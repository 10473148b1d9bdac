# shellcheck shell=bash
# shellcheck disable=SC2034 # variables set here are used by the scripts that source it
# bench/lib.sh: helpers shared by the bench scripts. Sourced, not run.
#
# Before sourcing, a script sets BENCH_NAME (the prefix of its messages). It
# then calls bench_init, which makes the temporary directory $TMP and installs
# the EXIT trap that stops every process the script started (the PIDs in
# STARTED, each by PID and its own process tree, never by name) and removes
# $TMP (kept when KEEP_TMP is set).
#
# What every script measures the same way:
#   - server CPU time: utime + stime of the server's process tree from
#     /proc/PID/stat, plus cutime + cstime of descendants that exited
#     (tree_ticks), in clock ticks (CLK_TCK per second);
#   - resident memory: VmRSS of the process tree (tree_rss_kib).

BENCH_NAME=${BENCH_NAME:-bench}
KEEP_TMP=${KEEP_TMP:-}
DECOY_BIN=${DECOY_BIN:-}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The request every HTTP script measures: GET /users/42 answered with this
# 168-byte JSON body (no single quotes or '$': it is quoted for nginx and YAML).
PATH_UNDER_TEST=/users/42
BODY='{"id":42,"name":"Ada Lovelace","email":"ada@example.com","role":"dev","active":true,"created_at":"2024-01-15T09:30:00Z","team":{"id":7,"name":"Engine"},"tags":["math"]}'
# An OpenAPI example is sent as decoy encodes JSON (keys sorted): the same
# body, its keys in that order, for every server of the run.
if [[ ${DECOY_SOURCE:-stub} == openapi ]]; then
	BODY='{"active":true,"created_at":"2024-01-15T09:30:00Z","email":"ada@example.com","id":42,"name":"Ada Lovelace","role":"dev","tags":["math"],"team":{"id":7,"name":"Engine"}}'
fi

die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}
log() { echo "# $*" >&2; }

# require_tools HINT TOOL...: die naming every TOOL not on PATH, with HINT
# (how to install them).
require_tools() {
	local hint=$1 tool
	shift
	local -a missing=()
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	if ((${#missing[@]})); then
		die "missing tools: ${missing[*]} ($hint)"
	fi
}

# require_cpus: the server and the load generator each need a CPU of their own.
require_cpus() {
	local ncpu
	ncpu=$(getconf _NPROCESSORS_ONLN)
	((ncpu >= 2)) || die "needs at least 2 CPUs (server on one, load generator on another); this machine has $ncpu"
	[[ ${#BODY} -eq 168 ]] || die "internal error: body is ${#BODY} bytes, not 168"
}

# check_idle: warn when other work already keeps the CPUs busy (sampled over
# one second from /proc/stat): the figures would then measure the contention.
check_idle() {
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		busy = y[1] - x[1]; idle = y[2] - x[2]
		if (busy + idle > 0 && busy / (busy + idle) > 0.10)
			printf "# WARNING: the CPUs were %.0f%% busy before the benchmark started; other load skews every figure\n", 100 * busy / (busy + idle)
	}' >&2
}

# ---------------------------------------------------------------- processes we started

TMP=
STARTED=() # PIDs this script started and has not stopped yet

bench_cleanup() {
	local i
	# Last started first: load generators before the servers they load.
	for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
		stop_server "${STARTED[i]}" || true
	done
	if [[ -n $TMP && -d $TMP ]]; then
		if [[ -n $KEEP_TMP ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
	fi
}

# bench_init: the temporary directory, the traps, CLK_TCK.
bench_init() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	CLK_TCK=$(getconf CLK_TCK)
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/decoy-bench.XXXXXX")
}

# started PID: remember a background process so that the EXIT trap stops it.
started() { STARTED+=("$1"); }

# forget PID: a process that has ended need not be stopped any more.
forget() {
	local pid
	local -a keep=()
	for pid in "${STARTED[@]}"; do
		[[ $pid == "$1" ]] || keep+=("$pid")
	done
	STARTED=("${keep[@]+"${keep[@]}"}")
}

# read_stat PID: sets STAT to the fields of /proc/PID/stat after the command
# name, which can hold spaces: STAT[0] = state, [1] = ppid, [11] = utime,
# [12] = stime, [13] = cutime, [14] = cstime, [19] = starttime. Builtins only:
# it runs for every process on the machine.
STAT=()
read_stat() {
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	read -r -a STAT <<<"${line##*) }"
}

# tree_pids PID: PID and all its descendants, found from each process's ppid
# (the kernel here need not have /proc/PID/task/TID/children).
tree_pids() {
	local root=$1 f pid p
	local -A parent=()
	for f in /proc/[0-9]*/stat; do
		pid=${f#/proc/}
		pid=${pid%/stat}
		read_stat "$pid" || continue
		parent[$pid]=${STAT[1]}
	done
	local -a found=("$root") queue=("$root")
	while ((${#queue[@]})); do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		for pid in "${!parent[@]}"; do
			if [[ ${parent[$pid]} == "$p" ]]; then
				found+=("$pid")
				queue+=("$pid")
			fi
		done
	done
	echo "${found[@]}"
}

# tree_ticks PID: CPU ticks (user + system) used so far by PID's process tree,
# including children that have already exited and been reaped (cutime, cstime).
tree_ticks() {
	local total=0 pid
	for pid in $(tree_pids "$1"); do
		read_stat "$pid" || continue
		total=$((total + STAT[11] + STAT[12] + STAT[13] + STAT[14]))
	done
	echo "$total"
}

# tree_rss_kib PID: resident memory of PID's process tree, in KiB.
tree_rss_kib() {
	local total=0 pid kib
	for pid in $(tree_pids "$1"); do
		kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		total=$((total + ${kib:-0}))
	done
	echo "$total"
}

# us_per TICKS N: microseconds of CPU per unit for TICKS clock ticks over N units.
us_per() {
	awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "?" }'
}

# stop_server PID: SIGTERM the process, wait up to 5 s for it to exit, then
# SIGKILL whatever is left of its process tree. A descendant is only killed if
# it is still the same process (same start time), never a reused PID.
stop_server() {
	local root=$1 pid i
	local -a tree=() ident=()
	for pid in $(tree_pids "$root"); do
		read_stat "$pid" || continue
		tree+=("$pid")
		ident+=("${STAT[19]}")
	done
	kill -TERM "$root" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$root" 2>/dev/null || break
		sleep 0.1
	done
	for i in "${!tree[@]}"; do
		if read_stat "${tree[i]}" && [[ ${STAT[19]} == "${ident[i]}" && ${STAT[0]} != Z ]]; then
			kill -KILL "${tree[i]}" 2>/dev/null || true
		fi
	done
	wait "$root" 2>/dev/null || true
	forget "$root"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
		return
	fi
	# Fallback: probe random ports below the ephemeral range (32768+) until a
	# connect is refused.
	local port i
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	die "no free port found"
}

# ---------------------------------------------------------------- building

# go_build PKG OUT: build the repository's package PKG (./cmd/decoy,
# ./bench/conns, ...) into OUT, without cgo, bounded in time.
go_build() {
	local pkg=$1 out=$2
	log "building $pkg"
	(cd "$REPO_ROOT" && CGO_ENABLED=0 timeout 600 go build -o "$out" "$pkg") ||
		die "go build $pkg failed"
}

# build_decoy: DECOY_BIN if set, else decoy built from the working tree.
build_decoy() {
	if [[ -n $DECOY_BIN ]]; then
		[[ -x $DECOY_BIN ]] || die "DECOY_BIN=$DECOY_BIN is not an executable file"
		return
	fi
	go_build ./cmd/decoy "$TMP/decoy"
	DECOY_BIN=$TMP/decoy
}

# write_bench_proto DIR: DIR/bench/v1/bench.proto, the gRPC service of
# grpc-ghz.sh and grpc-web.sh (bench/grpcref compiles the same one in):
#   service Bench { rpc Get(google.protobuf.Int64Value) returns (google.protobuf.StringValue); }
write_bench_proto() {
	mkdir -p "$1/bench/v1"
	cat >"$1/bench/v1/bench.proto" <<'EOF'
syntax = "proto3";

package bench.v1;

import "google/protobuf/wrappers.proto";

service Bench {
  rpc Get(google.protobuf.Int64Value) returns (google.protobuf.StringValue);
}
EOF
}

# ---------------------------------------------------------------- TLS

# make_cert DIR: a self-signed ECDSA P-256 certificate for 127.0.0.1 and
# localhost, DIR/cert.pem and DIR/key.pem, that every TLS server of a run uses.
make_cert() {
	local dir=$1
	mkdir -p "$dir"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=127.0.0.1 -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/openssl.log" 2>&1 ||
		{ cat "$dir/openssl.log" >&2; die "openssl could not make a certificate"; }
}

# tls_params PORT [ALPN]: the protocol version and cipher suite a TLS server
# on 127.0.0.1:PORT negotiates with OpenSSL's client defaults (as wrk and
# h2load use), e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256 (ALPN h2)".
tls_params() {
	local port=$1 alpn=${2:-} out
	local -a args=(-connect "127.0.0.1:$port" -servername localhost)
	[[ -z $alpn ]] || args+=(-alpn "$alpn")
	out=$(timeout 5 openssl s_client "${args[@]}" </dev/null 2>&1 | tr -d '\0') || true
	awk '
		/^New, / { sub(/,$/, "", $2); v = $2; c = $NF }
		/^ALPN protocol:/ { a = $NF }
		END { printf "%s %s%s", (v ? v : "?"), (c ? c : "?"), (a ? " (ALPN " a ")" : "") }' <<<"$out"
}

# ---------------------------------------------------------------- servers

# BODY_FILE, when a script sets it, is a file served on PATH_UNDER_TEST
# instead of BODY: nginx sends it with sendfile, decoy loads it (bodyFile),
# wait_ready compares the answer with it.
BODY_FILE=

# start_nginx PORT LISTEN_FLAGS [EXTRA]: writes a config into $TMP/nginx
# serving BODY (or BODY_FILE) on PATH_UNDER_TEST with 1 worker, no access log and keep-alive
# for the whole run, listening on 127.0.0.1:PORT with LISTEN_FLAGS ("",
# "http2", "ssl", "ssl http2"); EXTRA is added to the server block (TLS
# settings). Starts nginx pinned to SERVER_CPU in the foreground (daemon
# off), so its PID is the master's. Sets SERVER_PID and SERVER_LOG.
# NGINX_MAIN is added to the main context (load_module lines).
# NGINX_WORKERS (default 1) sets worker_processes; NGINX_CONNS (default
# 4096) is how many connections one worker must hold at once: nginx starts
# closing idle keep-alive connections when fewer than 1/16 of its
# worker_connections are free, so worker_connections is set above that.
start_nginx() {
	local port=$1 flags=$2 extra=${3:-} dir=$TMP/nginx
	local conns=${NGINX_CONNS:-4096} files answer="return 200 '$BODY';"
	local wc=$((conns * 17 / 16 + 256))
	[[ -z $BODY_FILE ]] || answer="alias $BODY_FILE; sendfile on;"
	# Its open files: the hard limit (which a worker may raise its soft one
	# to), or the connections and a few when that is unlimited.
	files=$(ulimit -Hn)
	[[ $files =~ ^[0-9]+$ ]] || files=$((conns + 64))
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<EOF
${NGINX_MAIN:-}
worker_processes ${NGINX_WORKERS:-1};
worker_rlimit_nofile $files;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections $wc; }
http {
    access_log off;
    # Keep connections for the whole run (nginx closes them after 1,000
    # requests by default, HTTP/2 connections included).
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port${flags:+ $flags};
$extra
        location = $PATH_UNDER_TEST {
            default_type application/json;
            $answer
        }
    }
}
EOF
	taskset -c "$SERVER_CPU" nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
		>"$dir/stdout.log" 2>&1 &
	SERVER_PID=$!
	started "$SERVER_PID"
	SERVER_LOG=$dir/error.log
}

# nginx_tls_conf DIR: nginx directives for TLS 1.3 with the certificate in
# DIR and the cipher suite TLS_CIPHERSUITE, so nginx does the same crypto as
# decoy (Go's server picks AES-128-GCM where the CPU has AES instructions;
# OpenSSL's default order would give nginx AES-256-GCM).
nginx_tls_conf() {
	cat <<EOF
        ssl_certificate $1/cert.pem;
        ssl_certificate_key $1/key.pem;
        ssl_protocols TLSv1.3;
        ssl_conf_command Ciphersuites ${TLS_CIPHERSUITE:-TLS_AES_128_GCM_SHA256};
EOF
}

# start_decoy FLAGS...: writes the stub file serving BODY on PATH_UNDER_TEST
# and starts decoy pinned to SERVER_CPU with FLAGS (listeners: give every one
# of --http, --https, --admin, empty to turn it off) and DECOY_FLAGS (a
# space-separated list, e.g. "--journal-size 0"). STUB_LATENCY (e.g. 100ms)
# gives the stub a fixed latency; STUB_HEADERS (YAML flow-map entries, e.g.
# "Server: nginx/1.22.1") adds headers to its answer; STUB_FILES (space-separated paths) are
# served beside it. DECOY_SOURCE=openapi serves BODY as the example of an
# OpenAPI 3.0 operation instead of a native stub (requests are then checked
# against the document too). Sets SERVER_PID, SERVER_LOG.
start_decoy() {
	local dir=$TMP/decoy-run
	mkdir -p "$dir"
	if [[ ${DECOY_SOURCE:-stub} == openapi ]]; then
		cat >"$dir/stubs.yaml" <<EOF
openapi: 3.0.3
info: {title: bench, version: "1"}
paths:
  $PATH_UNDER_TEST:
    get:
      responses:
        "200":
          description: the body under test
          content:
            application/json:
              example: $BODY
EOF
	else
		local answer="body: '$BODY'"
		[[ -z $BODY_FILE ]] || answer="bodyFile: $BODY_FILE"
		cat >"$dir/stubs.yaml" <<EOF
- request: {method: GET, path: $PATH_UNDER_TEST}
  response:
    status: 200
    headers: {Content-Type: application/json${STUB_HEADERS:+, $STUB_HEADERS}}
    $answer
EOF
	fi
	[[ -z ${STUB_LATENCY:-} ]] || echo "    latency: $STUB_LATENCY" >>"$dir/stubs.yaml"
	local -a extra=() files=()
	# shellcheck disable=SC2206 # DECOY_FLAGS and STUB_FILES are lists of words on purpose
	[[ -z ${DECOY_FLAGS:-} ]] || extra=($DECOY_FLAGS)
	# shellcheck disable=SC2206
	[[ -z ${STUB_FILES:-} ]] || files=($STUB_FILES)
	# Flags before the files: that parses with Go's flag package and with pflag.
	taskset -c "$SERVER_CPU" "$DECOY_BIN" serve --quiet "$@" "${extra[@]+"${extra[@]}"}" \
		"$dir/stubs.yaml" "${files[@]+"${files[@]}"}" >"$dir/decoy.log" 2>&1 &
	SERVER_PID=$!
	started "$SERVER_PID"
	SERVER_LOG=$dir/decoy.log
}

# wait_ready NAME PID URL LOG [CURL_ARGS...]: wait (at most 10 s) until the
# server answers URL with BODY and Content-Type application/json; fail with
# its log otherwise. Logs the response's header size and HTTP version, so
# unequal responses show, and sets READY_HTTP_VERSION (1.1, 2).
READY_HTTP_VERSION=
wait_ready() {
	local name=$1 pid=$2 url=$3 logfile=$4 i info body
	shift 4
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$logfile" >&2 || true
			die "$name (pid $pid) exited during start-up; log: $logfile"
		fi
		if info=$(curl -sf --max-time 1 "$@" -o "$TMP/probe" \
			-w '%{size_header} %{http_version} %{content_type}' "$url" 2>/dev/null); then
			if [[ -n $BODY_FILE ]]; then
				cmp -s "$TMP/probe" "$BODY_FILE" || die "$name at $url answered a body other than $BODY_FILE's"
			else
				body=$(<"$TMP/probe")
				[[ $body == "$BODY" ]] || die "$name at $url answered a different body: $body"
			fi
			local hsize hver ctype
			read -r hsize hver ctype <<<"$info"
			[[ $ctype == application/json* ]] || die "$name answered Content-Type $ctype, not application/json"
			log "$name ready at $url: HTTP/$hver, $hsize header bytes + $(stat -c %s "$TMP/probe") body bytes"
			READY_HTTP_VERSION=$hver
			return
		fi
		sleep 0.1
	done
	tail -n 20 "$logfile" >&2 || true
	die "$name (pid $pid) not answering $url after 10 s; log: $logfile"
}

# NS_EXEC, when a script sets it, is the command (ip netns exec NAME) that
# runs a command in the network namespace its servers listen in.
NS_EXEC=()

# wait_port NAME PID PORT LOG: wait (at most 15 s) until something accepts
# TCP connections on 127.0.0.1:PORT, failing with the log if PID exits.
wait_port() {
	local name=$1 pid=$2 port=$3 logfile=$4 i
	for ((i = 0; i < 150; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$logfile" >&2 || true
			die "$name (pid $pid) exited during start-up; log: $logfile"
		fi
		if "${NS_EXEC[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
			return
		fi
		sleep 0.1
	done
	tail -n 20 "$logfile" >&2 || true
	die "$name (pid $pid) not listening on 127.0.0.1:$port after 15 s; log: $logfile"
}

# machine_line: what the figures were measured on.
machine_line() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "$(getconf _NPROCESSORS_ONLN) CPUs ($cpu), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
}

# ---------------------------------------------------------------- wrk's output

# to_us VALUE: wrk's latency ("812.00us", "1.23ms", "1.02s") in whole µs.
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /m$/) m = 60e6; else if (v ~ /s$/) m = 1e6; else m = 0
		if (m == 0) { print "?"; exit }
		printf "%.0f", n * m
	}'
}

# wrk_stat OUTFILE NAME: requests | rps | p50 | p99 | errors from wrk's output.
wrk_stat() {
	case $2 in
	requests) awk '/ requests in / { print $1 }' "$1" ;;
	rps) awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$1" ;;
	p50) to_us "$(awk '$1 == "50%" { print $2 }' "$1")" ;;
	p99) to_us "$(awk '$1 == "99%" { print $2 }' "$1")" ;;
	errors) awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } /Non-2xx/ { n += $NF } END { print n + 0 }' "$1" ;;
	esac
}

# median: the median of the numbers on standard input, one per line.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
