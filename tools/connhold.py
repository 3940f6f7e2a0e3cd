#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Long-lived TCP connections that talk all the time, for the fleet tests.

  connhold.py serve PORT READYFILE NAME
      echo server: every line that comes in goes back, prefixed with NAME
      ("NAME LINE"); writes READYFILE once it listens
  connhold.py hold ADDR PORT N INTERVAL_MS CTLDIR
      opens N connections to ADDR:PORT, then on each sends a numbered line
      every INTERVAL_MS and reads its echo, until CTLDIR/stop exists.
      CTLDIR/up appears once all N are open; CTLDIR/result then holds
        open N broken B stalled S maxgap_ms G lines L
        host HOST N ...          (connections per backend, at the end)
        broken K why             (one per broken connection)
      A connection is broken when it is reset, closed, or its echo comes
      from another backend than before; stalled when an echo took more than
      2 s.
"""
import os
import selectors
import socket
import sys
import time

import sockio

STALL_S = 2.0


def serve(port, ready, name):
    host = name.encode()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1024)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    open(ready, "w").close()
    bufs = {}
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    c, _ = ls.accept()
                except OSError:
                    continue
                c.setblocking(False)
                bufs[c] = b""
                sel.register(c, selectors.EVENT_READ, c)
                continue
            c = key.data
            d = sockio.recv_some(c)
            if not d:
                sel.unregister(c)
                c.close()
                del bufs[c]
                continue
            bufs[c] += d
            out = b""
            while b"\n" in bufs[c]:
                line, bufs[c] = bufs[c].split(b"\n", 1)
                out += host + b" " + line + b"\n"
            try:
                c.sendall(out)
            except OSError:
                pass


class Conn:
    def __init__(self, i, sock):
        self.i = i
        self.sock = sock
        self.buf = b""
        self.seq = 0
        self.sent_at = None  # of the line whose echo is awaited
        self.host = None
        self.broken = None
        self.maxgap = 0.0
        self.stalled = False
        self.lines = 0


def hold(addr, port, n, interval_ms, ctl):
    interval = interval_ms / 1000.0
    conns = []
    for i in range(n):
        s = socket.create_connection((addr, port), timeout=5)
        s.setblocking(False)
        conns.append(Conn(i, s))
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ, c)
    open(os.path.join(ctl, "up"), "w").close()
    stop = os.path.join(ctl, "stop")
    next_send = time.monotonic()
    while not os.path.exists(stop):
        now = time.monotonic()
        if now >= next_send:
            next_send = now + interval
            for c in conns:
                if c.broken or c.sent_at is not None:
                    continue
                c.seq += 1
                c.sent_at = now
                try:
                    c.sock.send(b"%d\n" % c.seq)
                except OSError as e:
                    c.broken = "send: %s" % e.strerror
        for key, _ in sel.select(timeout=max(0.0, next_send - time.monotonic())):
            c = key.data
            try:
                d = c.sock.recv(65536)
            except OSError as e:
                d = None
                why = "recv: %s" % e.strerror
            if not d:
                if not c.broken:
                    c.broken = why if d is None else "closed by the peer"
                sel.unregister(c.sock)
                continue
            c.buf += d
            while b"\n" in c.buf and not c.broken:
                line, c.buf = c.buf.split(b"\n", 1)
                host, _, seq = line.decode(errors="replace").partition(" ")
                if c.host is None:
                    c.host = host
                elif host != c.host:
                    c.broken = "moved from %s to %s" % (c.host, host)
                if seq != str(c.seq) and not c.broken:
                    c.broken = "echo %s for line %d" % (seq, c.seq)
                if c.sent_at is not None:
                    gap = time.monotonic() - c.sent_at
                    c.maxgap = max(c.maxgap, gap)
                    c.sent_at = None
                c.lines += 1
        now = time.monotonic()
        for c in conns:
            if c.sent_at is not None and now - c.sent_at > STALL_S:
                c.stalled = True
                c.maxgap = max(c.maxgap, now - c.sent_at)
    hosts = {}
    for c in conns:
        if c.sent_at is not None:
            c.maxgap = max(c.maxgap, time.monotonic() - c.sent_at)
            if c.maxgap > STALL_S:
                c.stalled = True
        hosts[c.host] = hosts.get(c.host, 0) + 1
    broken = [c for c in conns if c.broken]
    with open(os.path.join(ctl, "result.tmp"), "w") as f:
        f.write("open %d broken %d stalled %d maxgap_ms %d lines %d\n" % (
            n, len(broken), sum(c.stalled for c in conns),
            max(c.maxgap for c in conns) * 1000, sum(c.lines for c in conns)))
        for h, k in sorted(hosts.items(), key=lambda x: str(x[0])):
            f.write("host %s %d\n" % (h, k))
        for c in broken:
            f.write("broken %d %s\n" % (c.i, c.broken))
    os.rename(os.path.join(ctl, "result.tmp"), os.path.join(ctl, "result"))
    for c in conns:
        c.sock.close()


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 7 and sys.argv[1] == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
             int(sys.argv[5]), sys.argv[6])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
