#!/usr/bin/python3
"""Writes the inputs of pvrt's remote tests, example and benchmark: small
Cloud-Optimized GeoTIFFs (GDAL's COG driver: tiled, DEFLATE, internal
overviews) and the VRTs over them, into a directory that httpserver.py then
serves. Run with Debian's /usr/bin/python3 (osgeo and numpy).

Every VRT refers to its sources relative to itself, so the same VRT works
read locally (the oracle of the tests) and fetched as
/vsicurl/http://127.0.0.1:<port>/.../mosaic.vrt, whose sources then resolve
to URLs next to it.

  mosaic.vrt   a plain mosaic of nx x ny COGs tile_<row>_<col>.tif, UInt16,
               each tile_size x tile_size; no derived band, so PVRT claims it
               only with PVRT_CLAIM=ALL (or the PVRT: prefix).
  ndvi.vrt     an NDVI, (nir - red) / (nir + red) as Float32, over red.tif
               and nir.tif (UInt16 COGs, values >= 1 so the sum is never 0).
               GDAL 3.6 has no expression, so it chains GDAL's builtin pixel
               functions: `div` over ndvi_diff.vrt (`diff`: nir - red) and
               ndvi_sum.vrt (`sum`: nir + red). Both drivers read it without
               the plugin; under PVRT each worker computes whole tiles.

Usage: make_remote_data.py OUT [--mosaic NXxNY] [--tile-size N]
                                  [--ndvi-size N] [--block N]
As a module: make_mosaic(), make_ndvi(), make_cog().
"""

import argparse
import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

# A UTM-like frame; the values only need to be consistent.
ORIGIN_X, ORIGIN_Y, PIXEL = 500000.0, 4600000.0, 10.0
EPSG = 32631


