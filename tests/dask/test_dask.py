#!/usr/bin/python3
"""test_dask.py (CTest dask_local_cluster, labels e2e and dask): the dask
example of vrt-examples/dask/ on a LocalCluster of 2 worker processes, and
the pitfall the docs warn about (docs/dask.md).

  1. Environment set before the cluster starts (what the example does):
     every worker reports PVRT registered, the plugin folder and
     PVRT_NUM_THREADS=1; every worker opens the VRT with PVRT; every
     dataset the workers' rioxarray reads opened (recorded on each worker
     by rasterio's DatasetReader) was opened by PVRT; the GeoTIFF that
     rio.to_raster(lock=Lock(...)) wrote equals, byte for byte, GDAL's VRT
     driver reading the same VRT in this process (PVRT_CLAIM=NONE and
     allowed_drivers=["VRT"]: the oracle).
  2. distributed.nanny.pre-spawn-environ (dask config, nothing in
     os.environ): every worker has PVRT.
  3. The pitfall: GDAL_DRIVER_PATH set with client.run after the workers
     used GDAL. The variable is there, PVRT is not registered, the VRT
     opens with GDAL's VRT driver and a rioxarray read goes through it,
     with no error: silently serial.
  4. client.run setting it before anything in the worker used GDAL does
     work: the rule is "before GDAL's first use", not "before start".

Input: vrt-examples/demo_sum.vrt and its inputs, written by
make_demo_inputs.py into a temporary folder. GDAL_DRIVER_PATH (set by CTest
to the build's plugin folder) names the plugin. Exits 77 (skipped) when
dask.distributed or rioxarray cannot be imported; 0 when every check
passed, 1 otherwise. Each check prints what it saw.
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(REPO, "vrt-examples", "dask")
SKIP = 77
CHUNK = 128     # 16 read tasks for 2 workers

FAILURES = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


# -- run on the workers with client.run (pickled by value: this module is
#    __main__) ---------------------------------------------------------------

def record_opens():
    """Makes rasterio's DatasetReader record, in this worker, the file name
    and driver of every dataset it opens from now on: rioxarray's read
    tasks open theirs with rasterio.open, which makes a DatasetReader. (The
    class is changed in place, so that what the tasks pickle, the
    reference to rasterio.open, stays the same.)"""
    from rasterio.io import DatasetReader

    if "pvrt_opened" in DatasetReader.__dict__:
        return "installed before"
    base_init = DatasetReader.__init__
    opened = []

    def init(self, *args, **kwargs):
        base_init(self, *args, **kwargs)
        opened.append((self.name, self.driver))
    DatasetReader.pvrt_opened = opened
    DatasetReader.__init__ = init
    return "installed"


def recorded_opens():
    from rasterio.io import DatasetReader

    return list(DatasetReader.__dict__.get("pvrt_opened", []))


def gdal_used():
    return "osgeo.gdal" in sys.modules or "rasterio" in sys.modules


# -- the oracle --------------------------------------------------------------

def compare_with_vrt_driver(vrt, out, label):
    """out (a GeoTIFF) against GDAL's VRT driver reading vrt here."""
    from osgeo import gdal

    gdal.SetConfigOption("PVRT_CLAIM", "NONE")
    try:
        want = gdal.OpenEx(vrt, gdal.OF_RASTER, allowed_drivers=["VRT"])
        check(want.GetDriver().ShortName == "VRT",
              "%s: the oracle opens with %s" % (label,
                                                want.GetDriver().ShortName))
        got = gdal.Open(out)
        same_shape = (got.RasterXSize, got.RasterYSize, got.RasterCount) == \
            (want.RasterXSize, want.RasterYSize, want.RasterCount)
        check(same_shape, "%s: %dx%dx%d, VRT driver %dx%dx%d" % (
            label, got.RasterXSize, got.RasterYSize, got.RasterCount,
            want.RasterXSize, want.RasterYSize, want.RasterCount))
        if not same_shape:
            return
        check(got.GetGeoTransform() == want.GetGeoTransform(),
              "%s: geotransform %s" % (label, got.GetGeoTransform()))
        check(got.GetSpatialRef() is not None and
              got.GetSpatialRef().IsSame(want.GetSpatialRef()),
              "%s: same CRS" % label)
        for i in range(1, want.RasterCount + 1):
            gb, wb = got.GetRasterBand(i), want.GetRasterBand(i)
            check(gb.DataType == wb.DataType and
                  gb.GetNoDataValue() == wb.GetNoDataValue(),
                  "%s band %d: %s, nodata %s" % (
                      label, i, gdal.GetDataTypeName(gb.DataType),
                      gb.GetNoDataValue()))
            a, b = gb.ReadRaster(), wb.ReadRaster()
            check(a == b, "%s band %d: %d bytes, identical to GDAL's VRT "
                  "driver" % (label, i, len(b)))
            check(gb.GetBlockSize()[1] > 1, "%s band %d: written tiled "
                  "(blocks %s)" % (label, i, gb.GetBlockSize()))
    finally:
        gdal.SetConfigOption("PVRT_CLAIM", None)


