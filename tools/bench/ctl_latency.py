#!/usr/bin/env python3
# ctl_latency.py SOCKET SECONDS: answer times of lbd's control socket.
#
# Sends a request that lbd answers at once without touching its state (an
# unknown command), one connection at a time, every 2 ms for SECONDS, and
# prints "n N p50 MS p99 MS p999 MS max MS".  What shows is how long a
# request waits behind lbd's own work (next-hop polls, health checks,
# counters): lbd serves its control socket from one event loop.
import socket
import sys
import time


def main():
    path, secs = sys.argv[1], float(sys.argv[2])
    lat = []
    end = time.monotonic() + secs
    while time.monotonic() < end:
        t0 = time.monotonic()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(b'{"cmd":"latency-probe"}\n')
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        s.close()
        if b"unknown command" not in answer:
            sys.exit("ctl_latency: unexpected answer %r" % answer[:200])
        lat.append((time.monotonic() - t0) * 1000)
        time.sleep(0.002)
    lat.sort()
    n = len(lat)
    print("n %d p50 %.3f p99 %.3f p999 %.3f max %.3f" %
          (n, lat[n // 2], lat[int(n * 0.99)], lat[int(n * 0.999)], lat[-1]))


if __name__ == "__main__":
    main()
