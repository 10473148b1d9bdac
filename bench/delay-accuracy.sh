#!/usr/bin/env bash
# bench/delay-accuracy.sh: how late are decoy's delayed answers, and do delays
# cost throughput? decoy answers GET /users/42 (the 168-byte JSON body) after
# a fixed delay, pinned to SERVER_CPU; the load generator runs pinned to
# CLIENT_CPU and keeps exactly one request in flight on each of its
# keep-alive connections, so the best possible rate is connections / delay.
#
# The load generator is bench/delayload (built here with go build), or wrk
# for comparison. delayload starts its connections either spread evenly over
# one delay period ("spread": answers come due evenly, as from independent
# clients) or all in the same instant ("together", as wrk does: answers come
# due in bursts of one per connection). It reports the lateness of each
# answer (the time from writing the request to having read the answer, minus
# the delay) at p50/p90/p99/p99.9/max from a histogram, and checks every
# answer's status and body size. It also reports the lateness on arrival
# (wire_*): the same, but to the kernel's timestamp of the answer reaching
# the client's socket, which leaves out the time the answer then waited for
# the client to read it. When answers come due in bursts (together) a
# single-threaded client reads the last of a burst late however punctual the
# server was; the lateness on arrival is the server's alone. wrk reports
# p50/p99 only. delayload runs its default engine: on Linux, epoll (one
# thread, one epoll instance, no goroutine per connection), so that the
# client adds as little lateness as it can.
#
# With SERVERS="decoy nginx", every case runs against nginx too, right
# after decoy: the reference for what this machine allows. nginx (1 worker,
# pinned like decoy) delays the answer with the echo module's echo_sleep,
# then answers the same body from its own location (echo_exec), with a
# Content-Length; its timers have a millisecond's resolution, so its
# median lateness is not decoy's to match, but its tail shows what 10,000
# timers and connections cost on this machine, clients and all. Needs
# Debian's libnginx-mod-http-echo.
#
# Cases (CASES, in this order each round; ROUNDS rounds, a fresh server for
# every run):
#   10k-1s-spread       delayload, 10,000 connections x 1 s   (bound 10,000/s)
#   10k-1s-together     the same, all connections started at once
#   1k-100ms-spread     delayload, 1,000 connections x 100 ms (bound 10,000/s)
#   1k-100ms-together   the same, all connections started at once
#   1k-100ms-wrk        wrk -t1 -c1000 (its connections start together)
#
# Output: per run, one line of key=value pairs starting with "RUN" (with
# the load average before the run, and the packets the kernel dropped, the
# TCP segments it retransmitted and the CPU time the hypervisor stole during
# it, machine-wide: see net_losses); at the end, per case, one line to paste
# into a table: the median [min-max] over the rounds of the share of the
# bound and of the lateness at p50, p99 and p99.9, errors, drops,
# retransmissions and stolen milliseconds summed, and the load averages.
#
# Usage: bench/delay-accuracy.sh
# Environment:
#   CASES="..."     the cases above to run (default: all five)
#   SERVERS=decoy   the servers to run each case against: decoy, nginx, or
#                   both ("decoy nginx", alternated within each round)
#   ROUNDS=3        runs of each case
#   DURATION=10     seconds of measured load per run
#   WARMUP=3        seconds of unmeasured load first (at least 2 delays)
#   SOURCES="127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"  delayload's source addresses
#   SERVER_CPU=0 CLIENT_CPU=1  the CPUs to pin decoy and the client to
#   PROFILE=1       record decoy with perf during each measured window and
#                   print the top of its profile (needs perf)
#   DECOY_BIN=path  use this decoy binary instead of building ./cmd/decoy
#   DELAYLOAD_BIN=path  use this delayload binary instead of building it
#   DECOY_FLAGS=... more flags for decoy serve
#   KEEP_TMP=1      keep the temporary directory (raw outputs, profiles)
#
# Limits: each connection is an open file in decoy and in the client, so
# 10,000 connections need an open-file limit (ulimit -n) of about 10,100 in
# both; the script raises the soft limit to the hard one, and stops when the
# hard limit is too low. delayload spreads its connections over SOURCES so
# that the ephemeral port range of one source address is never the limit.
# It changes no system setting.
set -euo pipefail

