# The PVRT driver's suites: unit tests of the C core (pool, tiles, error
# capture), the header self-containment check, equivalence with GDAL's VRT
# driver, bad inputs, stress and end-to-end runs on vrt-examples/.
# Labels: quick, equiv, badinput, stress, concurrency (CI also runs these
# under TSan), e2e. docs/testing.md says what each proves.

# ---- Host programs in sanitizer builds ----
# gdalinfo, gdal_translate and python3 are not instrumented: to load an
# instrumented plugin they need the sanitizer's shared runtime preloaded.
# Test executables already carry the static runtime, so they get the
# assignments in PVRT_HOST_ENV and prefix their child commands with them
# (testutil's host_env()); script tests get them as their own environment.
# Leak checking stays with the test executables (hosts' own allocations at
# exit are not ours).
set(PVRT_HOST_ENV "")
if(PVRT_SANITIZE)
  if(PVRT_SANITIZE STREQUAL "address")
    set(_rt_clang libclang_rt.asan-x86_64.so)
    set(_rt_gcc libasan.so)
    set(_host_opts "ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:abort_on_error=1")
  else()
    set(_rt_clang libclang_rt.tsan-x86_64.so)
    set(_rt_gcc libtsan.so)
    set(_host_opts "TSAN_OPTIONS=halt_on_error=1:report_bugs=1:suppressions=${CMAKE_CURRENT_SOURCE_DIR}/sanitizers/tsan.supp")
  endif()
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    set(_rt_name ${_rt_clang})
  else()
    set(_rt_name ${_rt_gcc})
  endif()
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=${_rt_name}
                  OUTPUT_VARIABLE _rt OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(PVRT_HOST_ENV "LD_PRELOAD=${_rt} ${_host_opts}")
  set(PVRT_HOST_ENV_LIST "LD_PRELOAD=${_rt}" "${_host_opts}")
endif()

# tests/CMakeLists.txt points ASAN_OPTIONS' suppressions at lsan.supp, whose
# leak: lines ASan refuses ("failed to parse suppressions", every test
# aborts). Until it points at asan.supp, this fragment's tests set their
# own ASAN_OPTIONS (CTest applies the later assignment).
function(pvrt_driver_env name)
  if(PVRT_SANITIZE STREQUAL "address")
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:suppressions=${CMAKE_CURRENT_SOURCE_DIR}/sanitizers/asan.supp")
  endif()
endfunction()

# ---- Unit tests of the C core (own executables: they own global state) ----
pvrt_add_gtest(test_pool SOURCES test_pool.cpp LIBS pvrt_core
               LABELS "quick;concurrency" TIMEOUT 120)
pvrt_add_gtest(test_tiles SOURCES test_tiles.cpp LIBS pvrt_core
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
pvrt_add_gtest(test_equiv SOURCES test_equiv.cpp LABELS equiv TIMEOUT 300)
pvrt_add_gtest(test_equiv_info SOURCES test_equiv_info.cpp LABELS equiv
               TIMEOUT 300)
set_property(TEST test_equiv_info APPEND PROPERTY ENVIRONMENT
             "PVRT_HOST_ENV=${PVRT_HOST_ENV}")

# ---- Bad inputs: failing sources, cancellation, recursion ----
pvrt_add_gtest(test_errors SOURCES test_errors.cpp LABELS badinput TIMEOUT 300)

# ---- Stress: 8 callers sharing the pool (also run under TSan in CI) ----
pvrt_add_gtest(test_stress SOURCES test_stress.cpp
               LABELS "stress;concurrency" TIMEOUT 900 RUN_SERIAL)

# ---- End-to-end: every vrt-examples/*.vrt through gdalinfo, gdal_translate
# and the Python bindings, against GDAL's VRT driver ----
if(PVRT_PYTHON)
  pvrt_add_script_test(e2e_examples
    COMMAND ${PVRT_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/run_examples.py
    LABELS e2e TIMEOUT 600 RUN_SERIAL)
  if(PVRT_HOST_ENV_LIST)
    set_property(TEST e2e_examples APPEND PROPERTY ENVIRONMENT
                 ${PVRT_HOST_ENV_LIST})
  endif()
endif()

foreach(t test_pool test_tiles test_errcap test_equiv test_equiv_info
          test_errors test_stress)
  pvrt_driver_env(${t})
endforeach()
