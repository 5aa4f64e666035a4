// test_main.cpp: the main of every GoogleTest executable.
//
// Points GDAL_DRIVER_PATH at this build's plugin folder (unless the
// environment already names one), registers drivers, runs the tests and
// shuts GDAL down, which also unloads the plugin and joins its pool, so
// leak checkers see a clean exit.
#include <gdal.h>
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char **argv)
{
    setenv("GDAL_DRIVER_PATH", PVRT_PLUGIN_DIR, 0);
    ::testing::InitGoogleTest(&argc, argv);
    GDALAllRegister();
    const int rc = RUN_ALL_TESTS();
    GDALDestroy();
    return rc;
}
