#!/usr/bin/python3
"""make_reduce_inputs.py: writes the inputs of median_composite.vrt,
landcover_reclass.vrt and evi.vrt.

Usage: /usr/bin/python3 vrt-examples/make_reduce_inputs.py [OUT]

Writes into OUT (by default the folder of this script, next to the VRTs):
  scene_01.tif .. scene_06.tif  UInt16 256x256, six dates of one band with
                                cloud holes as 0 (the NoData value); a
                                corner is cloudy on every date.
  landcover.tif                 Byte 256x256, ESA WorldCover-style codes
                                (10 tree cover ... 100 moss), 0 = NoData.
  s2_B02.tif, s2_B04.tif,       UInt16 256x256, Sentinel-2 L2A-like digital
  s2_B08.tif                    numbers of blue, red and NIR (reflectance =
                                DN * 0.0001 - 0.1 since processing baseline
                                04.00), 0 = NoData.
With another OUT it also copies the three VRTs there, so OUT is runnable on
its own (the tests do this). All files are DEFLATE, tiled 128x128, with
fixed seeds: the same run writes the same bytes. Needs Debian's
/usr/bin/python3 (numpy and osgeo).
"""

import os
import shutil
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

HERE = os.path.dirname(os.path.abspath(__file__))
VRTS = ["median_composite.vrt", "landcover_reclass.vrt", "evi.vrt"]
SIZE = 256
NSCENES = 6
GEOTRANSFORM = (500000, 10, 0, 5000000, 0, -10)


def smooth(rng, cells):
    """A smooth SIZE x SIZE field in about [-1, 1]: bilinear blow-up of a
    (cells + 1)^2 grid of normal deviates."""
    low = rng.standard_normal((cells + 1, cells + 1))
    pos = np.linspace(0, cells, SIZE)
    i0 = np.minimum(pos.astype(int), cells - 1)
    f = pos - i0
    rows = low[i0] * (1 - f)[:, None] + low[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f) + rows[:, i0 + 1] * f


def write(path, array, gdal_type):
    tmp = path + ".tmp.tif"
    ds = gdal.GetDriverByName("GTiff").Create(
        tmp, SIZE, SIZE, 1, gdal_type,
        ["COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=128", "BLOCKYSIZE=128"])
    ds.SetGeoTransform(GEOTRANSFORM)
    ds.SetProjection("EPSG:32633")
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(0)
    band.WriteArray(array)
    ds = None
    os.replace(tmp, path)


def main():
    out = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else HERE
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240611)

    # Six dates: a common surface, a seasonal offset, noise, and clouds.
    surface = 1500 + 600 * smooth(rng, 6)
    for i in range(NSCENES):
        scene = surface + 150 * np.sin(i) + rng.normal(0, 40, (SIZE, SIZE))
        scene = np.clip(np.rint(scene), 1, 65535).astype(np.uint16)
        clouds = smooth(rng, 10) > 0.55
        clouds[:24, :24] = True  # cloudy on every date: NoData out
        scene[clouds] = 0
        write(os.path.join(out, f"scene_{i + 1:02d}.tif"), scene, gdal.GDT_UInt16)

    # Land cover codes in patches, with a NoData strip.
    codes = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100], dtype=np.uint8)
    field = smooth(rng, 12)
    ranks = np.clip(((field + 2) / 4 * len(codes)).astype(int), 0, len(codes) - 1)
    landcover = codes[ranks]
    landcover[:, :8] = 0
    write(os.path.join(out, "landcover.tif"), landcover, gdal.GDT_Byte)

    # Sentinel-2 L2A-like DNs: vegetation on the left, bare soil and water
    # to the right; a NoData strip along the top.
    veg = np.clip((smooth(rng, 5) + 1) / 2, 0, 1)
    blue = 1000 + 300 + 400 * (1 - veg)
    red = 1000 + 250 + 1800 * (1 - veg)
    nir = 1000 + 1500 + 2500 * veg
    bands = {}
    for name, arr in (("s2_B02", blue), ("s2_B04", red), ("s2_B08", nir)):
        arr = np.clip(np.rint(arr + rng.normal(0, 30, (SIZE, SIZE))), 1, 65535)
        arr = arr.astype(np.uint16)
        arr[:6, :] = 0
        bands[name] = arr
    for name, arr in bands.items():
        write(os.path.join(out, name + ".tif"), arr, gdal.GDT_UInt16)

    if out != HERE:
        for vrt in VRTS:
            shutil.copyfile(os.path.join(HERE, vrt), os.path.join(out, vrt))


if __name__ == "__main__":
    main()
