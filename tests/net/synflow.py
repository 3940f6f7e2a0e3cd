#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""TCP SYNs as new flows, and where they arrive, for the namespace tests.

A SYN always follows the balancer's current Maglev table and is never
remembered in its connection table, so the same SYNs sent before and after
a change show which new flows the change moves.

  synflow.py send SRC DST PORT FIRST_SPORT COUNT
      sends COUNT IPv4 SYNs SRC:FIRST_SPORT.. -> DST:PORT (raw socket)
  synflow.py sniff PORT OUTFILE
      records the source ports of SYNs to PORT arriving on eth0 until
      SIGTERM; writes them to OUTFILE, one a line, and its pid to
      OUTFILE.ready as soon as it listens
"""
import os
import signal
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def send(src, dst, port, first, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    for sport in range(first, first + count):
        hdr = struct.pack("!HHIIBBHHH", sport, port, 1, 0, 5 << 4, 0x02,
                          64240, 0, 0)
        pseudo = sa + da + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
        c = csum(pseudo + hdr)
        hdr = hdr[:16] + struct.pack("!H", c) + hdr[18:]
        s.sendto(hdr, (dst, 0))
        if sport % 500 == 0:
            time.sleep(0.005)  # the sniffers are scripts too


def sniff(port, out):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
    s.bind(("eth0", 0))
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    s.settimeout(0.1)
    with open(out + ".ready.tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(out + ".ready.tmp", out + ".ready")
    ports = []
    while True:
        try:
            pkt = s.recv(256)
        except socket.timeout:
            if stop:
                break
            continue
        except InterruptedError:
            continue
        ip = pkt[14:]
        if len(ip) < 40 or ip[9] != socket.IPPROTO_TCP:
            continue
        tcp = ip[(ip[0] & 15) * 4:]
        sport, dport = struct.unpack("!HH", tcp[:4])
        if dport == port and tcp[13] & 0x02 and not tcp[13] & 0x10:
            ports.append(sport)
    with open(out + ".tmp", "w") as f:
        f.write("".join("%d\n" % p for p in ports))
    os.rename(out + ".tmp", out)


def main(argv):
    cmd, a = argv[1], argv[2:]
    if cmd == "send" and len(a) == 5:
        send(a[0], a[1], int(a[2]), int(a[3]), int(a[4]))
    elif cmd == "sniff" and len(a) == 2:
        sniff(int(a[0]), a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
