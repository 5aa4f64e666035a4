#!/usr/bin/python3
"""make_data.py: writes the benchmark inputs of bench/ into bench/data/.

Run with Debian's /usr/bin/python3 (numpy and osgeo). Idempotent: a source
GeoTIFF that already exists is kept (they are written to a temporary name
and renamed, so an interrupted run leaves no half file); the VRTs are small
and rewritten only when their text changes (e.g. a new --busy-iterations).

Writes, into bench/data/ (or bench/data/small/ with --small, or --out DIR):
  src01.tif .. src12.tif  UInt16, 4096x4096 (1024x1024 with --small), tiled
                          256x256, DEFLATE with horizontal predictor. The
                          content is a synthetic scene: smooth multi-scale
                          terrain shared by all sources, a per-source
                          (seasonal) field and pixel noise, so blocks
                          compress about 2x (DEFLATE) but never trivially.
  sum12.vrt               (a) decode-heavy: one Float32 derived band, GDAL's
                          builtin `sum` over the 12 sources.
  sum12_b128.vrt          (a') the same with the VRT's default 128x128
                          band blocks, half the sources' block size: block
                          readers (gdal_translate's swaths follow the band's
                          block height) then cut source blocks in two.
  busy.vrt                (b) CPU-heavy: one UInt16 derived band, pvrt_busy
                          over src01.tif; its output equals src01.tif.

Both VRTs refer to their sources relative to the VRT, so the data folder can
be moved. busy.vrt needs the PVRT plugin loaded (GDAL_DRIVER_PATH) to be
read, by either driver.
"""

import argparse
import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

NSOURCES = 12
BLOCK = 256
# Serial gdal_translate of busy.vrt takes ~10-20 s at 4096x4096 on the
# reference machine (one core of a 2-core VM) with this many iterations.
DEFAULT_BUSY_ITERATIONS = 600


def interp_matrix_1d(n, m):
    """Index pairs and weights that resample m control points to n pixels
    with a smoothstep (C1) blend, so the field has no visible creases."""
    pos = np.linspace(0.0, m - 1.0, n)
    i0 = np.minimum(np.floor(pos).astype(np.int64), m - 2)
    f = pos - i0
    f = f * f * (3.0 - 2.0 * f)
    return i0, f


def smooth_field(rng, n, cells, amplitude):
    """A smooth n x n random field with about `cells` features per side."""
    m = cells + 1
    low = rng.standard_normal((m, m))
    i0, f = interp_matrix_1d(n, m)
    rows = low[:, i0] * (1.0 - f) + low[:, i0 + 1] * f  # m x n
    full = rows[i0, :] * (1.0 - f)[:, None] + rows[i0 + 1, :] * f[:, None]
    return amplitude * full


def make_terrain(n, seed):
    rng = np.random.default_rng(seed)
    field = np.full((n, n), 6000.0)
    for cells, amp in ((4, 1800.0), (16, 700.0), (64, 250.0), (256, 90.0)):
        field += smooth_field(rng, n, cells, amp)
    return field


def write_source(path, n, terrain, index):
    rng = np.random.default_rng(1000 + index)
    data = terrain * (0.85 + 0.03 * index)          # per-date gain
    data += smooth_field(rng, n, 8, 400.0)          # per-date field
    data += rng.normal(0.0, 6.0, size=(n, n))      # sensor noise
    data = np.clip(np.rint(data), 0, 65535).astype(np.uint16)

    tmp = path + ".part"
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(tmp, n, n, 1, gdal.GDT_UInt16,
                    options=["TILED=YES", f"BLOCKXSIZE={BLOCK}",
                             f"BLOCKYSIZE={BLOCK}", "COMPRESS=DEFLATE",
                             "PREDICTOR=2", "NUM_THREADS=ALL_CPUS"])
    # A UTM 33N grid with 10 m pixels, like a Sentinel-2 tile.
    ds.SetGeoTransform((500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0))
    ds.SetProjection("EPSG:32633")
    ds.GetRasterBand(1).WriteArray(data)
    ds = None
    os.replace(tmp, path)


def source_name(i):
    return f"src{i + 1:02d}.tif"


