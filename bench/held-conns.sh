#!/usr/bin/env bash
# bench/held-conns.sh: decoy holding many idle HTTP/1.1 keep-alive
# connections, each asked a request per round while all are held: one
# process, or with WORKERS=N a supervisor and N worker processes sharing the
# port (decoy serve --workers N), which is how one node holds more
# connections than one process may open files.
#
# decoy runs pinned to CPU 0 with its admin API on; bench/conns (a Go client,
# run as several processes because one process may open only so many files,
# binding several 127.0.0.x source addresses so that the ephemeral ports of
# one address suffice) runs on CPU 1: it connects CONNS connections, asks one
# GET /users/42 on each (ROUNDS times, RATE requests/s in all, HOLD seconds
# apart), closes them, and watches decoy for SETTLE seconds. It reports every
# request answered or not, p50/p99, and decoy's resident memory (VmRSS and
# PSS summed over the supervisor and its workers), goroutines (go_goroutines
# from /metrics, summed over the workers), heap in use and open connections
# at each phase, with the memory per held connection; with WORKERS > 1 also
# how many connections each worker accepted.
#
# It changes no system setting: it prints the limits and sysctls the run
# depends on, warns about those too low, and stops when one would make the
# run fail. See bench/README.md for the method and the output.
#
# Usage: bench/held-conns.sh             (from anywhere in the repository)
# Environment:
#   CONNS=19000        connections to hold (decoy needs CONNS + ~20 open files,
#                      or with workers about CONNS / WORKERS + 10 % each)
#   WORKERS=1          decoy processes sharing the port (--workers); the
#                      50,000-connection run: WORKERS=3 CONNS=50000
#   MAX_RSS_MIB=       fail when decoy's RSS (all processes) passes this while
#                      the connections are held (empty: no bound; e.g. 1024)
#   MAX_P99_US=        fail when a round's p99 passes this, in µs (e.g. 5000)
#   PER_PROC=9500      most connections per client process
#   SOURCES="127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"  client source addresses
#   RATE=5000          requests/s of a round over all connections (0: all at once)
#   ROUNDS=2           rounds of one request per connection
#   HOLD=5             seconds all connections stay idle after connecting and between rounds
#   SETTLE=130         seconds to watch decoy after the clients leave (Go's
#                      runtime forces a GC every 2 minutes of no allocation;
#                      heap and RSS only fall after one)
#   SERVER_CPU=0 CLIENT_CPU=1  the CPUs to pin decoy and the clients to
#   DECOY_BIN=path     use this decoy binary instead of building ./cmd/decoy
#   DECOY_FLAGS="--journal-size 0"  more flags for decoy serve (the default
#                      leaves the journal, a fixed amount of memory, out of
#                      the per-connection figure; DECOY_FLAGS= keeps it on)
#   KEEP_TMP=1         keep the temporary directory (logs) for inspection
set -euo pipefail

CONNS=${CONNS:-19000}
WORKERS=${WORKERS:-1}
MAX_RSS_MIB=${MAX_RSS_MIB:-0}
MAX_P99_US=${MAX_P99_US:-0}
PER_PROC=${PER_PROC:-9500}
SOURCES=${SOURCES:-127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5}
RATE=${RATE:-5000}
ROUNDS=${ROUNDS:-2}
HOLD=${HOLD:-5}
SETTLE=${SETTLE:-130}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
DECOY_FLAGS=${DECOY_FLAGS---journal-size 0}
DIAL_PARALLEL=128

