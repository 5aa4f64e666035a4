#!/usr/bin/python3
"""dask_to_raster.py: a derived VRT read by dask workers through PVRT with
rioxarray, and written to a GeoTIFF.

Usage: /usr/bin/python3 vrt-examples/dask/dask_to_raster.py
           [VRT] [OUT] [--plugin-dir DIR] [--workers 2] [--chunk 256]

VRT defaults to vrt-examples/demo_sum.vrt (write its inputs first with
/usr/bin/python3 vrt-examples/make_demo_inputs.py), OUT to demo_sum.tif in
the current folder, DIR to $GDAL_DRIVER_PATH. Needs Debian's
python3-distributed and python3-rioxarray (the same libgdal as the plugin;
PyPI wheels of rasterio bundle their own libgdal and cannot load it).

What it shows, in order:
  1. The environment is set BEFORE the cluster starts. LocalCluster's
     workers are new processes that inherit os.environ; GDAL looks for
     plugins once, the first time a process uses it, so a GDAL_DRIVER_PATH
     set later (client.run) is silently ignored and the worker reads with
     GDAL's serial VRT driver. PVRT_NUM_THREADS=1: dask owns the
     parallelism (one task per worker thread), so PVRT does not multiply
     it; raise it when there are more cores than dask threads.
  2. client.run(pvrt_status) asks each worker whether it has PVRT
     (pvrt_dask_check.py, next to this file); the script stops if one has
     not.
  3. rioxarray.open_rasterio(chunks=...) makes one read task per chunk;
     each worker opens the VRT itself (the path travels, not a handle).
     rio.to_raster(lock=Lock(...)) writes the chunks from the workers, one
     at a time through a distributed lock, into one tiled GeoTIFF.
  4. It prints, per worker, the driver GDAL opens the VRT with there.

The steps are functions; tests/dask/test_dask.py runs them.
"""

import argparse
import contextlib
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def set_environment(plugin_dir=None, num_threads="1"):
    """Step 1, before any worker exists (and before this process uses
    GDAL): LocalCluster's workers inherit os.environ."""
    if plugin_dir:
        os.environ["GDAL_DRIVER_PATH"] = plugin_dir
    if num_threads is not None:
        os.environ.setdefault("PVRT_NUM_THREADS", str(num_threads))
    if HERE not in sys.path:
        sys.path.insert(0, HERE)   # workers import pvrt_dask_check by name


@contextlib.contextmanager
def local_cluster(workers=2):
    """A LocalCluster of `workers` processes with one thread each, and its
    Client; scratch files in a temporary folder."""
    from dask.distributed import Client, LocalCluster

    scratch = tempfile.mkdtemp(prefix="pvrt-dask-")
    try:
        with LocalCluster(n_workers=workers, threads_per_worker=1,
                          processes=True, dashboard_address=None,
                          local_directory=scratch) as cluster, \
                Client(cluster) as client:
            yield client
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def require_pvrt(client):
    """Step 2: client.run(pvrt_status) on every worker; raises if one has
    no PVRT driver. Returns {worker: status}."""
    from pvrt_dask_check import pvrt_status

    status = client.run(pvrt_status)
    missing = sorted(w for w, s in status.items() if not s["pvrt"])
    if missing:
        raise RuntimeError(
            "no PVRT driver on worker(s) %s (GDAL_DRIVER_PATH=%s there): "
            "set it before the workers start" % (
                ", ".join(missing), status[missing[0]]["GDAL_DRIVER_PATH"]))
    return status


def to_raster(client, vrt, out, chunk=256):
    """Step 3: read vrt in chunks on the workers, write out (a tiled
    GeoTIFF) through a distributed lock."""
    import rioxarray
    from dask.distributed import Lock

    xds = rioxarray.open_rasterio(
        os.path.abspath(vrt), chunks={"band": 1, "x": chunk, "y": chunk},
        lock=False)
    xds.rio.to_raster(out, tiled=True, lock=Lock("rio-write", client=client))
    xds.close()


def run(vrt, out, plugin_dir=None, workers=2, chunk=256):
    """Steps 1-4. Returns {"status": pvrt_status per worker, "opened":
    driver_for(vrt) per worker}."""
    set_environment(plugin_dir)
    from pvrt_dask_check import driver_for

    with local_cluster(workers) as client:
        status = require_pvrt(client)
        to_raster(client, vrt, out, chunk)
        opened = client.run(driver_for, os.path.abspath(vrt))
    return {"status": status, "opened": opened}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("vrt", nargs="?",
                    default=os.path.join(HERE, "..", "demo_sum.vrt"))
    ap.add_argument("out", nargs="?", default="demo_sum.tif")
    ap.add_argument("--plugin-dir", default=os.environ.get("GDAL_DRIVER_PATH"),
                    help="folder holding gdal_PVRT.so")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=256)
    args = ap.parse_args(argv)
    res = run(args.vrt, args.out, args.plugin_dir, args.workers, args.chunk)
    for worker in sorted(res["status"]):
        s = res["status"][worker]
        print("%s: pid %d, PVRT %s, GDAL %s, GDAL_DRIVER_PATH=%s, "
              "PVRT_NUM_THREADS=%s; opens the VRT with %s"
              % (worker, s["pid"], "yes" if s["pvrt"] else "NO", s["gdal"],
                 s["GDAL_DRIVER_PATH"], s["PVRT_NUM_THREADS"],
                 res["opened"].get(worker)))
    print("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
