# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""What the Python socket tools and the test helpers share."""


def recv_some(sock, n=65536):
    """What sock has (at most n bytes); b"" once the peer closed it or it
    failed, either way the end of that connection."""
    try:
        return sock.recv(n)
    except OSError:
        return b""
