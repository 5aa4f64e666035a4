// test_gdal_builtins.cpp: derived VRTs using the pixel functions the GDAL
// in use provides (more with every release: min/max/norm_diff in 3.8,
// expression and reclassify in 3.11, mean/median/mode in 3.12, quantile and
// area in 3.13) open through PVRT, split across threads, and return the
// bytes GDAL's own VRT driver returns. The list follows GDAL_VERSION_NUM, so
// each function is tested on every version of the matrix that has it.
//
// Builtin arguments, the values GDAL itself hands a pixel function:
// - `NoData` declared optional (honoured from 3.10; 3.6 fails a band without
//   NoData instead): the band's <NoDataValue> reaches pvrt's own functions
//   when they have no `nodata` argument, checked against a plain C++
//   reference on 3.10+, and is not passed on 3.6, where they behave as
//   before; GDAL's own NoData-aware builtins against the VRT driver.
// - `xoff`, `yoff`, `geotransform` (3.12; _CENTER_X_/_CENTER_Y_),
//   `source_names` (3.12; sources named by their `name` attribute in an
//   `expression`) and `crs` (3.13; the `area` function, which has no
//   source): a tile passes its own offset and its clone's own CRS.
// Python pixel functions stay with the VRT driver, nested ones too.
// Tests needing a newer GDAL skip with the version they need.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <utility>
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

// ---- Builtin NoData ------------------------------------------------------

// GDAL passes a band's <NoDataValue> to functions declaring the builtin
// `NoData` optional from 3.10 on (before, optional='true' is ignored and
// pvrt does not declare it: a band without NoData would fail).
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 10, 0)
const bool kNoDataPassed = true;
#else
const bool kNoDataPassed = false;
#endif

const double kNoData = -9999;

// Two Int16 sources with NoData pixels at different places (either, both
// or neither missing all occur).
double value_a(int x, int y)
{
    return (x + 3 * y) % 23 == 0 ? kNoData : (x * 7 + y * 3) % 2001 - 1000;
}
double value_b(int x, int y)
{
    return (2 * x + y) % 29 == 0 ? kNoData : (x * 5 + y * 11) % 1501 - 700;
}

// Writes a tiled Int16 GeoTIFF of W x H holding f(x, y) (no NoData of its
// own: only the VRT band's <NoDataValue> says what is missing); returns a
// <SimpleSource> for it.
std::string nodata_source(const std::string &name,
                          const std::function<double(int, int)> &f)
{
    const std::string path = scratch(name);
    const char *const opts[] = {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64",
                                nullptr};
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), W,
                                 H, 1, GDT_Int16, const_cast<char **>(opts));
    if (ds == nullptr)
        abort();
    std::vector<double> row(W);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++)
            row[x] = f(x, y);
        if (GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, y, W, 1,
                         row.data(), W, 1, GDT_Float64, 0, 0) != CE_None)
            abort();
    }
    GDALClose(ds);
    return simple_source(path, 1, W, H);
}

const std::vector<std::string> &nodata_sources()
{
    static const std::vector<std::string> s = {
        nodata_source("nodata_a.tif", value_a),
        nodata_source("nodata_b.tif", value_b)};
    return s;
}

std::string nodata_element(double v)
{
    return CPLSPrintf("<NoDataValue>%.17g</NoDataValue>", v);
}

// Equal values, NaN equal to NaN.
bool same_value(double a, double b)
{
    return a == b || (std::isnan(a) && std::isnan(b));
}

// Compares a whole band read as Float64 with want(x, y); describes the
// first difference and how many there are.
::testing::AssertionResult matches(const std::vector<double> &got,
                                   const std::function<double(int, int)> &want)
{
    if (got.size() != static_cast<size_t>(W) * H)
        return ::testing::AssertionFailure() << "size " << got.size();
    int bad = 0;
    std::string first;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const double g = got[static_cast<size_t>(y) * W + x];
            const double w = want(x, y);
            if (!same_value(g, w) && bad++ == 0)
                first = CPLSPrintf("(%d,%d): got %.17g, want %.17g (a=%g "
                                   "b=%g)",
                                   x, y, g, w, value_a(x, y), value_b(x, y));
        }
    if (bad == 0)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << bad << " pixels differ, first " << first;
}

