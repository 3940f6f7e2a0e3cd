# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""What the Python helpers of the shell tests share."""
import select
import time


def wait_closed(socks, secs, poll=0.1):
    """Wait up to secs for the peer to close every socket of socks, reading
    and dropping what it sends.  Returns (how many it closed, seconds to the
    last close, seconds waited)."""
    t0 = time.monotonic()
    open_ = set(socks)
    last = 0.0
    while open_ and time.monotonic() - t0 < secs:
        r, _, _ = select.select(list(open_), [], [], poll)
        for s in r:
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            if not d:
                open_.discard(s)
                last = time.monotonic() - t0
    return len(socks) - len(open_), last, time.monotonic() - t0
