// test_gdal_builtins.cpp: derived VRTs using the pixel functions the GDAL
// in use provides (more with every release: min/max/norm_diff in 3.8,
// expression and reclassify in 3.11, mean/median/mode in 3.12, quantile in
// 3.13) open through PVRT, split across threads, and return the bytes
// GDAL's own VRT driver returns. The list follows GDAL_VERSION_NUM, so each
// function is tested on every version of the matrix that has it, position-
// dependent ones (3.12's _CENTER_X_/_CENTER_Y_) included.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <gdal.h>

#include <string>
#include <vector>

#include "testutil.h"

using namespace pvrt_test;

namespace
{

const int W = 389, H = 263;

struct Builtin {
    const char *func;
    const char *args; // attributes of <PixelFunctionArguments>
    int nsources;
};

std::vector<Builtin> builtins()
{
    std::vector<Builtin> out = {
        {"sum", "", 3}, {"mul", "", 2}, {"diff", "", 2}};
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 8, 0)
    out.push_back({"min", "", 3});
    out.push_back({"max", "", 3});
    out.push_back({"norm_diff", "", 2});
#endif
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 11, 0)
    out.push_back({"expression", "expression=\"B1 * 2 + B2 - B3 / 4\"", 3});
#endif
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 12, 0)
    // Position arguments (xoff, yoff, geotransform): a tile passes its own
    // offset, so every pixel still gets its own centre.
    out.push_back({"expression",
                   "expression=\"B1 + _CENTER_X_ * 0.001 - _CENTER_Y_ * "
                   "0.002\"",
                   2});
    out.push_back({"mean", "", 3});
    out.push_back({"median", "", 3});
    out.push_back({"mode", "", 3});
#endif
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0)
    out.push_back({"quantile", "q=\"0.25\"", 3});
#endif
    return out;
}

std::vector<std::string> sources(int n)
{
    RasterSpec s;
    s.width = W;
    s.height = H;
    s.type = GDT_Int16;
    s.block_x = 64;
    s.block_y = 64;
    s.seed = 70;
    return tiff_sources("builtin", n, s);
}

TEST(GdalBuiltins, SplitReadsEqualTheVrtDriver)
{
    const std::vector<std::string> all = sources(3);
    for (const Builtin &b : builtins()) {
        SCOPED_TRACE(b.func);
        const std::vector<std::string> src(all.begin(),
                                           all.begin() + b.nsources);
        const std::string vrt =
            write_file(std::string("builtin_") + b.func + ".vrt",
                       vrt_dataset(W, H,
                                   {derived_band(1, GDT_Float64, b.func, src,
                                                 b.args, GDT_Float64)}));
        std::vector<GByte> want; // bytes: NaN equals NaN
        {
            OracleScope scope;
            GDALDatasetH o = open_oracle(vrt);
            ASSERT_NE(o, nullptr);
            ASSERT_EQ(read_band1(o, GDT_Float64, &want), CE_None)
                << CPLGetLastErrorMsg();
            GDALClose(o);
        }
        for (int threads : {2, 3}) {
            GDALDatasetH p =
                open_pvrt(vrt, {"NUM_THREADS=" + std::to_string(threads),
                                "MIN_TILE_PIXELS=1024"});
            ASSERT_NE(p, nullptr);
            EXPECT_EQ(driver_name(p), "PVRT");
            std::vector<GByte> got;
            ASSERT_EQ(read_band1(p, GDT_Float64, &got), CE_None)
                << CPLGetLastErrorMsg();
            EXPECT_EQ(got, want) << threads << " threads";
            EXPECT_GT(last_read_tiles(p), 1) << "the read was not split";
            GDALClose(p);
        }
    }
}

} // namespace