BENCH_NAME=held-conns
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_prereqs() {
	local v
	for v in CONNS PER_PROC ROUNDS HOLD SETTLE WORKERS; do
		[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v=${!v}: want a positive whole number"
	done
	[[ $RATE =~ ^[0-9]+$ ]] || die "RATE=$RATE: want a whole number of requests/s (0: all at once)"
	[[ $MAX_RSS_MIB =~ ^[0-9]+$ && $MAX_P99_US =~ ^[0-9]+$ ]] || die "MAX_RSS_MIB and MAX_P99_US: want whole numbers (0: no bound)"
	require_tools "Debian: apt-get install -y curl util-linux coreutils; Go from /usr/local/go/bin" \
		go taskset curl getconf timeout awk
	require_cpus
	local s
	for s in $SOURCES; do
		[[ $s =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "SOURCES: $s is not a 127.x.y.z loopback address"
	done
}

sysctl_value() { # NAME: the value of /proc/sys/NAME (dots for slashes), or "-"
	local f=/proc/sys/${1//.//}
	if [[ -r $f ]]; then tr '\t' ' ' <"$f"; else echo -; fi
}

# check_limits: print every limit and sysctl the run depends on, what it
# needs, and whether it is met. Changes nothing. Dies when the run cannot work.
check_limits() {
	local nsrc procs per_src per_worker fatal=0
	nsrc=$(wc -w <<<"$SOURCES")
	# The kernel spreads connections over the workers by a hash of their
	# addresses: about evenly, so allow 10 % more than an even share.
	per_worker=$CONNS
	((WORKERS == 1)) || per_worker=$(((CONNS * 11 + WORKERS * 10 - 1) / (WORKERS * 10)))
	procs=$(((CONNS + PER_PROC - 1) / PER_PROC))
	per_src=$(((CONNS + nsrc - 1) / nsrc))
	local hard soft
	hard=$(ulimit -Hn)
	soft=$(ulimit -Sn)
	[[ $hard != unlimited ]] || hard=$(sysctl_value fs.nr_open)
	local lo hi
	read -r lo hi <<<"$(sysctl_value net.ipv4.ip_local_port_range)"
	local file_max nr_open used ct_max ct_count
	file_max=$(sysctl_value fs.file-max)
	nr_open=$(sysctl_value fs.nr_open)
	used=$(awk '{ print $1 }' /proc/sys/fs/file-nr)
	ct_max=$(sysctl_value net.netfilter.nf_conntrack_max)
	ct_count=$(sysctl_value net.netfilter.nf_conntrack_count)

	printf '\n%-40s  %-14s  %-34s  %s\n' "limit (not changed by this script)" value needed ok
	row() { # NAME VALUE NEEDED OK(0/1) [FATAL]
		printf '%-40s  %-14s  %-34s  %s\n' "$1" "$2" "$3" "$([[ $4 == 1 ]] && echo ok || echo "${5:-LOW}")"
	}
	# Go raises its soft open-file limit to the hard one at start; the
	# clients are Go too. decoy needs CONNS plus its listeners and a few.
	local ok=1
	((hard >= per_worker + 64)) || { ok=0; fatal=1; }
	if ((WORKERS == 1)); then
		row "open files per process (ulimit -Hn)" "$hard" ">= CONNS + 64 = $((CONNS + 64)) (decoy)" "$ok" FAIL
	else
		row "open files per process (ulimit -Hn)" "$hard" ">= CONNS/WORKERS + 10% + 64 = $((per_worker + 64))" "$ok" FAIL
	fi
	ok=1
	((hard >= PER_PROC + 64)) || { ok=0; fatal=1; }
	row "  same, per client process" "$hard" ">= PER_PROC + 64 = $((PER_PROC + 64))" "$ok" FAIL
	row "  (soft limit, raised by Go to the hard)" "$soft" "-" 1
	ok=1
	[[ $nr_open == - ]] || ((nr_open >= per_worker + 64)) || { ok=0; fatal=1; }
	row "fs.nr_open" "$nr_open" ">= $((per_worker + 64)) (per decoy process)" "$ok" FAIL
	ok=1
	[[ $file_max == - ]] || ((file_max - used >= 2 * CONNS + 1000)) || { ok=0; fatal=1; }
	row "fs.file-max (in use: $used)" "$file_max" ">= in use + 2 x CONNS + 1000" "$ok" FAIL
	ok=1
	((hi - lo + 1 >= per_src + 100)) || { ok=0; fatal=1; }
	row "net.ipv4.ip_local_port_range" "$lo-$hi" ">= $((per_src + 100)) ports ($per_src per source address)" "$ok" FAIL
	ok=1
	(($(sysctl_value net.core.somaxconn) >= DIAL_PARALLEL * procs)) || ok=0
	row "net.core.somaxconn" "$(sysctl_value net.core.somaxconn)" ">= $((DIAL_PARALLEL * procs)) (connects in flight), else slow" "$ok"
	ok=1
	(($(sysctl_value net.ipv4.tcp_max_syn_backlog) >= DIAL_PARALLEL * procs)) || ok=0
	row "net.ipv4.tcp_max_syn_backlog" "$(sysctl_value net.ipv4.tcp_max_syn_backlog)" ">= $((DIAL_PARALLEL * procs)), else slow" "$ok"
	if [[ $ct_max != - ]]; then
		ok=1
		((ct_max - ct_count >= CONNS + 1000)) || { ok=0; fatal=1; }
		row "net.netfilter.nf_conntrack_max (used: $ct_count)" "$ct_max" ">= used + CONNS + 1000 (loopback is tracked)" "$ok" FAIL
	else
		row "net.netfilter.nf_conntrack_max" "-" "(conntrack not loaded: no limit)" 1
	fi
	echo
	((fatal == 0)) || die "a limit above is too low for CONNS=$CONNS (PER_PROC=$PER_PROC, $nsrc source addresses); lower CONNS or raise it (this script changes none)"
}

check_prereqs
check_limits
check_idle
bench_init
build_decoy
go_build ./bench/conns "$TMP/conns"

port=$(free_port)
admin=$(free_port)
while [[ $admin == "$port" ]]; do admin=$(free_port); done
start_decoy --workers "$WORKERS" --http "127.0.0.1:$port" --https "" --admin "127.0.0.1:$admin"
wait_ready decoy "$SERVER_PID" "http://127.0.0.1:$port$PATH_UNDER_TEST" "$SERVER_LOG"
# With workers, the admin API is ready once every worker serves.
for ((i = 0; i < 300; i++)); do
	curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$admin/ready" && break
	sleep 0.1
done
curl -sf --max-time 5 "http://127.0.0.1:$admin/metrics" | grep -q '^go_goroutines ' ||
	die "decoy's admin API does not serve go_goroutines on /metrics"

log "decoy (pid $SERVER_PID, $WORKERS worker process(es)) on CPU $SERVER_CPU: HTTP 127.0.0.1:$port, admin 127.0.0.1:$admin, flags: ${DECOY_FLAGS:-(none)}"
log "clients on CPU $CLIENT_CPU: $CONNS connections, at most $PER_PROC per process, from: $SOURCES"
echo
sources_csv=${SOURCES// /,}
budget=$((60 + CONNS / 500 + ROUNDS * (HOLD + 20) + SETTLE + (RATE > 0 ? ROUNDS * CONNS / RATE : 0)))
# In the background and waited for, so that an interrupt reaches the EXIT
# trap at once, which stops the client (and its processes) before decoy.
timeout "$budget" taskset -c "$CLIENT_CPU" "$TMP/conns" \
	-addr "127.0.0.1:$port" -path "$PATH_UNDER_TEST" -conns "$CONNS" -per-proc "$PER_PROC" \
	-sources "$sources_csv" -rate "$RATE" -rounds "$ROUNDS" -hold "${HOLD}s" -settle "${SETTLE}s" \
	-dial-parallel "$DIAL_PARALLEL" -server-pid "$SERVER_PID" \
	-metrics "http://127.0.0.1:$admin/metrics" -body-bytes "${#BODY}" \
	-max-rss-mib "$MAX_RSS_MIB" -max-p99-us "$MAX_P99_US" &
client=$!
started "$client"
wait "$client" || die "the client (bench/conns) failed or ran past ${budget}s"
forget "$client"

# decoy's own view: what it accepted, and whether it logged trouble.
echo
curl -sf --max-time 5 "http://127.0.0.1:$admin/metrics" |
	awk '/^decoy_connections_(accepted_total|open|closed_total)/ { print "decoy metrics: " $0 }'
if ((WORKERS > 1)); then
	# Each worker logs its own admin API at start (and again if restarted:
	# the last line wins).
	declare -A worker_admin=()
	while read -r id addr; do
		worker_admin[$id]=$addr
	done < <(sed -n 's/.*msg="decoy serving" worker=\([0-9]*\) .* admin=\([0-9.:]*\).*/\1 \2/p' "$SERVER_LOG")
	for id in $(printf '%s\n' "${!worker_admin[@]}" | sort -n); do
		curl -sf --max-time 5 "http://${worker_admin[$id]}/metrics" |
			awk -v w="$id" '/^decoy_connections_accepted_total / { print "worker " w ": connections accepted " $2 }'
	done
	awk '/msg="worker exited/ { n++ } END { print "worker restarts: " n + 0 }' "$SERVER_LOG"
fi
if grep -Eiq 'level=(WARN|ERROR)' "$SERVER_LOG"; then
	log "decoy logged warnings or errors:"
	grep -Ei 'level=(WARN|ERROR)' "$SERVER_LOG" | sort | uniq -c | sort -rn | head -n 10 >&2
fi
stop_server "$SERVER_PID"
