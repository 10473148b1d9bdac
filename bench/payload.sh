#!/usr/bin/env bash
# bench/payload.sh: large static payloads. decoy loads FILES bodies of
# SIZE_MB each (bodyFile stubs, held in memory), then:
#   - its resident memory against the payload total (target: under 1.2x the
#     payloads plus 100 MB), with its parts from /proc/PID/status: RssAnon
#     (the heap, where decoy holds the bodies), RssFile (the binary) and
#     RssShmem;
#   - the time to download one body with curl, ROUNDS times, from decoy and
#     from nginx serving the same file from tmpfs (/dev/shm) with sendfile,
#     alternating, each server pinned to SERVER_CPU and curl to CLIENT_CPU,
#     and the CPU time each server spent on those downloads.
#
# Usage: bench/payload.sh
# Environment:
#   FILES=5 SIZE_MB=100   bodies loaded (500 MB by default)
#   ROUNDS=5              downloads per server
#   SERVER_CPU=0 CLIENT_CPU=1
#   DECOY_BIN=path        use this decoy binary instead of building ./cmd/decoy
#   NETNS_CC=reno         run both servers and curl in a network namespace
#                         of their own whose default TCP congestion control
#                         is this one (needs root and ip). nginx cannot
#                         choose its own: under a BBR default the kernel
#                         paces its sendfile (its slow mode, see
#                         docs/BENCHMARKS.md), while decoy's listeners
#                         replace BBR (tcp-congestion auto). In a namespace
#                         with reno neither is paced.
#   KEEP_TMP=1            keep the temporary directory
set -euo pipefail

FILES=${FILES:-5}
SIZE_MB=${SIZE_MB:-100}
ROUNDS=${ROUNDS:-5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

BENCH_NAME=payload
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tools=(nginx curl taskset getconf timeout awk head)
[[ -n $DECOY_BIN ]] || tools+=(go)
require_tools "Debian: apt-get install -y nginx curl util-linux coreutils; Go from /usr/local/go/bin" "${tools[@]}"
require_cpus
[[ -d /dev/shm && -w /dev/shm ]] || die "needs a writable tmpfs at /dev/shm for nginx's copy of the file"

bench_init
check_idle
build_decoy

# NS_EXEC runs a command in the namespace (lib.sh's wait_port uses it too).
NS_EXEC=()
if [[ -n ${NETNS_CC:-} ]]; then
	require_tools "Debian: apt-get install -y iproute2" ip
	NETNS=decoy-bench-$$
	ip netns add "$NETNS" || die "cannot create network namespace $NETNS (needs root)"
	NS_EXEC=(ip netns exec "$NETNS")
	"${NS_EXEC[@]}" ip link set lo up
	"${NS_EXEC[@]}" sysctl -qw "net.ipv4.tcp_congestion_control=$NETNS_CC" ||
		die "cannot set $NETNS_CC as the namespace's congestion control (available: $(cat /proc/sys/net/ipv4/tcp_available_congestion_control))"
fi

# The payloads: random bytes (incompressible), in $TMP for decoy and one
# copy in tmpfs for nginx.
SHM=$(mktemp -d /dev/shm/decoy-bench.XXXXXX)
cleanup_shm() {
	rm -rf "$SHM"
	bench_cleanup
	if [[ -n ${NETNS:-} ]]; then ip netns delete "$NETNS" 2>/dev/null || true; fi
}
trap cleanup_shm EXIT
log "writing $FILES x $SIZE_MB MB of payloads"
: >"$TMP/stubs.yaml"
for ((i = 0; i < FILES; i++)); do
	head -c "$((SIZE_MB * 1000000))" /dev/urandom >"$TMP/p$i.bin"
	printf -- '- request: {method: GET, path: /p%d}\n  response: {status: 200, headers: {Content-Type: application/octet-stream}, bodyFile: p%d.bin}\n' "$i" "$i" >>"$TMP/stubs.yaml"
done
cp "$TMP/p0.bin" "$SHM/p0"
chmod 755 "$SHM" && chmod 644 "$SHM/p0" # nginx workers may run as another user
total_mb=$((FILES * SIZE_MB))

# decoy, with every payload loaded.
DPORT=$(free_port)
"${NS_EXEC[@]}" taskset -c "$SERVER_CPU" "$DECOY_BIN" serve --quiet --http "127.0.0.1:$DPORT" --https "" --admin "" --grpc "" \
	--journal-size 0 "$TMP/stubs.yaml" >"$TMP/decoy.log" 2>&1 &
DPID=$!
started "$DPID"
wait_port decoy "$DPID" "$DPORT" "$TMP/decoy.log"
sleep 2
rss_kib=$(tree_rss_kib "$DPID")
# RssAnon, RssFile and RssShmem of decoy's process tree, in KiB.
rss_parts=$(for pid in $(tree_pids "$DPID"); do cat "/proc/$pid/status" 2>/dev/null; done |
	awk '/^RssAnon:/ { a += $2 } /^RssFile:/ { f += $2 } /^RssShmem:/ { s += $2 } END { print a + 0, f + 0, s + 0 }')

# nginx, the same first file from tmpfs.
NPORT=$(free_port)
mkdir -p "$TMP/nginx/tmp"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $TMP/nginx/tmp/body;
    proxy_temp_path $TMP/nginx/tmp/proxy;
    fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
    uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
    scgi_temp_path $TMP/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        location = /p0 { default_type application/octet-stream; alias $SHM/p0; }
    }
}
EOF
"${NS_EXEC[@]}" taskset -c "$SERVER_CPU" nginx -p "$TMP/nginx/" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx/stdout.log" 2>&1 &
NPID=$!
started "$NPID"
wait_port nginx "$NPID" "$NPORT" "$TMP/nginx/error.log"

