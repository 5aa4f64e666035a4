# pvrt_terrain: the kernel against the installed gdaldem, tiles, output
# NoData and bad arguments (quick); the same oracle through the PVRT driver
# at several thread counts and tile sizes (equiv).
pvrt_add_gtest(test_terrain SOURCES test_terrain.cpp
               LIBS pvrt_pixelfuncs LABELS quick badinput)
pvrt_add_gtest(test_terrain_driver SOURCES test_terrain_driver.cpp
               LABELS equiv)
# neighbourhood.h only, for pvrt_nbhd_geo.
target_include_directories(test_terrain_driver PRIVATE
                           ${CMAKE_CURRENT_LIST_DIR}/../pixelfuncs)
