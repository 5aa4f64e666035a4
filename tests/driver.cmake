# The PVRT driver's suites: unit tests of the C core (pool, tiles, error
# capture, the cache of computed pixels), the header self-containment
# check, equivalence with GDAL's VRT driver, bad inputs, stress and
# end-to-end runs on vrt-examples/.
# Labels: quick, equiv, badinput, stress, concurrency (CI also runs these
# under TSan), e2e. README.md (Testing) says what each proves.

# Sanitizer environments (PVRT_HOST_ENV for commands run by tests) come
# from tests/CMakeLists.txt.

# ---- Unit tests of the C core (own executables: they own global state) ----
pvrt_add_gtest(test_pool SOURCES test_pool.cpp LIBS pvrt_core
               LABELS "quick;concurrency" TIMEOUT 120)
pvrt_add_gtest(test_tiles SOURCES test_tiles.cpp LIBS pvrt_core
               LABELS quick TIMEOUT 120)
pvrt_add_gtest(test_tilecache SOURCES test_tilecache.cpp LIBS pvrt_core
               LABELS quick TIMEOUT 120)
pvrt_add_gtest(test_errcap SOURCES test_errcap.cpp LIBS pvrt_core
               LABELS "quick;concurrency" TIMEOUT 120)

# ---- Headers: each compiles alone, from C and from C++ ----
# One object per header and language, part of the default build, so a
# header that is not self-contained or not C/C++-clean breaks the build.
# (With PVRT_WERROR=ON any warning a header causes does too.) The shim's
# own header declares C++ classes for GDAL's C++ API (it includes
# gdal_priv.h): it is checked from C++ only.
file(GLOB_RECURSE PVRT_ALL_HEADERS CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/driver/*.h ${PROJECT_SOURCE_DIR}/pixelfuncs/*.h)
add_custom_target(test_headers ALL)
foreach(header ${PVRT_ALL_HEADERS})
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${header})
  string(MAKE_C_IDENTIFIER ${rel} id)
  file(STRINGS ${header} cxx_only REGEX "#include <gdal_priv.h>")
  set(langs c cpp)
  if(cxx_only)
    set(langs cpp)
  endif()
  foreach(lang ${langs})
    add_library(hdr_${lang}_${id} OBJECT ${CMAKE_CURRENT_SOURCE_DIR}/headers_${lang}.${lang})
    target_compile_definitions(hdr_${lang}_${id} PRIVATE PVRT_HEADER="${header}")
    target_link_libraries(hdr_${lang}_${id} PRIVATE GDAL::GDAL)
    add_dependencies(test_headers hdr_${lang}_${id})
  endforeach()
endforeach()

# ---- Equivalence with GDAL's VRT driver ----
pvrt_add_gtest(test_equiv SOURCES test_equiv.cpp LABELS "equiv;concurrency"
               TIMEOUT 300)
pvrt_add_gtest(test_equiv_info SOURCES test_equiv_info.cpp LABELS equiv
               TIMEOUT 300)

# ---- Bad inputs: failing sources, cancellation, recursion (serial: the
# cancellation test bounds how long the read takes to stop) ----
pvrt_add_gtest(test_errors SOURCES test_errors.cpp LABELS "badinput;concurrency"
               TIMEOUT 300 RUN_SERIAL)

# ---- Stress: 8 callers sharing the pool (also run under TSan in CI) ----
pvrt_add_gtest(test_stress SOURCES test_stress.cpp
               LABELS "stress;concurrency" TIMEOUT 900 RUN_SERIAL)

# ---- End-to-end: every vrt-examples/*.vrt through gdalinfo, gdal_translate
# and the Python bindings, against GDAL's VRT driver ----
if(PVRT_PYTHON)
  pvrt_add_script_test(e2e_examples
    COMMAND ${PVRT_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/run_examples.py
    LABELS e2e TIMEOUT 600 RUN_SERIAL)
endif()

# ---- valgrind: no leak, no live pool thread after GDAL unloads the driver
# (release builds only; sanitizer builds have their own checkers) ----
find_program(PVRT_VALGRIND valgrind)
if(PVRT_VALGRIND AND NOT PVRT_SANITIZE)
  pvrt_add_script_test(valgrind_unload
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e/valgrind_unload.sh
    LABELS e2e TIMEOUT 300)
endif()

# ---- Overviews: downsampled reads through the same overview as GDAL, split
# when no longer resampled; implicit overview bands at odd sizes ----
pvrt_add_gtest(test_overviews SOURCES test_overviews.cpp LABELS "equiv;concurrency"
               TIMEOUT 300)

# ---- Process edges: fork after the pool started; a low descriptor limit ----
pvrt_add_gtest(test_fork SOURCES test_fork.cpp LIBS pvrt_core LABELS quick
               TIMEOUT 60)
pvrt_add_script_test(fd_limit COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e/fd_limit.sh
                     LABELS badinput TIMEOUT 120)

# ---- What is claimed, and bad open options ----
pvrt_add_gtest(test_open SOURCES test_open.cpp LABELS "quick;badinput"
               TIMEOUT 120)

# ---- rasterio (Debian's, on the system GDAL) through the driver ----
if(PVRT_PYTHON)
  execute_process(COMMAND ${PVRT_PYTHON} -c "import rasterio"
                  RESULT_VARIABLE _no_rasterio OUTPUT_QUIET ERROR_QUIET)
  if(_no_rasterio EQUAL 0)
    pvrt_add_script_test(rasterio_read
      COMMAND ${PVRT_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/rasterio_read.py
      LABELS e2e TIMEOUT 300)
  endif()
endif()

# ---- Downsampled derived reads gathered in parallel (driver/gather.c):
# every resampling, buffer type and thread count against GDAL's ----
pvrt_add_gtest(test_gather SOURCES test_gather.cpp LABELS "equiv;concurrency"
               TIMEOUT 300)

# ---- A closed dataset serves the next open of the same unchanged VRT
# (driver/reopen.c), never a changed one ----
pvrt_add_gtest(test_reopen SOURCES test_reopen.cpp
               LABELS "equiv;quick;concurrency"
               TIMEOUT 300)

# ---- Sequential readers: block and row loops, checksum, statistics ----
pvrt_add_gtest(test_ahead SOURCES test_ahead.cpp LABELS "equiv;concurrency"
               TIMEOUT 300)

# ---- Callers with their own threads share the cores (read.c) ----
pvrt_add_gtest(test_callers SOURCES test_callers.cpp LABELS "quick;concurrency"
               TIMEOUT 120)

# ---- The pixel functions of the GDAL in use (more with each release)
# through PVRT, against the VRT driver ----
pvrt_add_gtest(test_gdal_builtins SOURCES test_gdal_builtins.cpp
               LABELS "equiv;concurrency" TIMEOUT 120)

# ---- QGIS (Debian's 3.22, headless) renders derived VRTs through PVRT
# with the VRT driver's pixels: full extent, 1:1, 2x zoomed out ----
if(PVRT_PYTHON)
  pvrt_add_script_test(qgis_render
    COMMAND ${PVRT_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/qgis_render.py
    LABELS e2e TIMEOUT 600 RUN_SERIAL)
  set_tests_properties(qgis_render PROPERTIES SKIP_RETURN_CODE 77)
endif()
