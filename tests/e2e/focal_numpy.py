#!/usr/bin/python3
"""focal_numpy.py: pvrt_focal through the PVRT driver against numpy.

End-to-end test (CTest `focal_numpy`, label `e2e`), run with $PVRT_PYTHON
(Debian's /usr/bin/python3: osgeo and numpy) and GDAL_DRIVER_PATH naming the
build's plugin folder, as CTest sets them. Exits 77 (skipped) without
osgeo or numpy, 1 when a check fails.

Usage: focal_numpy.py [STEP ...]   (sweep, windows, nodata_rules,
complex_source_nodata, nesting; default all)

It writes small Float32 GeoTIFFs (values with ties, NoData -9999 and NaN
holes, an all-NoData block), one VRT per case, reads each through the PVRT
driver (gdal.OpenEx(..., allowed_drivers=['PVRT'], open_options=[...]))
and compares with an oracle written here from the documentation
(docs/pixelfuncs-focal.md): a plain numpy loop over the window's offsets,
row-major (dy, then dx), accumulating in float64; sorting for median,
np.unique for majority, minority and variety. Results must be equal bit
for bit (NaN equal to NaN).

Checks:
  1. every op x shape x edge rule, radius 1..7, on two inputs, the reads
     cycling through thread counts 1, 2, 3, 8 and tile sizes down to 1x1
     (a subset with every configuration);
  2. windowed reads equal the same pixels of the whole read;
  3. NoData: the `nodata` argument overriding the source's, a source
     without NoData, a ComplexSource's <NODATA>, a band without NoData
     (NaN; 0 in an integer band), integer and Float32 bands;
  4. GDAL's own VRT driver (allowed_drivers=['VRT']) fails the read with an
     error naming PVRT;
  5. nesting: a focal band over a pvrt_expr VRT, a pvrt_expr band over a
     focal VRT, a focal band over a focal VRT.
"""

import os
import shutil
import sys
import tempfile

try:
    import numpy as np
    from osgeo import gdal
except ImportError as e:  # pragma: no cover
    print("skip: %s" % e)
    sys.exit(77)

gdal.UseExceptions()

OPS = ["mean", "sum", "min", "max", "median", "range", "std", "count",
       "majority", "minority", "variety"]
# (NUM_THREADS, TILE_SIZE); None: the driver's default tiling.
CONFIGS = [("1", None), ("2", "16x16"), ("3", "7x5"), ("8", "3x2"),
           ("8", "1x1"), ("2", "61x5"), ("3", "5x47")]
W, H = 61, 47
ND = -9999.0
F32_TENTH = float(np.float32(0.1))  # 0.1 as a Float32 pixel holds it

failures = []
checks = 0


def check(ok, what, detail=""):
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print("FAIL %s%s" % (what, (": " + detail) if detail else ""))
        sys.stdout.flush()
    return ok


# ---- Inputs ------------------------------------------------------------------

def write_tif(path, a, nodata):
    ds = gdal.GetDriverByName("GTiff").Create(path, a.shape[1], a.shape[0], 1,
                                              gdal.GDT_Float32)
    ds.SetGeoTransform([500000, 30, 0, 5000000, 0, -30])
    if nodata is not None:
        ds.GetRasterBand(1).SetNoDataValue(nodata)
    ds.GetRasterBand(1).WriteArray(a)
    ds = None


def make_inputs(d):
    rng = np.random.default_rng(20260412)
    # Classes: halves 0.5 .. 10 (ties), 12% NoData, 3% NaN, a block of
    # NoData wider than the largest window (no valid value at all there).
    c = (rng.integers(1, 21, (H, W)) / 2).astype(np.float32)
    u = rng.random((H, W))
    c[u < 0.12] = ND
    c[(u >= 0.12) & (u < 0.15)] = np.nan
    c[20:40, 30:50] = ND
    # Continuous: normal values (sums and means with rounding), 5% NoData,
    # 2% NaN.
    k = (rng.normal(0, 100, (H, W))).astype(np.float32)
    u = rng.random((H, W))
    k[u < 0.05] = ND
    k[(u >= 0.05) & (u < 0.07)] = np.nan
    write_tif(os.path.join(d, "classes.tif"), c, ND)
    write_tif(os.path.join(d, "cont.tif"), k, ND)
    # The same classes without a NoData value: only NaN is missing, unless
    # the function's `nodata` argument says otherwise.
    write_tif(os.path.join(d, "classes_nond.tif"), c, None)
    # Tenths 0.05 .. 1 in Float32, NoData 0.1: no Float32 pixel equals the
    # double 0.1; the pixels holding 0.1f are the NoData ones (GDAL's rule).
    t = np.where(np.isnan(c) | (c == ND), c, c / 10).astype(np.float32)
    write_tif(os.path.join(d, "tenths.tif"), t, 0.1)
    return {"classes": c.astype(np.float64), "cont": k.astype(np.float64),
            "classes_nond": c.astype(np.float64),
            "tenths": t.astype(np.float64)}


