#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Damaged and forged files for the hostile suite. Usage:
  corrupt.py snapshot KIND GOOD OUT   write OUT, a copy of snapshot GOOD spoiled as KIND
  corrupt.py kinds                    list the snapshot kinds
The snapshot checksum is SipHash-2-4 under a key that is in the source
(lib/maintenance.c), so a forger recomputes it: the 'forged-*' kinds do."""
import struct
import sys

SNAP_HDR = 32            # magic u64, version u32, kind u32, image size u64, checksum u64
SNAP_KEY = (0x736e617073686f74, 0x6772657977616c6c)
NBUCKETS_AT = SNAP_HDR + 16   # gw_table_header: magic u64, version u32, header_size u32, nbuckets
M64 = (1 << 64) - 1


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def siphash24(k0, k1, data):
    v0, v1 = k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d
    v2, v3 = k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573

    def rounds(n):
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & M64; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
            v2 = (v2 + v3) & M64; v3 = rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & M64; v3 = rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & M64; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)

    n = len(data) // 8
    for m in struct.unpack_from("<%dQ" % n, data):
        v3 ^= m
        rounds(2)
        v0 ^= m
    tail = data[n * 8:] + b"\0" * (7 - len(data) % 8)
    m = struct.unpack("<Q", tail + bytes([len(data) & 0xff]))[0]
    v3 ^= m
    rounds(2)
    v0 ^= m
    v2 ^= 0xff
    rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


def reseal(snap):
    """Recompute the checksum over the image, as a forger would."""
    s = bytearray(snap)
    struct.pack_into("<Q", s, 24, siphash24(SNAP_KEY[0], SNAP_KEY[1], bytes(s[SNAP_HDR:])))
    return bytes(s)


def spoil(kind, good):
    s = bytearray(good)
    if kind == "truncated":
        return bytes(s[:len(s) // 2])
    if kind == "padded":
        return bytes(s) + b"\0" * 64
    if kind == "bad-magic":
        s[0] ^= 0xff
        return bytes(s)
    if kind == "flipped-bit":
        s[SNAP_HDR + 5000] ^= 1
        return bytes(s)
    if kind == "wrong-kind":
        struct.pack_into("<I", s, 12, 2)
        return bytes(s)
    if kind == "empty":
        return b""
    if kind == "forged-nbuckets-overflow":
        # + 2^58 buckets of 64 bytes: the image size wraps to the same number
        nb = struct.unpack_from("<Q", s, NBUCKETS_AT)[0]
        struct.pack_into("<Q", s, NBUCKETS_AT, (nb + (1 << 58)) & M64)
        return reseal(s)
    if kind == "forged-nbuckets-huge":
        struct.pack_into("<Q", s, NBUCKETS_AT, M64)
        return reseal(s)
    if kind == "forged-image-size":
        struct.pack_into("<Q", s, 16, M64 - 7)
        return bytes(s)
    raise SystemExit("unknown kind " + kind)


KINDS = ["truncated", "padded", "bad-magic", "flipped-bit", "wrong-kind", "empty",
         "forged-nbuckets-overflow", "forged-nbuckets-huge", "forged-image-size"]


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "kinds":
        print("\n".join(KINDS))
        return 0
    if len(sys.argv) != 5 or sys.argv[1] != "snapshot":
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[3], "rb") as f:
        good = f.read()
    # the real checksum must be what we compute, or the forged kinds prove nothing
    if reseal(good) != good:
        print("corrupt.py: cannot reproduce the snapshot's checksum", file=sys.stderr)
        return 1
    with open(sys.argv[4], "wb") as f:
        f.write(spoil(sys.argv[2], good))
    return 0


if __name__ == "__main__":
    sys.exit(main())