def vrt_header(n):
    return (f'<VRTDataset rasterXSize="{n}" rasterYSize="{n}">\n'
            '  <SRS dataAxisToSRSAxisMapping="1,2">EPSG:32633</SRS>\n'
            '  <GeoTransform>5.0e+05, 1.0e+01, 0.0e+00, 5.0e+06, 0.0e+00, '
            '-1.0e+01</GeoTransform>\n')


def simple_source(name, n):
    return ('    <SimpleSource>\n'
            f'      <SourceFilename relativeToVRT="1">{name}</SourceFilename>\n'
            '      <SourceBand>1</SourceBand>\n'
            f'      <SourceProperties RasterXSize="{n}" RasterYSize="{n}" '
            f'DataType="UInt16" BlockXSize="{BLOCK}" BlockYSize="{BLOCK}"/>\n'
            f'      <SrcRect xOff="0" yOff="0" xSize="{n}" ySize="{n}"/>\n'
            f'      <DstRect xOff="0" yOff="0" xSize="{n}" ySize="{n}"/>\n'
            '    </SimpleSource>\n')


def sum12_vrt(n, block=BLOCK):
    sources = "".join(simple_source(source_name(i), n)
                      for i in range(NSOURCES))
    return (vrt_header(n) +
            '  <VRTRasterBand dataType="Float32" band="1" '
            f'blockXSize="{block}" blockYSize="{block}" '
            'subClass="VRTDerivedRasterBand">\n'
            f'    <Description>sum of {NSOURCES} sources</Description>\n'
            '    <PixelFunctionType>sum</PixelFunctionType>\n' +
            sources +
            '  </VRTRasterBand>\n'
            '</VRTDataset>\n')


def busy_vrt(n, iterations):
    return (vrt_header(n) +
            '  <VRTRasterBand dataType="UInt16" band="1" '
            f'blockXSize="{BLOCK}" blockYSize="{BLOCK}" '
            'subClass="VRTDerivedRasterBand">\n'
            '    <Description>pvrt_busy over src01</Description>\n'
            '    <PixelFunctionType>pvrt_busy</PixelFunctionType>\n'
            f'    <PixelFunctionArguments iterations="{iterations}"/>\n' +
            simple_source(source_name(0), n) +
            '  </VRTRasterBand>\n'
            '</VRTDataset>\n')


def write_text_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".part"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def source_ok(path, n):
    """An existing source is kept only if it has the expected shape."""
    if not os.path.exists(path):
        return False
    try:
        ds = gdal.Open(path)
        return (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (n, n, 1)
    except RuntimeError:
        return False


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true",
                    help="1024x1024 sources in bench/data/small/ (smoke tests)")
    ap.add_argument("--size", type=int, default=None,
                    help="raster side in pixels (default 4096, 1024 with "
                         "--small)")
    ap.add_argument("--out", default=None,
                    help="output folder (default bench/data or "
                         "bench/data/small)")
    ap.add_argument("--busy-iterations", type=int,
                    default=DEFAULT_BUSY_ITERATIONS,
                    help="pvrt_busy iterations per pixel in busy.vrt "
                         f"(default {DEFAULT_BUSY_ITERATIONS})")
    args = ap.parse_args()

    n = args.size or (1024 if args.small else 4096)
    out = args.out or os.path.join(here, "data", "small" if args.small else "")
    out = os.path.normpath(out)
    os.makedirs(out, exist_ok=True)

    terrain = None
    for i in range(NSOURCES):
        path = os.path.join(out, source_name(i))
        if source_ok(path, n):
            continue
        if terrain is None:
            terrain = make_terrain(n, seed=42)
        print(f"writing {path}", flush=True)
        write_source(path, n, terrain, i)

    for name, text in (("sum12.vrt", sum12_vrt(n)),
                       ("sum12_b128.vrt", sum12_vrt(n, 128)),
                       ("busy.vrt", busy_vrt(n, args.busy_iterations))):
        path = os.path.join(out, name)
        if write_text_if_changed(path, text):
            print(f"writing {path}", flush=True)
    print(f"bench data ready in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
