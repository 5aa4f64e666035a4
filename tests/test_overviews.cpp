// test_overviews.cpp: overview reads, split or not, equal GDAL's.
//
// A derived band read with a buffer smaller than its window goes to an
// overview when it has one (GDAL 3.6's VRTDerivedRasterBand); PVRT picks the
// same overview, window and arguments and reads it through its own overview
// band, which splits the read when it is no longer resampled. Overview bands
// read directly split when their dataset allows it: GDAL's implicit VRT
// overviews map their single source scaled whole onto the whole raster.
// Every read is compared byte for byte with GDAL's VRT driver (the oracle),
// at odd raster sizes (overview sizes rounded) and with tiny tiles, and the
// reads meant to go parallel must have been split.
#include <gtest/gtest.h>

#include <gdal.h>

#include <cstring>
#include <string>
#include <vector>

#include "testutil.h"

namespace
{

using namespace pvrt_test;

std::vector<float> read_band(GDALRasterBandH b, int x, int y, int w, int h,
                             int bw, int bh, GDALRIOResampleAlg alg)
{
    std::vector<float> out(static_cast<size_t>(bw) * bh, -12345.0f);
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    extra.eResampleAlg = alg;
    EXPECT_EQ(GDALRasterIOEx(b, GF_Read, x, y, w, h, out.data(), bw, bh,
                             GDT_Float32, 0, 0, &extra),
              CE_None);
    return out;
}

bool same_bytes(const std::vector<float> &a, const std::vector<float> &b)
{
    return a.size() == b.size() &&
           memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A derived band (pvrt_busy, one UInt16 source with internal overviews 2
// and 4) of width x height, optionally with an explicit <Overview>.
std::string derived_vrt(const std::string &name, int width, int height,
                        const std::string &overview_xml = "")
{
    RasterSpec s = tiled_spec(width, height, GDT_UInt16);
    s.overviews = true;
    s.seed = width;
    const std::string tif = make_tiff(name + ".tif", s);
    return write_file(
        name + ".vrt",
        vrt_dataset(
            width, height,
            {derived_band(1, GDT_Float32, "pvrt_busy",
                          {simple_source(tif, 1, width, height)},
                          "iterations=\"1\"", GDT_Unknown, overview_xml)}));
}

TEST(Overviews, ImplicitOverviewBandsAtOddSizes)
{
    for (const auto &size : {std::pair<int, int>{601, 521}, {777, 555}}) {
        const std::string vrt = derived_vrt("odd" + std::to_string(size.first),
                                            size.first, size.second);
        for (const char *tile : {"7x5", "16x16", "AUTO"}) {
            GDALDatasetH pvrt = open_pvrt(
                vrt, {"NUM_THREADS=3", std::string("TILE_SIZE=") + tile,
                      "MIN_TILE_PIXELS=64"});
            ASSERT_NE(pvrt, nullptr);
            ASSERT_EQ(driver_name(pvrt), "PVRT");
            OracleScope scope;
            GDALDatasetH oracle = open_oracle(vrt);
            ASSERT_NE(oracle, nullptr);
            GDALRasterBandH pb = GDALGetRasterBand(pvrt, 1);
            GDALRasterBandH ob = GDALGetRasterBand(oracle, 1);
            ASSERT_EQ(GDALGetOverviewCount(pb), GDALGetOverviewCount(ob));
            ASSERT_GE(GDALGetOverviewCount(ob), 1)
                << "the oracle should expose implicit overviews";
            for (int i = 0; i < GDALGetOverviewCount(ob); i++) {
                GDALRasterBandH po = GDALGetOverview(pb, i);
                GDALRasterBandH oo = GDALGetOverview(ob, i);
                const int w = GDALGetRasterBandXSize(oo);
                const int h = GDALGetRasterBandYSize(oo);
                const auto got =
                    read_band(po, 0, 0, w, h, w, h, GRIORA_NearestNeighbour);
                const auto want =
                    read_band(oo, 0, 0, w, h, w, h, GRIORA_NearestNeighbour);
                EXPECT_TRUE(same_bytes(got, want))
                    << size.first << "x" << size.second << " overview " << i
                    << " TILE_SIZE=" << tile;
                EXPECT_GT(last_read_tiles(pvrt), 1)
                    << "overview " << i << " read was not split";
            }
            GDALClose(oracle);
            GDALClose(pvrt);
        }
    }
}

// Downsampled reads of the main band: through an overview when one fits
// exactly (split), resampled on an overview otherwise (whole), from the
// sources when none fits; every one equal to GDAL's.
TEST(Overviews, DownsampledReadsOfTheDerivedBand)
{
    const int W = 1000, H = 800;
    const std::string vrt = derived_vrt("down", W, H);
    GDALDatasetH pvrt = open_pvrt(vrt, {"NUM_THREADS=3", "TILE_SIZE=32x32"});
    ASSERT_NE(pvrt, nullptr);
    OracleScope scope;
    GDALDatasetH oracle = open_oracle(vrt);
    ASSERT_NE(oracle, nullptr);
    GDALRasterBandH pb = GDALGetRasterBand(pvrt, 1);
    GDALRasterBandH ob = GDALGetRasterBand(oracle, 1);
    struct Case {
        int x, y, w, h, bw, bh;
        GDALRIOResampleAlg alg;
        bool split;
    };
    const Case cases[] = {
        {0, 0, W, H, W / 2, H / 2, GRIORA_NearestNeighbour, true},
        {0, 0, W, H, W / 4, H / 4, GRIORA_NearestNeighbour, true},
        {200, 100, 600, 400, 300, 200, GRIORA_Average, true},
        {0, 0, W, H, W / 3, H / 3, GRIORA_NearestNeighbour, false},
        {0, 0, W, H, W / 2, H / 2, GRIORA_Bilinear, true},
        {3, 5, 777, 555, 300, 200, GRIORA_Cubic, false},
        {0, 0, W, H, 700, 600, GRIORA_Average, false},
    };
    for (const Case &c : cases) {
        const auto got = read_band(pb, c.x, c.y, c.w, c.h, c.bw, c.bh, c.alg);
        const auto want = read_band(ob, c.x, c.y, c.w, c.h, c.bw, c.bh, c.alg);
        const std::string what =
            "window " + std::to_string(c.x) + "," + std::to_string(c.y) + " " +
            std::to_string(c.w) + "x" + std::to_string(c.h) + " -> " +
            std::to_string(c.bw) + "x" + std::to_string(c.bh) + " alg " +
            std::to_string((int)c.alg);
        EXPECT_TRUE(same_bytes(got, want)) << what;
        if (c.split) {
            EXPECT_GT(last_read_tiles(pvrt), 1) << what << ": not split";
        }
    }
    GDALClose(oracle);
    GDALClose(pvrt);
}

// An explicit <Overview> (a GeoTIFF at half size) on a derived band: GDAL
// reads it for downsampled requests; so does PVRT, split.
TEST(Overviews, ExplicitOverviewElement)
{
    RasterSpec half;
    half.width = 250;
    half.height = 200;
    half.type = GDT_UInt16;
    half.block_x = 32;
    half.block_y = 32;
    half.seed = 99;
    const std::string ovr = make_tiff("explicit_ovr.tif", half);
    const std::string vrt = derived_vrt(
        "explicit", 500, 400,
        "<Overview><SourceFilename relativeToVRT=\"0\">" + ovr +
            "</SourceFilename><SourceBand>1</SourceBand></Overview>");
    GDALDatasetH pvrt = open_pvrt(vrt, {"NUM_THREADS=2", "TILE_SIZE=16x16"});
    ASSERT_NE(pvrt, nullptr);
    OracleScope scope;
    GDALDatasetH oracle = open_oracle(vrt);
    ASSERT_NE(oracle, nullptr);
    const auto got = read_band(GDALGetRasterBand(pvrt, 1), 0, 0, 500, 400, 250,
                               200, GRIORA_NearestNeighbour);
    const auto want = read_band(GDALGetRasterBand(oracle, 1), 0, 0, 500, 400,
                                250, 200, GRIORA_NearestNeighbour);
    EXPECT_TRUE(same_bytes(got, want));
    EXPECT_GT(last_read_tiles(pvrt), 1) << "not split";
    // And the overview really is the explicit one: its pixels, not the
    // derived band's.
    EXPECT_EQ(got[0], (float)pattern_value(GDT_UInt16, 0, 0, 1, 99));
    GDALClose(oracle);
    GDALClose(pvrt);
}

} // namespace