# download NAME PORT: seconds for one GET /p0 into /dev/null, checking the size.
download() {
	local name=$1 port=$2 out
	out=$(timeout 120 "${NS_EXEC[@]}" taskset -c "$CLIENT_CPU" curl -sf -o /dev/null -w '%{size_download} %{time_total}' \
		"http://127.0.0.1:$port/p0") || die "$name: download failed"
	read -r size secs <<<"$out"
	((size == SIZE_MB * 1000000)) || die "$name sent $size bytes, not $((SIZE_MB * 1000000))"
	echo "$secs"
}

: >"$TMP/decoy.times"
: >"$TMP/nginx.times"
download decoy "$DPORT" >/dev/null # warm-up
download nginx "$NPORT" >/dev/null
# Server CPU (clock ticks) spent on the measured downloads, per server.
nticks=0 dticks=0
for ((r = 0; r < ROUNDS; r++)); do
	a=$(tree_ticks "$NPID")
	download nginx "$NPORT" >>"$TMP/nginx.times"
	b=$(tree_ticks "$NPID")
	c=$(tree_ticks "$DPID")
	download decoy "$DPORT" >>"$TMP/decoy.times"
	e=$(tree_ticks "$DPID")
	nticks=$((nticks + b - a))
	dticks=$((dticks + e - c))
done

d=$(median <"$TMP/decoy.times")
n=$(median <"$TMP/nginx.times")
dmin=$(sort -g "$TMP/decoy.times" | head -1)
nmin=$(sort -g "$TMP/nginx.times" | head -1)

echo "# $(machine_line); $(date -u +%Y-%m-%dT%H:%MZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n ${NETNS_CC:-} ]]; then
	echo "# both servers and curl in a network namespace whose default congestion control is $NETNS_CC"
else
	echo "# the kernel's default congestion control: $(cat /proc/sys/net/ipv4/tcp_congestion_control) (decoy's listeners: its tcp-congestion setting, auto by default)"
fi
awk -v files="$FILES" -v size="$SIZE_MB" -v total="$total_mb" -v rss="$rss_kib" -v parts="$rss_parts" 'BEGIN {
	limit = 1.2 * total + 100
	split(parts, p, " ")
	printf "payloads: %d x %d MB = %d MB; decoy RSS %.0f MiB (%.0f MB; RssAnon %.0f, RssFile %.0f, RssShmem %.0f MiB); target under %.0f MB: %s\n",
		files, size, total, rss / 1024, rss * 1.024 / 1000, p[1] / 1024, p[2] / 1024, p[3] / 1024, limit, (rss * 1.024 / 1000 < limit ? "met" : "NOT met")
}'
awk -v d="$d" -v n="$n" -v size="$SIZE_MB" -v rounds="$ROUNDS" 'BEGIN {
	printf "download of %d MB, median of %d: decoy write %.3f s (%.0f MB/s), nginx sendfile from tmpfs %.3f s (%.0f MB/s); decoy/nginx time %.2f\n",
		size, rounds, d, size / d, n, size / n, d / n
}'
# nginx's sendfile downloads take one of two times here (see
# docs/BENCHMARKS.md): the fastest of each shows that apart from the median.
awk -v d="$dmin" -v n="$nmin" -v rounds="$ROUNDS" 'BEGIN {
	printf "fastest of %d: decoy %.3f s, nginx %.3f s; decoy/nginx time %.2f\n", rounds, d, n, d / n
}'
awk -v d="$dticks" -v n="$nticks" -v hz="$CLK_TCK" -v rounds="$ROUNDS" 'BEGIN {
	printf "server CPU per download (utime + stime, %d-ms ticks): decoy %.1f ms, nginx %.1f ms\n", 1000 / hz, d / hz * 1000 / rounds, n / hz * 1000 / rounds
}'
