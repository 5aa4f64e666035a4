#!/usr/bin/python3
"""make_data.py: the inputs of the neighbourhood benchmark (issue 12).

Usage:
  /usr/bin/python3 bench/neighbourhood/make_data.py --out DIR
      [--size 8192] [--focal-size 4096] [--compress NONE|DEFLATE]

Writes into DIR (skipping what is already there with the same parameters,
recorded in DIR/params.json):

  dem.tif      SIZE x SIZE Float32 DEM, 256x256 tiles, uncompressed (or
               DEFLATE, predictor 3), NoData -9999, pixel 30 m: a smooth
               synthetic terrain (sines of six wavelengths from 4096 to
               40 px with seeded phases and directions, a tilt, and 0.25 m
               of seeded noise) with NoData holes (discs of radius 8 to
               160 px, a 300x40 strip across tile boundaries, and single
               pixels).
  hillshade.vrt  pvrt_terrain op=hillshade over dem.tif: Byte, NoData 0.
  slope.vrt      pvrt_terrain op=slope over dem.tif: Float32, NoData -9999.
  focal.tif    FOCAL x FOCAL Float32, 256x256 tiles, same compression, no
               NoData at all (scipy's median_filter knows none): terrain
               plus 5 m of seeded noise, so the medians are not trivial.
  focal_median.vrt  pvrt_focal op=median radius=2 over focal.tif: Float32,
               NoData -9999 (the edges="nodata" default leaves a 2-pixel
               border of it).

The VRTs name their sources by absolute path and carry no block size
(GDAL's default 128x128 band blocks), as a user would write them.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
NODATA = -9999.0
FOCAL_NODATA = -9999.0
STRIP = 512  # rows generated at a time


def terrain(rows, cols, y0, rng_seed):
    """Rows y0..y0+rows of the synthetic terrain, float64, in metres."""
    rng = np.random.default_rng(rng_seed)
    waves = []
    for wavelength, amplitude in ((4096, 600), (1500, 250), (600, 90),
                                  (250, 35), (90, 10), (40, 3)):
        for _ in range(2):
            angle = rng.uniform(0, math.pi)
            phase = rng.uniform(0, 2 * math.pi)
            waves.append((wavelength, amplitude, angle, phase))
    y, x = np.mgrid[y0:y0 + rows, 0:cols].astype(np.float64)
    z = 1000.0 + 0.02 * x - 0.015 * y
    for wavelength, amplitude, angle, phase in waves:
        k = 2 * math.pi / wavelength
        z += amplitude * np.sin(k * (x * math.cos(angle) + y * math.sin(angle))
                                + phase)
    return z


def holes_mask(rows, cols, y0, size, seed):
    """True where the DEM is NoData, for rows y0..y0+rows."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((rows, cols), dtype=bool)
    y, x = np.mgrid[y0:y0 + rows, 0:cols]
    for _ in range(max(4, size // 256)):
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(8, 160)
        if cy + r < y0 or cy - r > y0 + rows:
            continue
        mask |= (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    # A strip straddling tile boundaries (256 and 512 on both axes).
    sy, sx = size // 2 - 20, size // 4 - 150
    mask |= (y >= sy) & (y < sy + 40) & (x >= sx) & (x < sx + 300)
    # Single pixels, everywhere (also on tile edges).
    for _ in range(size):
        py, px = rng.integers(0, size, 2)
        if y0 <= py < y0 + rows:
            mask[py - y0, px] = True
    return mask


def create(path, size, compress):
    opts = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "BIGTIFF=IF_SAFER"]
    if compress == "DEFLATE":
        opts += ["COMPRESS=DEFLATE", "PREDICTOR=3"]
    ds = gdal.GetDriverByName("GTiff").Create(path, size, size, 1,
                                              gdal.GDT_Float32, opts)
    ds.SetGeoTransform([500000, 30, 0, 4000000, 0, -30])
    ds.SetProjection("EPSG:32633")
    return ds


def make_dem(path, size, compress):
    ds = create(path, size, compress)
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(NODATA)
    noise = np.random.default_rng(12)
    for y0 in range(0, size, STRIP):
        rows = min(STRIP, size - y0)
        z = terrain(rows, size, y0, 7) + noise.normal(0, 0.25, (rows, size))
        z[holes_mask(rows, size, y0, size, 11)] = NODATA
        band.WriteArray(z.astype(np.float32), 0, y0)
    ds = None


def make_focal(path, size, compress):
    ds = create(path, size, compress)
    band = ds.GetRasterBand(1)
    noise = np.random.default_rng(13)
    for y0 in range(0, size, STRIP):
        rows = min(STRIP, size - y0)
        z = terrain(rows, size, y0, 8) + noise.normal(0, 5.0, (rows, size))
        band.WriteArray(z.astype(np.float32), 0, y0)
    ds = None


def vrt(path, source, size, dtype, nodata, function, args):
    arg_text = " ".join('%s="%s"' % kv for kv in args)
    with open(path, "w") as f:
        f.write(
            '<VRTDataset rasterXSize="%d" rasterYSize="%d">\n'
            ' <SRS>EPSG:32633</SRS>\n'
            ' <GeoTransform>500000, 30, 0, 4000000, 0, -30</GeoTransform>\n'
            ' <VRTRasterBand dataType="%s" band="1" '
            'subClass="VRTDerivedRasterBand">\n'
            '  <NoDataValue>%s</NoDataValue>\n'
            '  <PixelFunctionType>%s</PixelFunctionType>\n'
            '  <PixelFunctionArguments %s/>\n'
            '  <SimpleSource><SourceFilename relativeToVRT="0">%s'
            '</SourceFilename><SourceBand>1</SourceBand></SimpleSource>\n'
            ' </VRTRasterBand>\n'
            '</VRTDataset>\n' % (size, size, dtype, nodata, function,
                                 arg_text, source))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--focal-size", type=int, default=4096)
    ap.add_argument("--compress", choices=("NONE", "DEFLATE"), default="NONE")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    params = {"size": a.size, "focal_size": a.focal_size,
              "compress": a.compress, "version": 1}
    pfile = os.path.join(a.out, "params.json")
    dem = os.path.join(a.out, "dem.tif")
    focal = os.path.join(a.out, "focal.tif")
    old = None
    if os.path.exists(pfile):
        with open(pfile) as f:
            old = json.load(f)
    if old != params or not os.path.exists(dem) or not os.path.exists(focal):
        for p in (pfile, dem, focal):
            if os.path.exists(p):
                os.remove(p)
        print("make_data: writing %s (%dx%d Float32, %s)" % (
            dem, a.size, a.size, a.compress), file=sys.stderr)
        make_dem(dem, a.size, a.compress)
        print("make_data: writing %s (%dx%d Float32, %s)" % (
            focal, a.focal_size, a.focal_size, a.compress), file=sys.stderr)
        make_focal(focal, a.focal_size, a.compress)
        with open(pfile, "w") as f:
            json.dump(params, f)
    vrt(os.path.join(a.out, "hillshade.vrt"), dem, a.size, "Byte", "0",
        "pvrt_terrain", [("op", "hillshade")])
    vrt(os.path.join(a.out, "slope.vrt"), dem, a.size, "Float32", "-9999",
        "pvrt_terrain", [("op", "slope")])
    vrt(os.path.join(a.out, "focal_median.vrt"), focal, a.focal_size,
        "Float32", "%g" % FOCAL_NODATA, "pvrt_focal",
        [("op", "median"), ("radius", "2")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
