#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Numbered UDP streams for the namespace tests.

  udpflow.py send ADDR PORT COUNT INTERVAL_MS [SRCPORT]
      sends COUNT datagrams "seq N" from one source port, one every
      INTERVAL_MS milliseconds
  udpflow.py recv PORT OUTFILE [IDLE_S]
      counts datagrams until none came for IDLE_S seconds (counted from
      the start too) or SIGTERM; writes "received N distinct M first F last L" to
      OUTFILE, and OUTFILE.ready as soon as it listens
"""
import os
import signal
import socket
import sys
import time


def send(addr, port, count, interval_ms, sport=0):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if sport:
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
    start = time.monotonic()
    for i in range(count):
        s.sendto(b"seq %d" % i, (addr, port))
        wait = start + (i + 1) * interval_ms / 1000.0 - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def recv(port, out, idle=3.0):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    seen = set()
    n = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    open(out + ".ready", "w").close()
    s.settimeout(0.2)
    last = time.monotonic()
    while not stop:
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            if time.monotonic() - last > idle:
                break
            continue
        except InterruptedError:
            continue
        last = time.monotonic()
        n += 1
        try:
            seen.add(int(data.split()[1]))
        except (IndexError, ValueError):
            pass
    with open(out + ".tmp", "w") as f:
        f.write("received %d distinct %d first %d last %d\n" % (
            n, len(seen), min(seen) if seen else -1,
            max(seen) if seen else -1))
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "send" and len(a) in (5, 6):
        send(a[1], int(a[2]), int(a[3]), float(a[4]),
             int(a[5]) if len(a) == 6 else 0)
    elif a and a[0] == "recv" and len(a) in (3, 4):
        recv(int(a[1]), a[2], float(a[3]) if len(a) == 4 else 3.0)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
