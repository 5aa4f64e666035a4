// test_pf_common.cpp: the shared pixel-function plumbing and pvrt_busy.
//
// Oracles: GDALCopyWords (GDAL's own conversion) and plain C++ arithmetic.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "pf_private.h"
#include "pixelfuncs.h"
#include "testutil.h"

namespace
{

TEST(Args, ParsesNumbersStrictly)
{
    double v = 0;
    EXPECT_EQ(pvrt__parse_double("1.5", &v), 0);
    EXPECT_EQ(v, 1.5);
    EXPECT_EQ(pvrt__parse_double(" -2e3 ", &v), 0);
    EXPECT_EQ(v, -2000.0);
    EXPECT_EQ(pvrt__parse_double("nan", &v), 0);
    EXPECT_TRUE(std::isnan(v));
    EXPECT_EQ(pvrt__parse_double("-inf", &v), 0);
    EXPECT_EQ(v, -INFINITY);
    EXPECT_EQ(pvrt__parse_double("", &v), -1);
    EXPECT_EQ(pvrt__parse_double("1.5x", &v), -1);
    EXPECT_EQ(pvrt__parse_double("abc", &v), -1);
}

TEST(Args, BadIntegerNamesFunctionAndArgument)
{
    CPLStringList args;
    args.AddNameValue("iterations", "ten");
    int out = 0;
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    EXPECT_EQ(
        pvrt__arg_int(args.List(), "pvrt_x", "iterations", 1, 0, 100, &out),
        -1);
    CPLPopErrorHandler();
    EXPECT_EQ(CPLGetLastErrorType(), CE_Failure);
    EXPECT_NE(strstr(CPLGetLastErrorMsg(), "pvrt_x"), nullptr);
    EXPECT_NE(strstr(CPLGetLastErrorMsg(), "iterations"), nullptr);
    EXPECT_EQ(pvrt__arg_int(nullptr, "pvrt_x", "iterations", 7, 0, 100, &out),
              1);
    EXPECT_EQ(out, 7);
}

TEST(Args, NodataPrefersOwnArgument)
{
    CPLStringList args;
    args.AddNameValue("NoData", "5");
    args.AddNameValue("nodata", "-9999");
    int has = 0;
    double v = 0;
    ASSERT_EQ(pvrt__arg_nodata(args.List(), "f", &has, &v), 0);
    EXPECT_TRUE(has);
    EXPECT_EQ(v, -9999);
    CPLStringList none;
    ASSERT_EQ(pvrt__arg_nodata(none.List(), "f", &has, &v), 0);
    EXPECT_FALSE(has);
}

TEST(Args, DoubleList)
{
    CPLStringList args;
    args.AddNameValue("skip", "1, 2.5,nan");
    double *vals = nullptr;
    int n = 0;
    ASSERT_EQ(pvrt__arg_double_list(args.List(), "f", "skip", &vals, &n), 0);
    ASSERT_EQ(n, 3);
    EXPECT_EQ(vals[0], 1);
    EXPECT_EQ(vals[1], 2.5);
    EXPECT_TRUE(std::isnan(vals[2]));
    CPLFree(vals);
    args.SetNameValue("skip", "1,,2");
    CPLPushErrorHandler(CPLQuietErrorHandler);
    EXPECT_EQ(pvrt__arg_double_list(args.List(), "f", "skip", &vals, &n), -1);
    CPLPopErrorHandler();
}

// Row write converts exactly as GDALCopyWords does, including rounding and
// clamping, into a strided buffer.
TEST(RowIO, WriteMatchesCopyWords)
{
    const double row[] = {-1.5, -0.5, 0.5, 1.5, 254.5, 255.5, 300, NAN, 1e300};
    const int n = sizeof(row) / sizeof(row[0]);
    const GDALDataType types[] = {GDT_Byte,   GDT_Int16,  GDT_UInt16,
                                  GDT_Int32,  GDT_UInt32, GDT_Float32,
                                  GDT_Float64};
    for (GDALDataType t : types) {
        const int size = GDALGetDataTypeSizeBytes(t);
        std::vector<GByte> got(3 * size * n * 2, 0), want(3 * size * n * 2, 0);
        pvrt__row_write(row, got.data(), t, 2 * size, 2 * size * n, n, 1);
        GDALCopyWords(row, GDT_Float64, 8, want.data() + 2 * size * n, t,
                      2 * size, n);
        EXPECT_EQ(got, want) << GDALGetDataTypeName(t);
    }
}

TEST(Busy, OutputEqualsFirstSourceConverted)
{
    const char *meta = nullptr;
    GDALDerivedPixelFuncWithArgs fn = pvrt_pixelfunc_find("pvrt_busy", &meta);
    ASSERT_NE(fn, nullptr);
    ASSERT_NE(meta, nullptr);
    const int w = 7, h = 3;
    std::vector<float> src(w * h);
    for (int i = 0; i < w * h; i++)
        src[i] = (i % 2 ? -1.0f : 1.0f) * (float)i * 37.25f;
    src[4] = NAN;
    src[5] = -0.0f;
    void *sources[1] = {src.data()};
    std::vector<GInt16> out(w * h), want(w * h);
    CPLStringList args;
    args.AddNameValue("iterations", "50");
    ASSERT_EQ(fn(sources, 1, out.data(), w, h, GDT_Float32, GDT_Int16, 2, 2 * w,
                 args.List()),
              CE_None);
    // Arithmetic is in double, so the reference converts through double too
    // (GDAL turns a Float32 NaN into -32768 directly, into 0 via double).
    std::vector<double> asdouble(w * h);
    GDALCopyWords(src.data(), GDT_Float32, 4, asdouble.data(), GDT_Float64, 8,
                  w * h);
    GDALCopyWords(asdouble.data(), GDT_Float64, 8, want.data(), GDT_Int16, 2,
                  w * h);
    EXPECT_EQ(out, want);

    std::vector<float> outf(w * h);
    ASSERT_EQ(fn(sources, 1, outf.data(), w, h, GDT_Float32, GDT_Float32, 4,
                 4 * w, args.List()),
              CE_None);
    EXPECT_EQ(memcmp(outf.data(), src.data(), sizeof(float) * w * h), 0);
}

TEST(Busy, RejectsBadIterations)
{
    GDALDerivedPixelFuncWithArgs fn = pvrt_pixelfunc_find("pvrt_busy", nullptr);
    GByte src = 1, out = 0;
    void *sources[1] = {&src};
    CPLStringList args;
    args.AddNameValue("iterations", "-3");
    CPLPushErrorHandler(CPLQuietErrorHandler);
    EXPECT_EQ(fn(sources, 1, &out, 1, 1, GDT_Byte, GDT_Byte, 1, 1, args.List()),
              CE_Failure);
    EXPECT_EQ(fn(sources, 0, &out, 1, 1, GDT_Byte, GDT_Byte, 1, 1, nullptr),
              CE_Failure);
    CPLPopErrorHandler();
}

// Through a plain VRT read by GDAL's VRT driver: the plugin registered it.
TEST(Busy, WorksInPlainVrt)
{
    pvrt_test::RasterSpec spec;
    spec.type = GDT_UInt16;
    const std::string tif = pvrt_test::make_tiff("busy_src.tif", spec);
    const std::string vrt = pvrt_test::write_file(
        "busy.vrt",
        pvrt_test::vrt_dataset(
            97, 61,
            {pvrt_test::derived_band(1, GDT_Float32, "pvrt_busy",
                                     {pvrt_test::simple_source(tif, 1, 97, 61)},
                                     "iterations=\"10\"")}));
    GDALDatasetH ds = pvrt_test::open_oracle(vrt);
    ASSERT_NE(ds, nullptr);
    std::vector<float> got;
    ASSERT_EQ(pvrt_test::read_band1(ds, GDT_Float32, &got), CE_None);
    GDALClose(ds);
    for (int y = 0; y < 61; y++)
        for (int x = 0; x < 97; x++)
            ASSERT_EQ(got[y * 97 + x],
                      (float)pvrt_test::pattern_value(GDT_UInt16, x, y, 1, 0));
}

} // namespace
