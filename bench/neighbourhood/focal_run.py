#!/usr/bin/python3
"""focal_run.py: one timed run of the focal median benchmark (bench.py).

Usage:
  /usr/bin/python3 focal_run.py scipy SOURCE.tif OUT.npy
  /usr/bin/python3 focal_run.py pvrt  FOCAL.vrt  OUT.npy [NUM_THREADS]

scipy: reads SOURCE whole through GDAL and runs
scipy.ndimage.median_filter(size=5) on it (its default edge mode,
"reflect"). pvrt: opens the pvrt_focal VRT (the NUM_THREADS open option if
given), checks that the PVRT driver opened it and reads it whole. Prints
"seconds S": the time from the open (included) to the result in memory,
without the interpreter's start-up and imports; then saves the result to
OUT.npy (not timed).
"""
import sys
import time

import numpy as np
from osgeo import gdal


def main():
    mode, path, out = sys.argv[1:4]
    gdal.UseExceptions()
    if mode == "scipy":
        from scipy import ndimage
        t0 = time.perf_counter()
        a = gdal.Open(path).ReadAsArray()
        r = ndimage.median_filter(a, size=5)
        seconds = time.perf_counter() - t0
    elif mode == "pvrt":
        opts = ["NUM_THREADS=%s" % sys.argv[4]] if len(sys.argv) > 4 else []
        t0 = time.perf_counter()
        ds = gdal.OpenEx(path, gdal.OF_RASTER, open_options=opts)
        r = ds.GetRasterBand(1).ReadAsArray()
        seconds = time.perf_counter() - t0
        driver = ds.GetDriver().ShortName
        if driver != "PVRT":
            print("focal_run: %s opened by %s, not PVRT" % (path, driver),
                  file=sys.stderr)
            return 1
    else:
        print("focal_run: unknown mode %r" % mode, file=sys.stderr)
        return 2
    print("seconds %.6f" % seconds)
    np.save(out, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