CASES=${CASES:-10k-1s-spread 10k-1s-together 1k-100ms-spread 1k-100ms-together 1k-100ms-wrk}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
SOURCES=${SOURCES:-127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PROFILE=${PROFILE:-}
SERVERS=${SERVERS:-decoy}
# Where nginx's echo module is (Debian's libnginx-mod-http-echo).
NGINX_ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so

BENCH_NAME=delay-accuracy
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# case_params NAME: sets CLIENT, CONNS, DELAY_MS, START for a case.
case_params() {
	case $1 in
	10k-1s-spread) CLIENT=delayload CONNS=10000 DELAY_MS=1000 START=spread ;;
	10k-1s-together) CLIENT=delayload CONNS=10000 DELAY_MS=1000 START=together ;;
	1k-100ms-spread) CLIENT=delayload CONNS=1000 DELAY_MS=100 START=spread ;;
	1k-100ms-together) CLIENT=delayload CONNS=1000 DELAY_MS=100 START=together ;;
	1k-100ms-wrk) CLIENT=wrk CONNS=1000 DELAY_MS=100 START=together ;;
	*) die "unknown case $1 (known: 10k-1s-spread 10k-1s-together 1k-100ms-spread 1k-100ms-together 1k-100ms-wrk)" ;;
	esac
}

