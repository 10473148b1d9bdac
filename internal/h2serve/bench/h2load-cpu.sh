#!/usr/bin/env bash
# internal/h2serve/bench/h2load-cpu.sh: server CPU time per HTTP/2 request,
# h2serve against a bare net/http h2c server and nginx (h2c, prior
# knowledge), all serving the same 168-byte JSON body for GET /users/42.
#
# Each server runs pinned to CPU 0 and h2load to CPU 1; the figure is the
# server's CPU time (utime+stime of its process tree, from /proc) divided by
# the requests served, which is what separates servers once the single
# h2load core is the bottleneck. Rounds alternate between servers so that
# drift on a shared machine hits all of them alike.
#
# Usage: internal/h2serve/bench/h2load-cpu.sh   (from anywhere in the repository)
# Environment:
#   ROUNDS=3                     times each server is measured
#   REQUESTS=200000 CLIENTS=16 STREAMS=10   h2load -n, -c, -m
#   SERVERS="nginx h2serve nethttp"         which servers, in this order each round
#   SERVER_CPU=0 CLIENT_CPU=1
#   KEEP_TMP=1                   keep the temporary directory
# Everything binds 127.0.0.1, every process started here is stopped by PID
# from an EXIT trap, and every run is bounded in time.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-16}
STREAMS=${STREAMS:-10}
SERVERS=${SERVERS:-nginx h2serve nethttp}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
KEEP_TMP=${KEEP_TMP:-}

BODY='{"id":42,"name":"Ada Lovelace","email":"ada@example.com","role":"dev","active":true,"created_at":"2024-01-15T09:30:00Z","team":{"id":7,"name":"Engine"},"tags":["math"]}'
PORT_NGINX=18180
PORT_H2SERVE=18181
PORT_NETHTTP=18182

die() { echo "h2load-cpu: $*" >&2; exit 1; }
log() { echo "# $*" >&2; }

for tool in h2load taskset curl awk getconf go; do
	command -v "$tool" >/dev/null 2>&1 || die "missing $tool (Debian: apt-get install -y nghttp2-client nginx curl util-linux)"
done
case " $SERVERS " in *" nginx "*) command -v nginx >/dev/null 2>&1 || die "missing nginx" ;; esac
[[ ${#BODY} -eq 168 ]] || die "internal error: body is ${#BODY} bytes"
(($(getconf _NPROCESSORS_ONLN) >= 2)) || die "needs 2 CPUs"
HZ=$(getconf CLK_TCK)

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TMP=$(mktemp -d)
STARTED=()
cleanup() {
	local pid
	for pid in "${STARTED[@]}"; do
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	if [[ -n $KEEP_TMP ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building h2server"
(cd "$ROOT" && go build -o "$TMP/h2server" ./internal/h2serve/bench/h2server)
printf '%s' "$BODY" >"$TMP/body.json"
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	keepalive_requests 100000000;
	server {
		listen 127.0.0.1:$PORT_NGINX http2;
		location / {
			default_type application/json;
			return 200 '$BODY';
		}
	}
}
EOF

# tree_ticks PID: utime+stime (and reaped children's) of PID and its children.
tree_ticks() {
	local total=0 pid line f
	for pid in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		line=$(cat /proc/"$pid"/stat 2>/dev/null) || continue
		read -r -a f <<<"${line##*) }"
		total=$((total + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$total"
}

SERVER_PID=
start_server() {
	local name=$1 port
	case $name in
	nginx)
		port=$PORT_NGINX
		taskset -c "$SERVER_CPU" nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
		;;
	h2serve)
		port=$PORT_H2SERVE
		taskset -c "$SERVER_CPU" "$TMP/h2server" -mode h2serve -addr 127.0.0.1:$port -body "$TMP/body.json" -max-time 15m 2>/dev/null &
		;;
	nethttp)
		port=$PORT_NETHTTP
		taskset -c "$SERVER_CPU" "$TMP/h2server" -mode nethttp -addr 127.0.0.1:$port -body "$TMP/body.json" -max-time 15m 2>/dev/null &
		;;
	*) die "unknown server $name" ;;
	esac
	SERVER_PID=$!
	STARTED+=("$SERVER_PID")
	for _ in $(seq 100); do
		if curl -sf --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$port/users/42"; then
			PORT=$port
			return
		fi
		sleep 0.05
	done
	die "$name did not start"
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	local keep=() p
	for p in "${STARTED[@]}"; do [[ $p == "$SERVER_PID" ]] || keep+=("$p"); done
	STARTED=("${keep[@]}")
}

RESULTS=$TMP/results.tsv
: >"$RESULTS"
for round in $(seq "$ROUNDS"); do
	for name in $SERVERS; do
		start_server "$name"
		url="http://127.0.0.1:$PORT/users/42"
		# Warm-up, not measured.
		timeout 120 taskset -c "$CLIENT_CPU" h2load -c"$CLIENTS" -m"$STREAMS" -n 20000 "$url" >/dev/null
		before=$(tree_ticks "$SERVER_PID")
		out=$(timeout 300 taskset -c "$CLIENT_CPU" h2load -c"$CLIENTS" -m"$STREAMS" -n"$REQUESTS" "$url")
		after=$(tree_ticks "$SERVER_PID")
		ok=$(sed -n 's/.*status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
		rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
		[[ $ok == "$REQUESTS" ]] || { echo "$out" >&2; die "$name: $ok of $REQUESTS requests answered 2xx"; }
		us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$REQUESTS" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
		printf '%s\t%s\t%s\t%s\n' "$round" "$name" "$us" "$rps" | tee -a "$RESULTS" >&2
		stop_server
	done
done

echo
echo "HTTP/2 h2c, h2load -c$CLIENTS -m$STREAMS -n$REQUESTS, GET /users/42 (168-byte JSON); server on CPU $SERVER_CPU, h2load on CPU $CLIENT_CPU"
awk -F'\t' '
	{ us[$2] = us[$2] " " $3; rps[$2] = rps[$2] " " $4; n[$2]++; sum[$2] += $3; if (!($2 in order)) { order[$2] = ++k; names[k] = $2 } }
	END {
		ref = ("nginx" in sum) ? sum["nginx"] / n["nginx"] : 0
		printf "%-8s %10s %8s  %-28s %s\n", "server", "µs/req", "x nginx", "runs (µs/req)", "runs (req/s)"
		for (i = 1; i <= k; i++) {
			s = names[i]; m = sum[s] / n[s]
			printf "%-8s %10.2f %8s  %-28s %s\n", s, m, ref ? sprintf("%.2f", m / ref) : "-", us[s], rps[s]
		}
	}' "$RESULTS"
