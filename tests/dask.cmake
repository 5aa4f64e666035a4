# dask.distributed (issue 11): the example of vrt-examples/dask/ on a
# LocalCluster of 2 worker processes: every worker has PVRT and its reads go
# through it, the GeoTIFF rio.to_raster writes equals GDAL's VRT driver's
# read, dask's pre-spawn-environ works, and the pitfall docs/dask.md warns
# about (GDAL_DRIVER_PATH set with client.run after the workers used GDAL
# leaves them on the VRT driver) is still true. Needs Debian's
# python3-distributed and python3-rioxarray; exits 77 (skipped) without
# them. See tests/dask/test_dask.py.
if(PVRT_PYTHON)
  pvrt_add_script_test(dask_local_cluster
    COMMAND ${PVRT_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/dask/test_dask.py
    LABELS e2e dask TIMEOUT 300)
  set_tests_properties(dask_local_cluster PROPERTIES SKIP_RETURN_CODE 77)
endif()