# ---- VRTs --------------------------------------------------------------------

GDT = {"Float64": np.float64, "Float32": np.float32, "Int16": np.int16,
       "Byte": np.uint8}


def focal_vrt(path, src, op, radius, shape, edges, dtype="Float64",
              nodata=ND, arg_nodata=None, w=W, h=H, complex_nodata=None):
    args = 'op="%s" radius="%d" shape="%s" edges="%s"' % (op, radius, shape,
                                                          edges)
    if arg_nodata is not None:
        args += ' nodata="%r"' % arg_nodata
    nd = "" if nodata is None else "<NoDataValue>%r</NoDataValue>" % nodata
    source = ('<SimpleSource><SourceFilename relativeToVRT="0">%s'
              '</SourceFilename><SourceBand>1</SourceBand></SimpleSource>'
              % src)
    if complex_nodata is not None:
        source = ('<ComplexSource><SourceFilename relativeToVRT="0">%s'
                  '</SourceFilename><SourceBand>1</SourceBand>'
                  '<NODATA>%r</NODATA></ComplexSource>' % (src, complex_nodata))
    with open(path, "w") as f:
        f.write("""<VRTDataset rasterXSize="%d" rasterYSize="%d">
 <VRTRasterBand dataType="%s" band="1" subClass="VRTDerivedRasterBand">
  %s
  <PixelFunctionType>pvrt_focal</PixelFunctionType>
  <PixelFunctionArguments %s/>
  %s
 </VRTRasterBand></VRTDataset>
""" % (w, h, dtype, nd, args, source))


def expr_vrt(path, sources, names, expr, dtype, nodata=None, transfer=None):
    srcs = "".join(
        '<SimpleSource><SourceFilename relativeToVRT="0">%s</SourceFilename>'
        '<SourceBand>1</SourceBand></SimpleSource>' % s for s in sources)
    args = 'expr="%s" names="%s"' % (expr, names)
    nd = ""
    if nodata is not None:
        args += ' nodata="%r"' % nodata
        nd = "<NoDataValue>%r</NoDataValue>" % nodata
    tt = ("<SourceTransferType>%s</SourceTransferType>" % transfer
          if transfer else "")
    with open(path, "w") as f:
        f.write("""<VRTDataset rasterXSize="%d" rasterYSize="%d">
 <VRTRasterBand dataType="%s" band="1" subClass="VRTDerivedRasterBand">
  %s
  <PixelFunctionType>pvrt_expr</PixelFunctionType>
  <PixelFunctionArguments %s/>
  %s
  %s
 </VRTRasterBand></VRTDataset>
""" % (W, H, dtype, nd, args, tt, srcs))


# ---- The oracle --------------------------------------------------------------

def offsets(radius, shape):
    return [(dy, dx) for dy in range(-radius, radius + 1)
            for dx in range(-radius, radius + 1)
            if shape == "square" or dx * dx + dy * dy <= radius * radius]


