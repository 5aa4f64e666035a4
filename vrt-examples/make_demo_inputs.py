#!/usr/bin/python3
"""make_demo_inputs.py: writes the inputs of demo_sum.vrt.

Usage: /usr/bin/python3 vrt-examples/make_demo_inputs.py [OUT] [--size N]

Writes demo_in_01.tif .. demo_in_08.tif (UInt16, N x N, tiled 256x256,
DEFLATE) into OUT, by default the folder of this script, next to
demo_sum.vrt, at the VRT's size (512). With another OUT it also writes a
copy of demo_sum.vrt there, resized to N, so OUT is runnable on its own:
scripts/demo.sh uses `OUT --size 2048`. A size other than the VRT's needs
another OUT (vrt-examples/demo_sum.vrt is not rewritten).

Idempotent: inputs that exist with the right size are kept; files are
written under a temporary name and renamed. Deterministic content (fixed
seeds): a smooth multi-scale field common to all inputs, a per-input field
and pixel noise, so DEFLATE gains about 2x, as on real imagery.
Needs Debian's /usr/bin/python3 (numpy and osgeo).
"""

import argparse
import os
import re
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "demo_sum.vrt")
NINPUTS = 8
BLOCK = 256


def input_name(i):
    return f"demo_in_{i + 1:02d}.tif"


def template_size():
    with open(TEMPLATE) as f:
        m = re.search(r'<VRTDataset rasterXSize="(\d+)"', f.read())
    return int(m.group(1))


def smooth_field(rng, n, cells, amplitude):
    """An n x n random field with about `cells` features per side: control
    points blended by smoothstep along rows, then along columns."""
    m = cells + 1
    low = rng.standard_normal((m, m))
    pos = np.linspace(0.0, m - 1.0, n)
    i0 = np.minimum(np.floor(pos).astype(np.int64), m - 2)
    f = pos - i0
    f = f * f * (3.0 - 2.0 * f)
    rows = low[:, i0] * (1.0 - f) + low[:, i0 + 1] * f
    return amplitude * (rows[i0, :] * (1.0 - f)[:, None] +
                        rows[i0 + 1, :] * f[:, None])


def write_input(path, n, common, i):
    rng = np.random.default_rng(500 + i)
    data = common * (0.9 + 0.02 * i) + smooth_field(rng, n, 6, 300.0)
    data += rng.normal(0.0, 6.0, size=(n, n))
    data = np.clip(np.rint(data), 0, 65535).astype(np.uint16)
    tmp = path + ".part"
    ds = gdal.GetDriverByName("GTiff").Create(
        tmp, n, n, 1, gdal.GDT_UInt16,
        options=["TILED=YES", f"BLOCKXSIZE={BLOCK}", f"BLOCKYSIZE={BLOCK}",
                 "COMPRESS=DEFLATE", "PREDICTOR=2"])
    ds.SetGeoTransform((500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0))
    ds.SetProjection("EPSG:32633")
    ds.GetRasterBand(1).WriteArray(data)
    ds = None
    os.replace(tmp, path)


def input_ok(path, n):
    if not os.path.exists(path):
        return False
    try:
        ds = gdal.Open(path)
        return (ds.RasterXSize, ds.RasterYSize) == (n, n)
    except RuntimeError:
        return False


def write_vrt_copy(out, n):
    with open(TEMPLATE) as f:
        text = f.read()
    text = re.sub(r'\b(rasterXSize|rasterYSize|xSize|ySize)="\d+"',
                  lambda m: f'{m.group(1)}="{n}"', text)
    path = os.path.join(out, "demo_sum.vrt")
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
    ap.add_argument("out", nargs="?", default=HERE,
                    help="output folder (default: next to demo_sum.vrt)")
    ap.add_argument("--size", type=int, default=None,
                    help="raster side in pixels (default: demo_sum.vrt's)")
    args = ap.parse_args()

    base = template_size()
    n = args.size or base
    out = os.path.abspath(args.out)
    in_place = os.path.realpath(out) == os.path.realpath(HERE)
    if in_place and n != base:
        ap.error(f"demo_sum.vrt here is {base}x{base}; write size {n} "
                 "into another folder (OUT)")
    if n < 1:
        ap.error("--size must be positive")
    os.makedirs(out, exist_ok=True)

    common = None
    for i in range(NINPUTS):
        path = os.path.join(out, input_name(i))
        if input_ok(path, n):
            continue
        if common is None:
            rng = np.random.default_rng(7)
            common = np.full((n, n), 5000.0)
            for cells, amp in ((3, 1500.0), (12, 600.0), (48, 200.0)):
                common += smooth_field(rng, n, cells, amp)
        write_input(path, n, common, i)
    if not in_place:
        write_vrt_copy(out, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
