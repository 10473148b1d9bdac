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
# With ABUSE=1, ABUSE_ROUNDS more rounds run, each after a clean round of
# its own, while a separate abuser process (its
# own open-file budget, its own source addresses 127.0.0.6-7, at most
# ABUSE_CONNS connections) misbehaves at the same time: a paced burst of
# malformed requests (garbage request lines, bad header syntax, oversized
# headers, invalid chunked bodies, Content-Length with chunked), each of
# which must be answered with a 4xx or closed, never left hanging;
# half-open connections (a partial request line or partial headers, then
# nothing) and silent ones held for the round; and clients that ask for a
# 4 MiB body (a stub added for the run) or pipeline requests and never read.
# The p99 of all the abuse rounds' requests together is compared with that
# of the clean rounds before them (MAX_ABUSE_P99_RATIO): clean and abused
# rounds alternate so that the machine's own hiccups, which come and go
# over seconds, fall on both. Every well-behaved request must be answered.
# The clients measure without garbage collection during a round, and the
# abuser runs at nice 19 beside them (ABUSE_NICE): on a 2-CPU machine it
# shares their CPU, and what the rounds compare is decoy's service under
# abuse, not the load generator's CPU taken by the abuser.
#
# After the clients leave, goroutines must return to the baseline (within
# MAX_GOROUTINES_OVER) and open connections to 0; heap in use is judged
# (MAX_HEAP_OVER_MIB) only when SETTLE gives Go's forced GC time to run
# twice (250 s, the default with ABUSE=1).
# The script exits 1 when any of that, or a bound, fails (RESULT: FAIL).
#
# With SERVER=nginx the same rounds run against nginx instead (the
# reference: WORKERS worker processes, each its own listening socket with
# reuseport, as decoy's workers have, the same body), so that decoy's p99
# can be set beside the machine's own on the same day; nginx has no admin
# API, so goroutines and heap are not sampled. With ABUSE, nginx serves the
# large body from a file.
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
#   SERVER=decoy       the server under test: decoy, or nginx (the reference,
#                      with WORKERS worker processes)
#   MAX_RSS_MIB=       fail when decoy's RSS (all processes) passes this while
#                      the connections are held (empty: no bound; e.g. 1024)
#   MAX_P99_US=        fail when a round's p99 passes this, in µs (e.g. 5000)
#   PER_PROC=9500      most connections per client process
#   SOURCES="127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"  client source addresses
#   RATE=5000          requests/s of a round over all connections (0: all at once)
#   ROUNDS=2           rounds of one request per connection
#   HOLD=5             seconds all connections stay idle after connecting and between rounds
#   SETTLE=130         (250 with ABUSE=1)
#                      seconds to watch decoy after the clients leave (Go's
#                      runtime forces a GC every 2 minutes of no allocation;
#                      heap and RSS only fall after one)
#   SERVER_CPU=0 CLIENT_CPU=1  the CPUs to pin decoy and the clients to
#   ENGINE=epoll       how each client process runs a round: epoll (one
#                      thread, raw sockets; each latency also measured to the
#                      answer's arrival, the kernel's timestamp, printed as
#                      "arrived p50/p99") or goroutines (a goroutine per
#                      request, whose scheduling on the client's CPU counts
#                      in what it measures)
#   DECOY_BIN=path     use this decoy binary instead of building ./cmd/decoy
#   DECOY_FLAGS="--journal-size 0"  more flags for decoy serve (the default
#                      leaves the journal, a fixed amount of memory, out of
#                      the per-connection figure; DECOY_FLAGS= keeps it on)
#   ABUSE=             1: the abuse round (above)
#   ABUSE_CONNS=2000   most connections the abuser holds at once (default:
#                      2000, or fewer so that decoy stays within its
#                      open-file limit with CONNS held: 900 with CONNS=19000
#                      and a 20,000-file limit)
#   ABUSE_RATE=2000    malformed requests/s during the abuse round
#   ABUSE_SOURCES="127.0.0.6 127.0.0.7"  the abuser's source addresses
#   ABUSE_KINDS=all    the abuse to do: all, or some of burst (malformed
#                      requests), half-open, silent, no-read (comma-separated),
#                      to see which one costs the well-behaved clients what
#   ABUSE_ROUNDS=3     abuse rounds, each after a clean one
#   ABUSE_NICE=19      the abuser's nice value (0: the clients' priority)
#   ABUSE_CPU=CLIENT_CPU   the CPU to pin the abuser to (on a machine with
#                      more than 2 CPUs, one of its own keeps its work out of
#                      the well-behaved clients' latency)
#   ABUSE_ADDR=        host:port to aim the abuser at instead of decoy: a
#                      control run (e.g. a second server pinned to the
#                      clients' CPU, serving LARGE_PATH) that shows what the
#                      abuse costs the machine and the load generator
#                      rather than the server under test
#   MAX_ABUSE_P99_RATIO=2  fail when the abuse rounds' p99 passes this
#                      multiple of the clean rounds' (0: no bound)
#   MAX_GOROUTINES_OVER=20 fail when decoy's goroutines are more than this
#                      over the baseline (or a connection is open) at the end
#   MAX_HEAP_OVER_MIB=16   fail when heap in use is more than this over the
#                      baseline at the end, per decoy process (supervisor and
#                      workers); judged only with SETTLE >= 245
#                      (part of the heap the connections used, most likely
#                      pooled buffers, survives the first forced GC)
#   KEEP_TMP=1         keep the temporary directory (logs) for inspection
set -euo pipefail

