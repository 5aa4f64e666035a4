#!/usr/bin/python3
"""rasterio_read.py: rasterio (Debian's python3-rasterio, on the system
GDAL) reads derived VRTs through the PVRT driver and gets GDAL's bytes.

Uses vrt-examples/ndvi.vrt and demo_sum.vrt (their generators are run
first, into a scratch copy of vrt-examples). For each: the driver rasterio
reports is PVRT; full reads, windowed reads, boundless reads, out_shape
(resampled) reads with nearest and average, and reads from two Python
threads, each with its own handle, inside rasterio.Env, equal the same
reads with PVRT_CLAIM=NONE (GDAL's VRT driver). Prints 'N passed, M failed'.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import Window

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "vrt-examples")
results = {"passed": 0, "failed": 0}


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    results["passed" if cond else "failed"] += 1


def reads(path, claim):
    out = {}
    with rasterio.Env(PVRT_CLAIM=claim):
        with rasterio.open(path) as ds:
            out["driver"] = ds.driver
            out["full"] = ds.read()
            w = Window(3, 5, min(100, ds.width - 3), min(77, ds.height - 5))
            out["window"] = ds.read(1, window=w)
            out["boundless"] = ds.read(1, window=Window(-10, -7, 60, 40),
                                       boundless=True, fill_value=0)
            for rs in (Resampling.nearest, Resampling.average):
                out["out_shape_%s" % rs.name] = ds.read(
                    1, out_shape=(ds.height // 2, ds.width // 2),
                    resampling=rs)
    return out


def threaded(path, claim):
    got = [None, None]

    def run(i):
        with rasterio.Env(PVRT_CLAIM=claim):
            with rasterio.open(path) as ds:
                got[i] = ds.read(1)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return got


def main():
    tmp = tempfile.mkdtemp(prefix="pvrt-rasterio-")
    try:
        ex = os.path.join(tmp, "ex")
        shutil.copytree(SRC, ex, ignore=shutil.ignore_patterns(
            "*.tif", "remote"))
        for gen in ("make_expr_inputs.py", "make_demo_inputs.py"):
            subprocess.run([sys.executable, os.path.join(ex, gen)], cwd=ex,
                           check=True, capture_output=True)
        for name in ("ndvi.vrt", "demo_sum.vrt"):
            path = os.path.join(ex, name)
            pv = reads(path, "DERIVED")
            vrt = reads(path, "NONE")
            check(pv["driver"] == "PVRT", "%s: rasterio reads it through "
                  "PVRT (driver %s)" % (name, pv["driver"]))
            check(vrt["driver"] == "VRT", "%s: oracle through the VRT "
                  "driver" % name)
            for key in sorted(k for k in pv if k != "driver"):
                a, b = pv[key], vrt[key]
                check(a.dtype == b.dtype and a.shape == b.shape and
                      a.tobytes() == b.tobytes(), "%s: %s read equal" %
                      (name, key))
            t = threaded(path, "DERIVED")
            check(all(x is not None and x.tobytes() == vrt["full"][0].tobytes()
                      for x in t), "%s: two threads, own handles, equal" % name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
