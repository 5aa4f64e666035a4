#!/usr/bin/python3
"""make_expr_inputs.py: writes the inputs of ndvi.vrt, cloud_mask.vrt and
classify.vrt (the pvrt_expr examples).

Usage: /usr/bin/python3 vrt-examples/make_expr_inputs.py [OUT]

Writes expr_red.tif and expr_nir.tif (UInt16 reflectances, 0 is fill) and
expr_qa.tif (UInt16, Landsat Collection 2 QA_PIXEL style bits: 0 fill,
3 cloud, 4 cloud shadow), 256 x 200, DEFLATE, into OUT, by default the
folder of this script, next to the VRTs, which name them relative to
themselves. With another OUT it also copies the three VRTs there, so OUT
is runnable on its own (the tests do this in their scratch folder).
Deterministic (fixed seed); rewrites the files each run.
Needs Debian's /usr/bin/python3 (numpy and osgeo).
"""

import os
import shutil
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

HERE = os.path.dirname(os.path.abspath(__file__))
VRTS = ["ndvi.vrt", "cloud_mask.vrt", "classify.vrt"]
WIDTH, HEIGHT = 256, 200


def write(path, array):
    drv = gdal.GetDriverByName("GTiff")
    tmp = path + ".tmp.tif"
    ds = drv.Create(tmp, WIDTH, HEIGHT, 1, gdal.GDT_UInt16,
                    options=["COMPRESS=DEFLATE", "TILED=YES",
                             "BLOCKXSIZE=128", "BLOCKYSIZE=128"])
    ds.SetGeoTransform([500000, 30, 0, 5000000, 0, -30])
    ds.GetRasterBand(1).WriteArray(array)
    ds = None
    os.replace(tmp, path)


def main():
    out = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else HERE
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261121)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    # A vegetation gradient left to right, water (nir < red) in a band at
    # the top, noise everywhere, fill (0) in the bottom-left corner.
    veg = x / (WIDTH - 1)
    red = 900 + 2400 * (1 - veg) + rng.normal(0, 150, (HEIGHT, WIDTH))
    nir = 1200 + 4200 * veg + rng.normal(0, 200, (HEIGHT, WIDTH))
    water = y < 30
    nir[water] = red[water] * rng.uniform(0.3, 0.9, water.sum())
    red = np.clip(np.rint(red), 1, 65535).astype(np.uint16)
    nir = np.clip(np.rint(nir), 1, 65535).astype(np.uint16)
    fill = (x < 20) & (y >= HEIGHT - 20)
    red[fill] = 0
    nir[fill] = 0
    nir[5, 200:210] = 0  # nir fill alone (e.g. a detector gap)

    # QA bits: clouds in a disc, their shadow shifted, other bits random.
    qa = (rng.integers(0, 4, (HEIGHT, WIDTH)) << 6).astype(np.uint16)  # noise
    cloud = (x - 150) ** 2 + (y - 90) ** 2 < 35 ** 2
    shadow = ((x - 120) ** 2 + (y - 130) ** 2 < 30 ** 2) & ~cloud
    qa[cloud] |= 1 << 3
    qa[shadow] |= 1 << 4
    qa[fill] = 1

    write(os.path.join(out, "expr_red.tif"), red)
    write(os.path.join(out, "expr_nir.tif"), nir)
    write(os.path.join(out, "expr_qa.tif"), qa)
    if out != HERE:
        for name in VRTS:
            shutil.copyfile(os.path.join(HERE, name), os.path.join(out, name))


if __name__ == "__main__":
    main()