struct PvrtNoDataCase {
    const char *func;
    const char *args;
    int nsources;
    // The pixel at (x, y) from a = value_a, b = value_b, for a band whose
    // NoData reaches the function (honoured) or not.
    std::function<double(double a, double b, bool honoured)> expect;
    // Without the band's NoData the read fails (NO_DATA in a mapping).
    bool fails_unhonoured;
};

std::vector<PvrtNoDataCase> pvrt_nodata_cases()
{
    const double nd = kNoData;
    return {
        {"pvrt_expr", "expr=\"B1 + B2\"", 2,
         [nd](double a, double b, bool h) {
             return h && (a == nd || b == nd) ? nd : a + b;
         },
         false},
        {"pvrt_reduce", "op=\"mean\"", 2,
         [nd](double a, double b, bool h) {
             if (!h)
                 return (a + b) / 2;
             double sum = 0;
             int n = 0;
             for (double v : {a, b})
                 if (v != nd) {
                     sum += v;
                     n++;
                 }
             return n == 0 ? nd : sum / n;
         },
         false},
        {"pvrt_index", "index=\"NDVI\" bands=\"red,nir\"", 2,
         [nd](double red, double nir, bool h) {
             const double fill = h ? nd : NAN;
             if (h && (red == nd || nir == nd))
                 return fill;
             return nir + red == 0 ? fill : (nir - red) / (nir + red);
         },
         false},
        {"pvrt_reclass", "mapping=\"NO_DATA=7; DEFAULT=PASS_THROUGH\"", 1,
         [nd](double a, double, bool) { return a == nd ? 7 : a; }, true},
    };
}

// The whole band into a buffer of half its size, as Float64.
Read half_read()
{
    Read r;
    r.w = W;
    r.h = H;
    r.buf_w = W / 2;
    r.buf_h = H / 2;
    r.buf_type = GDT_Float64;
    return r;
}

// Reads band 1 of a VRT through PVRT (split over 2 and 3 threads) and
// through the VRT driver, both whole at full resolution and 2x
// downsampled: PVRT's bytes must be GDAL's, and full reads match want (when
// set). With a needle, both full reads must fail with
// a message containing it. oracle_out receives the VRT driver's full read.
void check_vrt(const std::string &vrt,
               const std::function<double(int, int)> &want,
               const char *needle = nullptr,
               std::vector<double> *oracle_out = nullptr)
{
    std::vector<double> oracle;
    std::vector<GByte> oracle_small;
    {
        OracleScope scope;
        GDALDatasetH o = open_oracle(vrt);
        ASSERT_NE(o, nullptr);
        CPLPushErrorHandler(CPLQuietErrorHandler);
        const CPLErr err = read_band1(o, GDT_Float64, &oracle);
        CPLPopErrorHandler();
        if (needle) {
            EXPECT_EQ(err, CE_Failure) << "the VRT driver read it";
            EXPECT_NE(std::string(CPLGetLastErrorMsg()).find(needle),
                      std::string::npos)
                << CPLGetLastErrorMsg();
        } else {
            ASSERT_EQ(err, CE_None) << CPLGetLastErrorMsg();
            if (want) {
                EXPECT_TRUE(matches(oracle, want)) << "VRT driver";
            }
            ReadResult r = do_read(o, half_read());
            ASSERT_TRUE(r.ok) << r.error;
            oracle_small = r.bytes;
        }
        GDALClose(o);
    }
    for (int threads : {2, 3}) {
        SCOPED_TRACE(std::to_string(threads) + " threads");
        GDALDatasetH p =
            open_pvrt(vrt, {"NUM_THREADS=" + std::to_string(threads),
                            "MIN_TILE_PIXELS=1024"});
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(driver_name(p), "PVRT");
        std::vector<double> got;
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        const CPLErr err = read_band1(p, GDT_Float64, &got);
        CPLPopErrorHandler();
        if (needle) {
            EXPECT_EQ(err, CE_Failure) << "PVRT read it";
            EXPECT_NE(std::string(CPLGetLastErrorMsg()).find(needle),
                      std::string::npos)
                << CPLGetLastErrorMsg();
        } else {
            ASSERT_EQ(err, CE_None) << CPLGetLastErrorMsg();
            EXPECT_GT(last_read_tiles(p), 1) << "the read was not split";
            EXPECT_TRUE(got.size() == oracle.size() &&
                        memcmp(got.data(), oracle.data(),
                               got.size() * sizeof(double)) == 0)
                << "PVRT and the VRT driver differ (bytes)";
            if (want) {
                EXPECT_TRUE(matches(got, want)) << "PVRT";
            }
            ReadResult r = do_read(p, half_read());
            ASSERT_TRUE(r.ok) << r.error;
            EXPECT_EQ(r.bytes, oracle_small) << "2x downsampled";
        }
        GDALClose(p);
    }
    if (oracle_out)
        *oracle_out = std::move(oracle);
}

