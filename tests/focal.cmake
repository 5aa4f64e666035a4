# pvrt_focal: the kernel against a C++ reference (every op, shape, edge rule,
# radius 1 to 7, tiles with halos), bad arguments, the cloud-mask
# morphology examples; through the PVRT driver against numpy.
pvrt_add_gtest(test_focal SOURCES test_focal.cpp
               LIBS pvrt_pixelfuncs LABELS "quick;badinput" TIMEOUT 300)
if(PVRT_PYTHON)
  pvrt_add_script_test(focal_numpy
    COMMAND ${PVRT_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/focal_numpy.py
    LABELS e2e TIMEOUT 600)
endif()
