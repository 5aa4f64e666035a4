# Shared pixel-function plumbing (row I/O, argument parsing, pvrt_busy).
pvrt_add_gtest(test_pf_common SOURCES test_pf_common.cpp
               LIBS pvrt_pixelfuncs LABELS quick)
