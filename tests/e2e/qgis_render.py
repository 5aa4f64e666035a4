#!/usr/bin/python3
"""qgis_render.py: QGIS renders derived VRTs through PVRT with the same
pixels as through GDAL's VRT driver.

QGIS (Debian's python3-qgis, headless: QT_QPA_PLATFORM=offscreen) loads a
VRT as a raster layer (its min/max stretch reads blocks), then
QgsMapRendererParallelJob renders a 600x400 map: the full extent, 1:1 at
the centre and zoomed out 2x (QGIS's downsampled reads, with its +1 pixel
windows). Two VRTs: one Float32 derived band with NoData (GDAL's `sum`)
and two RGB VRTs of three Byte derived bands (QGIS reads them band after
band): one whose bands share files (read as GDAL reads them), one whose
bands read files of their own (computed together). Each render runs in a fresh process, once with PVRT_CLAIM=NONE
(the oracle: GDAL's VRT driver), then with PVRT at 1 and 2 threads; the
rendered images must be identical byte for byte, and each PVRT process
checks that PVRT opened the VRT there. Exits 77 (skipped) when QGIS is not
importable.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

CANVAS = (600, 400)


def make_inputs(d):
    from osgeo import gdal
    import numpy as np
    gdal.UseExceptions()
    w, h = 1000, 700
    rng = np.random.default_rng(5)
    srcs = []
    for i in range(3):
        path = os.path.join(d, "src%d.tif" % i)
        ds = gdal.GetDriverByName("GTiff").Create(
            path, w, h, 1, gdal.GDT_Byte,
            ["TILED=YES", "BLOCKXSIZE=128", "BLOCKYSIZE=128"])
        ds.SetGeoTransform([500000, 10, 0, 4000000, 0, -10])
        ds.SetProjection("EPSG:32633")
        y, x = np.mgrid[0:h, 0:w]
        a = ((x * (i + 1) + y * (3 - i)) // 7 % 200 + rng.integers(0, 50, (h, w)))
        a[100 + 50 * i:160 + 50 * i, 200:300] = 0  # NoData holes
        ds.GetRasterBand(1).WriteArray(a.astype(np.uint8))
        ds = None
        srcs.append(path)

    def source(p):
        return ("<SimpleSource><SourceFilename relativeToVRT=\"0\">%s"
                "</SourceFilename><SourceBand>1</SourceBand>"
                "<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>"
                "<DstRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>"
                "</SimpleSource>" % (p, w, h, w, h))

    def band(n, dtype, func, paths, extra=""):
        return ("<VRTRasterBand dataType=\"%s\" band=\"%d\" "
                "subClass=\"VRTDerivedRasterBand\">%s"
                "<PixelFunctionType>%s</PixelFunctionType>%s"
                "</VRTRasterBand>" % (dtype, n, extra, func,
                                      "".join(source(p) for p in paths)))

    head = ("<VRTDataset rasterXSize=\"%d\" rasterYSize=\"%d\">"
            "<SRS>EPSG:32633</SRS><GeoTransform>500000, 10, 0, 4000000, 0, "
            "-10</GeoTransform>" % (w, h))
    single = os.path.join(d, "single.vrt")
    with open(single, "w") as f:
        f.write(head + band(1, "Float32", "sum", srcs,
                            "<NoDataValue>0</NoDataValue>") + "</VRTDataset>")
    rgb = os.path.join(d, "rgb.vrt")
    with open(rgb, "w") as f:
        f.write(head + "".join(
            band(i + 1, "Byte", "sum", [srcs[i], srcs[(i + 1) % 3]],
                 "<ColorInterp>%s</ColorInterp>" % c)
            for i, c in enumerate(("Red", "Green", "Blue"))) + "</VRTDataset>")
    # Bands that read files of their own, one of them a single source: PVRT
    # computes the bands QGIS reads after the first together (gather.c).
    own = os.path.join(d, "rgb_own.vrt")

    def copy(i, n):
        path = os.path.join(d, "src%d_band%d.tif" % (i, n))
        shutil.copyfile(srcs[i], path)
        return path

    with open(own, "w") as f:
        f.write(head + "".join(
            band(n, "Byte", func, [copy(i, n) for i in files],
                 "<ColorInterp>%s</ColorInterp>" % c)
            for n, c, func, files in ((1, "Red", "sum", (0, 1)),
                                      (2, "Green", "real", (1,)),
                                      (3, "Blue", "sum", (2, 0))))
            + "</VRTDataset>")
    return single, rgb, own


def render(path, view, expect_driver):
    """Runs in a child process: renders, prints the image's SHA-256."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import (QgsApplication, QgsMapRendererParallelJob,
                           QgsMapSettings, QgsRasterLayer, QgsRectangle)
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
    ms = QgsMapSettings()
    ms.setLayers([layer])
    ms.setDestinationCrs(layer.crs())
    ms.setOutputSize(QSize(*CANVAS))
    ms.setBackgroundColor(QColor(255, 255, 255))
    full = layer.extent()
    if view == "full":
        ms.setExtent(full)
    else:
        k = 1 if view == "1to1" else 2
        px, py = layer.rasterUnitsPerPixelX(), layer.rasterUnitsPerPixelY()
        cx, cy = full.center().x(), full.center().y()
        hw, hh = k * CANVAS[0] * px / 2, k * CANVAS[1] * py / 2
        ms.setExtent(QgsRectangle(cx - hw, cy - hh, cx + hw, cy + hh))
    job = QgsMapRendererParallelJob(ms)
    job.start()
    job.waitForFinished()
    img = job.renderedImage().convertToFormat(QImage.Format_ARGB32)
    bits = img.constBits()
    bits.setsize(img.sizeInBytes())
    digest = hashlib.sha256(bytes(bits)).hexdigest()
    # QGIS's provider read through this process's GDAL: the same driver.
    ds = gdal.OpenEx(path, gdal.OF_RASTER)
    driver = ds.GetDriver().ShortName
    ds = None
    layer = None
    app.exitQgis()
    if driver != expect_driver:
        print("opened by %s, expected %s" % (driver, expect_driver))
        return 1
    # A blank image would make equality meaningless.
    if len(set(bytes(bits)[::97])) < 8:
        print("the rendered image is nearly uniform")
        return 1
    print("digest", digest)
    return 0


