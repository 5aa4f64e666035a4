#!/usr/bin/python3
"""patterns.py: one timed in-process read of the access-pattern benchmark.

Usage: /usr/bin/python3 bench/clients/patterns.py PATTERN VRT DRIVER JSON

Run by bench.py in a fresh process for every timing, so no GDAL block cache
carries over from one run to the next. Opens VRT the way the named client
reads (GDAL's Python bindings, rasterio or QGIS), checks that the dataset was
opened by DRIVER (VRT or PVRT: bench.py chooses it with the PVRT_CLAIM
environment variable) and writes to JSON {"seconds": S, "digest": SHA-256}.
S covers opening and reading, not the interpreter's start nor the hashing;
the digest covers every byte read (arrays, masks, rendered images) in read
order, so two drivers' runs can be compared for byte identity.

The CLI patterns (gdal_translate, gdalwarp, gdaladdo, gdalinfo) are run by
bench.py itself. Window positions are seeded, the same for both drivers.
"""

import hashlib
import json
import os
import re
import sys
import threading
import time

import numpy as np

NEAREST_SIDE = 800       # thumbnail sides at 4096x4096, scaled with size
AVERAGE_SIDE = 1024
CANVAS = (1200, 800)     # QGIS's map canvas in the measurements


def scaled(side, n):
    return max(16, round(side * n / 4096))


class Digest:
    """SHA-256 over arrays as read, each prefixed by its shape and type."""

    def __init__(self):
        self.h = hashlib.sha256()

    def add(self, a):
        a = np.ascontiguousarray(a)
        self.h.update(f"{a.shape}{a.dtype.str};".encode())
        self.h.update(a.tobytes())

    def hexdigest(self):
        return self.h.hexdigest()


def vrt_width(path):
    """The VRT's width from its text: no GDAL open before the timed one (a
    driver may cache what an earlier open of the same file found)."""
    with open(path) as f:
        return int(re.search(r'rasterXSize="(\d+)"', f.read()).group(1))


def random_windows(seed, count, n, side):
    rng = np.random.default_rng(seed)
    return [tuple(int(v) for v in rng.integers(0, n - side + 1, size=2))
            for _ in range(count)]


# --- GDAL Python bindings -------------------------------------------------

def gdal_open(path, driver):
    from osgeo import gdal
    gdal.UseExceptions()
    ds = gdal.Open(path)
    name = ds.GetDriver().ShortName
    if name != driver:
        raise SystemExit(f"patterns.py: {path} opened by {name}, "
                         f"expected {driver}")
    return ds


def p_readasarray(path, driver):
    t0 = time.perf_counter()
    ds = gdal_open(path, driver)  # a band needs its dataset alive
    a = ds.GetRasterBand(1).ReadAsArray()
    t = time.perf_counter() - t0
    d = Digest()
    d.add(a)
    return t, d


def p_blocks(path, driver):
    t0 = time.perf_counter()
    ds = gdal_open(path, driver)
    band = ds.GetRasterBand(1)
    bx, by = band.GetBlockSize()
    w, h = ds.RasterXSize, ds.RasterYSize
    out = []
    for y in range(0, h, by):
        for x in range(0, w, bx):
            out.append(band.ReadAsArray(x, y, min(bx, w - x), min(by, h - y)))
    t = time.perf_counter() - t0
    d = Digest()
    for a in out:
        d.add(a)
    return t, d


def p_rows(path, driver):
    t0 = time.perf_counter()
    ds = gdal_open(path, driver)
    band = ds.GetRasterBand(1)
    w = ds.RasterXSize
    out = [band.ReadAsArray(0, y, w, 1) for y in range(ds.RasterYSize)]
    t = time.perf_counter() - t0
    d = Digest()
    for a in out:
        d.add(a)
    return t, d


def read_windows(path, driver, windows, out):
    ds = gdal_open(path, driver)
    band = ds.GetRasterBand(1)
    for x, y in windows:
        out.append(band.ReadAsArray(x, y, 256, 256))


def p_random300(path, driver):
    windows = random_windows(300, 300, vrt_width(path), 256)
    out = []
    t0 = time.perf_counter()
    read_windows(path, driver, windows, out)
    t = time.perf_counter() - t0
    d = Digest()
    for a in out:
        d.add(a)
    return t, d


