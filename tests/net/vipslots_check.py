#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Check lb_vip_slots against lb_vips, from bpftool's JSON dumps of the two
pinned maps, with the slot hash and the check written again here from
bpf/lb_abi.h's description rather than taken from the code under test.

  vipslots_check.py VIPS_JSON SLOTS_JSON
  vipslots_check.py --collide IPV4ADDR PROTO

Prints "ok: N VIPs, M slots used" and exits 0, or one line per problem and
exits 1.  --collide prints two ports whose VIPs on that address and
protocol (a number) fall on one slot.
"""
import socket
import json
import sys

M = (1 << 64) - 1
K1, K2, K3 = 0x9E3779B97F4A7C15, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53
K4, K5 = 0xD6E8FEB86659FD93, 0xA0761D6478BD642F
K6, K7 = 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3
SLOT_BITS = 13
F_USED, F_SHARED = 1, 2


def u(b, off, n):
    return int.from_bytes(b[off:off + n], "little")


def mix(h, v):
    h ^= v
    h = (h * K1) & M
    return h ^ (h >> 29)


def slot_of(key):
    """Slot of a 20-byte lb_vip_key (address words as the host reads them)."""
    w = [u(key, 4 * i, 4) for i in range(4)]
    h = (u(key, 16, 2) << 16) | (key[18] << 8) | key[19]
    h = mix(h, (w[0] << 32) | w[1])
    h = mix(h, (w[2] << 32) | w[3])
    return ((h * K2) & M) >> (64 - SLOT_BITS)


def check_of(slot):
    """The check of a 48-byte slot from its fields' values."""
    a = [u(slot, 4 * i, 4) for i in range(4)]
    t = (u(slot, 16, 2) << 48) | (slot[18] << 40) | (slot[19] << 32) | u(slot, 20, 4)
    vid, vflags, size = u(slot, 24, 4), u(slot, 28, 4), u(slot, 32, 4)
    h = (a[0] * K1 + a[1] * K2 + a[2] * K3 + a[3] * K4 + t * K5 +
         ((vid << 32) | vflags) * K6 + size * K7) & M
    h ^= h >> 31
    return ((h >> 32) | 1) & 0xFFFFFFFF


def raw(x):
    return bytes(int(v, 16) for v in x)


def collide(addr, proto):
    def key(port):
        return (socket.inet_aton(addr) + bytes(12) +
                port.to_bytes(2, "big") + bytes([proto, 4]))
    first = {}
    for port in range(1, 65536):
        s = slot_of(key(port))
        if s in first:
            print(first[s], port)
            return 0
        first[s] = port
    return 1


def main():
    if sys.argv[1] == "--collide":
        return collide(sys.argv[2], int(sys.argv[3]))
    vips = {raw(e["key"]): raw(e["value"]) for e in json.load(open(sys.argv[1]))}
    slots = {u(raw(e["key"]), 0, 4): raw(e["value"])
             for e in json.load(open(sys.argv[2]))}
    bad = []
    if len(slots) != 1 << SLOT_BITS:
        bad.append("%d slots, want %d" % (len(slots), 1 << SLOT_BITS))
    owners = {}
    for k in vips:
        owners.setdefault(slot_of(k), []).append(k)
    used = 0
    for i, s in sorted(slots.items()):
        key, flags, val, check = s[:20], u(s, 20, 4), s[24:40], u(s, 40, 4)
        if check != check_of(s):
            bad.append("slot %d: check %#x, want %#x" % (i, check, check_of(s)))
        keys = owners.get(i, [])
        if not keys:
            if flags or any(s[:40]):
                bad.append("slot %d: names something, no VIP falls on it" % i)
            continue
        used += 1
        want_flags = F_USED | (F_SHARED if len(keys) > 1 else 0)
        owner = min(keys)
        if flags != want_flags:
            bad.append("slot %d: flags %#x, want %#x" % (i, flags, want_flags))
        if key != owner or val != vips[owner]:
            bad.append("slot %d: does not hold its VIP %s as lb_vips does"
                       % (i, owner.hex()))
    if bad:
        print("\n".join(bad[:20]))
        return 1
    print("ok: %d VIPs, %d slots used" % (len(vips), used))
    return 0


if __name__ == "__main__":
    sys.exit(main())
