#!/usr/bin/env bash
# bench/http1-nginx.sh: decoy against nginx, HTTP/1.1 keep-alive on loopback.
#
# Both servers answer GET /users/42 with the same 168-byte JSON body. Each one
# runs pinned to CPU 0, wrk runs pinned to CPU 1, and the script reports the
# server's CPU time per request (read from /proc), which is what separates
# fast servers once the single wrk core is the bottleneck. Runs alternate
# (nginx, decoy, nginx, decoy, ...) so that machine drift hits both alike.
# See bench/README.md for the method and the columns.
#
# Usage: bench/http1-nginx.sh            (from anywhere in the repository)
# Environment:
#   DURATION=10        seconds per measured wrk run
#   ROUNDS=2           how many times each server is measured
#   CONNS=64           wrk connections for the throughput run (the c=1 run is separate)
#   WARMUP=1           seconds of unmeasured load before each measurement (0: none)
#   SERVERS="nginx decoy"  which servers to run, in order
#   SERVER_CPU=0 CLIENT_CPU=1  the CPUs to pin server and wrk to
#   DECOY_BIN=path     use this decoy binary instead of building ./cmd/decoy
#   RESULTS_TSV=path   also append one tab-separated line per run to this file
#   KEEP_TMP=1         keep the temporary directory (configs, logs) for inspection
set -euo pipefail

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-64}
WARMUP=${WARMUP:-1}
SERVERS=${SERVERS:-nginx decoy}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
DECOY_BIN=${DECOY_BIN:-}
RESULTS_TSV=${RESULTS_TSV:-}
KEEP_TMP=${KEEP_TMP:-}

PATH_UNDER_TEST=/users/42
# Exactly 168 bytes, no single quotes or '$' (it is quoted for nginx and YAML).
BODY='{"id":42,"name":"Ada Lovelace","email":"ada@example.com","role":"dev","active":true,"created_at":"2024-01-15T09:30:00Z","team":{"id":7,"name":"Engine"},"tags":["math"]}'

die() { echo "http1-nginx: $*" >&2; exit 1; }
log() { echo "# $*" >&2; }

# ---------------------------------------------------------------- prerequisites

