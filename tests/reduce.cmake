# pvrt_reduce, pvrt_reclass, pvrt_index: unit and differential tests
# (numpy oracle through PVRT_PYTHON, C++ references), bad arguments, and
# the vrt-examples they ship with.
pvrt_add_gtest(test_reduce SOURCES test_reduce.cpp
               LIBS pvrt_pixelfuncs LABELS quick)
pvrt_add_gtest(test_reclass SOURCES test_reclass.cpp
               LIBS pvrt_pixelfuncs LABELS quick)
pvrt_add_gtest(test_index SOURCES test_index.cpp
               LIBS pvrt_pixelfuncs LABELS quick)
pvrt_add_gtest(test_reduce_badinput SOURCES test_reduce_badinput.cpp
               LIBS pvrt_pixelfuncs LABELS quick badinput)
pvrt_add_gtest(test_reduce_examples SOURCES test_reduce_examples.cpp
               LIBS pvrt_pixelfuncs LABELS quick e2e)