// pvrt's functions take the band's NoData through the builtin where GDAL
// passes it (3.10+) and are unchanged where it does not (3.6: no NoData
// unless given as `nodata`; a mapping naming NO_DATA fails).
TEST(GdalBuiltinNoData, PvrtFunctionsTakeTheBandNoData)
{
    const std::vector<std::string> &src = nodata_sources();
    for (const PvrtNoDataCase &c : pvrt_nodata_cases()) {
        SCOPED_TRACE(c.func);
        const std::string vrt = write_file(
            std::string("nodata_") + c.func + ".vrt",
            vrt_dataset(
                W, H,
                {derived_band(1, GDT_Float64, c.func,
                              std::vector<std::string>(
                                  src.begin(), src.begin() + c.nsources),
                              c.args, GDT_Float64, nodata_element(kNoData))}));
        if (!kNoDataPassed && c.fails_unhonoured) {
            check_vrt(vrt, nullptr, "nodata");
            continue;
        }
        const auto expect = c.expect;
        check_vrt(vrt, [expect](int x, int y) {
            return expect(value_a(x, y), value_b(x, y), kNoDataPassed);
        });
    }
}

// A `nodata` argument and a different band NoData: GDAL merges the builtin
// arguments and <PixelFunctionArguments> into one list whose names are
// compared ignoring case, so `nodata` and `NoData` are one entry and the
// function only ever sees one of them. Until 3.12 the VRT's own argument is
// set last and wins; 3.13 sets the builtins last (so a user cannot replace
// one, such as the `crs` pointer), and the band's NoData wins. PVRT reads
// what the VRT driver reads on each. (3.12 not checked: no chroot has it.)
TEST(GdalBuiltinNoData, OwnNoDataArgumentAgainstTheBandNoData)
{
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0)
    const double used = kNoData;
#else
    const double used = 0;
#endif
    const std::vector<std::string> &src = nodata_sources();
    const std::string vrt = write_file(
        "nodata_own.vrt",
        vrt_dataset(W, H,
                    {derived_band(1, GDT_Float64, "pvrt_expr", src,
                                  "expr=\"B1 + B2\" nodata=\"0\"", GDT_Float64,
                                  nodata_element(kNoData))}));
    check_vrt(vrt, [used](int x, int y) {
        const double a = value_a(x, y), b = value_b(x, y);
        return a == used || b == used ? used : a + b;
    });
}