def p_threads2(path, driver):
    n = vrt_width(path)
    jobs = [random_windows(seed, 150, n, 256) for seed in (151, 152)]
    outs = [[], []]
    errors = []

    def run(i):
        try:
            read_windows(path, driver, jobs[i], outs[i])
        except BaseException as e:  # reported below, not lost in a thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t = time.perf_counter() - t0
    if errors:
        raise errors[0]
    d = Digest()
    for out in outs:
        for a in out:
            d.add(a)
    return t, d


def thumbnail(path, driver, side, alg):
    from osgeo import gdal
    t0 = time.perf_counter()
    ds = gdal_open(path, driver)
    n = scaled(side, ds.RasterXSize)
    a = ds.GetRasterBand(1).ReadAsArray(
        0, 0, ds.RasterXSize, ds.RasterYSize, buf_xsize=n, buf_ysize=n,
        resample_alg=getattr(gdal, alg))
    t = time.perf_counter() - t0
    d = Digest()
    d.add(a)
    return t, d


def p_thumb800(path, driver):
    return thumbnail(path, driver, NEAREST_SIDE, "GRIORA_NearestNeighbour")


def p_thumb1024avg(path, driver):
    return thumbnail(path, driver, AVERAGE_SIDE, "GRIORA_Average")


def p_rgbbands(path, driver):
    """QGIS's RGB layer 2x zoomed out: the view's integer source window plus
    one pixel, read band after band at view size + 1 with nearest (a
    2401x1601 window to 1201x801 at 4096x4096: ratio 1.9992)."""
    from osgeo import gdal
    t0 = time.perf_counter()
    ds = gdal_open(path, driver)
    n = ds.RasterXSize
    cw, ch = scaled(CANVAS[0], n), scaled(CANVAS[1], n)
    w, h = 2 * cw + 1, 2 * ch + 1
    x0, y0 = (n - w) // 2, (ds.RasterYSize - h) // 2
    out = [ds.GetRasterBand(b).ReadAsArray(
        x0, y0, w, h, buf_xsize=cw + 1, buf_ysize=ch + 1,
        resample_alg=gdal.GRIORA_NearestNeighbour)
        for b in range(1, ds.RasterCount + 1)]
    t = time.perf_counter() - t0
    d = Digest()
    for a in out:
        d.add(a)
    return t, d


def p_rgbpan(path, driver):
    """QGIS's RGB layer panned: six 2x-out views (the view's window plus one
    pixel) overlapping the one before, each read band after band."""
    from osgeo import gdal
    t0 = time.perf_counter()
    ds = gdal_open(path, driver)
    n = ds.RasterXSize
    cw, ch = scaled(1000, n), scaled(700, n)
    step_x, step_y = scaled(300, n), scaled(150, n)
    d = Digest()
    for i in range(6):
        x0, y0 = scaled(100, n) + i * step_x, scaled(200, n) + i * step_y
        for b in range(1, ds.RasterCount + 1):
            d.add(ds.GetRasterBand(b).ReadAsArray(
                x0, y0, 2 * cw + 1, 2 * ch + 1, buf_xsize=cw + 1,
                buf_ysize=ch + 1,
                resample_alg=gdal.GRIORA_NearestNeighbour))
    return time.perf_counter() - t0, d


def p_rgb1pan(path, driver):
    """p_rgbpan over derived bands of one source each."""
    return p_rgbpan(path, driver)


# --- rasterio -------------------------------------------------------------

def rio_open(path, driver):
    import rasterio
    src = rasterio.open(path)
    if src.driver != driver:
        raise SystemExit(f"patterns.py: rasterio opened {path} with "
                         f"{src.driver}, expected {driver}")
    return src