# -- the parts ----------------------------------------------------------------

def part_env_before_start(ex, vrt, plugin_dir, tmp):
    from pvrt_dask_check import driver_for

    print("-- 1. environment set before the cluster starts (the example)")
    ex.set_environment(plugin_dir)
    with ex.local_cluster(2) as client:
        status = ex.require_pvrt(client)
        check(len(status) == 2, "2 workers (%d)" % len(status))
        pids = {s["pid"] for s in status.values()}
        check(len(pids) == 2 and os.getpid() not in pids,
              "2 worker processes besides this one (pids %s)" % sorted(pids))
        for w, s in sorted(status.items()):
            check(s["pvrt"] and s["GDAL_DRIVER_PATH"] == plugin_dir and
                  s["PVRT_NUM_THREADS"] == "1",
                  "%s: PVRT registered %s, GDAL_DRIVER_PATH=%s, "
                  "PVRT_NUM_THREADS=%s, GDAL %s" % (
                      w, s["pvrt"], s["GDAL_DRIVER_PATH"],
                      s["PVRT_NUM_THREADS"], s["gdal"]))
        opened = client.run(driver_for, vrt)
        check(sorted(opened.values()) == ["PVRT", "PVRT"],
              "every worker opens the VRT with PVRT (%s)" % opened)
        installed = client.run(record_opens)
        check(sorted(installed.values()) == ["installed", "installed"],
              "open recorder on every worker (%s)" % installed)
        out = os.path.join(tmp, "dask_out.tif")
        ex.to_raster(client, vrt, out, CHUNK)
        recs = client.run(recorded_opens)
    per_worker = {w: [d for p, d in r if os.path.abspath(p) == vrt]
                  for w, r in recs.items()}
    drivers = [d for ds in per_worker.values() for d in ds]
    for w, ds in sorted(per_worker.items()):
        print("      %s opened the VRT %d time(s) for its reads: %s"
              % (w, len(ds), sorted(set(ds))))
    check(len(drivers) > 0 and all(d == "PVRT" for d in drivers),
          "every dataset the workers' reads opened was PVRT's (%d opens on "
          "%d worker(s))" % (len(drivers),
                             sum(1 for ds in per_worker.values() if ds)))
    compare_with_vrt_driver(vrt, out, "to_raster output")


def part_pre_spawn_environ(ex, vrt, plugin_dir):
    import dask
    from pvrt_dask_check import driver_for, pvrt_status

    print("-- 2. distributed.nanny.pre-spawn-environ, not os.environ")
    os.environ.pop("GDAL_DRIVER_PATH", None)
    os.environ.pop("PVRT_NUM_THREADS", None)
    with dask.config.set({
            "distributed.nanny.pre-spawn-environ.GDAL_DRIVER_PATH":
            plugin_dir,
            "distributed.nanny.pre-spawn-environ.PVRT_NUM_THREADS": "1"}):
        with ex.local_cluster(2) as client:
            status = client.run(pvrt_status)
            opened = client.run(driver_for, vrt)
    for w, s in sorted(status.items()):
        check(s["pvrt"] and s["GDAL_DRIVER_PATH"] == plugin_dir and
              s["PVRT_NUM_THREADS"] == "1" and opened[w] == "PVRT",
              "%s: PVRT registered %s, GDAL_DRIVER_PATH=%s, "
              "PVRT_NUM_THREADS=%s, opens the VRT with %s" % (
                  w, s["pvrt"], s["GDAL_DRIVER_PATH"], s["PVRT_NUM_THREADS"],
                  opened[w]))
    check(len(status) == 2, "2 workers (%d)" % len(status))
    # The Nanny wrote them into this process's environment as well.
    os.environ.pop("GDAL_DRIVER_PATH", None)
    os.environ.pop("PVRT_NUM_THREADS", None)


