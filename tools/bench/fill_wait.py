#!/usr/bin/env python3
"""Part "backend", section 6 helper: a slow origin, and clients that ask
one key at once from many kept-alive connections.

  fill_wait.py origin PORT DELAY_MS    answers any path after DELAY_MS,
                                       cacheable, head and body in one
                                       write, TCP_NODELAY
  fill_wait.py clients PORT ROUNDS N DELAY_MS
                                       ROUNDS rounds of N requests of a new
                                       key at once; prints the time each
                                       waited beyond DELAY_MS, in ms:
                                       "median p90 slowest mean"
"""
import http.client
import socket
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def origin(port, delay_ms):
    class Slow(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self):
            time.sleep(delay_ms / 1000)
            body = b"fill " + self.path.encode() + b"\n"
            head = ("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                    "Cache-Control: max-age=60\r\n\r\n" % len(body))
            self.wfile.write(head.encode() + body)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    Server(("127.0.0.1", port), Slow).serve_forever()


def clients(port, rounds, n, delay_ms):
    extra = []
    for r in range(rounds):
        conns = []
        for _ in range(n):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.connect()
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.request("GET", "/healthz")
            c.getresponse().read()
            conns.append(c)
        start = threading.Barrier(n)
        took = [None] * n

        def run(i):
            start.wait()
            t = time.monotonic()
            conns[i].request("GET", "/fill-wait/%d" % r)
            resp = conns[i].getresponse()
            resp.read()
            if resp.status == 200:
                took[i] = time.monotonic() - t

        ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for c in conns:
            c.close()
        if None in took:
            sys.exit("fill_wait: a request failed in round %d" % r)
        extra += [1e3 * (t - delay_ms / 1000) for t in took]
    v = sorted(extra)
    print("%.1f %.1f %.1f %.1f" % (statistics.median(v), v[int(0.9 * len(v))],
                                   v[-1], statistics.mean(v)))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "origin":
        origin(int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) == 6 and sys.argv[1] == "clients":
        clients(*(int(a) for a in sys.argv[2:]))
    else:
        sys.exit(__doc__)