def p_rasterio(path, driver):
    """A preview: the whole band to a quarter of its side, masked=True (the
    data, then GDAL's NoData mask band)."""
    t0 = time.perf_counter()
    with rio_open(path, driver) as src:
        m = src.read(1, out_shape=(src.height // 4, src.width // 4),
                     masked=True)
    t = time.perf_counter() - t0
    d = Digest()
    d.add(m.data)
    d.add(np.ma.getmaskarray(m))
    return t, d


def p_rgbrio(path, driver):
    """rasterio's preview of an RGB layer: every band at once to a quarter
    of its side (one dataset-level read of three bands)."""
    t0 = time.perf_counter()
    with rio_open(path, driver) as src:
        a = src.read(out_shape=(src.count, src.height // 4, src.width // 4))
    t = time.perf_counter() - t0
    d = Digest()
    d.add(a)
    return t, d


def p_tileserver(path, driver):
    """Two server threads, 60 requests each; every request opens the VRT
    (as rio-tiler and terracotta do) and reads one 256x256 tile, masked:
    even requests a 256x256 window, odd ones a 512x512 window (one zoom
    level out) read to out_shape 256x256 with nearest."""
    from rasterio.windows import Window
    n = vrt_width(path)
    jobs = []
    for seed in (161, 162):
        small = random_windows(seed, 30, n, 256)
        large = random_windows(seed + 10, 30, n, 512)
        jobs.append([w for s, l in zip(small, large)
                     for w in ((*s, 256), (*l, 512))])
    outs = [[], []]
    errors = []

    def serve(i):
        try:
            for x, y, side in jobs[i]:
                with rio_open(path, driver) as src:
                    outs[i].append(src.read(1, window=Window(x, y, side, side),
                                            out_shape=(256, 256), masked=True))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=serve, args=(i,)) for i in range(2)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t = time.perf_counter() - t0
    if errors:
        raise errors[0]
    d = Digest()
    for out in outs:
        for m in out:
            d.add(m.data)
            d.add(np.ma.getmaskarray(m))
    return t, d


# --- QGIS -----------------------------------------------------------------

def qgis_render(path, driver, view):
    """Loads the VRT as a QGIS raster layer (QGIS reads blocks for its
    min/max stretch) and renders a 1200x800 map with
    QgsMapRendererParallelJob; the time covers both, the digest the
    rendered image's pixels."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "XDG_RUNTIME_DIR" not in os.environ:  # Qt warns without one
        xdg = f"/tmp/pvrt-bench-xdg-{os.getuid()}"
        os.makedirs(xdg, mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = xdg
    from qgis.core import (QgsApplication, QgsMapRendererParallelJob,
                           QgsMapSettings, QgsRasterLayer, QgsRectangle)
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor, QImage
    app = QgsApplication([], False)
    app.setPrefixPath("/usr", True)
    app.initQgis()
    t0 = time.perf_counter()
    layer = QgsRasterLayer(path, "layer", "gdal")
    if not layer.isValid():
        raise SystemExit(f"patterns.py: QGIS cannot load {path}")
    ms = QgsMapSettings()
    ms.setLayers([layer])
    ms.setDestinationCrs(layer.crs())
    ms.setOutputSize(QSize(*CANVAS))
    ms.setBackgroundColor(QColor(255, 255, 255))
    full = layer.extent()
    if view == "full":
        ms.setExtent(full)
    else:
        px = layer.rasterUnitsPerPixelX()
        py = layer.rasterUnitsPerPixelY()
        k = 1 if view == "1to1" else 2
        cx, cy = full.center().x(), full.center().y()
        hw, hh = k * CANVAS[0] * px / 2, k * CANVAS[1] * py / 2
        ms.setExtent(QgsRectangle(cx - hw, cy - hh, cx + hw, cy + hh))
    job = QgsMapRendererParallelJob(ms)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    t = time.perf_counter() - t0
    img = img.convertToFormat(QImage.Format_ARGB32)
    bits = img.constBits()
    bits.setsize(img.sizeInBytes())
    d = Digest()
    d.add(np.frombuffer(bytes(bits), dtype=np.uint8)
          .reshape(img.height(), img.bytesPerLine()))
    gdal_open(path, driver)  # QGIS's provider reads through this GDAL
    layer = None
    app.exitQgis()
    return t, d


def p_qgis_full(path, driver):
    return qgis_render(path, driver, "full")


def p_qgis_1to1(path, driver):
    return qgis_render(path, driver, "1to1")


def p_qgis_zoomout(path, driver):
    return qgis_render(path, driver, "zoomout")


p_qgis_zoomout128 = p_qgis_zoomout  # the same render of sum128.vrt


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.split("\n\n")[1])
    name, path, driver, out = sys.argv[1:]
    fn = globals().get("p_" + name)
    if fn is None:
        sys.exit(f"patterns.py: no pattern '{name}'")
    seconds, digest = fn(path, driver)
    with open(out, "w") as f:
        json.dump({"seconds": seconds, "digest": digest.hexdigest()}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
