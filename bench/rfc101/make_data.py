"""make_data.py DIR: the inputs of bench/rfc101/run.sh, written into DIR.

- src.tif: 4096x4096, 2 bands UInt16, tiled 256x256, DEFLATE, pixel
  interleaved: a smooth field plus noise (so DEFLATE has work to undo),
  64 MiB decoded.
- derived.vrt: a VRTDerivedRasterBand (builtin `sum`, Float32) over band 1
  and band 2 of src.tif.
Deterministic (fixed seed); skips files that are already there.
"""
import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
N = 4096


def main(out):
    os.makedirs(out, exist_ok=True)
    tif = os.path.join(out, "src.tif")
    if not os.path.exists(tif):
        rng = np.random.default_rng(101)
        y, x = np.mgrid[0:N, 0:N].astype(np.float64)
        drv = gdal.GetDriverByName("GTiff")
        ds = drv.Create(tif + ".part", N, N, 2, gdal.GDT_UInt16,
                        ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256",
                         "COMPRESS=DEFLATE", "INTERLEAVE=PIXEL"])
        for b in (1, 2):
            field = 20000 + 8000 * np.sin(x / (300 + 50 * b)) * np.cos(y / 410)
            noise = rng.integers(0, 64, size=(N, N))
            ds.GetRasterBand(b).WriteArray((field + noise).astype(np.uint16))
        ds = None
        os.rename(tif + ".part", tif)
    vrt = os.path.join(out, "derived.vrt")
    if not os.path.exists(vrt):
        sources = "".join(
            f"<SimpleSource><SourceFilename relativeToVRT=\"1\">src.tif"
            f"</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource>"
            for b in (1, 2))
        with open(vrt, "w") as f:
            f.write(f"<VRTDataset rasterXSize=\"{N}\" rasterYSize=\"{N}\">"
                    "<VRTRasterBand dataType=\"Float32\" band=\"1\" "
                    "subClass=\"VRTDerivedRasterBand\">"
                    "<PixelFunctionType>sum</PixelFunctionType>"
                    f"{sources}</VRTRasterBand></VRTDataset>\n")


if __name__ == "__main__":
    main(sys.argv[1])
