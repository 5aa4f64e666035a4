#!/usr/bin/python3
"""make_data.py: the inputs of the access-pattern benchmark (bench/clients).

Usage: /usr/bin/python3 bench/clients/make_data.py DATA [--size N]

Run with Debian's /usr/bin/python3 (numpy, osgeo). Idempotent: a GeoTIFF of
the right size is kept, and is written under a temporary name then renamed,
so an interrupted run leaves no half file; the VRTs are small and rewritten
only when their text changes. Writes into DATA:

  src1.tif .. src6.tif  UInt16, N x N (default 4096), tiled 256x256,
                        DEFLATE with horizontal predictor, NoData 0. A
                        smooth field shared by all (terrain), a per-source
                        field and pixel noise, so blocks compress about 2x
                        but never trivially; seeded discs of NoData (holes),
                        some shared by all six sources, some per source.
  sum.vrt               GDAL's builtin `sum` of the six: one Float32
                        VRTDerivedRasterBand, NoDataValue 0 (where every
                        source has a hole), 256x256 band blocks, EPSG:32633
                        with 10 m pixels (so gdalwarp -t_srs EPSG:4326 works).
  sum128.vrt            the same sum in 128x128 band blocks, GDAL's default
                        for a VRT band (what gdalbuildvrt and VRTs written
                        by hand without blockXSize get).
  rgb.vrt               three such derived bands, sums of pairs (1+2, 3+4,
                        5+6): an RGB-style layer for band-after-band reads.
  rgb1.vrt              three derived bands of one source each (GDAL's
                        `real` of sources 1, 3, 5: a band that converts one
                        band of a scene).
  ndvi/                 the W1 case: red_M.tif, nir_M.tif with M = 2N
                        (8192 by default) and ndvi_expr.vrt (pvrt_expr), by
                        bench/expr/make_e2e_inputs.py; plus floor.vrt, the
                        two inputs as the two bands of a plain VRT, for the
                        threaded decode floor (see README.md).

The VRTs refer to the sources relative to themselves (ndvi/ by absolute
path), so copies of sum.vrt in DATA read the same sources.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

NSOURCES = 6
BLOCK = 256
# Fraction of the raster covered by holes, roughly: shared ones give the
# derived bands real NoData, per-source ones only change the sums.
SHARED_HOLES = 6
OWN_HOLES = 10


def smooth(rng, n, cells, amplitude):
    """An n x n field: bilinear interpolation of a (cells+1)^2 random grid,
    smoothstepped so there are no creases."""
    grid = rng.standard_normal((cells + 1, cells + 1))
    t = np.linspace(0.0, cells, n)
    i = np.minimum(t.astype(np.int64), cells - 1)
    f = t - i
    f = f * f * (3.0 - 2.0 * f)
    rows = grid[i] * (1.0 - f)[:, None] + grid[i + 1] * f[:, None]
    return amplitude * (rows[:, i] * (1.0 - f)[None, :] +
                        rows[:, i + 1] * f[None, :])


def holes(rng, n, count):
    """A boolean n x n mask of `count` seeded discs."""
    mask = np.zeros((n, n), dtype=bool)
    for _ in range(count):
        r = int(rng.uniform(0.005, 0.035) * n) + 1
        cy, cx = rng.integers(0, n, size=2)
        y0, y1 = max(0, cy - r), min(n, cy + r + 1)
        x0, x1 = max(0, cx - r), min(n, cx + r + 1)
        yy, xx = np.ogrid[y0:y1, x0:x1]
        mask[y0:y1, x0:x1] |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return mask


def tif_ok(path, n):
    if not os.path.exists(path):
        return False
    try:
        ds = gdal.Open(path)
        return (ds.RasterXSize, ds.RasterYSize) == (n, n)
    except RuntimeError:
        return False


def write_source(path, n, index, terrain, shared):
    rng = np.random.default_rng(500 + index)
    data = terrain * (0.8 + 0.05 * index) + smooth(rng, n, 6, 500.0)
    data += rng.normal(0.0, 8.0, size=(n, n))
    data = np.clip(np.rint(data), 1, 65535).astype(np.uint16)
    data[shared | holes(rng, n, OWN_HOLES)] = 0
    tmp = path + ".part"
    ds = gdal.GetDriverByName("GTiff").Create(
        tmp, n, n, 1, gdal.GDT_UInt16,
        options=["TILED=YES", f"BLOCKXSIZE={BLOCK}", f"BLOCKYSIZE={BLOCK}",
                 "COMPRESS=DEFLATE", "PREDICTOR=2", "NUM_THREADS=ALL_CPUS"])
    ds.SetGeoTransform((500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0))
    ds.SetProjection("EPSG:32633")
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(0)
    band.WriteArray(data)
    ds = None
    os.replace(tmp, path)


def source_xml(name, n):
    return ('    <SimpleSource>\n'
            '      <SourceFilename relativeToVRT="1">'
            f'{name}</SourceFilename>\n'
            '      <SourceBand>1</SourceBand>\n'
            f'      <SourceProperties RasterXSize="{n}" RasterYSize="{n}" '
            f'DataType="UInt16" BlockXSize="{BLOCK}" BlockYSize="{BLOCK}"/>\n'
            f'      <SrcRect xOff="0" yOff="0" xSize="{n}" ySize="{n}"/>\n'
            f'      <DstRect xOff="0" yOff="0" xSize="{n}" ySize="{n}"/>\n'
            '    </SimpleSource>\n')


def derived_band(index, n, names, description, func="sum", block=BLOCK):
    return (f'  <VRTRasterBand dataType="Float32" band="{index}" '
            f'blockXSize="{block}" blockYSize="{block}" '
            'subClass="VRTDerivedRasterBand">\n'
            f'    <Description>{description}</Description>\n'
            '    <NoDataValue>0</NoDataValue>\n'
            f'    <PixelFunctionType>{func}</PixelFunctionType>\n' +
            "".join(source_xml(s, n) for s in names) +
            '  </VRTRasterBand>\n')


def vrt(n, bands):
    return (f'<VRTDataset rasterXSize="{n}" rasterYSize="{n}">\n'
            '  <SRS dataAxisToSRSAxisMapping="1,2">EPSG:32633</SRS>\n'
            '  <GeoTransform>500000, 10, 0, 5000000, 0, -10</GeoTransform>\n'
            + "".join(bands) + '</VRTDataset>\n')


def write_text(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path + ".part", "w") as f:
        f.write(text)
    os.replace(path + ".part", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("--size", type=int, default=4096)
    args = ap.parse_args()
    n = args.size
    if n < 512 or n % BLOCK:
        sys.exit(f"make_data.py: --size must be a multiple of {BLOCK}, "
                 ">= 512")
    out = os.path.abspath(args.data)
    os.makedirs(out, exist_ok=True)

    names = [f"src{i + 1}.tif" for i in range(NSOURCES)]
    missing = [i for i, s in enumerate(names)
               if not tif_ok(os.path.join(out, s), n)]
    if missing:
        rng = np.random.default_rng(42)
        terrain = 6000.0 + sum(smooth(rng, n, c, a) for c, a in
                               ((3, 2000.0), (12, 800.0), (48, 300.0),
                                (192, 100.0)))
        shared = holes(np.random.default_rng(7), n, SHARED_HOLES)
        for i in missing:
            print(f"writing {os.path.join(out, names[i])}", flush=True)
            write_source(os.path.join(out, names[i]), n, i, terrain, shared)

    write_text(os.path.join(out, "sum.vrt"),
               vrt(n, [derived_band(1, n, names, "sum of 6 sources")]))
    write_text(os.path.join(out, "sum128.vrt"),
               vrt(n, [derived_band(1, n, names, "sum of 6 sources",
                                    block=128)]))
    write_text(os.path.join(out, "rgb.vrt"), vrt(n, [
        derived_band(b + 1, n, names[2 * b:2 * b + 2],
                     f"sum of sources {2 * b + 1} and {2 * b + 2}")
        for b in range(3)]))
    write_text(os.path.join(out, "rgb1.vrt"), vrt(n, [
        derived_band(b + 1, n, names[2 * b:2 * b + 1],
                     f"source {2 * b + 1} as Float32", "real")
        for b in range(3)]))

    # W1: reuse bench/expr's NDVI inputs and VRTs (they keep inputs of the
    # right size), without the plugin (it is not needed to write them).
    m = 2 * n
    ndvi = os.path.join(out, "ndvi")
    here = os.path.dirname(os.path.abspath(__file__))
    env = {k: v for k, v in os.environ.items() if k != "GDAL_DRIVER_PATH"}
    subprocess.run([sys.executable,
                    os.path.join(here, "..", "expr", "make_e2e_inputs.py"),
                    ndvi, str(m)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    floor = "".join(
        f'  <VRTRasterBand dataType="UInt16" band="{b + 1}">\n'
        '    <SimpleSource>\n'
        f'      <SourceFilename>{os.path.join(ndvi, f"{s}_{m}.tif")}'
        '</SourceFilename>\n'
        '      <SourceBand>1</SourceBand>\n'
        '    </SimpleSource>\n'
        '  </VRTRasterBand>\n' for b, s in enumerate(("red", "nir")))
    write_text(os.path.join(ndvi, "floor.vrt"),
               f'<VRTDataset rasterXSize="{m}" rasterYSize="{m}">\n'
               + floor + '</VRTDataset>\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