def child(path, view, claim, threads):
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    if "XDG_RUNTIME_DIR" not in env:
        # Qt wants one, private; in the test's folder, removed with it.
        xdg = os.path.join(os.path.dirname(path), "xdg")
        os.makedirs(xdg, mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = xdg
    if claim:
        env["PVRT_CLAIM"] = claim
    if threads:
        env["PVRT_NUM_THREADS"] = str(threads)
    expect = "VRT" if claim == "NONE" else "PVRT"
    r = subprocess.run([sys.executable, __file__, "--child", path, view,
                        expect], env=env, capture_output=True, text=True,
                       timeout=240)
    for line in r.stdout.splitlines():
        if line.startswith("digest "):
            return line.split()[1], ""
    return None, (r.stdout + r.stderr)[-2000:]


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        return render(sys.argv[2], sys.argv[3], sys.argv[4])
    try:
        import qgis.core  # noqa: F401
    except ImportError:
        print("qgis_render: python3-qgis is not installed: skipped")
        return 77
    failures = 0
    with tempfile.TemporaryDirectory(prefix="pvrt-qgis-") as d:
        single, rgb, own = make_inputs(d)
        for path in (single, rgb, own):
            for view in ("full", "1to1", "zoomout"):
                want, log = child(path, view, "NONE", None)
                if want is None:
                    print("FAIL  %s %s: the VRT driver render failed\n%s"
                          % (os.path.basename(path), view, log))
                    failures += 1
                    continue
                for threads in (1, 2):
                    got, log = child(path, view, None, threads)
                    ok = got == want
                    print("%s  %s %s, PVRT %d thread(s): %s" % (
                        "ok   " if ok else "FAIL", os.path.basename(path),
                        view, threads, "identical image" if ok else
                        "differs from the VRT driver's\n" + log))
                    failures += not ok
    print("qgis_render: %d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
