#!/usr/bin/python3
"""run_examples.py: every vrt-examples/*.vrt through real GDAL programs.

End-to-end test (CTest label `e2e`), run with $PVRT_PYTHON (Debian's
/usr/bin/python3, which has osgeo and numpy) and GDAL_DRIVER_PATH naming the
build's plugin folder, as CTest sets them.

First it runs every vrt-examples/make_*inputs.py generator (inputs are
generated, never committed; the generators are idempotent). Then, for every
vrt-examples/*.vrt, except those that need a network server (in a `remote`
folder, with a /vsicurl/ or http(s) source, or with a comment saying they
need a server), it checks, against GDAL's own VRT driver reading the same
file (`--config PVRT_CLAIM NONE`; the plugin stays loaded so pvrt_* pixel
functions exist):
  1. the plugin claims it: a VRT holding a derived band opens with driver
     PVRT, in gdalinfo and in the Python bindings;
  2. `gdal_translate -of GTiff` (uncompressed) writes byte-identical files
     (cmp of the whole files; on a difference, the pixels are compared to
     say whether pixels or metadata differ);
  3. `gdalinfo -checksum` prints the same checksums;
  4. the Python bindings, `gdal.Open(path).ReadAsArray()` with
     gdal.UseExceptions(), return equal arrays (same dtype, same bytes).
Examples using a neighbourhood function (pvrt_terrain, pvrt_focal) have no
VRT-driver oracle: GDAL's VRT driver cannot compute them and must fail
naming PVRT. For those it checks the claim, that the VRT driver's read
fails so, and that gdal_translate through PVRT writes the same file with
one thread and with the default threads (their values are checked against
independent oracles by test_terrain* and test_focal* and focal_numpy).
Prints one line per example and check; exits 1 if any check failed, 0
otherwise (and fails when no example was checked at all).

Usage: run_examples.py [--examples DIR] [--keep]
"""

import argparse
import filecmp
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_EXAMPLES = os.path.normpath(
    os.path.join(os.environ.get("PVRT_SOURCE_DIR", os.path.join(HERE, "..", "..")),
                 "vrt-examples"))

ORACLE = ["--config", "PVRT_CLAIM", "NONE"]
PAM_OFF = dict(os.environ, GDAL_PAM_ENABLED="NO")

failures = []


def check(ok, name, what, detail=""):
    if ok:
        detail = ""
    print("%s %s: %s%s" % ("ok  " if ok else "FAIL", name, what,
                            (" (" + detail + ")") if detail else ""))
    sys.stdout.flush()
    if not ok:
        failures.append("%s: %s %s" % (name, what, detail))
    return ok


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, **kw)


def needs_network(path, text):
    if "remote" in os.path.normpath(path).split(os.sep)[:-1]:
        return "in a remote folder"
    if re.search(r"<SourceFilename[^>]*>\s*(/vsicurl|/vsis3|/vsigs|/vsiaz|https?://)",
                 text):
        return "network source"
    for comment in re.findall(r"<!--(.*?)-->", text, re.S):
        if re.search(r"(needs?|requires?)\s+(a\s+)?(network|http|remote)\s+server",
                     comment, re.I):
            return "comment says it needs a server"
    return None


def run_generators(examples):
    gens = sorted(glob.glob(os.path.join(examples, "make_*inputs.py")))
    for gen in gens:
        r = run([sys.executable, gen], cwd=examples)
        check(r.returncode == 0, os.path.basename(gen), "generator runs",
              r.stdout.strip().splitlines()[-1] if r.returncode and r.stdout.strip()
              else "")
    return gens


def checksums(text):
    return re.findall(r"Checksum=(\d+)", text)


def driver_of(text):
    m = re.search(r"^Driver: (\S+)/", text, re.M)
    return m.group(1) if m else None


def pixels_equal(a, b):
    da, db = gdal.Open(a), gdal.Open(b)
    if (da.RasterXSize, da.RasterYSize, da.RasterCount) != \
            (db.RasterXSize, db.RasterYSize, db.RasterCount):
        return False
    for i in range(1, da.RasterCount + 1):
        if da.GetRasterBand(i).ReadRaster() != db.GetRasterBand(i).ReadRaster():
            return False
    return True


NEIGHBOURHOOD = re.compile(r"<PixelFunctionType>\s*pvrt_(terrain|focal)\s*<")