def focal_oracle(a, nd_in, op, radius, shape, edges, fill):
    """pvrt_focal as documented, on float64 array a; fill is the band's
    NoData (NaN without one)."""
    h, w = a.shape
    r = radius
    valid = ~np.isnan(a)
    if nd_in is not None:
        valid &= a != nd_in
    # Outside the raster: not valid (the shrink rule).
    pa = np.pad(a, r, constant_values=0.0)
    pv = np.pad(valid, r, constant_values=False)
    offs = offsets(r, shape)

    def shifted(dy, dx):
        return (pa[r + dy:r + dy + h, r + dx:r + dx + w],
                pv[r + dy:r + dy + h, r + dx:r + dx + w])

    cnt = np.zeros((h, w), np.int64)
    for dy, dx in offs:
        cnt += shifted(dy, dx)[1]
    some = cnt > 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if op in ("sum", "mean", "std"):
            acc = np.zeros((h, w))
            for dy, dx in offs:
                v, ok = shifted(dy, dx)
                acc = acc + np.where(ok, v, 0.0)
            res = acc
            if op != "sum":
                mean = np.where(some, acc / np.maximum(cnt, 1), 0.0)
                res = mean
                if op == "std":
                    ss = np.zeros((h, w))
                    for dy, dx in offs:
                        v, ok = shifted(dy, dx)
                        d = v - mean
                        ss = ss + np.where(ok, d * d, 0.0)
                    res = np.sqrt(ss / np.maximum(cnt, 1))
        elif op in ("min", "max", "range"):
            mn = np.full((h, w), np.inf)
            mx = np.full((h, w), -np.inf)
            for dy, dx in offs:
                v, ok = shifted(dy, dx)
                mn = np.where(ok & (v < mn), v, mn)
                mx = np.where(ok & (v > mx), v, mx)
            res = {"min": mn, "max": mx, "range": mx - mn}[op]
        elif op == "count":
            res = cnt.astype(np.float64)
        elif op == "median":
            stack = np.stack([np.where(ok, v, np.nan)
                              for v, ok in (shifted(dy, dx) for dy, dx in offs)])
            s = np.sort(stack, axis=0)  # NaN last
            n = np.maximum(cnt, 1)
            lo = np.take_along_axis(s, ((n - 1) // 2)[None], axis=0)[0]
            hi = np.take_along_axis(s, (n // 2)[None], axis=0)[0]
            mid = (lo + hi) / 2
            mid = np.where(np.isinf(mid) & np.isfinite(lo) & np.isfinite(hi),
                           lo / 2 + hi / 2, mid)
            mid = np.where(lo == hi, lo, mid)
            res = np.where(n % 2 == 1, lo, mid)
        else:  # majority, minority, variety
            stack = np.stack([np.where(ok, v, np.nan)
                              for v, ok in (shifted(dy, dx) for dy, dx in offs)])
            res = np.zeros((h, w))
            for y in range(h):
                for x in range(w):
                    vals = stack[:, y, x]
                    vals = vals[~np.isnan(vals)]
                    if vals.size == 0:
                        continue
                    u, c = np.unique(vals, return_counts=True)
                    if op == "variety":
                        res[y, x] = u.size
                    elif op == "majority":
                        res[y, x] = u[np.argmax(c)]  # first: the smallest
                    else:
                        res[y, x] = u[np.argmin(c)]
    if op not in ("count", "variety"):
        res = np.where(some, res, fill)
    if edges == "nodata":
        yy, xx = np.mgrid[0:h, 0:w]
        out = (xx < r) | (xx >= w - r) | (yy < r) | (yy >= h - r)
        res = np.where(out, fill, res)
    return res


def to_band_type(res, dtype):
    """The oracle's float64 values as GDALCopyWords writes them to dtype
    (only exact cases are used for integer types; NaN becomes 0)."""
    if dtype in ("Float64", "Float32"):
        return res.astype(GDT[dtype])
    r = np.where(np.isnan(res), 0.0, res)
    assert np.all(r == np.round(r)), "integer band case must be exact"
    return r.astype(GDT[dtype])


def same(got, want):
    if got is None or got.shape != want.shape or got.dtype != want.dtype:
        return False
    if got.dtype.kind == "f":
        gn, wn = np.isnan(got), np.isnan(want)
        if not np.array_equal(gn, wn):
            return False
        return got[~gn].tobytes() == want[~wn].tobytes()
    return got.tobytes() == want.tobytes()


def describe_diff(got, want):
    if got is None:
        return "read failed"
    if got.shape != want.shape or got.dtype != want.dtype:
        return "%s %s vs %s %s" % (got.dtype, got.shape, want.dtype, want.shape)
    g = got.astype(np.float64)
    wv = want.astype(np.float64)
    bad = ~((g == wv) | (np.isnan(g) & np.isnan(wv)))
    ys, xs = np.nonzero(bad)
    return "%d pixels differ, first (%d, %d): got %r want %r" % (
        bad.sum(), xs[0], ys[0], g[ys[0], xs[0]], wv[ys[0], xs[0]]) \
        if ys.size else "bitwise difference (signed zero?)"


# ---- Reading through PVRT ----------------------------------------------------

def open_pvrt(path, threads="1", tile=None, extra=()):
    oo = ["NUM_THREADS=%s" % threads] + list(extra)
    if tile:
        oo.append("TILE_SIZE=%s" % tile)
    ds = gdal.OpenEx(path, gdal.OF_RASTER, allowed_drivers=["PVRT"],
                     open_options=oo)
    return ds


def read_pvrt(path, threads="1", tile=None, window=None, what=""):
    try:
        ds = open_pvrt(path, threads, tile, extra=["CACHE_MB=0"])
    except RuntimeError as e:
        check(False, what + ": opens with PVRT", str(e))
        return None
    check(ds.GetDriver().ShortName == "PVRT", what + ": driver PVRT",
          ds.GetDriver().ShortName)
    try:
        b = ds.GetRasterBand(1)
        if window is None:
            a = b.ReadAsArray()
        else:
            a = b.ReadAsArray(*window)
        tiles = ds.GetMetadataItem("LAST_READ_TILES", "__DEBUG__")
    except RuntimeError as e:
        check(False, what + ": read", str(e))
        return None
    if tile is not None and window is None:
        tw, th = (int(t) for t in tile.split("x"))
        if tw * th < W * H:
            check(tiles is not None and int(tiles) > 1,
                  what + ": read split into tiles", "LAST_READ_TILES=%s" % tiles)
    return a


# ---- The checks --------------------------------------------------------------

def sweep(d, inputs):
    """1. every op x shape x edge rule x radius, on both inputs."""
    i = 0
    for name in ("classes", "cont"):
        src = os.path.join(d, name + ".tif")
        for op in OPS:
            for shape in ("square", "circle"):
                for edges in ("nodata", "shrink"):
                    for radius in range(1, 8):
                        vrt = os.path.join(d, "sweep.vrt")
                        focal_vrt(vrt, src, op, radius, shape, edges)
                        want = focal_oracle(inputs[name], ND, op, radius,
                                            shape, edges, ND)
                        every = (radius in (1, 3, 7) and shape == "circle" and
                                 op in ("median", "mean", "majority", "max"))
                        configs = CONFIGS if every else \
                            [CONFIGS[i % len(CONFIGS)]]
                        i += 1
                        for threads, tile in configs:
                            what = "%s %s r=%d %s edges=%s threads=%s tile=%s" \
                                % (name, op, radius, shape, edges, threads, tile)
                            got = read_pvrt(vrt, threads, tile, what=what)
                            check(same(got, want), what,
                                  describe_diff(got, want))


def windows(d, inputs):
    """2. windowed reads equal the whole read's pixels."""
    src = os.path.join(d, "classes.tif")
    wins = [(0, 0, 1, 1), (0, 0, 61, 1), (5, 7, 13, 11), (60, 46, 1, 1),
            (48, 0, 13, 47), (0, 40, 61, 7), (29, 19, 3, 3), (1, 1, 59, 45)]
    for op in ("median", "sum", "majority", "min", "std"):
        for shape, edges, radius in (("square", "nodata", 2),
                                     ("circle", "shrink", 3),
                                     ("square", "shrink", 6)):
            vrt = os.path.join(d, "win.vrt")
            focal_vrt(vrt, src, op, radius, shape, edges)
            whole = read_pvrt(vrt, "2", None, what="whole " + op)
            want = focal_oracle(inputs["classes"], ND, op, radius, shape,
                                edges, ND)
            check(same(whole, want), "window base %s %s %s r=%d" %
                  (op, shape, edges, radius), describe_diff(whole, want))
            if whole is None:
                continue
            for threads, tile in (("1", None), ("3", "4x3")):
                for x, y, w, h in wins:
                    what = "window %r %s %s %s r=%d threads=%s tile=%s" % (
                        (x, y, w, h), op, shape, edges, radius, threads, tile)
                    got = read_pvrt(vrt, threads, tile, window=(x, y, w, h),
                                    what=what)
                    part = whole[y:y + h, x:x + w]
                    check(same(got, part), what, describe_diff(got, part))


def nodata_rules(d, inputs):
    """3. the nodata argument, sources and bands without NoData, types."""
    cases = [
        # (what, source, input NoData as the oracle sees it, arg nodata,
        #  band dtype, band NoData, ops)
        ("arg overrides source NoData", "classes.tif", 5.0, 5.0, "Float64",
         ND, OPS),
        ("arg on a source without NoData", "classes_nond.tif", ND, ND,
         "Float64", ND, OPS),
        ("source without NoData: only NaN", "classes_nond.tif", None, None,
         "Float64", ND, ["mean", "count", "median", "min", "majority"]),
        ("band without NoData: NaN", "classes.tif", ND, None, "Float32",
         None, OPS),
        ("Float32 band", "cont.tif", ND, None, "Float32", ND,
         ["mean", "std", "median", "sum", "range"]),
        ("Int16 band without NoData: 0", "classes.tif", ND, None, "Int16",
         None, ["count", "variety", "min", "max"]),
        ("Int16 band with NoData", "classes.tif", ND, None, "Int16", -1.0,
         ["count", "variety", "majority", "minority"]),
        # A NoData that Float32 does not hold exactly, from the source and
        # as the argument: compared as a Float32 (the pixels holding 0.1f).
        ("Float32 source NoData 0.1", "tenths.tif", F32_TENTH, None,
         "Float64", ND, ["count", "mean", "majority"]),
        ("nodata argument 0.1 on a Float32 source", "tenths.tif", F32_TENTH,
         0.1, "Float64", ND, ["count", "min"]),
    ]
    name_of = {"classes.tif": "classes", "cont.tif": "cont",
               "classes_nond.tif": "classes_nond", "tenths.tif": "tenths"}
    for what, src, nd_in, arg_nd, dtype, band_nd, ops in cases:
        a = inputs[name_of[src]]
        if dtype == "Int16":
            # Integral results only: the classes times 2.
            a = np.where(np.isnan(a) | (a == ND), a, a * 2)
            tif = os.path.join(d, "int_" + src)
            write_tif(tif, a.astype(np.float32), ND)
            src_path = tif
        else:
            src_path = os.path.join(d, src)
        for op in ops:
            for shape, edges, radius in (("circle", "shrink", 2),
                                         ("square", "nodata", 3)):
                vrt = os.path.join(d, "nd.vrt")
                focal_vrt(vrt, src_path, op, radius, shape, edges, dtype=dtype,
                          nodata=band_nd, arg_nodata=arg_nd)
                fill = np.nan if band_nd is None else band_nd
                want = to_band_type(
                    focal_oracle(a, nd_in, op, radius, shape, edges, fill),
                    dtype)
                label = "%s: %s %s %s r=%d" % (what, op, shape, edges, radius)
                got = read_pvrt(vrt, "3", "9x8", what=label)
                check(same(got, want), label, describe_diff(got, want))


def complex_source_nodata(d, inputs):
    """3b. A ComplexSource's <NODATA> is the input NoData (the `nodata`
    argument still overrides it)."""
    src = os.path.join(d, "classes.tif")
    for op in ("mean", "count", "majority", "median"):
        for arg_nd, nd_in in ((None, 5.0), (ND, ND)):
            vrt = os.path.join(d, "cs.vrt")
            focal_vrt(vrt, src, op, 2, "circle", "shrink", complex_nodata=5.0,
                      arg_nodata=arg_nd)
            want = focal_oracle(inputs["classes"], nd_in, op, 2, "circle",
                                "shrink", ND)
            what = "ComplexSource NODATA 5, nodata argument %s: %s" % (arg_nd,
                                                                       op)
            got = read_pvrt(vrt, "2", "8x8", what=what)
            check(same(got, want), what, describe_diff(got, want))


def vrt_driver_refuses(d):
    """4. GDAL's VRT driver: the read fails, naming PVRT."""
    vrt = os.path.join(d, "refuse.vrt")
    focal_vrt(vrt, os.path.join(d, "classes.tif"), "median", 2, "circle",
              "shrink", dtype="Float32")
    msg = ""
    try:
        ds = gdal.OpenEx(vrt, gdal.OF_RASTER, allowed_drivers=["VRT"])
        check(ds.GetDriver().ShortName == "VRT", "VRT driver opens it")
        ds.GetRasterBand(1).ReadAsArray()
        ok = False
    except RuntimeError as e:
        msg = str(e)
        ok = True
    check(ok, "VRT driver: the read fails")
    check("PVRT" in msg and "pvrt_focal" in msg,
          "VRT driver: the error names pvrt_focal and PVRT", msg)


def nesting(d, inputs):
    """5. focal over pvrt_expr, pvrt_expr over focal, focal over focal."""
    a = inputs["cont"]
    tif = os.path.join(d, "cont.tif")
    # (a) focal median over an expression VRT (Float32, NoData -9999).
    inner = os.path.join(d, "expr_inner.vrt")
    expr_vrt(inner, [tif], "a", "a * 2 + 1", "Float32", nodata=ND,
             transfer="Float32")
    # The focal band reads its source as Float64: a derived source hands
    # over its pixel function's doubles, not rounded to its Float32 band
    # type (GDAL's derived bands write a C function's output in the type
    # read).
    e = np.where(a == ND, ND, a * 2 + 1)
    outer = os.path.join(d, "focal_over_expr.vrt")
    for op in ("median", "mean", "max"):
        focal_vrt(outer, inner, op, 2, "circle", "shrink")
        want = focal_oracle(e, ND, op, 2, "circle", "shrink", ND)
        for threads, tile in (("1", None), ("3", "7x5"), ("8", "16x16")):
            what = "focal %s over pvrt_expr threads=%s tile=%s" % (op, threads,
                                                                   tile)
            got = read_pvrt(outer, threads, tile, what=what)
            check(same(got, want), what, describe_diff(got, want))
    # (b) an expression over a focal VRT and the input: deviation from the
    # focal mean.
    focal = os.path.join(d, "focal_mean.vrt")
    focal_vrt(focal, tif, "mean", 3, "square", "shrink")
    fm = focal_oracle(a, ND, "mean", 3, "square", "shrink", ND)
    dev = os.path.join(d, "expr_over_focal.vrt")
    expr_vrt(dev, [focal, tif], "f,a", "f - a", "Float64", transfer="Float64")
    want = fm - a
    for threads, tile in (("1", None), ("3", "7x5"), ("8", "1x1")):
        what = "pvrt_expr over focal threads=%s tile=%s" % (threads, tile)
        got = read_pvrt(dev, threads, tile, what=what)
        check(same(got, want), what, describe_diff(got, want))
    # (c) focal over focal: an opening of a 0/1 mask (erode, then dilate).
    mask = np.where(np.isnan(a) | (a == ND), ND, (a > 0).astype(np.float64))
    mtif = os.path.join(d, "mask.tif")
    write_tif(mtif, mask.astype(np.float32), ND)
    eroded = os.path.join(d, "eroded.vrt")
    focal_vrt(eroded, mtif, "min", 1, "circle", "shrink", dtype="Float32")
    opened = os.path.join(d, "opened.vrt")
    focal_vrt(opened, eroded, "max", 1, "circle", "shrink", dtype="Float32")
    er = focal_oracle(mask, ND, "min", 1, "circle", "shrink", ND)
    want = focal_oracle(er, ND, "max", 1, "circle", "shrink",
                        ND).astype(np.float32)
    for threads, tile in (("1", None), ("2", "5x5"), ("8", "3x2")):
        what = "focal over focal (opening) threads=%s tile=%s" % (threads, tile)
        got = read_pvrt(opened, threads, tile, what=what)
        check(same(got, want), what, describe_diff(got, want))


def main():
    if not os.environ.get("GDAL_DRIVER_PATH"):
        print("GDAL_DRIVER_PATH is not set: it must name the build's plugin "
              "folder")
        return 2
    gdal.AllRegister()
    if gdal.GetDriverByName("PVRT") is None:
        print("FAIL: no PVRT driver in GDAL_DRIVER_PATH=%s"
              % os.environ["GDAL_DRIVER_PATH"])
        return 1
    d = tempfile.mkdtemp(prefix="pvrt-focal-")
    try:
        inputs = make_inputs(d)
        steps = (sweep, windows, nodata_rules, complex_source_nodata,
                 nesting)
        only = sys.argv[1:]  # step names, to run a few (debugging)
        for step in steps:
            if only and step.__name__ not in only:
                continue
            n = checks
            step(d, inputs)
            print("%s: %d checks" % (step.__name__, checks - n))
            sys.stdout.flush()
        vrt_driver_refuses(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("%d checks, %d failures" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