def _scene(width, height, seed, x0=0, y0=0):
    """A smooth field plus noise, UInt16 in [1, 40000]: compresses about 2x
    with DEFLATE, never trivially, and differs from tile to tile."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[y0:y0 + height, x0:x0 + width].astype(np.float64)
    field = (12000 + 6000 * np.sin(x / 97.0) * np.cos(y / 83.0)
             + 3000 * np.sin((x + y) / 31.0) + 40.0 * (seed % 50))
    noise = rng.integers(0, 512, size=(height, width))
    return np.clip(field + noise, 1, 40000).astype(np.uint16)


def make_cog(path, array, x_off_px=0, y_off_px=0, block=256):
    """Writes one UInt16 COG (DEFLATE, BLOCKSIZE=block, overviews down to
    one block) whose top-left pixel is at (x_off_px, y_off_px) of the frame.
    Written to a temporary name and renamed."""
    height, width = array.shape
    mem = gdal.GetDriverByName("MEM").Create("", width, height, 1,
                                             gdal.GDT_UInt16)
    mem.SetGeoTransform((ORIGIN_X + x_off_px * PIXEL, PIXEL, 0.0,
                         ORIGIN_Y - y_off_px * PIXEL, 0.0, -PIXEL))
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    mem.SetProjection(srs.ExportToWkt())
    mem.GetRasterBand(1).WriteArray(array)
    tmp = path + ".tmp.tif"
    gdal.Translate(tmp, mem, format="COG",
                   creationOptions=["BLOCKSIZE=%d" % block, "COMPRESS=DEFLATE",
                                    "PREDICTOR=YES", "OVERVIEWS=AUTO",
                                    "RESAMPLING=AVERAGE"])
    mem = None
    os.replace(tmp, path)


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _srs_wkt():
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    return srs.ExportToWkt()


def _gt_xml(x_off_px=0, y_off_px=0):
    return ("  <GeoTransform>%.10g, %.10g, 0, %.10g, 0, %.10g</GeoTransform>\n"
            % (ORIGIN_X + x_off_px * PIXEL, PIXEL,
               ORIGIN_Y - y_off_px * PIXEL, -PIXEL))


def _escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def make_mosaic(out, nx=2, ny=2, tile_size=512, block=256, name="mosaic.vrt",
                prefix="tile"):
    """nx x ny UInt16 COGs and a mosaic VRT over them. Returns the VRT path
    and the list of COG file names."""
    os.makedirs(out, exist_ok=True)
    width, height = nx * tile_size, ny * tile_size
    files, sources = [], []
    for row in range(ny):
        for col in range(nx):
            fname = "%s_%d_%d.tif" % (prefix, row, col)
            path = os.path.join(out, fname)
            x0, y0 = col * tile_size, row * tile_size
            if not os.path.exists(path):
                make_cog(path, _scene(tile_size, tile_size,
                                      seed=1000 + row * nx + col, x0=x0, y0=y0),
                         x0, y0, block)
            files.append(fname)
            sources.append(
                "    <SimpleSource>\n"
                '      <SourceFilename relativeToVRT="1">%s</SourceFilename>\n'
                "      <SourceBand>1</SourceBand>\n"
                '      <SourceProperties RasterXSize="%d" RasterYSize="%d" '
                'DataType="UInt16" BlockXSize="%d" BlockYSize="%d"/>\n'
                '      <SrcRect xOff="0" yOff="0" xSize="%d" ySize="%d"/>\n'
                '      <DstRect xOff="%d" yOff="%d" xSize="%d" ySize="%d"/>\n'
                "    </SimpleSource>\n"
                % (fname, tile_size, tile_size, block, block, tile_size,
                   tile_size, x0, y0, tile_size, tile_size))
    vrt = ('<VRTDataset rasterXSize="%d" rasterYSize="%d">\n'
           "  <SRS>%s</SRS>\n%s"
           '  <VRTRasterBand dataType="UInt16" band="1" '
           'blockXSize="%d" blockYSize="%d">\n'
           "    <ColorInterp>Gray</ColorInterp>\n%s"
           "  </VRTRasterBand>\n</VRTDataset>\n"
           % (width, height, _escape(_srs_wkt()), _gt_xml(), block, block,
              "".join(sources)))
    path = os.path.join(out, name)
    _write(path, vrt)
    return path, files


def _derived_band(func, sources, block, size, transfer="Float32", args=""):
    """One VRTDerivedRasterBand with pixel function func (arguments: the
    attributes of <PixelFunctionArguments>, "" for none) over (file, type)
    sources, each size x size."""
    body = "".join(
        "    <SimpleSource>\n"
        '      <SourceFilename relativeToVRT="1">%s</SourceFilename>\n'
        "      <SourceBand>1</SourceBand>\n"
        '      <SourceProperties RasterXSize="%d" RasterYSize="%d" '
        'DataType="%s" BlockXSize="%d" BlockYSize="%d"/>\n'
        '      <SrcRect xOff="0" yOff="0" xSize="%d" ySize="%d"/>\n'
        '      <DstRect xOff="0" yOff="0" xSize="%d" ySize="%d"/>\n'
        "    </SimpleSource>\n"
        % (fname, size, size, dtype, block, block, size, size, size, size)
        for fname, dtype in sources)
    return ('  <VRTRasterBand dataType="Float32" band="1" '
            'subClass="VRTDerivedRasterBand" blockXSize="%d" '
            'blockYSize="%d">\n'
            "    <PixelFunctionType>%s</PixelFunctionType>\n%s"
            "    <SourceTransferType>%s</SourceTransferType>\n%s"
            "  </VRTRasterBand>\n"
            % (block, block, func,
               "    <PixelFunctionArguments %s/>\n" % args if args else "",
               transfer, body))


def make_ndvi(out, size=512, block=256, prefix=""):
    """red.tif and nir.tif (UInt16 COGs) and ndvi.vrt (Float32) chaining
    ndvi_diff.vrt and ndvi_sum.vrt, and ndvi_expr.vrt, the same NDVI with
    pvrt_expr in one VRT. Returns the path of ndvi.vrt."""
    os.makedirs(out, exist_ok=True)
    red, nir = prefix + "red.tif", prefix + "nir.tif"
    if not os.path.exists(os.path.join(out, red)):
        make_cog(os.path.join(out, red), _scene(size, size, seed=7), 0, 0,
                 block)
    if not os.path.exists(os.path.join(out, nir)):
        # Near-infrared: brighter and differently textured than red.
        a = _scene(size, size, seed=11).astype(np.uint32) * 3 // 2
        make_cog(os.path.join(out, nir),
                 np.clip(a, 1, 65535).astype(np.uint16), 0, 0, block)
    head = ('<VRTDataset rasterXSize="%d" rasterYSize="%d">\n'
            "  <SRS>%s</SRS>\n%s" % (size, size, _escape(_srs_wkt()),
                                      _gt_xml()))
    tail = "</VRTDataset>\n"
    diff = prefix + "ndvi_diff.vrt"
    ssum = prefix + "ndvi_sum.vrt"
    _write(os.path.join(out, diff), head + _derived_band(
        "diff", [(nir, "UInt16"), (red, "UInt16")], block, size) + tail)
    _write(os.path.join(out, ssum), head + _derived_band(
        "sum", [(nir, "UInt16"), (red, "UInt16")], block, size) + tail)
    path = os.path.join(out, prefix + "ndvi.vrt")
    _write(path, head + _derived_band(
        "div", [(diff, "Float32"), (ssum, "Float32")], block, size) + tail)
    # The same NDVI as one VRT with pvrt's expression function (what GDAL
    # 3.6 cannot express without nesting).
    band = _derived_band("pvrt_expr", [(nir, "UInt16"), (red, "UInt16")],
                         block, size, transfer="UInt16",
                         args='names="nir,red" expr="(nir - red) / (nir + red)"')
    _write(os.path.join(out, prefix + "ndvi_expr.vrt"), head + band + tail)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--mosaic", default="2x2", help="NXxNY COG tiles")
    ap.add_argument("--tile-size", type=int, default=512)
    ap.add_argument("--ndvi-size", type=int, default=512)
    ap.add_argument("--block", type=int, default=256)
    args = ap.parse_args(argv)
    nx, ny = (int(v) for v in args.mosaic.lower().split("x"))
    m, _ = make_mosaic(args.out, nx, ny, args.tile_size, args.block)
    n = make_ndvi(args.out, args.ndvi_size, args.block)
    print(m)
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
