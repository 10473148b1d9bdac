#!/usr/bin/env python3
"""bench/conn-garbage.py: what one connection costs decoy in garbage, by kind.

Opens N connections of each kind in turn against a running decoy (each sends
one request, reads to EOF and closes) and reads go_memstats_alloc_bytes_total
and go_memstats_mallocs_total from its admin /metrics before and after each
kind's second pass (the first warms pools up). The scrape itself is counted
too, once per kind: spread over N connections it is a few bytes each.

Usage (loopback only):
  go build -o /tmp/decoy ./cmd/decoy
  taskset -c 0 /tmp/decoy serve --http 127.0.0.1:18811 --https "" --grpc "" \\
      --admin 127.0.0.1:18812 &        # the demo; end it by its PID afterwards
  bench/conn-garbage.py --http 127.0.0.1:18811 --admin 127.0.0.1:18812 [-n 2000]
"""
import argparse
import socket
import urllib.request

KINDS = {
    "well-formed, Connection: close": b"GET /users/42 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "header line without colon": b"GET /users/42 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    "no HTTP at all": b"hello world, no request here\r\n\r\n",
    "oversized header (32 KiB)": b"GET /users/42 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 32768 + b"\r\n\r\n",
    "invalid chunk size": b"POST /users/42 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "Content-Length + chunked": b"POST /users/42 HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /users/42 HTTP/1.1\r\nHost: x\r\n\r\n",
}


def memstats(admin):
    text = urllib.request.urlopen(f"http://{admin}/metrics", timeout=10).read().decode()
    got = {}
    for line in text.splitlines():
        for key in ("go_memstats_alloc_bytes_total", "go_memstats_mallocs_total"):
            if line.startswith(key + " "):
                got[key] = float(line.split()[1])
    return got


def one(addr, payload):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        try:
            s.sendall(payload)
            while s.recv(65536):
                pass
        except OSError:
            pass  # a reset after a refusal: the answer is not what is measured


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--http", required=True, help="decoy's HTTP address, host:port")
    ap.add_argument("--admin", required=True, help="decoy's admin address, host:port")
    ap.add_argument("-n", type=int, default=2000, help="connections per kind and pass")
    o = ap.parse_args()
    print(f"{'kind':34s} {'bytes/conn':>10s} {'allocs/conn':>11s}")
    for name, payload in KINDS.items():
        for _ in range(2):
            before = memstats(o.admin)
            for _ in range(o.n):
                one(o.http, payload)
            after = memstats(o.admin)
        b = (after["go_memstats_alloc_bytes_total"] - before["go_memstats_alloc_bytes_total"]) / o.n
        a = (after["go_memstats_mallocs_total"] - before["go_memstats_mallocs_total"]) / o.n
        print(f"{name:34s} {b:10.0f} {a:11.1f}")


if __name__ == "__main__":
    main()