check_prereqs() {
	local v c max_conns=0 need_wrk='' need_nginx=''
	for v in ROUNDS DURATION WARMUP; do
		[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v=${!v}: want a positive whole number"
	done
	for c in $CASES; do
		case_params "$c"
		((CONNS <= max_conns)) || max_conns=$CONNS
		[[ $CLIENT != wrk ]] || need_wrk=1
	done
	local s
	for s in $SERVERS; do
		[[ $s == decoy || $s == nginx ]] || die "SERVERS: $s is not decoy or nginx"
	done
	if [[ " $SERVERS " == *" nginx "* ]]; then
		need_nginx=1
		[[ -r $NGINX_ECHO_MODULE ]] || die "nginx's echo module ($NGINX_ECHO_MODULE) is missing: apt-get install -y libnginx-mod-http-echo"
	fi
	for s in $SOURCES; do
		[[ $s =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "SOURCES: $s is not a 127.x.y.z loopback address"
	done
	local -a tools=(go taskset curl getconf timeout awk)
	[[ -z $need_wrk ]] || tools+=(wrk)
	[[ -z $need_nginx ]] || tools+=(nginx)
	[[ -z $PROFILE ]] || tools+=(perf)
	require_tools "Debian: apt-get install -y wrk curl util-linux coreutils linux-perf; Go from /usr/local/go/bin" "${tools[@]}"
	require_cpus
	# Every connection is an open file in decoy and in the client.
	local need=$((max_conns + 100)) hard
	hard=$(ulimit -Hn)
	if [[ $hard != unlimited ]] && ((hard < need)); then
		die "open-file hard limit $hard is too low for $max_conns connections: needs $need (as root: ulimit -Hn $need, or LimitNOFILE in systemd)"
	fi
	if [[ $(ulimit -Sn) != unlimited ]] && (($(ulimit -Sn) < need)); then
		ulimit -Sn "$hard" || die "could not raise the open-file soft limit to $hard"
	fi
	local lo hi nsrc
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	nsrc=$(wc -w <<<"$SOURCES")
	((hi - lo + 1 >= max_conns / nsrc + 100)) ||
		die "ephemeral port range $lo-$hi is too small for $max_conns connections over $nsrc source addresses; add SOURCES"
}

# start_delayed SERVER DELAY_MS: decoy (or nginx) serving BODY after
# DELAY_MS, pinned to SERVER_CPU. Sets SERVER_PID, PORT and DELAY_PATH
# (where the delayed answer is: PATH_UNDER_TEST for decoy).
start_delayed() {
	local server=$1 delay_ms=$2
	PORT=$(free_port)
	DELAY_PATH=$PATH_UNDER_TEST
	if [[ $server == nginx ]]; then
		DELAY_PATH=/delayed$PATH_UNDER_TEST
		NGINX_MAIN="load_module $NGINX_ECHO_MODULE;" NGINX_CONNS=$((CONNS + 100)) start_nginx "$PORT" "backlog=4096" "
        location = $DELAY_PATH {
            echo_sleep $(awk -v d="$delay_ms" 'BEGIN { printf "%.3f", d / 1000 }');
            echo_exec $PATH_UNDER_TEST;
        }"
	else
		STUB_LATENCY=${delay_ms}ms start_decoy --http "127.0.0.1:$PORT" --https "" --admin "" --grpc ""
	fi
	# The probe waits for the delay too: allow it a second more.
	wait_ready "$server" "$SERVER_PID" "http://127.0.0.1:$PORT$DELAY_PATH" "$SERVER_LOG" \
		--max-time "$((delay_ms / 1000 + 2))"
}

# net_losses: packets the kernel dropped because a CPU's input queue was
# full (the second column of /proc/net/softnet_stat, summed over the CPUs:
# loopback traffic queues there, and a CPU too busy to drain it drops), TCP
# segments retransmitted (/proc/net/snmp), machine-wide, and the time the
# hypervisor ran something else while this machine's CPUs wanted to run
# (steal, /proc/stat, in clock ticks), as "DROPS RETRANS STEAL". A
# retransmission waits at least 200 ms, and stolen time stops decoy and the
# client alike: either shows in a run's p99.9 and max.
net_losses() {
	local drops retrans steal
	drops=$(awk '{
		v = 0
		for (i = 1; i <= length($2); i++) v = v * 16 + index("0123456789abcdef", tolower(substr($2, i, 1))) - 1
		n += v
	} END { print n + 0 }' /proc/net/softnet_stat 2>/dev/null) || drops=0
	retrans=$(awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i; h = 1 } else print $c }' /proc/net/snmp)
	steal=$(awk '/^cpu / { print $9 + 0 }' /proc/stat)
	echo "${drops:-0} ${retrans:-0} ${steal:-0}"
}

# losses_kv BEFORE AFTER: "drops=N retrans=N steal_ms=N" between two
# net_losses.
losses_kv() {
	local d0 r0 s0 d1 r1 s1
	read -r d0 r0 s0 <<<"$1"
	read -r d1 r1 s1 <<<"$2"
	echo "drops=$((d1 - d0)) retrans=$((r1 - r0)) steal_ms=$(((s1 - s0) * 1000 / CLK_TCK))"
}

# emit LINE: print a RUN line and keep it for the summary.
emit() { echo "$1" | tee -a "$TMP/runs.txt"; }

# profile_start NAME: perf record of decoy for the measured window, in the
# background (after the warm-up). Sets PERF_PID.
PERF_PID=
profile_start() {
	[[ -n $PROFILE && $SERVER == decoy ]] || return 0
	(sleep "$((WARMUP + 1))" && exec perf record -q -F 997 -g -p "$SERVER_PID" -o "$TMP/$1.perf" -- sleep "$((DURATION - 1))") \
		>"$TMP/$1.perf.log" 2>&1 &
	PERF_PID=$!
	started "$PERF_PID"
}

profile_end() {
	[[ -n $PROFILE && -n $PERF_PID ]] || return 0
	wait "$PERF_PID" || true
	forget "$PERF_PID"
	PERF_PID=
	echo "# profile of decoy, $1 (perf report --no-children, top 25):"
	perf report -i "$TMP/$1.perf" --no-children --stdio --percent-limit 0.8 -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | sed -n '1,25s/^/#   /p'
}

# run_delayload NAME ROUND: one delayload run; prints its RUN line.
run_delayload() {
	local name=$1 round=$2 out=$TMP/$SERVER-$1-$2.txt
	local deadline=$((WARMUP + DURATION + DELAY_MS / 1000 + 60))
	profile_start "$SERVER-$name-$round"
	# delayload reads one process's CPU time: nginx's is its worker's.
	local l0 l1 cpu_pid=$SERVER_PID p
	if [[ $SERVER == nginx ]]; then
		for p in $(tree_pids "$SERVER_PID"); do
			[[ $p == "$SERVER_PID" ]] || cpu_pid=$p
		done
	fi
	l0=$(net_losses)
	timeout "$deadline" taskset -c "$CLIENT_CPU" "$DELAYLOAD" -addr "127.0.0.1:$PORT" -path "$DELAY_PATH" \
		-conns "$CONNS" -delay "${DELAY_MS}ms" -start "$START" -duration "${DURATION}s" -warmup "${WARMUP}s" \
		-sources "${SOURCES// /,}" -status 200 -body-bytes "${#BODY}" -server-pid "$cpu_pid" \
		-label "$name" >"$out" 2>&1 || { cat "$out" >&2; die "delayload failed ($SERVER, $name, round $round)"; }
	l1=$(net_losses)
	grep -v '^SUMMARY' "$out" | sed 's/^/#   /' >&2
	local summary
	summary=$(awk '/^SUMMARY / { sub(/^SUMMARY /, ""); print }' "$out")
	[[ -n $summary ]] || die "delayload printed no SUMMARY ($out)"
	emit "RUN round=$round server=$SERVER $summary load=$LOAD $(losses_kv "$l0" "$l1")"
	profile_end "$SERVER-$name-$round"
}

# run_wrk NAME ROUND: one wrk run (after WARMUP seconds of unmeasured load);
# prints its RUN line in delayload's terms.
run_wrk() {
	local name=$1 round=$2 out=$TMP/$SERVER-$1-$2.txt
	timeout "$((WARMUP + 30))" taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 10s \
		"http://127.0.0.1:$PORT$DELAY_PATH" >"$TMP/$SERVER-$name-$round-warmup.txt" 2>&1 ||
		{ cat "$TMP/$SERVER-$name-$round-warmup.txt" >&2; die "wrk failed"; }
	profile_start "$SERVER-$name-$round"
	# The warm-up ran wrk once already: the profile starts 1 s into this run.
	local t0 t1 l0 l1
	l0=$(net_losses)
	t0=$(tree_ticks "$SERVER_PID")
	timeout "$((DURATION + 30))" taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency \
		"http://127.0.0.1:$PORT$DELAY_PATH" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
	t1=$(tree_ticks "$SERVER_PID")
	l1=$(net_losses)
	sed 's/^/#   /' "$out" >&2
	local requests rps p50 p99 errors
	requests=$(wrk_stat "$out" requests)
	rps=$(wrk_stat "$out" rps)
	p50=$(wrk_stat "$out" p50)
	p99=$(wrk_stat "$out" p99)
	errors=$(wrk_stat "$out" errors)
	emit "$(awk -v r="$round" -v srv="$SERVER" -v n="$name" -v c="$CONNS" -v d="$DELAY_MS" -v rps="$rps" -v p50="$p50" -v p99="$p99" \
		-v e="$errors" -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v req="$requests" -v dur="$DURATION" -v load="$LOAD $(losses_kv "$l0" "$l1")" 'BEGIN {
		b = c * 1000 / d
		printf "RUN round=%d server=%s label=%s conns=%d delay_ms=%d start=together(wrk) rps=%d bound=%d share_pct=%.1f late_p50_ms=%.2f late_p90_ms=- late_p99_ms=%.2f late_p999_ms=- late_max_ms=- errors=%d client_cpu_pct=- server_cpu_pct=%.1f server_us_per_req=%.1f load=%s\n",
			r, srv, n, c, d, rps, b, 100 * rps / b, (p50 - d * 1000) / 1000, (p99 - d * 1000) / 1000, e,
			100 * t / hz / dur, (req > 0 ? t / hz * 1e6 / req : 0), load
	}')"
	profile_end "$SERVER-$name-$round"
}

check_prereqs
bench_init
check_idle
build_decoy
if [[ -n ${DELAYLOAD_BIN:-} ]]; then
	DELAYLOAD=$DELAYLOAD_BIN
else
	DELAYLOAD=$TMP/delayload
	go_build ./bench/delayload "$DELAYLOAD"
fi

echo "# $(machine_line); $(date -u +%Y-%m-%dT%H:%MZ); open-file limit $(ulimit -Sn)"
echo "# decoy on CPU $SERVER_CPU, client on CPU $CLIENT_CPU; $DURATION s measured after $WARMUP s of warm-up; rounds: $ROUNDS"
for ((round = 1; round <= ROUNDS; round++)); do
	for name in $CASES; do
		case_params "$name"
		for SERVER in $SERVERS; do
			LOAD=$(cut -d' ' -f1 /proc/loadavg)
			log "round $round: $name against $SERVER ($CLIENT, $CONNS connections x $DELAY_MS ms, start $START; load average $LOAD)"
			start_delayed "$SERVER" "$DELAY_MS"
			if [[ $CLIENT == wrk ]]; then
				run_wrk "$name" "$round"
			else
				run_delayload "$name" "$round"
			fi
			stop_server "$SERVER_PID"
		done
	done
done

# The per-case lines to paste into a table: median [min-max] over the rounds.
echo
echo "# per case over $ROUNDS rounds: median [min-max]"
printf '%-18s %-6s %-10s %6s %6s %-22s %-22s %-22s %-22s %-22s %-22s %6s %-19s %s\n' \
	case server client conns delay share_% late_p50_ms late_p99_ms late_p999_ms wire_p50_ms wire_p99_ms errors drops/retr/steal_ms load
for name in $CASES; do
	case_params "$name"
	for SERVER in $SERVERS; do
	awk -v n="$name" -v srv="$SERVER" -v cl="$CLIENT" -v c="$CONNS" -v d="${DELAY_MS}ms" '
		function field(k,   i, kv) {
			for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] }
			return "-"
		}
		function med(a, m,   i, j, t) {
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
			return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		}
		function stat(a, m,   x) {
			if (m == 0 || a[1] == "-") return "-"
			x = med(a, m)
			return sprintf("%s [%s-%s]", x, a[1], a[m])
		}
		$1 == "RUN" && field("label") == n && field("server") == srv {
			m++; s[m] = field("share_pct"); p50[m] = field("late_p50_ms"); p99[m] = field("late_p99_ms")
			p999[m] = field("late_p999_ms"); e += field("errors"); l = l (l ? "," : "") field("load")
			w50[m] = field("wire_p50_ms"); w99[m] = field("wire_p99_ms")
			dr += field("drops"); rt += field("retrans"); st += field("steal_ms")
		}
		END {
			if (m == 0) exit
			printf "%-18s %-6s %-10s %6d %6s %-22s %-22s %-22s %-22s %-22s %-22s %6d %-19s %s\n", n, srv, cl, c, d, stat(s, m), stat(p50, m), stat(p99, m), stat(p999, m), stat(w50, m), stat(w99, m), e, dr "/" rt "/" st, l
		}' "$TMP/runs.txt"
	done
done