// GDAL's own builtins that take NoData (optional) read the same through
// PVRT; each case's output depends on the NoData (checked), so the
// comparison is not vacuous.
TEST(GdalBuiltinNoData, GdalBuiltinsTakeTheBandNoData)
{
#if GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 10, 0)
    GTEST_SKIP() << "GDAL " << GDALVersionInfo("RELEASE_NAME")
                 << ": no builtin takes an optional NoData before 3.10";
#else
    struct Case {
        const char *func, *args;
    };
    std::vector<Case> cases = {{"min", ""},
                               {"max", "propagateNoData=\"true\""}};
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0)
    // NoData in the arithmetic builtins: read in the 3.13 sources.
    cases.push_back({"sum", "propagateNoData=\"true\""});
    cases.push_back({"mean", ""});
#endif
    const std::vector<std::string> &src = nodata_sources();
    for (const Case &c : cases) {
        SCOPED_TRACE(std::string(c.func) + " " + c.args);
        const std::string with = write_file(
            std::string("gdal_nodata_") + c.func + ".vrt",
            vrt_dataset(W, H,
                        {derived_band(1, GDT_Float64, c.func, src, c.args,
                                      GDT_Float64, nodata_element(kNoData))}));
        const std::string without =
            write_file(std::string("gdal_plain_") + c.func + ".vrt",
                       vrt_dataset(W, H,
                                   {derived_band(1, GDT_Float64, c.func, src,
                                                 c.args, GDT_Float64)}));
        std::vector<GByte> a, b;
        {
            OracleScope scope;
            GDALDatasetH o1 = open_oracle(with), o2 = open_oracle(without);
            ASSERT_NE(o1, nullptr);
            ASSERT_NE(o2, nullptr);
            ASSERT_EQ(read_band1(o1, GDT_Float64, &a), CE_None);
            ASSERT_EQ(read_band1(o2, GDT_Float64, &b), CE_None);
            GDALClose(o1);
            GDALClose(o2);
        }
        EXPECT_NE(a, b) << "the band's NoData changed nothing";
        check_vrt(with, nullptr);
    }
#endif
}

// ---- Position, names and CRS ---------------------------------------------

// 3.12: GDAL's `expression` names sources by their `name` attribute
// (builtin `source_names`; unnamed ones stay Bn).
TEST(GdalBuiltinArgs, SourceNamesInExpressions)
{
#if GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 12, 0)
    GTEST_SKIP() << "GDAL " << GDALVersionInfo("RELEASE_NAME")
                 << ": the source_names builtin is 3.12+";
#else
    std::vector<std::string> src = nodata_sources();
    auto name = [](std::string s, const char *n) {
        return s.replace(0, strlen("<SimpleSource"),
                         std::string("<SimpleSource name=\"") + n + "\"");
    };
    struct Case {
        const char *expression;
        std::vector<std::string> sources;
        std::function<double(double, double)> want;
    };
    const Case cases[] = {
        {"(nir - red) / (nir + red)",
         {name(src[0], "red"), name(src[1], "nir")},
         [](double red, double nir) { return (nir - red) / (nir + red); }},
        {"nir * 2 - B2",
         {name(src[0], "nir"), src[1]},
         [](double a, double b) { return a * 2 - b; }},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.expression);
        const std::string vrt = write_file(
            "names.vrt",
            vrt_dataset(W, H,
                        {derived_band(1, GDT_Float64, "expression", c.sources,
                                      std::string("expression=\"") +
                                          c.expression + "\"",
                                      GDT_Float64)}));
        const auto want = c.want;
        check_vrt(vrt, [want](int x, int y) {
            return want(value_a(x, y), value_b(x, y));
        });
    }
    // A name no source has: both fail, PVRT with an error, not a crash.
    const std::string bad = write_file(
        "names_bad.vrt",
        vrt_dataset(W, H,
                    {derived_band(1, GDT_Float64, "expression",
                                  {name(src[0], "red"), name(src[1], "nir")},
                                  "expression=\"nir - blue\"", GDT_Float64)}));
    check_vrt(bad, nullptr, "blue");
#endif
}

