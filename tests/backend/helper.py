#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Helpers for the lb-backend integration tests (127.0.0.1 only).

  helper.py freeport                  print a free TCP port
  helper.py origin PORTFILE           fake origin; writes its port to PORTFILE
  helper.py get URL [HEADER...]       one request: "status x-cache served-by body"
  helper.py load URL SECONDS THREADS OUT  load until SECONDS or OUT/stop exists;
                                      writes "ok N fail M pids P,..." to OUT
  helper.py burst URL N               N concurrent requests (new connections);
                                      URL,URL,...: N to each, all at once
  helper.py wburst URL N              the same on connections accepted before
  helper.py pburst PID URL N          wburst with process PID stopped while
                                      the requests go out
  helper.py spread PORT N             N connections opened at once, then one
                                      request on each: "busiest N of M"
  helper.py synstop PORTFILE STOP     an origin that answers "hello PATH"
                                      (max-age=60, one request a connection)
                                      until the file STOP exists; then it
                                      accepts no connection again and new
                                      SYNs go unanswered; writes STOP.done
  ...

The fake origin answers:
  /count?p=PATH    how many times PATH was requested (plain number)
  /slow/MS/...     after MS milliseconds, Cache-Control: max-age=60
  /nostore/...     Cache-Control: no-store
  /private/MS/...  after MS milliseconds, Cache-Control: private, and a body
                   that names which request of that path it answers ("N PATH")
  /chunked/...     body in chunks, Cache-Control: max-age=60
  /hang/...        never answers
  /raw/CASE/...    the head of RAW[CASE] byte for byte (fields in that order,
                   no Server or Date), then "raw PATH"
  /big/N/...       N bytes, Content-Length, Cache-Control: max-age=60
  /stale/...       an answer that keeps the connection alive by its head,
                   after which the origin closes it all the same
  /hangup/...      an answer that keeps the connection alive; the next
                   request on that connection is read and not answered:
                   the origin closes the connection instead
  /conns           how many TCP connections the origin has accepted
  anything else    "hello PATH", Cache-Control: max-age=60
