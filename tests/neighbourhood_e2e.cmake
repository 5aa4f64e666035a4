# ---- QGIS (Debian's 3.22, headless) renders an on-the-fly hillshade
# (pvrt_terrain over a DEM) through PVRT: the same image at 1 and 2 threads
# and tiny tiles in every view, gdaldem's image at 1:1 and 2x zoomed out
# (issue 12) ----
if(PVRT_PYTHON)
  pvrt_add_script_test(qgis_hillshade
    COMMAND ${PVRT_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/qgis_hillshade.py
    LABELS e2e TIMEOUT 600 RUN_SERIAL)
  set_tests_properties(qgis_hillshade PROPERTIES SKIP_RETURN_CODE 77)
endif()