// 3.13: `area` (no source) takes the builtin `crs` (a pointer to the
// dataset's CRS, here each clone's own), `xoff`, `yoff` and
// `geotransform`: every tile gets its own cells' areas.
TEST(GdalBuiltinArgs, CrsInArea)
{
#if GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 13, 0)
    GTEST_SKIP() << "GDAL " << GDALVersionInfo("RELEASE_NAME")
                 << ": the crs builtin and `area` are 3.13+";
#else
    auto with_srs = [](std::string text, const char *srs) {
        const size_t at = text.find("<GeoTransform>");
        return text.insert(at, std::string("<SRS>") + srs + "</SRS>");
    };
    const std::string plain =
        vrt_dataset(W, H, {derived_band(1, GDT_Float64, "area", {})});
    const std::string vrt =
        write_file("area.vrt", with_srs(plain, "EPSG:32631"));
    std::vector<double> v;
    check_vrt(vrt, nullptr, nullptr, &v);
    // Not vacuous: 10 m cells of UTM 31N within 4 km of its central
    // meridian (scale factor 0.9996) are 100.08 m2 on the ellipsoid.
    ASSERT_EQ(v.size(), static_cast<size_t>(W) * H);
    for (size_t i = 0; i < v.size(); i += 997)
        ASSERT_TRUE(v[i] > 100.0 && v[i] < 100.2) << i << ": " << v[i];
    // Without an SRS both fail ("Raster has no crs").
    check_vrt(write_file("area_nosrs.vrt", plain), nullptr, "crs");
#endif
}

// ---- Python -----------------------------------------------------------------

// Python pixel functions stay with GDAL's VRT driver, at the top or nested
// as a source; with the PVRT: prefix PVRT opens them and reads serially,
// failing as GDAL fails (GDAL_VRT_ENABLE_PYTHON=NO here: no Python runs).
TEST(GdalBuiltinPython, Declined)
{
    const std::string py = write_file(
        "python.vrt",
        vrt_dataset(W, H,
                    {derived_band(1, GDT_Float64, "double_it",
                                  {nodata_sources()[0]}, "", GDT_Unknown,
                                  "<PixelFunctionLanguage>Python"
                                  "</PixelFunctionLanguage><PixelFunctionCode>"
                                  "<![CDATA[\ndef double_it(in_ar, out_ar, *a, "
                                  "**k):\n    out_ar[:] = in_ar[0] * 2\n]]>"
                                  "</PixelFunctionCode>")}));
    const std::string nested = write_file(
        "python_nested.vrt",
        vrt_dataset(
            W, H,
            {derived_band(1, GDT_Float64, "sum",
                          {simple_source(py, 1, W, H), nodata_sources()[1]})}));
    struct NoPython {
        NoPython()
        {
            CPLSetConfigOption("GDAL_VRT_ENABLE_PYTHON", "NO");
        }
        ~NoPython()
        {
            CPLSetConfigOption("GDAL_VRT_ENABLE_PYTHON", nullptr);
        }
    } no_python;
    for (const std::string &vrt : {py, nested}) {
        SCOPED_TRACE(vrt);
        GDALDatasetH d = open_pvrt(vrt);
        ASSERT_NE(d, nullptr);
        EXPECT_EQ(driver_name(d), "VRT");
        std::vector<double> v;
        CPLPushErrorHandler(CPLQuietErrorHandler);
        EXPECT_EQ(read_band1(d, GDT_Float64, &v), CE_Failure);
        CPLPopErrorHandler();
        const std::string gdal_error = CPLGetLastErrorMsg();
        EXPECT_NE(gdal_error.find("Python"), std::string::npos) << gdal_error;
        GDALClose(d);

        GDALDatasetH p = open_pvrt("PVRT:" + vrt, {"NUM_THREADS=2"});
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(driver_name(p), "PVRT");
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        EXPECT_EQ(read_band1(p, GDT_Float64, &v), CE_Failure);
        CPLPopErrorHandler();
        EXPECT_EQ(CPLGetLastErrorMsg(), gdal_error);
        GDALClose(p);
    }
}

} // namespace
