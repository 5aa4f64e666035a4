#!/usr/bin/python3
"""pvrt_probe.py: how does PVRT split the reads gdal_translate makes?

Usage: GDAL_DRIVER_PATH=build/plugins /usr/bin/python3 bench/pvrt_probe.py \
           VRT [--threads N] [--lines L] [--swaths K]

Reads the first K swaths (full width, L lines each; default: the band's
block height, which is what gdal_translate 3.6 reads per swath into an
uncompressed strip GTiff here: check with CPL_DEBUG=ON, it logs
"GDALDatasetCopyWholeRaster(): WxH swaths") of band 1, in the band's type, once with GDAL's VRT driver (PVRT_CLAIM=NONE) and once with PVRT,
and prints per swath the time of each, the PVRT debug items
(LAST_READ_TILES, LAST_READ_THREADS) and whether the bytes are equal.
A diagnosis aid for bench_driver.sh, not a benchmark.
"""

import argparse
import sys
import time

from osgeo import gdal

gdal.UseExceptions()


def default_lines(band):
    return min(band.GetBlockSize()[1], band.YSize)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("vrt")
    ap.add_argument("--threads", default=None)
    ap.add_argument("--lines", type=int, default=None)
    ap.add_argument("--swaths", type=int, default=3)
    args = ap.parse_args()

    gdal.SetConfigOption("PVRT_CLAIM", "NONE")
    ref = gdal.Open(args.vrt)
    gdal.SetConfigOption("PVRT_CLAIM", None)
    oo = [f"NUM_THREADS={args.threads}"] if args.threads else []
    par = gdal.OpenEx(args.vrt, gdal.OF_RASTER, open_options=oo)
    print(f"oracle driver {ref.GetDriver().ShortName}, "
          f"tested driver {par.GetDriver().ShortName}")
    rb, pb = ref.GetRasterBand(1), par.GetRasterBand(1)
    print(f"size {rb.XSize}x{rb.YSize}, block {rb.GetBlockSize()}, "
          f"type {gdal.GetDataTypeName(rb.DataType)}")
    lines = args.lines or default_lines(rb)
    ok = True
    for k in range(args.swaths):
        y = k * lines
        if y >= rb.YSize:
            break
        n = min(lines, rb.YSize - y)
        t0 = time.perf_counter()
        a = rb.ReadRaster(0, y, rb.XSize, n)
        t1 = time.perf_counter()
        b = pb.ReadRaster(0, y, pb.XSize, n)
        t2 = time.perf_counter()
        dbg = {k: par.GetMetadataItem(k, "__DEBUG__")
               for k in ("LAST_READ_TILES", "LAST_READ_THREADS")}
        same = a == b
        ok &= same
        print(f"swath y={y} lines={n}: VRT {t1 - t0:.3f} s, "
              f"PVRT {t2 - t1:.3f} s ({(t1 - t0) / (t2 - t1):.2f}x), "
              f"tiles {dbg['LAST_READ_TILES']}, "
              f"threads {dbg['LAST_READ_THREADS']}, "
              f"identical {'yes' if same else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
