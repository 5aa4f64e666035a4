#!/usr/bin/python3
"""qgis_hillshade.py: QGIS renders an on-the-fly hillshade (a pvrt_terrain
VRT over a DEM, computed by PVRT with a halo) with the same image at every
thread count, and with gdaldem's image where QGIS reads what gdaldem
computes.

QGIS (Debian's python3-qgis 3.22, headless: QT_QPA_PLATFORM=offscreen)
loads a raster layer, gets a fixed renderer (single band gray, 0..255
stretched to black..white, NoData transparent over a white background) and
QgsMapRendererParallelJob renders an 800x600 map of one of three views of
the DEM's grid (1500x1100, 30 m square pixels: QGIS's map pixels are
square): the full extent (1.875 DEM pixels per map pixel), 1:1 at the
centre (a native resolution read of 480000 pixels, which PVRT splits into
tiles on 2 threads) and 2x zoomed out (whole pairs of pixels). Each render
runs in a fresh process.

Asserted:
  - thread counts: at each view, PVRT with PVRT_NUM_THREADS=1, =2 and =2
    with tiny forced tiles (PVRT_TILE_SIZE=67x41: halo seams everywhere at
    1:1) render byte-identical images;
  - oracle at 1:1: that image is the render of the GeoTIFF `gdaldem
    hillshade` writes from the same DEM;
  - oracle 2x zoomed out: QGIS reads the VRT at half resolution (nearest),
    and PVRT computes the hillshade of the DEM read at that resolution
    (GDAL's derived bands' rule, driver/halo.c): the image is the render of
    gdaldem's hillshade of the DEM decimated by `gdal_translate -outsize
    50% 50% -r nearest` (60 m pixels).
Not asserted, printed: the full extent and 2x zoomed out against the
render of the full resolution gdaldem GeoTIFF. They differ and should:
QGIS decimates gdaldem's hillshade, PVRT shades the decimated DEM. At the
full extent's fractional scale no oracle reproduces QGIS's floating-point
window exactly, so only the thread counts are compared there.

Each PVRT child checks that GDAL opens the VRT with the PVRT driver there
and, as QGIS's own GDAL handle is out of reach, reads the VRT as the view
does (the 1:1 window, or the whole raster into a buffer of the view's
scale) and reports how many tiles or stripes PVRT split that read into:
at 2 threads it must be more than one, or the thread comparison would
prove nothing. Exits 77 (skipped) when QGIS is not importable.
"""
import os
import subprocess
import sys
import tempfile

CANVAS = (800, 600)
W, H = 1500, 1100                    # the DEM, pixels
GT = [500000, 30, 0, 4000000, 0, -30]  # square: QGIS map pixels are square
Z = "2"                              # vertical exaggeration, both tools
VIEWS = ("full", "1to1", "zoomout")
PVRT_RUNS = (("1 thread", {"PVRT_NUM_THREADS": "1"}),
             ("2 threads", {"PVRT_NUM_THREADS": "2"}),
             ("2 threads, 67x41 tiles", {"PVRT_NUM_THREADS": "2",
                                         "PVRT_TILE_SIZE": "67x41"}))


def make_inputs(d):
    """dem.tif (Float32, NoData holes, 128x128 tiles), hillshade.vrt over
    it, gdaldem.tif (gdaldem's hillshade of it) and gdaldem_half.tif
    (gdaldem's hillshade of it decimated 2x). Returns the three paths."""
    from osgeo import gdal
    import numpy as np
    gdal.UseExceptions()
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    z = (800 + 300 * np.sin(x / 170.0) * np.cos(y / 230.0) +
         60 * np.sin((x + 2 * y) / 41.0) + 0.05 * x)
    z += np.random.default_rng(3).normal(0, 0.3, z.shape)
    z[400:470, 600:690] = -9999          # NoData holes, one at an edge
    z[0:25, 1000:1100] = -9999
    z[(x - 300) ** 2 + (y - 800) ** 2 < 40 ** 2] = -9999
    dem = os.path.join(d, "dem.tif")
    ds = gdal.GetDriverByName("GTiff").Create(
        dem, W, H, 1, gdal.GDT_Float32,
        ["TILED=YES", "BLOCKXSIZE=128", "BLOCKYSIZE=128"])
    ds.SetGeoTransform(GT)
    ds.SetProjection("EPSG:32633")
    ds.GetRasterBand(1).SetNoDataValue(-9999)
    ds.GetRasterBand(1).WriteArray(z.astype(np.float32))
    ds = None
    vrt = os.path.join(d, "hillshade.vrt")
    with open(vrt, "w") as f:
        f.write(
            '<VRTDataset rasterXSize="%d" rasterYSize="%d">'
            '<SRS>EPSG:32633</SRS><GeoTransform>%s</GeoTransform>'
            '<VRTRasterBand dataType="Byte" band="1" '
            'subClass="VRTDerivedRasterBand"><NoDataValue>0</NoDataValue>'
            '<PixelFunctionType>pvrt_terrain</PixelFunctionType>'
            '<PixelFunctionArguments op="hillshade" z="%s"/>'
            '<SimpleSource><SourceFilename relativeToVRT="0">%s'
            '</SourceFilename><SourceBand>1</SourceBand></SimpleSource>'
            '</VRTRasterBand></VRTDataset>'
            % (W, H, ", ".join(repr(v) for v in GT), Z, dem))
    # gdaldem's hillshade of the DEM, and of the DEM as GDAL reads it 2x
    # downsampled (nearest: every other pixel, 60 m).
    oracle = os.path.join(d, "gdaldem.tif")
    subprocess.run(["gdaldem", "hillshade", "-q", "-z", Z, dem, oracle],
                   check=True)
    dem2 = os.path.join(d, "dem_half.tif")
    subprocess.run(["gdal_translate", "-q", "-outsize", "50%", "50%", "-r",
                    "nearest", dem, dem2], check=True)
    oracle2 = os.path.join(d, "gdaldem_half.tif")
    subprocess.run(["gdaldem", "hillshade", "-q", "-z", Z, dem2, oracle2],
                   check=True)
    return vrt, oracle, oracle2


