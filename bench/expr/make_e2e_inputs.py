#!/usr/bin/python3
"""make_e2e_inputs.py: inputs and VRTs of bench_e2e.sh.

Usage: /usr/bin/python3 bench/expr/make_e2e_inputs.py OUT [SIZE]

Writes into OUT (idempotent: existing inputs of the right size are kept)
red_SIZE.tif and nir_SIZE.tif, UInt16, SIZE x SIZE (default 8192), tiled
256x256, DEFLATE; a smooth field plus pixel noise, so DEFLATE gains about
2x as on real imagery. Then the VRTs (Float32 output), all reading them:
  ndvi_expr.vrt    pvrt_expr "(B2-B1)/(B2+B1)", names none
  diff.vrt, sum.vrt, ndvi_nested.vrt
                   GDAL 3.6's builtin functions: div(diff(nir, red),
                   sum(nir, red)), the best without pvrt (each input is
                   decoded twice, once per inner VRT).
"""

import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

out = os.path.abspath(sys.argv[1])
size = int(sys.argv[2]) if len(sys.argv) > 2 else 8192
os.makedirs(out, exist_ok=True)


def field(rng, cells, amplitude):
    m = cells + 1
    low = rng.standard_normal((m, m))
    t = np.linspace(0, cells, size)
    i = np.minimum(t.astype(int), cells - 1)
    f = t - i
    f = f * f * (3 - 2 * f)
    rows = low[i] * (1 - f)[:, None] + low[i + 1] * f[:, None]
    full = rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]
    return amplitude * full


def write(name, base, seed):
    path = os.path.join(out, f"{name}_{size}.tif")
    if os.path.exists(path):
        ds = gdal.Open(path)
        if ds.RasterXSize == size:
            return path
    rng = np.random.default_rng(seed)
    data = base + field(rng, 12, 600.0)
    ds = gdal.GetDriverByName("GTiff").Create(
        path + ".tmp.tif", size, size, 1, gdal.GDT_UInt16,
        options=["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256",
                 "COMPRESS=DEFLATE"])
    band = ds.GetRasterBand(1)
    for y in range(0, size, 1024):
        h = min(1024, size - y)
        noise = rng.normal(0, 40, (h, size))
        band.WriteArray(np.clip(np.rint(data[y:y + h] + noise), 0, 65535)
                        .astype(np.uint16), 0, y)
    ds = None
    os.replace(path + ".tmp.tif", path)
    return path


common = 3000 + field(np.random.default_rng(7), 6, 800.0)
red = write("red", common, 1)
nir = write("nir", common + 1500, 2)


def source(path):
    return (f'<SimpleSource><SourceFilename>{path}</SourceFilename>'
            f'<SourceBand>1</SourceBand></SimpleSource>')


def derived(func, sources, args="", transfer="UInt16"):
    a = f"<PixelFunctionArguments {args}/>" if args else ""
    return (f'<VRTDataset rasterXSize="{size}" rasterYSize="{size}">'
            f'<VRTRasterBand dataType="Float32" band="1" '
            f'subClass="VRTDerivedRasterBand">'
            f'<PixelFunctionType>{func}</PixelFunctionType>{a}'
            f'<SourceTransferType>{transfer}</SourceTransferType>'
            + "".join(sources) + '</VRTRasterBand></VRTDataset>\n')


def vrt(name, text):
    with open(os.path.join(out, name), "w") as f:
        f.write(text)


vrt("ndvi_expr.vrt", derived("pvrt_expr", [source(red), source(nir)],
                             'expr="(B2-B1)/(B2+B1)"'))
vrt("diff.vrt", derived("diff", [source(nir), source(red)]))
vrt("sum.vrt", derived("sum", [source(nir), source(red)]))
vrt("ndvi_nested.vrt", derived(
    "div", [source(os.path.join(out, "diff.vrt")),
            source(os.path.join(out, "sum.vrt"))], transfer="Float32"))
