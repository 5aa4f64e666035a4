#!/usr/bin/python3
"""compare_rasters.py: are two rasters pixel-for-pixel, byte-for-byte equal?

Usage: /usr/bin/python3 bench/compare_rasters.py A B

Compares size, band count, data types and every pixel's bytes (NaN
payloads included), a strip of rows at a time so memory stays small. Prints
one line, "identical" or what differs (for pixels: how many differ in the
first differing band and where the first is, and the largest absolute
difference). Exit status: 0 identical, 1 different, 2 cannot compare.

Meant for outputs of gdal_translate (GTiff), so it needs no plugin; if a
path is a VRT that needs pvrt_* pixel functions, set GDAL_DRIVER_PATH.
Used by bench/bench_driver.sh and scripts/demo.sh.
"""

import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

ROWS_BYTES = 64 * 1024 * 1024  # bytes of one band read per strip


def compare(path_a, path_b):
    a = gdal.Open(path_a)
    b = gdal.Open(path_b)
    if (a.RasterXSize, a.RasterYSize) != (b.RasterXSize, b.RasterYSize):
        return 1, (f"size differs: {a.RasterXSize}x{a.RasterYSize} vs "
                   f"{b.RasterXSize}x{b.RasterYSize}")
    if a.RasterCount != b.RasterCount:
        return 1, f"band count differs: {a.RasterCount} vs {b.RasterCount}"
    w, h = a.RasterXSize, a.RasterYSize
    for i in range(1, a.RasterCount + 1):
        ba, bb = a.GetRasterBand(i), b.GetRasterBand(i)
        if ba.DataType != bb.DataType:
            return 1, (f"band {i} type differs: "
                       f"{gdal.GetDataTypeName(ba.DataType)} vs "
                       f"{gdal.GetDataTypeName(bb.DataType)}")
        dt = ba.DataType
        size = gdal.GetDataTypeSize(dt) // 8
        rows = max(1, ROWS_BYTES // max(1, w * size))
        for y in range(0, h, rows):
            n = min(rows, h - y)
            ra = ba.ReadRaster(0, y, w, n, buf_type=dt)
            rb = bb.ReadRaster(0, y, w, n, buf_type=dt)
            if ra == rb:
                continue
            return 1, describe(i, y, w, n, ba, bb)
    return 0, "identical"


def describe(band, y0, w, n, ba, bb):
    xa = ba.ReadAsArray(0, y0, w, n)
    xb = bb.ReadAsArray(0, y0, w, n)
    # Compare bit patterns so NaN payloads and -0.0 count as differences.
    va = xa.view(np.uint8).reshape(n, w, -1)
    vb = xb.view(np.uint8).reshape(n, w, -1)
    diff = np.any(va != vb, axis=2)
    ys, xs = np.nonzero(diff)
    first = (int(xs[0]), int(ys[0]) + y0)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(xa.astype(np.float64) - xb.astype(np.float64))[diff]
    return (f"band {band}: {int(diff.sum())} pixels differ in rows "
            f"{y0}..{y0 + n - 1} (first at x={first[0]} y={first[1]}: "
            f"{xa[first[1] - y0, first[0]]!r} vs "
            f"{xb[first[1] - y0, first[0]]!r}; max |diff| "
            f"{np.nanmax(d) if d.size else 0})")


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().split("\n")[2], file=sys.stderr)
        return 2
    try:
        status, msg = compare(sys.argv[1], sys.argv[2])
    except RuntimeError as e:
        print(f"cannot compare: {e}")
        return 2
    print(msg)
    return status


if __name__ == "__main__":
    sys.exit(main())
