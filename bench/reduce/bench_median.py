#!/usr/bin/python3
"""bench_median.py: a median composite of K cloudy scenes, five ways, side
by side in one run, with ratios.

Usage: GDAL_DRIVER_PATH=build/plugins /usr/bin/python3 \\
           bench/reduce/bench_median.py [--size N] [--counts 12,48]
                                        [--strip ROWS] [--skip-python]
                                        [--only decode,numpy,...] [--reps R]

Inputs from make_scenes.py (run first with the same --size/--count). Every
method computes the whole N x N Float32 composite in strips of ROWS rows
(default 256, one tile row) in this process, reading the same DEFLATE
GeoTIFFs through GDAL (block cache GDAL_CACHEMAX 512 MB, so every tile is
decoded once), and the time includes that decoding:

  decode      only reads the K scenes' strips (the floor every method pays)
  numpy       reads the strips, stacks them as float32 with 0 -> NaN, and
              calls numpy.nanmedian(axis=0): what a user writes by hand
  python-vrt  GDAL's VRT driver with a Python pixel function doing the same
              numpy (GDAL_VRT_ENABLE_PYTHON=YES)
  vrt         GDAL's VRT driver (PVRT_CLAIM=NONE) with pvrt_reduce
              op=median: one thread
  vrt-u16     the same with <SourceTransferType>UInt16</SourceTransferType>
              (sources reach the function as UInt16, not Float32)
  pvrt-1      the PVRT driver, NUM_THREADS=1
  pvrt-2      the PVRT driver, NUM_THREADS=2

Outputs of every method are compared with numpy's (NaN -> 0, as Float32)
and must be identical. Prints wall and CPU (process) seconds per method and
the ratios numpy / method. One repetition each, in the order above: on a
shared machine, re-run and read the figures as noisy.
"""
import argparse
import os
import resource
import sys
import time

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
HERE = os.path.dirname(os.path.abspath(__file__))


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn):
    gdal.SetCacheMax(512 * 1024 * 1024)
    t0, c0 = time.perf_counter(), cpu()
    out = fn()
    return out, time.perf_counter() - t0, cpu() - c0


def strips(n, rows):
    for y in range(0, n, rows):
        yield y, min(rows, n - y)


def decode_only(paths, n, rows):
    dss = [gdal.Open(p) for p in paths]
    for y, h in strips(n, rows):
        for ds in dss:
            ds.GetRasterBand(1).ReadRaster(0, y, n, h)
    return None


def numpy_median(paths, n, rows):
    dss = [gdal.Open(p) for p in paths]
    out = np.empty((n, n), np.float32)
    for y, h in strips(n, rows):
        a = np.stack([ds.GetRasterBand(1).ReadAsArray(0, y, n, h) for ds in dss]).astype(np.float32)
        a[a == 0] = np.nan
        m = np.nanmedian(a, axis=0)
        m[np.isnan(m)] = 0
        out[y:y + h] = m
    return out


def read_vrt(path, n, rows, drivers=None, options=None):
    ds = gdal.OpenEx(path, gdal.OF_RASTER, allowed_drivers=drivers or [],
                     open_options=options or [])
    name = ds.GetDriver().ShortName
    out = np.empty((n, n), np.float32)
    band = ds.GetRasterBand(1)
    for y, h in strips(n, rows):
        out[y:y + h] = band.ReadAsArray(0, y, n, h)
    return out, name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--counts", default="12,48")
    ap.add_argument("--strip", type=int, default=256)
    ap.add_argument("--skip-python", action="store_true")
    ap.add_argument("--only", default="decode,numpy,python-vrt,vrt,vrt-u16,pvrt-1,pvrt-2")
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    n = args.size
    data = os.path.join(HERE, "data", str(n))
    gdal.SetConfigOption("GDAL_MAX_DATASET_POOL_SIZE", "450")
    print(f"median composite, {n}x{n} UInt16 DEFLATE scenes, ~20% holes; "
          f"strips of {args.strip} rows; {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.2f}")
    for k in [int(c) for c in args.counts.split(",")]:
        paths = [os.path.join(data, f"scene_{i + 1:03d}.tif") for i in range(k)]
        vrt = os.path.join(data, f"median_{k}.vrt")
        pyvrt = os.path.join(data, f"median_{k}_python.vrt")
        if not all(os.path.exists(p) for p in paths + [vrt]):
            sys.exit(f"missing inputs: run make_scenes.py --size {n} --count {k}")
        only = args.only.split(",")
        if args.skip_python and "python-vrt" in only:
            only.remove("python-vrt")
        results = {}

        def pvrt(t):
            def run():
                out, name = read_vrt(vrt, n, args.strip, None, [f"NUM_THREADS={t}"])
                if name != "PVRT":
                    print(f"  (pvrt-{t}: opened by {name}, not PVRT)")
                return out
            return run

        def python_vrt():
            gdal.SetConfigOption("GDAL_VRT_ENABLE_PYTHON", "YES")
            try:
                return read_vrt(pyvrt, n, args.strip, ["VRT"])[0]
            finally:
                gdal.SetConfigOption("GDAL_VRT_ENABLE_PYTHON", None)

        def plain_vrt(path):
            def run():
                gdal.SetConfigOption("PVRT_CLAIM", "NONE")
                try:
                    return read_vrt(path, n, args.strip, ["VRT"])[0]
                finally:
                    gdal.SetConfigOption("PVRT_CLAIM", None)
            return run

        methods = {
            "decode": lambda: decode_only(paths, n, args.strip),
            "numpy": lambda: numpy_median(paths, n, args.strip),
            "python-vrt": python_vrt,
            "vrt": plain_vrt(vrt),
            "vrt-u16": plain_vrt(os.path.join(data, f"median_{k}_u16.vrt")),
            "pvrt-1": pvrt(1),
            "pvrt-2": pvrt(2),
        }
        decode_only(paths, n, args.strip)  # warm the page cache
        for name, fn in methods.items():
            if name in only:
                runs = [timed(fn) for _ in range(args.reps)]
                results[name] = min(runs, key=lambda r: r[1])

        base = "numpy" if "numpy" in results else "vrt"
        ref = results[base][0]
        print(f"\nK = {k} scenes")
        print(f"  {'method':<11} {'wall s':>8} {'cpu s':>8} {base + '/x':>9}  identical")
        for name, (out, wall, c) in results.items():
            same = "-" if out is None else ("yes" if np.array_equal(out, ref) else "NO")
            print(f"  {name:<11} {wall:8.2f} {c:8.2f} {results[base][1] / wall:9.2f}  {same}")
        if {"decode", "numpy", "vrt"} <= set(results):
            dec = results["decode"][1]
            print(f"  compute only (minus decode): numpy {results['numpy'][1] - dec:.2f} s, "
                  f"vrt {results['vrt'][1] - dec:.2f} s, ratio "
                  f"{(results['numpy'][1] - dec) / max(results['vrt'][1] - dec, 1e-9):.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