def part_pitfall(ex, vrt, plugin_dir, tmp):
    from pvrt_dask_check import driver_for, pvrt_status, set_env

    print("-- 3. the pitfall: GDAL_DRIVER_PATH set with client.run after "
          "the workers used GDAL")
    os.environ.pop("GDAL_DRIVER_PATH", None)
    with ex.local_cluster(2) as client:
        before = client.run(driver_for, vrt)
        check(sorted(before.values()) == ["VRT", "VRT"],
              "without the variable the workers open the VRT with GDAL's "
              "VRT driver (%s)" % before)
        client.run(set_env, GDAL_DRIVER_PATH=plugin_dir, PVRT_NUM_THREADS=1)
        status = client.run(pvrt_status)
        after = client.run(driver_for, vrt)
        for w, s in sorted(status.items()):
            check(s["GDAL_DRIVER_PATH"] == plugin_dir and not s["pvrt"] and
                  after[w] == "VRT",
                  "%s: GDAL_DRIVER_PATH=%s is set, yet PVRT registered %s, "
                  "the VRT opens with %s" % (w, s["GDAL_DRIVER_PATH"],
                                             s["pvrt"], after[w]))
        client.run(record_opens)
        out = os.path.join(tmp, "pitfall_out.tif")
        ex.to_raster(client, vrt, out, CHUNK)    # no error: silently serial
        recs = client.run(recorded_opens)
    drivers = [d for r in recs.values() for p, d in r
               if os.path.abspath(p) == vrt]
    check(len(drivers) > 0 and all(d == "VRT" for d in drivers),
          "the read ran without error, through GDAL's VRT driver (%d opens: "
          "%s)" % (len(drivers), sorted(set(drivers))))
    compare_with_vrt_driver(vrt, out, "pitfall output")


def part_before_first_use(ex, vrt, plugin_dir):
    from pvrt_dask_check import driver_for, pvrt_status, set_env

    print("-- 4. client.run before anything in the worker used GDAL")
    os.environ.pop("GDAL_DRIVER_PATH", None)
    with ex.local_cluster(2) as client:
        fresh = client.run(gdal_used)
        check(sorted(fresh.values()) == [False, False],
              "fresh workers have not loaded GDAL (%s)" % fresh)
        client.run(set_env, GDAL_DRIVER_PATH=plugin_dir)
        status = client.run(pvrt_status)
        opened = client.run(driver_for, vrt)
    for w, s in sorted(status.items()):
        check(s["pvrt"] and opened[w] == "PVRT",
              "%s: PVRT registered %s, the VRT opens with %s"
              % (w, s["pvrt"], opened[w]))


def main():
    try:
        import distributed  # noqa: F401
        import rioxarray  # noqa: F401
    except ImportError as e:
        print("SKIP: %s (install Debian's python3-distributed and "
              "python3-rioxarray)" % e)
        return SKIP
    plugin_dir = os.environ.get("GDAL_DRIVER_PATH")
    if not plugin_dir:
        print("FAIL  GDAL_DRIVER_PATH is not set (CTest sets it to the "
              "build's plugin folder)")
        return 1
    sys.path.insert(0, EXAMPLE)
    import dask_to_raster as ex

    tmp = tempfile.mkdtemp(prefix="pvrt-dask-test-")
    try:
        subprocess.run([sys.executable,
                        os.path.join(REPO, "vrt-examples",
                                     "make_demo_inputs.py"),
                        tmp, "--size", "512"], check=True,
                       capture_output=True)
        vrt = os.path.join(tmp, "demo_sum.vrt")
        part_env_before_start(ex, vrt, plugin_dir, tmp)
        part_pre_spawn_environ(ex, vrt, plugin_dir)
        part_pitfall(ex, vrt, plugin_dir, tmp)
        part_before_first_use(ex, vrt, plugin_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % len(FAILURES))
    for f in FAILURES:
        print("  failed: " + f)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