CONNS=${CONNS:-19000}
WORKERS=${WORKERS:-1}
SERVER=${SERVER:-decoy}
MAX_RSS_MIB=${MAX_RSS_MIB:-0}
MAX_P99_US=${MAX_P99_US:-0}
PER_PROC=${PER_PROC:-9500}
SOURCES=${SOURCES:-127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5}
RATE=${RATE:-5000}
ROUNDS=${ROUNDS:-2}
HOLD=${HOLD:-5}
SETTLE=${SETTLE:-$([[ ${ABUSE:-} == 1 ]] && echo 250 || echo 130)}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
ENGINE=${ENGINE:-epoll}
DECOY_FLAGS=${DECOY_FLAGS---journal-size 0}
ABUSE=${ABUSE:-}
ABUSE_CONNS=${ABUSE_CONNS:-}
ABUSE_RATE=${ABUSE_RATE:-2000}
ABUSE_SOURCES=${ABUSE_SOURCES:-127.0.0.6 127.0.0.7}
ABUSE_CPU=${ABUSE_CPU:-${CLIENT_CPU}}
ABUSE_KINDS=${ABUSE_KINDS:-all}
ABUSE_NICE=${ABUSE_NICE:-19}
ABUSE_ROUNDS=${ABUSE_ROUNDS:-3}
ABUSE_ADDR=${ABUSE_ADDR:-}
MAX_ABUSE_P99_RATIO=${MAX_ABUSE_P99_RATIO:-2}
MAX_GOROUTINES_OVER=${MAX_GOROUTINES_OVER:-20}
MAX_HEAP_OVER_MIB=${MAX_HEAP_OVER_MIB:-16}
ABUSE_TIMEOUT=5
LARGE_PATH=/files/payload.bin
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
	[[ $ABUSE == "" || $ABUSE == 0 || $ABUSE == 1 ]] || die "ABUSE=$ABUSE: want 1 (or empty)"
	[[ $ABUSE == 1 ]] || ABUSE=
	[[ $SERVER == decoy || $SERVER == nginx ]] || die "SERVER=$SERVER: want decoy or nginx"
	[[ $ENGINE == epoll || $ENGINE == goroutines ]] || die "ENGINE=$ENGINE: want epoll or goroutines"
	[[ -z $ABUSE_CONNS || ($ABUSE_CONNS =~ ^[0-9]+$ && $ABUSE_CONNS -ge 20) ]] || die "ABUSE_CONNS=$ABUSE_CONNS: want a whole number, at least 20"
	[[ $ABUSE_RATE =~ ^[0-9]+$ && $MAX_GOROUTINES_OVER =~ ^[0-9]+$ && $MAX_HEAP_OVER_MIB =~ ^[0-9]+$ ]] ||
		die "ABUSE_RATE, MAX_GOROUTINES_OVER and MAX_HEAP_OVER_MIB: want whole numbers"
	[[ $ABUSE_ROUNDS =~ ^[1-9][0-9]*$ && $ABUSE_NICE =~ ^([0-9]|1[0-9])$ ]] || die "ABUSE_ROUNDS: want 1 or more; ABUSE_NICE: want 0-19"
	[[ $ABUSE_CPU =~ ^[0-9]+$ ]] || die "ABUSE_CPU=$ABUSE_CPU: want a CPU number"
	[[ $ABUSE_KINDS =~ ^(all|burst|half-open|silent|no-read)(,(all|burst|half-open|silent|no-read))*$ ]] ||
		die "ABUSE_KINDS=$ABUSE_KINDS: want all, or some of burst,half-open,silent,no-read"
	[[ $MAX_ABUSE_P99_RATIO =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "MAX_ABUSE_P99_RATIO=$MAX_ABUSE_P99_RATIO: want a number (0: no bound)"
	require_tools "Debian: apt-get install -y curl util-linux coreutils; Go from /usr/local/go/bin" \
		go taskset curl getconf timeout awk
	require_cpus
	[[ $SERVER == decoy ]] || require_tools "Debian: apt-get install -y nginx" nginx
	local s
	for s in $SOURCES; do
		[[ $s =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "SOURCES: $s is not a 127.x.y.z loopback address"
	done
	for s in $ABUSE_SOURCES; do
		[[ $s =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "ABUSE_SOURCES: $s is not a 127.x.y.z loopback address"
		[[ " $SOURCES " != *" $s "* ]] || die "ABUSE_SOURCES: $s is also in SOURCES; the abuser must not take the well-behaved clients' ports"
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
	# The abuser's connections reach decoy too (spread over the workers like
	# the others); by default as many as fit beside CONNS, at most 2000.
	local abuse=0 abuse_pw=0 abuse_ct=0
	if [[ -n $ABUSE ]]; then
		if [[ -z $ABUSE_CONNS ]]; then
			local room=$((hard - 100 - per_worker))
			((WORKERS == 1)) || room=$((room * WORKERS * 10 / 11))
			ABUSE_CONNS=$((room >= 2000 ? 2000 : room / 100 * 100))
			((ABUSE_CONNS >= 20)) || die "no open files left for the abuser beside CONNS=$CONNS (limit $hard per decoy process); lower CONNS or set ABUSE_CONNS"
			((ABUSE_CONNS == 2000)) || log "ABUSE_CONNS=$ABUSE_CONNS: what fits beside CONNS=$CONNS within decoy's open-file limit ($hard)"
		fi
		abuse=$ABUSE_CONNS
		abuse_pw=$abuse
		((WORKERS == 1)) || abuse_pw=$(((abuse * 11 + WORKERS * 10 - 1) / (WORKERS * 10)))
		# The burst's short connections stay in the conntrack table a while.
		abuse_ct=$((21 * abuse))
	fi
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
	local ok=1 plus=""
	((hard >= per_worker + abuse_pw + 64)) || { ok=0; fatal=1; }
	((abuse == 0)) || plus=" + ABUSE_CONNS"
	if ((WORKERS == 1)); then
		row "open files per process (ulimit -Hn)" "$hard" ">= CONNS$plus + 64 = $((CONNS + abuse + 64)) (decoy)" "$ok" FAIL
	else
		row "open files per process (ulimit -Hn)" "$hard" ">= (CONNS$plus)/WORKERS + 10% + 64 = $((per_worker + abuse_pw + 64))" "$ok" FAIL
	fi
	ok=1
	((hard >= PER_PROC + 64)) || { ok=0; fatal=1; }
	row "  same, per client process" "$hard" ">= PER_PROC + 64 = $((PER_PROC + 64))" "$ok" FAIL
	if ((abuse > 0)); then
		ok=1
		((hard >= abuse + 64)) || { ok=0; fatal=1; }
		row "  same, the abuser process" "$hard" ">= ABUSE_CONNS + 64 = $((abuse + 64))" "$ok" FAIL
	fi
	row "  (soft limit, raised by Go to the hard)" "$soft" "-" 1
	ok=1
	[[ $nr_open == - ]] || ((nr_open >= per_worker + abuse_pw + 64)) || { ok=0; fatal=1; }
	row "fs.nr_open" "$nr_open" ">= $((per_worker + abuse_pw + 64)) (per decoy process)" "$ok" FAIL
	ok=1
	[[ $file_max == - ]] || ((file_max - used >= 2 * (CONNS + abuse) + 1000)) || { ok=0; fatal=1; }
	row "fs.file-max (in use: $used)" "$file_max" ">= in use + 2 x (CONNS$plus) + 1000" "$ok" FAIL
	ok=1
	((hi - lo + 1 >= per_src + 100)) || { ok=0; fatal=1; }
	row "net.ipv4.ip_local_port_range" "$lo-$hi" ">= $((per_src + 100)) ports ($per_src per source address)" "$ok" FAIL
	if ((abuse > 0)); then
		local abuse_src
		abuse_src=$(((abuse + $(wc -w <<<"$ABUSE_SOURCES") - 1) / $(wc -w <<<"$ABUSE_SOURCES")))
		ok=1
		((hi - lo + 1 >= abuse_src + 100)) || { ok=0; fatal=1; }
		row "  same, the abuser's" "$lo-$hi" ">= $((abuse_src + 100)) ports ($abuse_src per source address)" "$ok" FAIL
	fi
	ok=1
	(($(sysctl_value net.core.somaxconn) >= DIAL_PARALLEL * procs)) || ok=0
	row "net.core.somaxconn" "$(sysctl_value net.core.somaxconn)" ">= $((DIAL_PARALLEL * procs)) (connects in flight), else slow" "$ok"
	ok=1
	(($(sysctl_value net.ipv4.tcp_max_syn_backlog) >= DIAL_PARALLEL * procs)) || ok=0
	row "net.ipv4.tcp_max_syn_backlog" "$(sysctl_value net.ipv4.tcp_max_syn_backlog)" ">= $((DIAL_PARALLEL * procs)), else slow" "$ok"
	if [[ $ct_max != - ]]; then
		ok=1
		((ct_max - ct_count >= CONNS + abuse_ct + 1000)) || { ok=0; fatal=1; }
		row "net.netfilter.nf_conntrack_max (used: $ct_count)" "$ct_max" ">= used + $((CONNS + abuse_ct + 1000)) (loopback is tracked)" "$ok" FAIL
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
[[ $SERVER == nginx ]] || build_decoy
go_build ./bench/conns "$TMP/conns"

port=$(free_port)
if [[ $SERVER == nginx ]]; then
	# Each worker its own listening socket (reuseport), as decoy's workers
	# have; room for its share of the connections, as check_limits allows.
	# With ABUSE, also the abuser's connections, and the large body it asks
	# for: 4 MiB of random bytes in a file.
	per_worker=$((CONNS + ${ABUSE_CONNS:-0}))
	((WORKERS == 1)) || per_worker=$(((per_worker * 11 + WORKERS * 10 - 1) / (WORKERS * 10)))
	nginx_extra=
	if [[ -n $ABUSE ]]; then
		mkdir -p "$TMP/www${LARGE_PATH%/*}"
		head -c 4194304 /dev/urandom >"$TMP/www$LARGE_PATH"
		# nginx's worker runs as another user (nobody, when started as root).
		chmod a+x "$TMP"
		chmod -R a+rX "$TMP/www"
		nginx_extra="        location = $LARGE_PATH { root $TMP/www; }"
	fi
	NGINX_WORKERS=$WORKERS NGINX_CONNS=$per_worker start_nginx "$port" "reuseport backlog=4096" "$nginx_extra"
	wait_ready nginx "$SERVER_PID" "http://127.0.0.1:$port$PATH_UNDER_TEST" "$SERVER_LOG"
	metrics_url=
	log "nginx (pid $SERVER_PID, $WORKERS worker process(es)) on CPU $SERVER_CPU: HTTP 127.0.0.1:$port (the reference: no admin API, goroutines and heap not sampled)"
else
	admin=$(free_port)
	while [[ $admin == "$port" ]]; do admin=$(free_port); done
	extra_stubs=()
	if [[ -n $ABUSE ]]; then
		# The large body the abuser asks for and never reads: 4 MiB made at load
		# and held once, so decoy's baseline is 4 MiB more than without ABUSE.
		cat >"$TMP/abuse-stubs.yaml" <<-EOF
	- request: {method: GET, path: $LARGE_PATH}
	  response:
	    generate: {size: 4MiB, pattern: random, seed: 1}
	EOF
		extra_stubs=("$TMP/abuse-stubs.yaml")
	fi
	start_decoy --workers "$WORKERS" --http "127.0.0.1:$port" --https "" --admin "127.0.0.1:$admin" \
		"${extra_stubs[@]+"${extra_stubs[@]}"}"
	wait_ready decoy "$SERVER_PID" "http://127.0.0.1:$port$PATH_UNDER_TEST" "$SERVER_LOG"
	# With workers, the admin API is ready once every worker serves.
	for ((i = 0; i < 300; i++)); do
		curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$admin/ready" && break
		sleep 0.1
	done
	# grep reads it all (no -q): with pipefail, a grep that quits at the first
	# match can fail the pipeline on curl's broken pipe.
	curl -sf --max-time 5 "http://127.0.0.1:$admin/metrics" | grep '^go_goroutines ' >/dev/null ||
		die "decoy's admin API does not serve go_goroutines on /metrics"

	log "decoy (pid $SERVER_PID, $WORKERS worker process(es)) on CPU $SERVER_CPU: HTTP 127.0.0.1:$port, admin 127.0.0.1:$admin, flags: ${DECOY_FLAGS:-(none)}"
	metrics_url=http://127.0.0.1:$admin/metrics
fi
log "clients on CPU $CLIENT_CPU: $CONNS connections, at most $PER_PROC per process, from: $SOURCES"
abuse_args=()
if [[ -n $ABUSE ]]; then
	size=$(curl -sf --max-time 10 -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port$LARGE_PATH") ||
		die "$SERVER does not serve the large body at $LARGE_PATH"
	log "abuser on CPU $ABUSE_CPU: at most $ABUSE_CONNS connections, malformed requests at $ABUSE_RATE/s, from: $ABUSE_SOURCES; large body $LARGE_PATH: $size bytes"
	abuse_args=(-abuse -abuse-conns "$ABUSE_CONNS" -abuse-rate "$ABUSE_RATE" -abuse-sources "${ABUSE_SOURCES// /,}"
		-abuse-timeout "${ABUSE_TIMEOUT}s" -abuse-addr "$ABUSE_ADDR" -abuse-cpu "$ABUSE_CPU" -abuse-nice "$ABUSE_NICE" -abuse-rounds "$ABUSE_ROUNDS" -abuse-kinds "$ABUSE_KINDS" -large-path "$LARGE_PATH" -max-abuse-p99-ratio "$MAX_ABUSE_P99_RATIO")
fi
echo
sources_csv=${SOURCES// /,}
rounds=$((ROUNDS + (${#abuse_args[@]} > 0 ? 2 * ABUSE_ROUNDS - 1 : 0)))
budget=$((60 + CONNS / 500 + rounds * (HOLD + 20) + SETTLE + (RATE > 0 ? rounds * CONNS / RATE : 0) + ABUSE_TIMEOUT))
# In the background and waited for, so that an interrupt reaches the EXIT
# trap at once, which stops the client (and its processes) before decoy.
timeout "$budget" taskset -c "$CLIENT_CPU" "$TMP/conns" \
	-addr "127.0.0.1:$port" -path "$PATH_UNDER_TEST" -conns "$CONNS" -per-proc "$PER_PROC" \
	-sources "$sources_csv" -rate "$RATE" -rounds "$ROUNDS" -hold "${HOLD}s" -settle "${SETTLE}s" \
	-dial-parallel "$DIAL_PARALLEL" -server-pid "$SERVER_PID" \
	-metrics "$metrics_url" -body-bytes "${#BODY}" \
	-max-rss-mib "$MAX_RSS_MIB" -max-p99-us "$MAX_P99_US" -engine "$ENGINE" \
	-max-goroutines-over "$MAX_GOROUTINES_OVER" -max-heap-over-mib "$MAX_HEAP_OVER_MIB" \
	"${abuse_args[@]+"${abuse_args[@]}"}" &
client=$!
started "$client"
# bench/conns exits 2 when it measured and the result is FAIL.
rc=0
wait "$client" || rc=$?
forget "$client"
((rc == 0 || rc == 2)) || die "the client (bench/conns) failed (status $rc) or ran past ${budget}s"

if [[ $SERVER == nginx ]]; then
	# nginx's own view: warnings (such as running short of connections).
	if grep -Eq '\[(warn|error|crit|alert|emerg)\]' "$SERVER_LOG"; then
		log "nginx logged warnings or errors:"
		sed -E 's/^[0-9\/: ]+//; s/[0-9]+#[0-9]+: //; s/\*[0-9]+ //; s/, client: [^,]+//' "$SERVER_LOG" | sort | uniq -c | sort -rn | sed -n 1,10p >&2
	fi
else
	# decoy's own view: what it accepted, and whether it logged trouble.
	echo
	curl -sf --max-time 5 "http://127.0.0.1:$admin/metrics" |
		awk '/^decoy_(connections_(accepted_total|open|closed_total|slow_reading)|rejected_requests_total|slow_reader_writes_total|clients_tracked)/ { print "decoy metrics: " $0 }'
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
		grep -Ei 'level=(WARN|ERROR)' "$SERVER_LOG" | sort | uniq -c | sort -rn | sed -n 1,10p >&2
	fi
fi
stop_server "$SERVER_PID"
((rc == 0)) || die "RESULT: FAIL (a request unanswered, a bound not met, or $SERVER not back to its baseline; see above)"
