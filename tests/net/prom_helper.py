#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Helpers of t_metrics.sh.

  hold ADDR PORT N READY RESULT
      Open N connections to a metrics listener, each sending half a request
      and then nothing; open one more and read what it is told (the first
      line goes to READY).  Then wait up to 20 s for the server to close the
      N held connections and write "closed K of N after S" to RESULT.
  query API EXPR WANT TIMEOUT
      Ask a Prometheus server's HTTP API (http://ADDR:PORT) for EXPR until
      its one result's value is WANT (a number; ">=X" means at least X),
      for at most TIMEOUT seconds.  Prints the last value seen; exit 0 if
      it matched.
  dashboard API FILE [VAR=VALUE...]
      Run every query of a Grafana dashboard (panel targets, and the
      label_values() of its variables) against Prometheus, with
      $__rate_interval as 1m and each VAR as given.  Each must succeed and
      return at least one series.  Prints "N queries" or the failures.
"""
import re
import json
import os
import socket
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sockwait  # noqa: E402


def hold(addr, port, n, ready, result):
    held = []
    for _ in range(n):
        s = socket.create_connection((addr, port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    time.sleep(0.2)
    extra = socket.create_connection((addr, port), timeout=5)
    try:
        first = extra.recv(4096).split(b"\r\n")[0].decode(errors="replace")
    except OSError as e:
        first = "error " + str(e)
    extra.close()
    with open(ready + ".tmp", "w") as f:
        f.write(first + "\n")
    os.rename(ready + ".tmp", ready)

    closed, _, waited = sockwait.wait_closed(held, 20, 0.2)
    with open(result, "w") as f:
        f.write("closed %d of %d after %.1f\n" % (closed, n, waited))


def query(api, expr, want, timeout):
    at_least = want.startswith(">=")
    target = float(want[2:] if at_least else want)
    url = api + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                res = json.load(r)["data"]["result"]
            if len(res) == 1:
                last = res[0]["value"][1]
                v = float(last)
                if v == target or (at_least and v >= target):
                    print(last)
                    return 0
            else:
                last = "%d series" % len(res)
        except (OSError, ValueError, KeyError) as e:
            last = "error: %s" % e
        if time.monotonic() > deadline:
            print(last)
            return 1
        time.sleep(0.3)


def dashboard(api, path, assigns):
    with open(path) as f:
        d = json.load(f)
    subst = {"__rate_interval": "1m"}
    subst.update(a.split("=", 1) for a in assigns)
    exprs = []
    for p in d["panels"]:
        for t in p.get("targets", []):
            exprs.append((p["title"], t["expr"]))
    for v in d.get("templating", {}).get("list", []):
        m = re.fullmatch(r"label_values\((.*), *(\w+)\)",
                         v.get("definition", ""))
        if m:
            exprs.append(("variable " + v["name"],
                          "group by (%s) (%s)" % (m.group(2), m.group(1))))
    bad = []
    for title, e in exprs:
        q = re.sub(r"\$(\w+)", lambda m: subst.get(m.group(1), m.group(0)), e)
        url = api + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                res = json.load(r)
            if res.get("status") != "success" or not res["data"]["result"]:
                bad.append("%s: %s: no series" % (title, q))
        except (OSError, ValueError, KeyError) as e:
            body = getattr(e, "read", lambda: b"")().decode(errors="replace")
            bad.append("%s: %s: %s %s" % (title, q, e, body[:200]))
    if bad:
        print("; ".join(bad))
        return 1
    print("%d queries" % len(exprs))
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
             sys.argv[6])
        return 0
    if cmd == "query":
        return query(sys.argv[2], sys.argv[3], sys.argv[4],
                     float(sys.argv[5]))
    if cmd == "dashboard":
        return dashboard(sys.argv[2], sys.argv[3], sys.argv[4:])
    print("unknown command", cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
