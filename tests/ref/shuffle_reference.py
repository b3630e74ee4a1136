#!/usr/bin/env python3
"""Independent reference for src/core/shuffle.h, split.h and random_streams.h.

Written from the algorithm descriptions in those headers (and Blackman & Vigna's xoshiro256**,
Steele et al.'s SplitMix64, Lemire's bounded draw), in plain Python integers, so that the C++
tests can check the C++ output against it exactly.

Usage: shuffle_reference.py CASES.json  -> prints a JSON list, one result per case:
  {"kind": "perm", "seed": S, "stream": K, "index": I, "n": N}   -> the permutation of 0..N-1
  {"kind": "bounded", "seed": S, "stream": K, "index": I, "n": N, "count": C} -> C draws in [0, N)
  {"kind": "quotas", "n": N, "fractions": [weights...]}          -> largest-remainder quotas
  {"kind": "split", "seed": S, "stream": K, "fractions": [...], "fill": bool,
   "items": [[unit, stratum], ...]}                                -> the part of every item
"""
import json
import math
import sys

M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro256ss:
    def __init__(self, seed):
        self.s = []
        x = seed & M64
        for _ in range(4):
            x = splitmix64(x)
            self.s.append(x)
        if not any(self.s):
            self.s[0] = 1

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result


def stream_rng(seed, stream, index):
    """Rng::for_scan(seed, index, stream)."""
    a = splitmix64(seed & M64)
    b = splitmix64((index * 0x9E3779B97F4A7C15 + stream) & M64)
    return Xoshiro256ss(splitmix64(a ^ b) ^ stream)


def bounded(rng, n):
    """Lemire: m = x * n; reject while m mod 2^64 < 2^64 mod n; return m >> 64."""
    if n == 0:
        return 0
    m = rng.next() * n
    low = m & M64
    if low < n:
        t = (1 << 64) % n
        while low < t:
            m = rng.next() * n
            low = m & M64
    return m >> 64


def shuffle(v, rng):
    for i in range(len(v), 1, -1):
        j = bounded(rng, i)
        v[i - 1], v[j] = v[j], v[i - 1]


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for c in s.encode("utf-8"):
        h = ((h ^ c) * 0x100000001B3) & M64
    return h


def quotas(n, fractions):
    total = 0.0
    for f in fractions:
        total += f
    q = [0] * len(fractions)
    rem = []
    for k, f in enumerate(fractions):
        if not f > 0:
            continue
        exact = float(n) * f / total
        whole = math.floor(exact)
        q[k] = whole
        rem.append((exact - whole, k))
    rem.sort(key=lambda r: -r[0])  # stable: equal remainders keep the parts' order
    given, j = sum(q), 0
    while given < n:
        q[rem[j % len(rem)][1]] += 1
        given += 1
        j += 1
    return q


def split(items, fractions, seed, stream, fill):
    units, unit_of, strata = [], {}, {}
    for i, (unit, stratum) in enumerate(items):
        if unit and unit in unit_of:
            units[unit_of[unit]].append(i)
            continue
        if unit:
            unit_of[unit] = len(units)
        strata.setdefault(stratum, []).append(len(units))
        units.append([i])
    nonzero = sum(1 for f in fractions if f > 0)
    part = [0] * len(items)
    for stratum, us in strata.items():
        rng = stream_rng(seed, stream, fnv1a64(stratum))
        us = list(us)
        shuffle(us, rng)
        q = quotas(len(us), fractions)
        if fill and len(us) >= nonzero:
            for k, f in enumerate(fractions):
                if f > 0 and q[k] == 0:
                    donor = q.index(max(q))
                    q[donor] -= 1
                    q[k] += 1
        pos = 0
        for k in range(len(fractions)):
            for _ in range(q[k]):
                for i in units[us[pos]]:
                    part[i] = k
                pos += 1
    return part


def run(case):
    kind = case["kind"]
    if kind == "perm":
        p = list(range(case["n"]))
        shuffle(p, stream_rng(case["seed"], case["stream"], case["index"]))
        return p
    if kind == "bounded":
        rng = stream_rng(case["seed"], case["stream"], case["index"])
        return [bounded(rng, case["n"]) for _ in range(case["count"])]
    if kind == "quotas":
        return quotas(case["n"], case["fractions"])
    if kind == "split":
        return split(case["items"], case["fractions"], case["seed"], case["stream"], case["fill"])
    raise ValueError(kind)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    print(json.dumps([run(c) for c in cases]))
