#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Traffic for the end-to-end tests (tests/net/t_e2e_*.sh).

  e2e_helper.py udp-echo NAME PORT READYFILE
      UDP echo server on every address (v4 and v6): answers "NAME PAYLOAD"
      from the address the request was sent to (the VIP, for DSR), as a
      real UDP service behind a balancer must.  Touches READYFILE when
      listening.
  e2e_helper.py udp-ask ADDR PORT COUNT
      COUNT requests, each from a new socket (a new source port); prints
      one line per request: "NAME" of the server that answered, or
      "ERROR why".
  e2e_helper.py flows ADDR PORT PATH COUNT [FIRST_SPORT]
      COUNT HTTP/1.1 requests, each on its own connection ("Connection:
      close"), from ephemeral source ports or from FIRST_SPORT,
      FIRST_SPORT+1, ...; prints "SPORT BODY" or "SPORT ERROR why" per
      request.  The server closes first, so no source port is left in
      TIME_WAIT on this side and a port can be used again at once.
  e2e_helper.py stream ADDR PORT PATH OUTFILE STOPFILE [INTERVAL_MS]
      one keep-alive connection, a request every INTERVAL_MS (100) until
      STOPFILE exists (at most 120 s).  After the first answer writes
      OUTFILE.first: "BODY SPORT".  At the end writes OUTFILE: "requests N
      maxgap_ms G bodies B1,B2 error WHY" (error "none" when the
      connection survived); the gap is the longest time between two
      answers.
  e2e_helper.py download ADDR PORT PATH SPORT RATE OUTFILE
      one GET from source port SPORT with a small receive buffer, read at
      RATE bytes/s, so that the transfer needs the client's ACKs to reach
      the server all along.  Writes OUTFILE: "status S bytes N md5 H error
      WHY" (error "none" when the server closed after the whole body).
