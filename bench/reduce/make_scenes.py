#!/usr/bin/python3
"""make_scenes.py: inputs of the median-composite benchmark (bench_median.py).

Usage: /usr/bin/python3 bench/reduce/make_scenes.py [--size N] [--count K]
                                                     [--out DIR]

Writes scene_001.tif .. scene_K.tif (default K = 48) into DIR (default
bench/reduce/data/N/): UInt16, N x N (default 4096), tiled 256x256, DEFLATE
with the horizontal predictor, NoData 0. Content: a smooth surface shared by
all scenes, a per-scene offset and pixel noise (DEFLATE gains about 2x, as
on real imagery), and cloud blobs written as 0 covering about 20% of each
scene at random places. Also writes, for K = 12 and K = count, over the
first K scenes: median_K.vrt (pvrt_reduce op=median nodata=0, Float32 out),
median_K_u16.vrt (the same with <SourceTransferType>UInt16, so the sources
reach the function as UInt16 rather than in the Float32 of the request) and
median_K_python.vrt (a Python pixel function calling numpy.nanmedian).
Idempotent: an existing scene of the right size is kept; files are written
under a temporary name and renamed. Needs Debian's /usr/bin/python3.
"""
import argparse
import os

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = 256


def smooth(rng, n, cells):
    """A smooth n x n field of unit scale: bilinear blow-up of a coarse grid,
    built a row band at a time to bound memory."""
    low = rng.standard_normal((cells + 1, cells + 1))
    pos = np.linspace(0, cells, n)
    i0 = np.minimum(pos.astype(np.int64), cells - 1)
    f = (pos - i0).astype(np.float32)
    rows = (low[i0] * (1 - f)[:, None] + low[i0 + 1] * f[:, None]).astype(np.float32)
    return rows[:, i0] * (1 - f) + rows[:, i0 + 1] * f


def cloud_mask(rng, n, cover):
    field = smooth(rng, n, 24) + 0.35 * smooth(rng, n, 96)
    return field > np.quantile(field[::16, ::16], 1 - cover)


def write_scene(path, n, surface, rng, index):
    scene = surface + 120 * np.sin(index * 0.7)
    scene += rng.normal(0, 25, (n, n)).astype(np.float32)
    scene = np.clip(np.rint(scene), 1, 65535).astype(np.uint16)
    scene[cloud_mask(rng, n, 0.20)] = 0
    tmp = path + ".tmp.tif"
    ds = gdal.GetDriverByName("GTiff").Create(
        tmp, n, n, 1, gdal.GDT_UInt16,
        ["TILED=YES", f"BLOCKXSIZE={BLOCK}", f"BLOCKYSIZE={BLOCK}",
         "COMPRESS=DEFLATE", "PREDICTOR=2"])
    ds.SetGeoTransform((500000, 10, 0, 5000000, 0, -10))
    ds.SetProjection("EPSG:32633")
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(0)
    band.WriteArray(scene)
    ds = None
    os.replace(tmp, path)


def scene_ok(path, n):
    if not os.path.exists(path):
        return False
    try:
        ds = gdal.Open(path)
        return ds.RasterXSize == n and ds.RasterYSize == n
    except RuntimeError:
        return False


def write_vrt(path, n, names, python=False, transfer=None):
    sources = "".join(
        f'    <SimpleSource><SourceFilename relativeToVRT="1">{s}</SourceFilename>'
        f'<SourceBand>1</SourceBand>'
        f'<SrcRect xOff="0" yOff="0" xSize="{n}" ySize="{n}"/>'
        f'<DstRect xOff="0" yOff="0" xSize="{n}" ySize="{n}"/></SimpleSource>\n'
        for s in names)
    if python:
        func = """    <PixelFunctionType>median_nodata0</PixelFunctionType>
    <PixelFunctionLanguage>Python</PixelFunctionLanguage>
    <PixelFunctionCode><![CDATA[
import numpy as np
def median_nodata0(in_ar, out_ar, xoff, yoff, xsize, ysize, raster_xsize,
                   raster_ysize, buf_radius, gt, **kwargs):
    a = np.stack(in_ar).astype(np.float32)
    a[a == 0] = np.nan
    m = np.nanmedian(a, axis=0)
    m[np.isnan(m)] = 0
    out_ar[:] = m
]]></PixelFunctionCode>
"""
    else:
        func = """    <PixelFunctionType>pvrt_reduce</PixelFunctionType>
    <PixelFunctionArguments op="median" nodata="0"/>
"""
        if transfer:
            func += f"    <SourceTransferType>{transfer}</SourceTransferType>\n"
    text = (f'<VRTDataset rasterXSize="{n}" rasterYSize="{n}">\n'
            f'  <VRTRasterBand dataType="Float32" band="1" subClass="VRTDerivedRasterBand">\n'
            f'    <NoDataValue>0</NoDataValue>\n{func}{sources}'
            f'  </VRTRasterBand>\n</VRTDataset>\n')
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--count", type=int, default=48)
    ap.add_argument("--out")
    args = ap.parse_args()
    n = args.size
    out = args.out or os.path.join(HERE, "data", str(n))
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(4096)
    surface = (1500 + 500 * smooth(rng, n, 8)).astype(np.float32)
    names = []
    for i in range(args.count):
        name = f"scene_{i + 1:03d}.tif"
        names.append(name)
        path = os.path.join(out, name)
        # Each scene has its own seed, so kept scenes do not shift others.
        if not scene_ok(path, n):
            write_scene(path, n, surface, np.random.default_rng(1000 + i), i)
            print("wrote", path, flush=True)
    for k in sorted({min(12, args.count), args.count}):
        write_vrt(os.path.join(out, f"median_{k}.vrt"), n, names[:k])
        write_vrt(os.path.join(out, f"median_{k}_python.vrt"), n, names[:k], python=True)
        write_vrt(os.path.join(out, f"median_{k}_u16.vrt"), n, names[:k], transfer="UInt16")


if __name__ == "__main__":
    main()