check_prereqs() {
	local missing=() tool
	for tool in wrk taskset curl getconf timeout awk; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	case " $SERVERS " in *" nginx "*)
		command -v nginx >/dev/null 2>&1 || missing+=(nginx) ;;
	esac
	case " $SERVERS " in *" decoy "*)
		[[ -n $DECOY_BIN ]] || command -v go >/dev/null 2>&1 || missing+=(go) ;;
	esac
	if ((${#missing[@]})); then
		die "missing tools: ${missing[*]} (Debian: apt-get install -y nginx wrk curl util-linux coreutils; Go from /usr/local/go/bin)"
	fi
	local ncpu
	ncpu=$(getconf _NPROCESSORS_ONLN)
	((ncpu >= 2)) || die "needs at least 2 CPUs (server on one, wrk on another); this machine has $ncpu"
	[[ ${#BODY} -eq 168 ]] || die "internal error: body is ${#BODY} bytes, not 168"
	local s
	for s in $SERVERS; do
		[[ $s == nginx || $s == decoy ]] || die "unknown server in SERVERS: $s (want nginx and/or decoy)"
	done
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
STARTED=() # PIDs of servers this script started and has not stopped yet

cleanup() {
	local pid
	for pid in "${STARTED[@]}"; do
		stop_server "$pid" || true
	done
	if [[ -n $TMP && -d $TMP ]]; then
		if [[ -n $KEEP_TMP ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

# stop_server PID: SIGTERM the server, wait up to 5 s for it to exit, then
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
	local -a keep=()
	for pid in "${STARTED[@]}"; do
		[[ $pid == "$root" ]] || keep+=("$pid")
	done
	STARTED=("${keep[@]+"${keep[@]}"}")
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

# wait_ready NAME PID PORT LOG: wait (at most 10 s) until the server answers
# the benchmark request with the expected body and Content-Type; fail with its
# log otherwise. Logs the response's header size, so unequal responses show.
wait_ready() {
	local name=$1 pid=$2 port=$3 logfile=$4 i info body
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$logfile" >&2 || true
			die "$name (pid $pid) exited during start-up; log: $logfile"
		fi
		if info=$(curl -sf --max-time 1 -o "$TMP/probe" -w '%{size_header} %{content_type}' \
			"http://127.0.0.1:$port$PATH_UNDER_TEST" 2>/dev/null); then
			body=$(<"$TMP/probe")
			[[ $body == "$BODY" ]] || die "$name on port $port answered a different body: $body"
			[[ ${info#* } == application/json* ]] || die "$name answered Content-Type ${info#* }, not application/json"
			log "$name ready on 127.0.0.1:$port: ${info%% *} header bytes + ${#body} body bytes"
			return
		fi
		sleep 0.1
	done
	tail -n 20 "$logfile" >&2 || true
	die "$name (pid $pid) not answering on 127.0.0.1:$port after 10 s; log: $logfile"
}

# ---------------------------------------------------------------- the servers

# start_nginx PORT: writes a config into $TMP/nginx and starts nginx pinned to
# SERVER_CPU in the foreground (daemon off), so its PID is the master's.
start_nginx() {
	local port=$1 dir=$TMP/nginx
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    # Keep connections for the whole run (nginx closes them after 1,000 by default).
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        location = $PATH_UNDER_TEST {
            default_type application/json;
            return 200 '$BODY';
        }
    }
}
EOF
	taskset -c "$SERVER_CPU" nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
		>"$dir/stdout.log" 2>&1 &
	SERVER_PID=$!
	STARTED+=("$SERVER_PID")
	SERVER_LOG=$dir/error.log
}

build_decoy() {
	if [[ -n $DECOY_BIN ]]; then
		[[ -x $DECOY_BIN ]] || die "DECOY_BIN=$DECOY_BIN is not an executable file"
		return
	fi
	local root
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	log "building decoy from $root/cmd/decoy"
	(cd "$root" && CGO_ENABLED=0 timeout 600 go build -o "$TMP/decoy" ./cmd/decoy) ||
		die "go build ./cmd/decoy failed"
	DECOY_BIN=$TMP/decoy
}

# start_decoy PORT: writes the stub file and starts decoy pinned to SERVER_CPU,
# with only the plain HTTP listener (no HTTPS, no admin).
start_decoy() {
	local port=$1 dir=$TMP/decoy-run
	mkdir -p "$dir"
	cat >"$dir/stubs.yaml" <<EOF
- request: {method: GET, path: $PATH_UNDER_TEST}
  response:
    status: 200
    headers: {Content-Type: application/json}
    body: '$BODY'
EOF
	# Flags before the file: that parses with Go's flag package and with pflag.
	taskset -c "$SERVER_CPU" "$DECOY_BIN" serve \
		--http "127.0.0.1:$port" --https "" --admin "" --quiet "$dir/stubs.yaml" \
		>"$dir/decoy.log" 2>&1 &
	SERVER_PID=$!
	STARTED+=("$SERVER_PID")
	SERVER_LOG=$dir/decoy.log
}

# ---------------------------------------------------------------- measuring

# to_us VALUE: wrk's latency ("812.00us", "1.23ms", "1.02s") in whole µs.
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /m$/) m = 60e6; else if (v ~ /s$/) m = 1e6; else m = 0
		if (m == 0) { print "?"; exit }
		printf "%.0f", n * m
	}'
}

# run_wrk CONNS SECONDS PORT OUTFILE: wrk pinned to CLIENT_CPU, bounded by timeout.
run_wrk() {
	local conns=$1 secs=$2 port=$3 out=$4
	timeout "$((secs + 30))" taskset -c "$CLIENT_CPU" \
		wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port$PATH_UNDER_TEST" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed against port $port"; }
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

ROWS=() # one "server rps p50 p99 cpu_us rss_mib c1_p50" line per run

# measure SERVER ROUND: start the server, warm up, run wrk -c CONNS (CPU per
# request measured around it), then wrk -c1 for latency, then stop the server.
measure() {
	local server=$1 round=$2 port
	port=$(free_port)
	case $server in
	nginx) start_nginx "$port" ;;
	decoy) start_decoy "$port" ;;
	esac
	wait_ready "$server" "$SERVER_PID" "$port" "$SERVER_LOG"

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
	cpu_us=$(awk -v t="$((after - before))" -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
	rss_mib=$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')

	printf '%-5s  %-6s  %10s  %8s  %8s  %12s  %7s  %10s\n' \
		"$round" "$server" "$rps" "$p50" "$p99" "$cpu_us" "$rss_mib" "$c1_p50"
	ROWS+=("$server $rps $p50 $p99 $cpu_us $rss_mib $c1_p50")
	if [[ -n $RESULTS_TSV ]]; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$round" "$server" \
			"$rps" "$p50" "$p99" "$cpu_us" "$rss_mib" "$c1_p50" >>"$RESULTS_TSV"
	fi
}

# summary: per-server means, and decoy/nginx ratios (of the means, and per round).
summary() {
	echo
	printf '%s\n' "${ROWS[@]}" | awk -v order="$SERVERS" '
		{ n[$1]++; rps[$1] += $2; cpu[$1] += $5; c1[$1] += $7; cpus[$1, n[$1]] = $5 }
		END {
			printf "%-6s  %5s  %10s  %14s  %14s\n", "server", "runs", "mean req/s", "mean us CPU/req", "mean c=1 p50 us"
			k = split(order, names, " ")
			for (j = 1; j <= k; j++) if ((s = names[j]) in n && !(s in done)) {
				done[s] = 1
				printf "%-6s  %5d  %10.0f  %15.1f  %15.0f\n", s, n[s], rps[s] / n[s], cpu[s] / n[s], c1[s] / n[s]
			}
			if (n["nginx"] && n["decoy"]) {
				per = ""
				for (i = 1; i <= n["decoy"] && i <= n["nginx"]; i++)
					per = per sprintf("%s%.2f", (i > 1 ? ", " : ""), cpus["decoy", i] / cpus["nginx", i])
				printf "\nratio decoy/nginx of mean us CPU per request: %.2f  (per round: %s)\n",
					(cpu["decoy"] / n["decoy"]) / (cpu["nginx"] / n["nginx"]), per
			}
		}'
}

# ---------------------------------------------------------------- main

check_prereqs
check_idle
CLK_TCK=$(getconf CLK_TCK)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/decoy-bench.XXXXXX")
case " $SERVERS " in *" decoy "*) build_decoy ;; esac

log "GET $PATH_UNDER_TEST, ${#BODY}-byte body, HTTP/1.1 keep-alive on 127.0.0.1"
log "server on CPU $SERVER_CPU, wrk -t1 on CPU $CLIENT_CPU; ${DURATION}s per run (${WARMUP}s warm-up), $ROUNDS rounds of: $SERVERS"
log "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //')${DECOY_BIN:+; decoy: $DECOY_BIN}"
echo
printf '%-5s  %-6s  %10s  %8s  %8s  %12s  %7s  %10s\n' \
	round server req/s "p50 us" "p99 us" "us CPU/req" "RSS MiB" "c=1 p50 us"
for ((r = 1; r <= ROUNDS; r++)); do
	for s in $SERVERS; do
		measure "$s" "$r"
	done
done
summary