"""
import http.client
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sockwait  # noqa: E402


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# heads written byte for byte: the order of the fields is the point
RAW = {
    # defect of a policy read from memory the kept headers overwrote
    "nostore-first": "Cache-Control: no-store\r\n"
                     "Content-Type: text/html; charset=utf-8\r\n",
    "private-first": "Cache-Control: private, max-age=600\r\n"
                     "Content-Type: text/html; charset=utf-8\r\n",
    # every Cache-Control field counts
    "private-then-maxage": "Cache-Control: private\r\n"
                           "Cache-Control: max-age=600\r\n",
    "maxage-then-nostore": "Cache-Control: max-age=600\r\n"
                           "Content-Type: text/plain\r\n"
                           "Cache-Control: no-store\r\n",
    "nocache": "Cache-Control: no-cache, max-age=600\r\n",
    "cookie": "Set-Cookie: session=alice\r\nCache-Control: max-age=600\r\n",
    "vary-star": "Vary: *\r\nCache-Control: max-age=600\r\n",
    "vary-ua": "Vary: User-Agent\r\nCache-Control: max-age=600\r\n",
    "vary-ae": "Vary: Accept-Encoding\r\nCache-Control: max-age=600\r\n",
    "expires-past": "Expires: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
    "maxage": "Cache-Control: max-age=600\r\n",
    # short "Name:value\n" fields that are kept, and grow when rewritten
    "short": "Cache-Control:max-age=60\n" + "ETag:x\n" * 30,
}


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # the head and the body are written apart: without this, the body
    # waits for the client's delayed ACK of the head (about 40 ms)
    disable_nagle_algorithm = True
    counts = {}
    lock = threading.Lock()
    connections = 0

    def setup(self):
        super().setup()
        with Origin.lock:
            Origin.connections += 1

    def log_message(self, *a):
        pass

    def send_body(self, body, cc="max-age=60", chunked=False):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if cc:
            self.send_header("Cache-Control", cc)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/count":
            p = urllib.parse.parse_qs(u.query).get("p", [""])[0]
            with Origin.lock:
                n = Origin.counts.get(p, 0)
            self.send_body(str(n).encode(), cc="no-store")
            return
        if u.path == "/conns":
            self.send_body(str(Origin.connections).encode(), cc="no-store")
            return
        if getattr(self, "hangup_next", False):
            self.close_connection = True
            return
        with Origin.lock:
            Origin.counts[self.path] = seq = Origin.counts.get(self.path, 0) + 1
        parts = u.path.split("/")
        body = ("hello %s\n" % self.path).encode()
        if u.path.startswith("/slow/"):
            time.sleep(int(parts[2]) / 1000.0)
            self.send_body(body)
        elif u.path.startswith("/private/"):
            time.sleep(int(parts[2]) / 1000.0)
            self.send_body(("%d %s\n" % (seq, self.path)).encode(), cc="private, max-age=600")
        elif u.path.startswith("/nostore/"):
            self.send_body(body, cc="no-store")
        elif u.path.startswith("/chunked/"):
            self.send_body(body * 3, chunked=True)
        elif u.path.startswith("/hang/"):
            time.sleep(30)
        elif u.path.startswith("/raw/"):
            head = RAW[parts[2]]
            body = ("raw %s\n" % self.path).encode()
            eol = "\n" if head.endswith("\n") and not head.endswith("\r\n") else "\r\n"
            out = ("HTTP/1.1 200 OK" + eol + head +
                   "Content-Length: %d" % len(body) + eol + eol).encode()
            self.wfile.write(out + body)
        elif u.path.startswith("/stale/"):
            body = ("stale %s\n" % self.path).encode()
            self.wfile.write(b"HTTP/1.1 200 OK\r\nCache-Control: no-store\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            self.wfile.flush()
            self.close_connection = True
        elif u.path.startswith("/hangup/"):
            self.send_body(body, cc="no-store")
            self.hangup_next = True
        elif u.path.startswith("/big/"):
            n = int(parts[2])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.send_header("Cache-Control", "max-age=60")
            self.end_headers()
            chunk = b"b" * 65536
            while n > 0:
                self.wfile.write(chunk[:n])
                n -= len(chunk)
        else:
            self.send_body(body)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of fetches must not wait for a SYN retry

    def handle_error(self, request, client_address):
        pass  # clients killed mid-answer are part of the tests


def origin(portfile, host="127.0.0.1"):
    srv = QuietServer((host, 0), Origin)
    srv.daemon_threads = True
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, portfile)
    srv.serve_forever()


def synstop(portfile, stop):
    # a backlog of 0: one connection left unaccepted fills the queue, and
    # the kernel then drops every SYN that comes (no SYN-ACK, no reset)
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(0)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(lsn.getsockname()[1]))
    os.rename(tmp, portfile)
    while not os.path.exists(stop):
        if not select.select([lsn], [], [], 0.05)[0]:
            continue
        c, _ = lsn.accept()
        c.settimeout(5)
        req = b""
        try:
            while b"\r\n\r\n" not in req:
                d = c.recv(4096)
                if not d:
                    break
                req += d
            path = req.split(b" ")[1] if req.count(b" ") >= 2 else b"/"
            body = b"hello " + path + b"\n"
            c.sendall(b"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (len(body), body))
        except OSError:
            pass
        c.close()
    fill = socket.create_connection(lsn.getsockname(), timeout=5)
    with open(stop + ".done", "w"):
        pass
    while True:
        time.sleep(60)
    fill.close()


def get(url, headers=(), method="GET", timeout=10):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    h = {"Connection": "close"}
    for x in headers:
        k, v = x.split(":", 1)
        h[k.strip()] = v.strip()
    c.request(method, u.path + ("?" + u.query if u.query else ""), headers=h)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("X-Cache", "-"), r.getheader("X-Served-By", "-"), body


def load(url, seconds, threads, out):
    ok = [0]
    fail = []
    pids = set()
    lock = threading.Lock()
    end = time.time() + float(seconds)
    stop = out + ".stop"

    def run(i):
        n = 0
        while time.time() < end and not os.path.exists(stop):
            n += 1
            try:
                # every request on a new connection: accept is exercised
                st, xc, by, body = get(url.replace("{i}", str(n % 50)))
                with lock:
                    if st == 200:
                        ok[0] += 1
                        pids.add(by.split("/")[-1])
                    else:
                        fail.append("status %d" % st)
            except Exception as e:
                with lock:
                    fail.append(repr(e))

    ts = [threading.Thread(target=run, args=(i,)) for i in range(int(threads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(out + ".tmp", "w") as f:
        f.write("ok %d fail %d pids %s\n" % (ok[0], len(fail), ",".join(sorted(pids))))
        for e in fail[:5]:
            f.write("error %s\n" % e)
    os.rename(out + ".tmp", out)


def burst(urls, n, warm=False, pause=0):
    """N requests at once to each of the comma-separated urls, on new
    connections; with warm, on connections that have had an answer to
    /healthz first, so that the server has accepted them all and their
    requests arrive together.  With pause (a pid, and warm), that process
    is stopped while the requests are sent and continued after 0.3 s, so
    that it finds them all waiting at once."""
    urls = urls.split(",")
    res = [None] * (n * len(urls))
    barrier = threading.Barrier(len(res) + (1 if pause else 0))
    sent = threading.Barrier(len(res) + 1) if pause else None

    def run(i):
        url = urls[i // n]
        u = urllib.parse.urlsplit(url)
        try:
            if not warm:
                barrier.wait()
                res[i] = get(url, timeout=20)
                return
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
            c.request("GET", "/healthz")
            c.getresponse().read()
            barrier.wait()
            if pause:
                barrier.wait()
            c.request("GET", u.path)
            if pause:
                sent.wait()
            r = c.getresponse()
            res[i] = (r.status, r.getheader("X-Cache", "-"),
                      r.getheader("X-Served-By", "-"), r.read())
            c.close()
        except Exception as e:
            res[i] = (0, "-", "-", repr(e).encode())

    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(res))]
    for t in ts:
        t.start()
    if pause:
        barrier.wait()  # every connection accepted
        os.kill(pause, signal.SIGSTOP)
        try:
            barrier.wait()
            sent.wait()
            time.sleep(0.3)
        finally:
            os.kill(pause, signal.SIGCONT)
    for t in ts:
        t.join()
    return res


def spread(port, n):
    """Open N keep-alive connections in a burst, then ask /healthz on each:
    which worker accepted which connection.  Prints the number the busiest
    worker took, how many connections answered and the workers seen."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10)
             for _ in range(n)]
    by = {}
    for s in socks:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    for s in socks:
        head = b""
        while b"\r\n\r\n" not in head:
            d = s.recv(4096)
            if not d:
                break
            head += d
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"x-served-by:"):
                w = line.split(b":", 1)[1].strip().decode()
                by[w] = by.get(w, 0) + 1
    for s in socks:
        s.close()
    print(max(by.values()) if by else 0, sum(by.values()), len(by))


