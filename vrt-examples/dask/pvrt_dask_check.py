"""pvrt_dask_check: ask each dask worker whether its GDAL has the PVRT
driver, and what it read with. Run the functions with client.run, which
calls them in every worker process and returns {worker address: result}:

    from pvrt_dask_check import pvrt_status
    client.run(pvrt_status)

pvrt_status() answers for the process it runs in: whether PVRT is
registered, the GDAL version, and the GDAL_DRIVER_PATH, PVRT_NUM_THREADS
and GDAL_CACHEMAX that process sees. A worker that says
"pvrt": False reads VRTs with GDAL's serial VRT driver: its environment
was set after GDAL was first used there (see docs/dask.md).

driver_for(path) opens a raster on the worker and names the driver GDAL
chose; cached_drivers() lists the drivers of the rasterio datasets that
xarray/rioxarray keep open on the worker, i.e. the handles its reads used.

On a LocalCluster started from a script in this folder the workers import
this module by name. Remote workers need it too: pip-install it, copy it,
or send it with client.upload_file("pvrt_dask_check.py").
"""

import os


def pvrt_status():
    """A dict describing this process's GDAL: {"pvrt": bool, "gdal":
    version, "pid", "GDAL_DRIVER_PATH", "PVRT_NUM_THREADS", "GDAL_CACHEMAX"
    (the environment as this process sees it now), "cache_max_bytes" (what
    GDAL uses)}."""
    from osgeo import gdal

    return {
        "pvrt": gdal.GetDriverByName("PVRT") is not None,
        "gdal": gdal.VersionInfo("RELEASE_NAME"),
        "pid": os.getpid(),
        "GDAL_DRIVER_PATH": os.environ.get("GDAL_DRIVER_PATH"),
        "PVRT_NUM_THREADS": os.environ.get("PVRT_NUM_THREADS"),
        "GDAL_CACHEMAX": os.environ.get("GDAL_CACHEMAX"),
        "cache_max_bytes": gdal.GetCacheMax(),
    }


def driver_for(path):
    """The short name of the driver GDAL opens path with in this process
    (PVRT or VRT for a VRT file)."""
    from osgeo import gdal

    ds = gdal.OpenEx(path, gdal.OF_RASTER)
    try:
        return ds.GetDriver().ShortName
    finally:
        ds = None


def cached_drivers():
    """{file name: [driver, ...]} of the rasterio datasets open in
    xarray's file cache in this process: the handles that
    rioxarray.open_rasterio(..., chunks=...) tasks read through here.
    Empty if this worker read nothing (or the cache let them go)."""
    try:
        from xarray.backends.file_manager import FILE_CACHE
    except ImportError:
        return {}
    out = {}
    for handle in list(FILE_CACHE.values()):
        name = getattr(handle, "name", None)
        driver = getattr(handle, "driver", None)
        if name is None or driver is None:
            continue
        out.setdefault(name, []).append(driver)
    return out


def set_env(**variables):
    """Sets environment variables in this process. With client.run, this is
    the way that does NOT work for GDAL_DRIVER_PATH once the worker has
    used GDAL: GDAL looks for plugins once. Kept to show the pitfall
    (tests/dask/test_dask.py)."""
    os.environ.update({k: str(v) for k, v in variables.items()})
    return sorted(variables)
