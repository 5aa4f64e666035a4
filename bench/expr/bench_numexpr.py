#!/usr/bin/python3
"""bench_numexpr.py: single-thread NDVI with numexpr and numpy.

Usage: /usr/bin/python3 bench/expr/bench_numexpr.py [SIZE]

Two UInt16 arrays (SIZE x SIZE, default 8192) in memory; computes
(nir - red) / (nir + red) as Float32 with numexpr (set_num_threads(1)) and
with plain numpy, whole arrays at once, the way a user writes it. Prints
Mpixel/s, best of 3 (numexpr's float64 result cast to float32 is counted).
"""

import sys
import time

import numexpr as ne
import numpy as np

size = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
ne.set_num_threads(1)
rng = np.random.default_rng(1)
red = rng.integers(0, 5000, (size, size), dtype=np.uint16)
nir = rng.integers(0, 9000, (size, size), dtype=np.uint16)


def with_numexpr():
    return ne.evaluate("(nir - red) / (nir + red)").astype(np.float32)


def with_numpy():
    r = red.astype(np.float64)
    n = nir.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((n - r) / (n + r)).astype(np.float32)


mpix = size * size / 1e6
for name, fn in (("numexpr, 1 thread", with_numexpr), ("numpy", with_numpy)):
    best = 1e30
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    print(f"{name:28s} {mpix / best:8.1f} Mpixel/s")