def main():
    cmd = sys.argv[1]
    a = sys.argv[2:]
    if cmd == "freeport":
        print(freeport())
    elif cmd == "origin":
        origin(*a[:2])
    elif cmd == "get":
        st, xc, by, body = get(a[0], a[1:])
        print(st, xc, by, body.decode(errors="replace").strip().replace("\n", "|"))
    elif cmd == "head":
        st, xc, by, body = get(a[0], method="HEAD")
        print(st, xc, by, len(body))
    elif cmd == "load":
        load(a[0], a[1], a[2], a[3])
    elif cmd in ("burst", "wburst", "pburst"):
        if cmd == "pburst":
            res = burst(a[1], int(a[2]), True, int(a[0]))
        else:
            res = burst(a[0], int(a[1]), cmd == "wburst")
        for st, xc, by, body in res:
            print(st, xc, by, body.decode(errors="replace").strip())
    elif cmd == "spread":
        spread(int(a[0]), int(a[1]))
    elif cmd == "synstop":
        synstop(a[0], a[1])
    elif cmd == "stats":
        st, xc, by, body = get(a[0] + "/stats")
        j = json.loads(body)
        # "GEN PID..." of the ready workers of the newest generation
        gen = j["generation"]
        pids = [str(w["pid"]) for w in j["workers"] if w["generation"] == gen and w["ready"]]
        allp = [str(w["pid"]) for w in j["workers"]]
        print(gen, len(pids), ",".join(pids), ",".join(allp))
    elif cmd == "raw":
        # send a[1] (with \r\n escapes) in one write, print what comes back
        s = socket.create_connection(("127.0.0.1", int(a[0])), timeout=5)
        s.sendall(a[1].encode().decode("unicode_escape").encode("latin-1"))
        data = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        except socket.timeout:
            pass
        sys.stdout.write(data.decode("latin-1"))
    elif cmd == "loris":
        # one byte of a request head every INTERVAL s; print when and how
        # the server ended it
        port, interval = int(a[0]), float(a[1])
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
        t0 = time.time()
        how = "never"
        for b in head:
            try:
                s.send(bytes([b]))
            except OSError:
                how = "reset"
                break
            r, _, _ = select.select([s], [], [], interval)
            if r:
                try:
                    d = s.recv(4096)
                except OSError:
                    how = "reset"
                    break
                how = d.split(b"\r\n")[0].decode() if d else "closed"
                break
            if time.time() - t0 > 20:
                break
        print("%.2f %s" % (time.time() - t0, how.replace(" ", "_")))
    elif cmd == "bodyless":
        # N connections that announce a body and never send it; print how
        # many the server closed within SECS and when the last one went
        port, n, secs = int(a[0]), int(a[1]), float(a[2])
        req = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(req)
            socks.append(s)
        closed, last, _ = sockwait.wait_closed(socks, secs)
        print("closed %d of %d last %.2f" % (closed, n, last))
    elif cmd == "noread":
        # N connections asking for PATH that never read the answer; hold
        # them until the file STOP exists (at most 60 s)
        port, n, path, stop = int(a[0]), int(a[1]), a[2], a[3]
        socks = []
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
            socks.append(s)
        print("open", flush=True)
        t0 = time.time()
        while not os.path.exists(stop) and time.time() - t0 < 60:
            time.sleep(0.05)
    elif cmd == "json":
        st, xc, by, body = get(a[0])
        j = json.loads(body)
        for k in a[1].split("."):
            j = j[int(k)] if isinstance(j, list) else j[k]
        print(j)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