def check_neighbourhood(name, path, tmp):
    a = run(["gdalinfo", "-checksum", path], env=PAM_OFF)
    if not check(a.returncode == 0, name, "gdalinfo runs", a.stdout[-300:]):
        return True
    check(driver_of(a.stdout) == "PVRT", name, "gdalinfo: claimed by PVRT",
          "driver %s" % driver_of(a.stdout))
    b = run(["gdalinfo", "-checksum"] + ORACLE + [path], env=PAM_OFF)
    check("needs the PVRT driver" in b.stdout and not checksums(b.stdout), name,
          "VRT driver refuses it, naming PVRT", b.stdout[-300:])
    outs = []
    for threads in ("1", "ALL_CPUS"):
        out = os.path.join(tmp, "pvrt-%s.tif" % threads)
        if os.path.exists(out):
            os.remove(out)
        r = run(["gdal_translate", "-q", "-of", "GTiff", "-oo",
                 "NUM_THREADS=" + threads, path, out], env=PAM_OFF)
        if check(r.returncode == 0, name, "gdal_translate runs, NUM_THREADS=" +
                 threads, r.stdout[-300:]):
            outs.append(out)
    if len(outs) == 2:
        check(filecmp.cmp(outs[0], outs[1], shallow=False), name,
              "gdal_translate: 1 thread and all threads byte-identical")
    return True


def check_example(path, tmp):
    name = os.path.relpath(path, os.path.dirname(os.path.dirname(path)))
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    why = needs_network(path, text)
    if why:
        print("skip %s: %s" % (name, why))
        return False
    derived = "VRTDerivedRasterBand" in text
    if NEIGHBOURHOOD.search(text):
        return check_neighbourhood(name, path, tmp)

    # 1. gdalinfo -checksum, through the plugin and through the VRT driver.
    a = run(["gdalinfo", "-checksum", path], env=PAM_OFF)
    b = run(["gdalinfo", "-checksum"] + ORACLE + [path], env=PAM_OFF)
    if not check(a.returncode == 0 and b.returncode == 0, name,
                 "gdalinfo runs", (a.stdout + b.stdout)[-300:]):
        return True
    if derived:
        check(driver_of(a.stdout) == "PVRT", name, "gdalinfo: claimed by PVRT",
              "driver %s" % driver_of(a.stdout))
    check(driver_of(b.stdout) == "VRT", name, "gdalinfo oracle: VRT driver",
          "driver %s" % driver_of(b.stdout))
    ca, cb = checksums(a.stdout), checksums(b.stdout)
    check(ca == cb and len(ca) > 0, name, "gdalinfo -checksum equal",
          "%s vs %s" % (ca, cb))

    # 2. gdal_translate to uncompressed GeoTIFF, byte for byte.
    out_p = os.path.join(tmp, "pvrt.tif")
    out_v = os.path.join(tmp, "vrt.tif")
    for f in (out_p, out_v):
        if os.path.exists(f):
            os.remove(f)
    a = run(["gdal_translate", "-q", "-of", "GTiff", path, out_p], env=PAM_OFF)
    b = run(["gdal_translate", "-q", "-of", "GTiff"] + ORACLE + [path, out_v],
            env=PAM_OFF)
    if check(a.returncode == 0 and b.returncode == 0, name, "gdal_translate runs",
             (a.stdout + b.stdout)[-300:]):
        same = filecmp.cmp(out_p, out_v, shallow=False)
        detail = ""
        if not same:
            detail = "pixels equal, metadata differs" if pixels_equal(out_p, out_v) \
                else "pixels differ"
        check(same, name, "gdal_translate outputs byte-identical", detail)

    # 3. The Python bindings in this process.
    ds = gdal.Open(path)
    if derived:
        check(ds.GetDriver().ShortName == "PVRT", name, "Python: claimed by PVRT",
              ds.GetDriver().ShortName)
    got = ds.ReadAsArray()
    ds = None
    gdal.SetConfigOption("PVRT_CLAIM", "NONE")
    try:
        oracle = gdal.OpenEx(path, gdal.OF_RASTER, allowed_drivers=["VRT"])
        want = oracle.ReadAsArray()
        oracle = None
    finally:
        gdal.SetConfigOption("PVRT_CLAIM", None)
    check(got.dtype == want.dtype and got.shape == want.shape and
          got.tobytes() == want.tobytes(), name,
          "Python ReadAsArray equal",
          "%s %s vs %s %s" % (got.dtype, got.shape, want.dtype, want.shape))
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", default=DEFAULT_EXAMPLES)
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = ap.parse_args()
    if not os.environ.get("GDAL_DRIVER_PATH"):
        print("GDAL_DRIVER_PATH is not set: it must name the build's plugin folder")
        return 2
    gens = run_generators(args.examples)
    vrts = sorted(glob.glob(os.path.join(args.examples, "**", "*.vrt"),
                            recursive=True))
    tmp = tempfile.mkdtemp(prefix="pvrt-e2e-")
    checked = 0
    try:
        for path in vrts:
            checked += bool(check_example(path, tmp))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d generators, %d examples checked, %d skipped, %d failures"
          % (len(gens), checked, len(vrts) - checked, len(failures)))
    if checked == 0:
        print("no example was checked")
        return 1
    for f in failures:
        print("FAILED " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
