#!/usr/bin/python3
"""bench_gdal.py: single-thread NDVI through GDAL's VRT driver.

Usage: /usr/bin/python3 bench/expr/bench_gdal.py DATA_DIR SIZE PLUGIN_DIR

Writes two uncompressed tiled UInt16 GeoTIFFs (SIZE x SIZE) into DATA_DIR
(kept between runs), then reads, with GDAL's own VRT driver in this one
thread (PVRT_CLAIM=NONE), the Float32 NDVI of:
  - pvrt_expr `(B2-B1)/(B2+B1)` in one VRT (the plugin registers it);
  - GDAL 3.6's best without pvrt: nested VRTs div(diff.vrt, sum.vrt), each
    inner VRT reading both inputs (Float32 intermediates, exact here).
Reads go by strips of 256 rows, as gdal_translate would; prints Mpixel/s
(best of 3) and the ratio, and checks both give the same pixels.
"""

import os
import sys
import time

data, size, plugins = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.environ["GDAL_DRIVER_PATH"] = plugins
os.environ["PVRT_CLAIM"] = "NONE"

import numpy as np  # noqa: E402
from osgeo import gdal  # noqa: E402

gdal.UseExceptions()
gdal.SetCacheMax(512 * 1024 * 1024)


def make_inputs():
    paths = []
    rng = np.random.default_rng(1)
    for name, hi in (("red", 5000), ("nir", 9000)):
        path = os.path.join(data, f"bench_{name}_{size}.tif")
        paths.append(path)
        if os.path.exists(path):
            continue
        ds = gdal.GetDriverByName("GTiff").Create(
            path + ".tmp.tif", size, size, 1, gdal.GDT_UInt16,
            options=["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256"])
        band = ds.GetRasterBand(1)
        for y in range(0, size, 1024):
            h = min(1024, size - y)
            band.WriteArray(rng.integers(0, hi, (h, size), dtype=np.uint16), 0, y)
        ds = None
        os.replace(path + ".tmp.tif", path)
    return paths


def source(path):
    return (f'<SimpleSource><SourceFilename>{path}</SourceFilename>'
            f'<SourceBand>1</SourceBand></SimpleSource>')


def derived(func, dtype, sources, args="", transfer="UInt16"):
    a = f"<PixelFunctionArguments {args}/>" if args else ""
    return (f'<VRTDataset rasterXSize="{size}" rasterYSize="{size}">'
            f'<VRTRasterBand dataType="{dtype}" band="1" '
            f'subClass="VRTDerivedRasterBand">'
            f'<PixelFunctionType>{func}</PixelFunctionType>{a}'
            f'<SourceTransferType>{transfer}</SourceTransferType>'
            + "".join(sources) + '</VRTRasterBand></VRTDataset>')


def write(name, text):
    path = os.path.join(data, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def read_all(path):
    ds = gdal.Open(path)
    assert ds.GetDriver().ShortName == "VRT"
    band = ds.GetRasterBand(1)
    out = np.empty((size, size), dtype=np.float32)
    t0 = time.perf_counter()
    for y in range(0, size, 256):
        h = min(256, size - y)
        out[y:y + h] = band.ReadAsArray(0, y, size, h, buf_type=gdal.GDT_Float32)
    return time.perf_counter() - t0, out


red, nir = make_inputs()
expr = write("ndvi_expr.vrt", derived(
    "pvrt_expr", "Float32", [source(red), source(nir)],
    'expr="(B2-B1)/(B2+B1)"'))
diff = write("diff.vrt", derived("diff", "Float32", [source(nir), source(red)]))
total = write("sum.vrt", derived("sum", "Float32", [source(nir), source(red)]))
nested = write("ndvi_nested.vrt", derived(
    "div", "Float32", [source(diff), source(total)], transfer="Float32"))

read_all(expr)  # warm the page cache
best = {}
outs = {}
for _ in range(3):
    for name, path in (("pvrt_expr in a VRT", expr), ("nested VRTs div(diff, sum)", nested)):
        t, out = read_all(path)
        best[name] = min(best.get(name, 1e30), t)
        outs[name] = out
mpix = size * size / 1e6
for name, t in best.items():
    print(f"{name:28s} {mpix / t:8.1f} Mpixel/s")
a, b = outs.values()
print(f"ratio pvrt_expr / nested      {best['nested VRTs div(diff, sum)'] / best['pvrt_expr in a VRT']:8.2f}")
valid = (a == a) & (b == b)
print("outputs identical where both are numbers:",
      bool(np.array_equal(a[valid], b[valid])),
      f"(NaN: {int((a != a).sum())} vs {int((b != b).sum())})")