"""
import hashlib
import os
import socket
import struct
import sys
import time

IP_PKTINFO = 8  # <linux/in.h>; the socket module does not export it
IP_FREEBIND = 15
IO_TIMEOUT = 3.0


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_echo(name, port, ready):
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s4.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s4.bind(("0.0.0.0", port))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    # the VIPs are local by a route (AnyIP), not as interface addresses;
    # IPv6 accepts such a source in IPV6_PKTINFO only with freebind
    s6.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
    s6.bind(("::", port))
    open(ready, "w").close()
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(s4, selectors.EVENT_READ)
    sel.register(s6, selectors.EVENT_READ)
    prefix = name.encode() + b" "
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            data, anc, _, peer = s.recvmsg(65535, 256)
            reply_anc = []
            for level, kind, cdata in anc:
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                    # struct in_pktinfo: ifindex, spec_dst, addr (the
                    # header's destination, used as our source)
                    dst = cdata[8:12]
                    reply_anc.append((level, kind, struct.pack("i4s4s", 0, dst, b"\0" * 4)))
                elif level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                    # struct in6_pktinfo: addr, ifindex
                    reply_anc.append((level, kind, cdata[:16] + struct.pack("I", 0)))
            s.sendmsg([prefix + data], reply_anc, 0, peer)


def udp_ask(addr, port, count):
    fam = family_of(addr)
    for i in range(count):
        payload = b"req-%d-%d" % (os.getpid(), i)
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(IO_TIMEOUT)
        try:
            # connected: answers from any other address than the VIP are
            # not delivered to us
            s.connect((addr, port))
            s.send(payload)
            data = s.recv(65535)
            name, _, echo = data.partition(b" ")
            if echo != payload:
                print("ERROR wrong echo %r" % data[:60])
            else:
                print(name.decode())
        except OSError as e:
            print("ERROR %s" % (e.strerror or type(e).__name__))
        finally:
            s.close()
        sys.stdout.flush()


def read_response(s, buf):
    """One HTTP response from s; returns (status, body, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed by peer" if not buf else "closed in the head")
        buf += d
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for h in lines[1:]:
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(buf) < length:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed in the body")
        buf += d
    return status, buf[:length], buf[length:]


def request(path, close):
    return ("GET %s HTTP/1.1\r\nHost: vip\r\n%s\r\n" % (path, "Connection: close\r\n" if close else "")).encode()


def flows(addr, port, path, count, first):
    fam = family_of(addr)
    any_addr = "::" if fam == socket.AF_INET6 else "0.0.0.0"
    for i in range(count):
        sport = first + i if first else 0
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(IO_TIMEOUT)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((any_addr, sport))
            sport = s.getsockname()[1]
            s.connect((addr, port))
            s.sendall(request(path, True))
            status, body, _ = read_response(s, b"")
            # wait for the server's FIN: the server closes first
            while s.recv(4096):
                pass
            if status != 200:
                print("%d ERROR status %d" % (sport, status))
            else:
                print("%d %s" % (sport, body.decode().strip()))
        except (OSError, ValueError, IndexError) as e:
            print("%d ERROR %s" % (sport, getattr(e, "strerror", None) or str(e) or type(e).__name__))
        finally:
            s.close()
        sys.stdout.flush()


def io_error(e):
    """What went wrong with a connection, in a few words."""
    if isinstance(e, socket.timeout):
        return "no answer within %.0f s" % IO_TIMEOUT
    if isinstance(e, ConnectionResetError):
        return "reset"
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def write_result(out, line):
    """OUTFILE appears whole or not at all."""
    with open(out + ".tmp", "w") as f:
        f.write(line)
    os.rename(out + ".tmp", out)


def stream(addr, port, path, out, stop, interval_ms):
    fam = family_of(addr)
    n, maxgap, bodies, err = 0, 0.0, [], "none"
    deadline = time.monotonic() + 120
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(IO_TIMEOUT)
    try:
        s.connect((addr, port))
        sport = s.getsockname()[1]
        buf = b""
        last = None
        while not os.path.exists(stop) and time.monotonic() < deadline:
            s.sendall(request(path, False))
            status, body, buf = read_response(s, buf)
            now = time.monotonic()
            if status != 200:
                err = "status %d" % status
                break
            b = body.decode().strip()
            if b not in bodies:
                bodies.append(b)
            if last is not None:
                maxgap = max(maxgap, now - last)
            else:
                write_result(out + ".first", "%s %d\n" % (b, sport))
            last = now
            n += 1
            time.sleep(interval_ms / 1000.0)
    except (OSError, ValueError, IndexError) as e:
        err = io_error(e)
    finally:
        s.close()
    write_result(out, "requests %d maxgap_ms %d bodies %s error %s\n"
                 % (n, maxgap * 1000, ",".join(bodies) or "-", err.replace(" ", "_")))


def download(addr, port, path, sport, rate, out):
    fam = family_of(addr)
    status, n, err, md5 = 0, 0, "none", hashlib.md5()
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(IO_TIMEOUT)
    try:
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
        s.connect((addr, port))
        s.sendall(request(path, True))
        buf, start = b"", time.monotonic()
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                raise ConnectionError("closed in the head")
            buf += d
        head, _, d = buf.partition(b"\r\n\r\n")
        status = int(head.split(b"\r\n")[0].split()[1])
        if not d:
            # the head came alone (a body sent from a file follows it)
            d = s.recv(16384)
        while d:
            md5.update(d)
            n += len(d)
            wait = start + n / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            d = s.recv(16384)
    except (OSError, ValueError, IndexError) as e:
        err = io_error(e)
    finally:
        s.close()
    write_result(out, "status %d bytes %d md5 %s error %s\n"
                 % (status, n, md5.hexdigest(), err.replace(" ", "_")))


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    a = argv[2:]
    if cmd == "udp-echo" and len(a) == 3:
        udp_echo(a[0], int(a[1]), a[2])
    elif cmd == "udp-ask" and len(a) == 3:
        udp_ask(a[0], int(a[1]), int(a[2]))
    elif cmd == "flows" and len(a) in (4, 5):
        flows(a[0], int(a[1]), a[2], int(a[3]), int(a[4]) if len(a) == 5 else 0)
    elif cmd == "download" and len(a) == 6:
        download(a[0], int(a[1]), a[2], int(a[3]), float(a[4]), a[5])
    elif cmd == "stream" and len(a) in (5, 6):
        stream(a[0], int(a[1]), a[2], a[3], a[4], int(a[5]) if len(a) == 6 else 100)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
