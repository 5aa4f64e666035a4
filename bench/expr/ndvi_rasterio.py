#!/usr/bin/python3
"""ndvi_rasterio.py: NDVI with rasterio and a thread pool, as rasterio's
documentation recommends (a read lock, a write lock, numpy per window);
or, with --decode-only, just decoding both inputs (the decode floor).

Usage: /usr/bin/python3 bench/expr/ndvi_rasterio.py RED NIR OUT [--workers N]
       /usr/bin/python3 bench/expr/ndvi_rasterio.py RED NIR --decode-only [--workers N]

Windows are the inputs' 256x256 blocks; output Float32 GTiff, tiled 256,
uncompressed. --decode-only gives each worker its own dataset handles (no
lock), reads every block of both inputs and discards it.
"""

import concurrent.futures
import sys
import threading

import numpy as np
import rasterio

args = sys.argv[1:]
workers = 2
if "--workers" in args:
    i = args.index("--workers")
    workers = int(args[i + 1])
    del args[i:i + 2]
decode_only = "--decode-only" in args
if decode_only:
    args.remove("--decode-only")
red_path, nir_path = args[0], args[1]

if decode_only:
    with rasterio.open(red_path) as src:
        windows = [w for _, w in src.block_windows(1)]
    local = threading.local()

    def decode(window):
        if not hasattr(local, "red"):
            local.red = rasterio.open(red_path)
            local.nir = rasterio.open(nir_path)
        local.red.read(1, window=window)
        local.nir.read(1, window=window)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        list(ex.map(decode, windows))
    sys.exit(0)

out_path = args[2]
with rasterio.open(red_path) as red, rasterio.open(nir_path) as nir:
    profile = red.profile
    profile.update(dtype="float32", compress=None, tiled=True,
                   blockxsize=256, blockysize=256)
    read_lock = threading.Lock()
    write_lock = threading.Lock()
    with rasterio.open(out_path, "w", **profile) as dst:
        windows = [w for _, w in dst.block_windows(1)]

        def process(window):
            with read_lock:
                r = red.read(1, window=window).astype(np.float64)
                n = nir.read(1, window=window).astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                v = ((n - r) / (n + r)).astype(np.float32)
            with write_lock:
                dst.write(v, 1, window=window)

        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
            list(ex.map(process, windows))
