# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""What the Python helpers of the shell tests share."""
import os
import select
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import sockio  # noqa: E402


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
            if not sockio.recv_some(s):
                open_.discard(s)
                last = time.monotonic() - t0
    return len(socks) - len(open_), last, time.monotonic() - t0