def render(path, view, expect_driver, out):
    """Runs in a child process: renders, writes the ARGB32 image's bytes to
    out."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import (QgsApplication, QgsContrastEnhancement,
                           QgsMapRendererParallelJob, QgsMapSettings,
                           QgsRasterLayer, QgsRectangle,
                           QgsSingleBandGrayRenderer)
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor, QImage
    from osgeo import gdal
    app = QgsApplication([], False)
    app.setPrefixPath("/usr", True)
    app.initQgis()
    layer = QgsRasterLayer(path, "layer", "gdal")
    if not layer.isValid():
        print("QGIS cannot load %s" % path)
        return 1
    provider = layer.dataProvider()
    renderer = QgsSingleBandGrayRenderer(provider, 1)
    ce = QgsContrastEnhancement(provider.dataType(1))
    ce.setContrastEnhancementAlgorithm(
        QgsContrastEnhancement.StretchToMinimumMaximum)
    ce.setMinimumValue(0)
    ce.setMaximumValue(255)
    renderer.setContrastEnhancement(ce)
    layer.setRenderer(renderer)
    ms = QgsMapSettings()
    ms.setLayers([layer])
    ms.setDestinationCrs(layer.crs())
    ms.setOutputSize(QSize(*CANVAS))
    ms.setBackgroundColor(QColor(255, 255, 255))
    # The views are of the DEM's grid, whatever raster is rendered.
    px, py = GT[1], -GT[5]
    if view == "full":
        ms.setExtent(QgsRectangle(GT[0], GT[3] - H * py, GT[0] + W * px,
                                  GT[3]))
    else:
        k = 1 if view == "1to1" else 2
        # The DEM's centre pixel corner: a 1:1 view then falls on whole
        # pixels, and a 2x one on whole pairs of pixels.
        cx, cy = GT[0] + (W // 2) * px, GT[3] - (H // 2) * py
        hw, hh = k * CANVAS[0] * px / 2, k * CANVAS[1] * py / 2
        ms.setExtent(QgsRectangle(cx - hw, cy - hh, cx + hw, cy + hh))
    job = QgsMapRendererParallelJob(ms)
    job.start()
    job.waitForFinished()
    img = job.renderedImage().convertToFormat(QImage.Format_ARGB32)
    if (img.width(), img.height()) != CANVAS:
        print("rendered %dx%d, not %dx%d" % (img.width(), img.height(),
                                             *CANVAS))
        return 1
    bits = img.constBits()
    bits.setsize(img.sizeInBytes())
    data = bytes(bits)
    # QGIS's provider read through this process's GDAL: the same driver.
    ds = gdal.OpenEx(path, gdal.OF_RASTER)
    driver = ds.GetDriver().ShortName
    ds = None
    # Before exitQgis, which unloads GDAL's drivers.
    tiles = split_of_view(path, view) if driver == "PVRT" else None
    layer = None
    app.exitQgis()
    if driver != expect_driver:
        print("opened by %s, expected %s" % (driver, expect_driver))
        return 1
    with open(out, "wb") as f:
        f.write(data)
    print("rendered")
    if tiles is not None:
        print("tiles", tiles)
    return 0


def split_of_view(path, view):
    """The tiles (or stripes) PVRT splits a read like the view's into, in
    this process's configuration (QGIS's own handle is out of reach)."""
    from osgeo import gdal
    ds = gdal.OpenEx(path, gdal.OF_RASTER)
    band = ds.GetRasterBand(1)
    if view == "1to1":
        band.ReadRaster((W - CANVAS[0]) // 2, (H - CANVAS[1]) // 2,
                        CANVAS[0], CANVAS[1])
    else:
        k = CANVAS[0] / W if view == "full" else 0.5
        band.ReadRaster(0, 0, W, H, int(W * k), int(H * k))
    return int(ds.GetMetadataItem("LAST_READ_TILES", "__DEBUG__"))


def child(path, view, expect, env_extra, out):
    """Renders in a fresh process; returns (image bytes, the tiles PVRT
    splits a read like the view's into, or None if not PVRT), or (None, the
    child's output)."""
    # The driver's PVRT_* options are this test's to set; the test
    # harness's own variables stay.
    keep = ("PVRT_SOURCE_DIR", "PVRT_BUILD_DIR", "PVRT_PYTHON",
            "PVRT_HOST_ENV")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PVRT_") or k in keep}
    env.update(env_extra)
    env["QT_QPA_PLATFORM"] = "offscreen"
    if "XDG_RUNTIME_DIR" not in env:
        # Qt wants one, private; beside the image, removed with it.
        xdg = os.path.join(os.path.dirname(out), "xdg")
        os.makedirs(xdg, mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = xdg
    r = subprocess.run([sys.executable, __file__, "--child", path, view,
                        expect, out], env=env, capture_output=True,
                       text=True, timeout=240)
    if r.returncode == 0 and "rendered" in r.stdout:
        tiles = [int(ln.split()[1]) for ln in r.stdout.splitlines()
                 if ln.startswith("tiles ")]
        with open(out, "rb") as f:
            return f.read(), tiles[0] if tiles else None
    return None, (r.stdout + r.stderr)[-2000:]


def compare(a, b):
    """None if the two ARGB32 images are identical, else how they differ."""
    import numpy as np
    if a == b:
        return None
    x = np.frombuffer(a, dtype=np.uint8).reshape(CANVAS[1], CANVAS[0], 4)
    y = np.frombuffer(b, dtype=np.uint8).reshape(CANVAS[1], CANVAS[0], 4)
    d = (x != y).any(axis=2)
    return "%d of %d pixels differ (by up to %d)" % (
        int(d.sum()), d.size, int(np.abs(x.astype(int) - y).max()))


def varied(img):
    """A blank or near uniform image would make equality meaningless: at
    least 64 levels of red (the image is grey)."""
    import numpy as np
    x = np.frombuffer(img, dtype=np.uint8).reshape(CANVAS[1], CANVAS[0], 4)
    return len(np.unique(x[:, :, 0])) >= 64


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        return render(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    try:
        import qgis.core  # noqa: F401
    except ImportError:
        print("qgis_hillshade: python3-qgis is not installed: skipped")
        return 77
    failures = 0

    def check(ok, text, log=""):
        nonlocal failures
        print("%s  %s%s" % ("ok   " if ok else "FAIL", text,
                            "" if ok or not log else "\n" + log))
        failures += not ok

    with tempfile.TemporaryDirectory(prefix="pvrt-qgis-hs-") as d:
        vrt, oracle, oracle2 = make_inputs(d)
        # view: (the GeoTIFF whose render must equal PVRT's, or None; the
        # GeoTIFF only compared for information)
        plan = {"full": (None, oracle), "1to1": (oracle, None),
                "zoomout": (oracle2, oracle)}
        for view in VIEWS:
            must, info = plan[view]
            want = None
            if must:
                want, log = child(must, view, "GTiff", {},
                                  os.path.join(d, "oracle_%s.argb" % view))
                check(want is not None and varied(want),
                      "%s: %s renders (a varied image)" % (
                          view, os.path.basename(must)), log)
            first = None
            for name, env in PVRT_RUNS:
                got, log = child(vrt, view, "PVRT", env, os.path.join(
                    d, "pvrt_%s_%s.argb" % (view, env.get(
                        "PVRT_TILE_SIZE", env["PVRT_NUM_THREADS"]))))
                if got is None:
                    check(False, "%s, PVRT %s: the render failed" % (view,
                                                                     name),
                          log)
                    continue
                if env["PVRT_NUM_THREADS"] != "1":
                    # Else comparing thread counts proves nothing.
                    check(log is not None and log > 1,
                          "%s, PVRT %s: such a read splits (%s tiles)" % (
                              view, name, log))
                if first is None:
                    first = (name, got)
                    check(varied(got), "%s, PVRT %s: a varied image" % (
                        view, name))
                else:
                    diff = compare(first[1], got)
                    check(diff is None, "%s, PVRT %s: %s" % (
                        view, name, "the image of PVRT %s" % first[0]
                        if diff is None else "differs from PVRT %s's: %s" %
                        (first[0], diff)))
                if want is not None:
                    diff = compare(want, got)
                    check(diff is None, "%s, PVRT %s: %s" % (
                        view, name, "the image of %s" % os.path.basename(must)
                        if diff is None else "differs from %s's image: %s" %
                        (os.path.basename(must), diff)))
            if info and first is not None:
                other, log = child(info, view, "GTiff", {},
                                   os.path.join(d, "info_%s.argb" % view))
                print("info  %s, PVRT against %s (not asserted): %s" % (
                    view, os.path.basename(info), "render failed\n" + log
                    if other is None else compare(other, first[1]) or
                    "identical"))
    print("qgis_hillshade: %d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
