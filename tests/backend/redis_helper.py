#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Helpers for the Redis tier tests of lb-backend (127.0.0.1 only).

  redis_helper.py cmd PORT ARG...        one command; prints the reply
  redis_helper.py corrupt PORT KEY       flip a byte of KEY's body, keep TTL
  redis_helper.py copy PORT SRC DST      store SRC's value under DST
  redis_helper.py proxy PORTFILE TARGET DELAYFILE
                                         a TCP proxy to 127.0.0.1:TARGET (or
                                         to HOST:PORT, listening on HOST) that
                                         holds each chunk from the server for
                                         the milliseconds in DELAYFILE; with
                                         "cut" there, it closes every
                                         connection and takes none
  redis_helper.py errors PORTFILE        a server answering -ERR to anything
  redis_helper.py clusterports N         N ports P with P and P + 10000 (the
                                         cluster bus) both free
  redis_helper.py load URL SECONDS THREADS KEYS OUT
                                         GET URL/k/N for random N < KEYS until
                                         SECONDS pass; checks every body;
                                         writes "ok N fail M p99_ms P [errors]"
                                         to OUT
"""
import os
import random
import socket
import sys
import threading
import time
import http.client
import urllib.parse


def enc(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def reply(self):
        ln = self.line()
        t, rest = ln[:1], ln[1:]
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if t == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise ValueError(ln)

    def __call__(self, *args):
        self.s.sendall(enc(*args))
        return self.reply()


def serve(portfile, handler, host="127.0.0.1"):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, 0))
    ls.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def proxy(portfile, target, delayfile):
    # TARGET: PORT on 127.0.0.1, or HOST:PORT, where the proxy listens too
    host, _, port = target.rpartition(":")
    host = host or "127.0.0.1"
    live = set()
    lock = threading.Lock()

    def setting():
        try:
            with open(delayfile) as f:
                return f.read().strip()
        except OSError:
            return ""

    def delay():
        v = setting()
        return int(v) / 1000.0 if v.isdigit() else 0

    def close(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cutter():
        while True:
            if setting() == "cut":
                with lock:
                    close(*live)
            time.sleep(0.02)

    def pipe(a, b, slow):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if slow:
                    time.sleep(delay())
                b.sendall(d)
        except OSError:
            pass
        close(a, b)
        with lock:
            live.discard(a)
            live.discard(b)

    def handle(c):
        if setting() == "cut":
            c.close()
            return
        try:
            s = socket.create_connection((host, int(port)))
        except OSError:
            c.close()
            return
        with lock:
            live.update((c, s))
        threading.Thread(target=pipe, args=(c, s, False), daemon=True).start()
        pipe(s, c, True)

    threading.Thread(target=cutter, daemon=True).start()
    serve(portfile, handle, host)


def errors(portfile):
    def handle(c):
        buf = b""
        while True:
            d = c.recv(65536)
            if not d:
                return
            buf += d
            # one error per complete command
            while True:
                try:
                    n, buf2 = parse_cmd(buf)
                except IndexError:
                    break
                buf = buf2
                c.sendall(b"-ERR this server answers errors only\r\n")

    serve(portfile, handle)


def parse_cmd(buf):
    if b"\r\n" not in buf:
        raise IndexError
    ln, rest = buf.split(b"\r\n", 1)
    n = int(ln[1:])
    for _ in range(n):
        if b"\r\n" not in rest:
            raise IndexError
        ln, rest = rest.split(b"\r\n", 1)
        k = int(ln[1:])
        if len(rest) < k + 2:
            raise IndexError
        rest = rest[k + 2:]
    return n, rest


def load(url, seconds, threads, keys, out):
    ok = [0]
    fail = []
    lock = threading.Lock()
    end = time.time() + float(seconds)
    u = urllib.parse.urlsplit(url)

    lat = []

    def run():
        c = None
        while time.time() < end:
            p = "%s/k/%d" % (u.path, random.randrange(int(keys)))
            t0 = time.time()
            try:
                if c is None:
                    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                c.request("GET", p)
                r = c.getresponse()
                body = r.read()
                good = r.status == 200 and body == ("hello %s\n" % p).encode()
            except Exception as e:
                good = False
                body = str(e).encode()
                c = None
            with lock:
                lat.append(time.time() - t0)
                if good:
                    ok[0] += 1
                else:
                    fail.append(body[:80])

    ts = [threading.Thread(target=run) for _ in range(int(threads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(out + ".tmp", "w") as f:
        lat.sort()
        p99 = lat[int(len(lat) * 0.99)] if lat else 0
        f.write("ok %d fail %d p99_ms %d %s\n" % (ok[0], len(fail), p99 * 1000, fail[:3]))
    os.rename(out + ".tmp", out)


def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def clusterports(n):
    out = []
    while len(out) < n:
        p = random.randrange(20000, 30000)
        if p not in out and free(p) and free(p + 10000):
            out.append(p)
    print(" ".join(map(str, out)))


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "cmd":
        r = Conn(a[0])(*a[1:])
        r = r if isinstance(r, bytes) else str(r).encode()
        try:
            sys.stdout.buffer.write(r + b"\n")
            sys.stdout.flush()
        except BrokenPipeError:
            pass
    elif cmd == "corrupt":
        c = Conn(a[0])
        v = bytearray(c("GET", a[1]))
        ttl = c("PTTL", a[1])
        v[-1] ^= 0x01
        print(c("SET", a[1], bytes(v), "PX", str(ttl)))
    elif cmd == "copy":
        c = Conn(a[0])
        print(c("SET", a[2], c("GET", a[1]), "PX", "60000"))
    elif cmd == "proxy":
        proxy(a[0], a[1], a[2])
    elif cmd == "errors":
        errors(a[0])
    elif cmd == "clusterports":
        clusterports(int(a[0]))
    elif cmd == "load":
        load(a[0], a[1], a[2], a[3], a[4])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
