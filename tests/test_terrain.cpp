// test_terrain.cpp: the pvrt_terrain kernel against the installed gdaldem.
//
// Each DEM is written as a GeoTIFF (Float32, Int16, Byte, Float64; NoData
// holes, NaN NoData, values within GDAL's tolerance of NoData, no NoData;
// odd sizes, square and non-square pixels), gdaldem runs on it for every op
// and option with and without -compute_edges, the kernel runs on the whole
// DEM read as Float64, and its doubles converted by GDALCopyWords to
// gdaldem's output type must equal gdaldem's file byte for byte. Then: tiles
// of many sizes with clamped halos give the whole-raster result, the output
// NoData follows the band's, and bad arguments fail naming the argument.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "neighbourhood.h"
#include "pf_testutil.h"
#include "terrain_testutil.h"
#include "testutil.h"

using namespace pvrt_test;

namespace
{

bool integer_type(GDALDataType t)
{
    return t == GDT_Byte || t == GDT_Int16 || t == GDT_UInt16;
}

// A geometry of only a pixel size.
pvrt_nbhd_geo pixel_geo(double pixel_w, double pixel_h)
{
    pvrt_nbhd_geo g;
    memset(&g, 0, sizeof g);
    g.pixel_w = pixel_w;
    g.pixel_h = pixel_h;
    return g;
}

pvrt_nbhd_geo geo_of(const Dem &dem, int has_nodata, double nodata)
{
    pvrt_nbhd_geo g = pixel_geo(dem.spec.gt[1], dem.spec.gt[5]);
    g.has_src_nodata = dem.spec.has_nodata;
    g.src_nodata = dem.spec.nodata;
    g.has_nodata = has_nodata;
    g.nodata = nodata;
    g.src_type = dem.spec.type;
    return g;
}

pvrt_nbhd *make_kernel(const std::vector<std::string> &args,
                       const pvrt_nbhd_geo &geo)
{
    CPLStringList list;
    for (const auto &a : args)
        list.AddString(a.c_str());
    return pvrt_nbhd_new("pvrt_terrain", list.List(), &geo);
}

// The kernel over the whole DEM (ox = oy = 0, no halo beyond the raster):
// on the DEM's doubles, or on `values` (float input) when given.
std::vector<double> run_whole(const Dem &dem,
                              const std::vector<std::string> &args,
                              const pvrt_nbhd_geo &geo,
                              const std::vector<float> *values = nullptr)
{
    const int w = dem.spec.width, h = dem.spec.height;
    std::vector<double> out((size_t)w * h, 12345.0);
    pvrt_nbhd *k = make_kernel(args, geo);
    EXPECT_NE(k, nullptr) << CPLGetLastErrorMsg();
    if (k == nullptr)
        return {};
    EXPECT_EQ(pvrt_nbhd_radius(k), 1);
    if (values) {
        EXPECT_TRUE(pvrt_nbhd_takes_float(k));
        EXPECT_EQ(pvrt_nbhd_compute_float(k, values->data(), w, h, 0, 0,
                                          out.data(), w, h),
                  0);
    } else {
        EXPECT_EQ(pvrt_nbhd_compute(k, dem.values.data(), w, h, 0, 0,
                                    out.data(), w, h),
                  0);
    }
    pvrt_nbhd_free(k);
    return out;
}

// The DEM file read straight into float, as the PVRT driver reads a plain
// source for pvrt_terrain (pvrt_nbhd_compute_float).
std::vector<float> read_float(const Dem &dem)
{
    const int w = dem.spec.width, h = dem.spec.height;
    std::vector<float> v((size_t)w * h);
    GDALDatasetH ds = GDALOpen(dem.path.c_str(), GA_ReadOnly);
    EXPECT_NE(ds, nullptr) << dem.path;
    if (ds == nullptr)
        return {};
    EXPECT_EQ(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, w, h,
                           v.data(), w, h, GDT_Float32, 0, 0),
              CE_None);
    GDALClose(ds);
    return v;
}

// gdaldem takes its simplified Horn hillshade (square pixels) four pixels at
// a time in SSE2 wherever none of the three rows has NoData; the kernel
// follows its scalar formula, and cannot tell which pixels gdaldem takes
// the SIMD way (that depends on the NoData of the whole rows and on the
// column's place in the row). Up to GDAL 3.12 that path exists for integer
// DEMs only and differs from the scalar formula by one rounding (it rounds
// the shade to float before adding 1): at most one float ulp, so a byte
// differs (by 1) only where one of the two is exactly n + 0.5. GDAL 3.13
// takes float DEMs that way too, with rsqrtps and one Newton-Raphson step
// where its scalar formula divides by the square root: a relative error
// under 4e-7 (1.5 * (1.5 * 2^-12)^2 plus float roundings), at most 1e-4 on
// a shade of at most 255, so a byte differs only where the shade is within
// 1e-4 of n + 0.5. Those are the only tolerated differences, each checked
// to be that case.
const bool kSimdFloatDems = GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0);

bool simd_rounding_case(double ours_f, double theirs_b, double ours_b)
{
    if (std::fabs(theirs_b - ours_b) != 1)
        return false;
    const float v = (float)ours_f;
    const float half = std::floor(v - 0.5f) + 0.5f; // the n + 0.5 below v
    const float above = half + 1.0f;
    if (kSimdFloatDems)
        return std::fabs(v - half) <= 1e-4 || std::fabs(v - above) <= 1e-4;
    auto near = [v](float h) { return v == h || std::nextafter(v, h) == h; };
    return near(half) || near(above);
}

// Compares every case on one DEM, through the kernel's double input (the
// DEM read as Float64) and its float input (read as Float32); returns the
// number of tolerated SIMD rounding differences (see above).
int check_dem(const Dem &dem, const std::string &tag)
{
    int tolerated = 0;
    const int w = dem.spec.width;
    int index = 0;
    const std::vector<float> as_float = read_float(dem);
    for (const TerrainCase &c : terrain_cases()) {
        SCOPED_TRACE(tag + ": " + describe(c));
        const Oracle o = run_gdaldem(c.mode, dem, c.options,
                                     tag + std::to_string(index++) + ".tif");
        EXPECT_TRUE(o.ok) << o.log;
        if (!o.ok)
            continue;

        // As a VRT band with gdaldem's NoData (if it declares one), and as
        // one without: both write gdaldem's own NoData.
        for (int form = 0; form < 4; form++) {
            const int declared = form & 1, float_input = form >> 1;
            if (declared && !o.has_nodata)
                continue;
            SCOPED_TRACE(std::string(declared ? "output NoData declared"
                                              : "no output NoData") +
                         (float_input ? ", float input" : ", double input"));
            const pvrt_nbhd_geo geo = geo_of(dem, declared, o.nodata);
            const auto ours =
                run_whole(dem, c.args, geo, float_input ? &as_float : nullptr);
            if (ours.empty())
                continue;
            const auto bytes = to_type(ours, o.type);
            auto bad = mismatches(o.bytes, bytes, o.type);
            if (!bad.empty() && c.plain_horn_hillshade &&
                (integer_type(dem.spec.type) || kSimdFloatDems) &&
                dem.spec.gt[1] == -dem.spec.gt[5]) {
                std::vector<size_t> rest;
                for (size_t i : bad) {
                    const int x = (int)(i % w), y = (int)(i / w);
                    const bool interior =
                        x > 0 && y > 0 && x < w - 1 && y < dem.spec.height - 1;
                    if (interior && simd_rounding_case(
                                        ours[i], value_at(o.bytes, o.type, i),
                                        value_at(bytes, o.type, i)))
                        tolerated++;
                    else
                        rest.push_back(i);
                }
                bad = rest;
            }
            EXPECT_TRUE(bad.empty())
                << list_mismatches(bad, o.bytes, bytes, o.type, w);
        }
    }
    return tolerated;
}

// Writes the DEM as <name>.tif and compares it with gdaldem (check_dem),
// with at most `max_tolerated` SIMD rounding differences (see above).
void check_spec(const std::string &name, const DemSpec &spec, int max_tolerated)
{
    const Dem dem = write_dem(name + ".tif", spec);
    const int tolerated = check_dem(dem, name + "_");
    EXPECT_LE(tolerated, max_tolerated);
    if (tolerated)
        printf("[ INFO ] %s: %d byte(s) off by 1 from gdaldem's SIMD "
               "rounding\n",
               name.c_str(), tolerated);
}

// The DEMs compared with gdaldem, one test each
// (TerrainGdaldem/TerrainGdaldemDem.SameBytes/<name>).
struct DemCase {
    const char *name; // the test's, and its files'
    DemSpec spec;
    int max_tolerated; // SIMD rounding differences (see above)
};

void PrintTo(const DemCase &c, std::ostream *os)
{
    *os << c.name;
}

// GDAL 3.13 takes float DEMs with square pixels through its SIMD hillshade
// where rows have no NoData; each pixel counts once per input form (double
// and float).
const int kFloatSimd = kSimdFloatDems ? 8 : 0;

const DemCase kDems[] = {
    {"Float32NonSquarePixels",
     dem_spec(GDT_Float32, -9999, 97, 61, 30, -20, 1, NEAR_NODATA), 0},
    {"Float32SquarePixelsNoNoData",
     dem_spec(GDT_Float32, -9999, 64, 33, 25, -25, 2, NO_NODATA | NO_HOLES),
     kFloatSimd},
    {"Float32NanNoData",
     dem_spec(GDT_Float32, NAN, 41, 29, 10, -10, 3, NAN_HOLES), 0},
    {"Float64", dem_spec(GDT_Float64, -9999, 37, 23, 30, -20, 4), 0},
    {"Int16NonSquarePixels", dem_spec(GDT_Int16, -32768, 97, 61, 30, -20, 5),
     0},
    // Rows without NoData: gdaldem's SIMD path. 3 plain Horn hillshade
    // cases x 2 edge modes x 2 NoData forms x 2 input forms over ~60000
    // interior pixels: a shade at n + 0.5 (within 1e-4 on 3.13) is rare;
    // measured 0 on 3.6.2 and on 3.13.3.
    {"Int16SquarePixels",
     dem_spec(GDT_Int16, -32768, 301, 201, 30, -30, 6, NO_NODATA | NO_HOLES),
     24},
    // South-up: gdaldem's signs follow gt[5].
    {"ByteSouthUp", dem_spec(GDT_Byte, 0, 23, 17, 2, 3, 7), 0},
    {"Planes",
     dem_spec(GDT_Float32, -9999, 73, 67, 10, -10, 15, PLANES | NO_HOLES), 0},
    // Enough pixels that a difference of a few float ulps in a hillshade
    // shows in its bytes.
    {"LargeFloat32",
     dem_spec(GDT_Float32, -9999, 401, 301, 30, -20, 16, NEAR_NODATA), 0},
    // gdaldem's simplified Horn hillshade over many pixels, with NoData
    // holes (single pixels, a block, the edges) and values within
    // tolerance of NoData: the kernel's four-pixel runs start and stop at
    // every distance from a NoData pixel. 3.13 takes rows without NoData
    // (a few here) its SIMD way.
    {"LargeFloat32SquarePixels",
     dem_spec(GDT_Float32, -9999, 403, 211, 30, -30, 17, NEAR_NODATA),
     kFloatSimd},
    // NaN values in a DEM without NoData are data: they propagate through
    // the formulas as gdaldem's.
    {"Float32NanValuesWithoutNoData",
     dem_spec(GDT_Float32, -9999, 57, 39, 20, -20, 18, NO_NODATA | NAN_HOLES),
     0},
    // gdaldem's SIMD path on rows without NoData.
    {"Int16SquarePixelsHoles",
     dem_spec(GDT_Int16, -32768, 151, 97, 30, -30, 19), 24},
};

class TerrainGdaldemDem : public ::testing::TestWithParam<DemCase>
{
};

TEST_P(TerrainGdaldemDem, SameBytes)
{
    check_spec(GetParam().name, GetParam().spec, GetParam().max_tolerated);
}

INSTANTIATE_TEST_SUITE_P(TerrainGdaldem, TerrainGdaldemDem,
                         ::testing::ValuesIn(kDems),
                         [](const ::testing::TestParamInfo<DemCase> &i) {
                             return i.param.name;
                         });

TEST(TerrainGdaldem, NarrowRasters)
{
    // Widths and heights of 3 to 13: interior rows of 1 to 11 pixels,
    // shorter and longer than the kernel's four-pixel steps, with and
    // without NoData, square and non-square pixels.
    const int sizes[][2] = {{3, 3}, {4, 3}, {3, 7}, {5, 4},
                            {6, 6}, {7, 3}, {9, 5}, {13, 4}};
    int n = 0;
    for (const auto &sz : sizes) {
        for (int holes = 0; holes < 2; holes++) {
            const std::string name = "narrow" + std::to_string(sz[0]) + "x" +
                                     std::to_string(sz[1]) + (holes ? "h" : "");
            check_spec(name,
                       dem_spec(GDT_Float32, -9999, sz[0], sz[1],
                                n % 2 ? 20 : 30, -20, 20 + n,
                                holes ? 0 : NO_HOLES),
                       kSimdFloatDems ? 2 : 0);
            n++;
        }
    }
}

TEST(TerrainGdaldem, TinyRasters)
{
    // 1xN, Nx1 and 2x2: gdaldem writes NoData, or extrapolates with
    // -compute_edges only where both sizes are at least 2.
    const int sizes[][2] = {{1, 1}, {1, 5}, {6, 1}, {2, 2}, {2, 3}, {3, 2}};
    for (const auto &sz : sizes)
        check_spec(
            "tiny" + std::to_string(sz[0]) + "x" + std::to_string(sz[1]),
            dem_spec(GDT_Float32, -9999, sz[0], sz[1], 30, -20, 8, NO_HOLES),
            0);
}

TEST(TerrainGdaldem, LibraryCallIsTheProgram)
{
    // The suites call gdaldem as a library (GDALDEMProcessing, what the
    // gdaldem program runs); the program's own files are the same, and the
    // kernel matches them too.
    const DemSpec s = dem_spec(GDT_Int16, -32768, 45, 27, 30, -20, 14);
    const Dem dem = write_dem("prog.tif", s);
    const TerrainCase cases[] = {
        {"hillshade",
         "-multidirectional -compute_edges",
         {"op=hillshade", "mode=multidirectional", "edges=compute"}},
        {"slope", "-p", {"op=slope", "unit=percent"}},
        {"aspect",
         "-zero_for_flat -compute_edges",
         {"op=aspect", "zero_for_flat=yes", "edges=compute"}},
        {"TRI", "-alg Wilson", {"op=tri", "tri_alg=Wilson"}},
    };
    int index = 0;
    for (const auto &c : cases) {
        SCOPED_TRACE(describe(c));
        const Oracle lib = run_gdaldem(c.mode, dem, c.options, "lib.tif");
        const Oracle prog = run_gdaldem_program(
            c.mode, dem, c.options, "prog" + std::to_string(index++) + ".tif");
        ASSERT_TRUE(lib.ok) << lib.log;
        ASSERT_TRUE(prog.ok) << prog.log;
        EXPECT_EQ(lib.type, prog.type);
        EXPECT_EQ(lib.has_nodata, prog.has_nodata);
        EXPECT_TRUE(lib.bytes == prog.bytes);
        const auto ours =
            run_whole(dem, c.args, geo_of(dem, prog.has_nodata, prog.nodata));
        const auto bytes = to_type(ours, prog.type);
        const auto bad = mismatches(prog.bytes, bytes, prog.type);
        EXPECT_TRUE(bad.empty())
            << list_mismatches(bad, prog.bytes, bytes, prog.type, s.width);
    }
}

// ---- Integer path: what only the DEM's type tells ---------------------------

TEST(TerrainGdaldem, IntegerPathNoDataRules)
{
    const Dem dem = write_integer_path_dem("i16nd.tif");
    EXPECT_EQ(check_dem(dem, "i16nd_"), 0);

    // The same DEM as Float32 goes gdaldem's float way: other results, so
    // the case above does tell the two paths apart.
    const Dem as_float = retype_dem(dem, GDT_Float32, "f32nd.tif");
    const TerrainCase c = {
        "slope", "-compute_edges", {"op=slope", "edges=compute"}};
    const Oracle i = run_gdaldem(c.mode, dem, c.options, "i16nd_a.tif");
    const Oracle f = run_gdaldem(c.mode, as_float, c.options, "f32nd_a.tif");
    ASSERT_TRUE(i.ok && f.ok);
    EXPECT_FALSE(i.bytes == f.bytes);
}

// ---- Tiles: clamped halos give the whole-raster result --------------------

TEST(TerrainTiles, AnySplitEqualsWhole)
{
    const DemSpec s =
        dem_spec(GDT_Float32, -9999, 53, 31, 30, -20, 10, NEAR_NODATA);
    const Dem dem = write_dem("tiles.tif", s);
    const std::vector<float> as_float = read_float(dem);
    const int W = s.width, H = s.height;
    const int tiles[][2] = {{1, 1},  {1, 7},  {7, 1},   {2, 2},
                            {3, 5},  {7, 5},  {16, 9},  {31, 17},
                            {53, 1}, {1, 31}, {52, 30}, {53, 31}};
    const auto cases = terrain_cases();
    for (size_t ci = 0; ci < cases.size(); ci++) {
        const TerrainCase &c = cases[ci];
        SCOPED_TRACE(describe(c));
        const pvrt_nbhd_geo geo = geo_of(dem, 1, -7777);
        const auto whole = run_whole(dem, c.args, geo);
        ASSERT_FALSE(whole.empty());
        pvrt_nbhd *k = make_kernel(c.args, geo);
        ASSERT_NE(k, nullptr);
        for (const auto &t : tiles) {
            const int tw = t[0], th = t[1];
            SCOPED_TRACE("tile " + std::to_string(tw) + "x" +
                         std::to_string(th));
            int bad = 0;
            for (int ty = 0; ty < H; ty += th) {
                for (int tx = 0; tx < W; tx += tw) {
                    const int ow = std::min(tw, W - tx),
                              oh = std::min(th, H - ty);
                    const int x0 = std::max(0, tx - 1),
                              y0 = std::max(0, ty - 1);
                    const int x1 = std::min(W, tx + ow + 1),
                              y1 = std::min(H, ty + oh + 1);
                    const int iw = x1 - x0, ih = y1 - y0;
                    std::vector<double> in((size_t)iw * ih);
                    std::vector<float> in_f((size_t)iw * ih);
                    for (int y = 0; y < ih; y++) {
                        memcpy(&in[(size_t)y * iw],
                               &dem.values[(size_t)(y0 + y) * W + x0],
                               sizeof(double) * iw);
                        memcpy(&in_f[(size_t)y * iw],
                               &as_float[(size_t)(y0 + y) * W + x0],
                               sizeof(float) * iw);
                    }
                    std::vector<double> out((size_t)ow * oh);
                    std::vector<double> out_f((size_t)ow * oh);
                    ASSERT_EQ(pvrt_nbhd_compute(k, in.data(), iw, ih, tx - x0,
                                                ty - y0, out.data(), ow, oh),
                              0);
                    ASSERT_EQ(pvrt_nbhd_compute_float(k, in_f.data(), iw, ih,
                                                      tx - x0, ty - y0,
                                                      out_f.data(), ow, oh),
                              0);
                    for (int y = 0; y < oh; y++)
                        for (int x = 0; x < ow; x++) {
                            const double v =
                                whole[(size_t)(ty + y) * W + tx + x];
                            if (!same(out[(size_t)y * ow + x], v) ||
                                !same(out_f[(size_t)y * ow + x], v))
                                bad++;
                        }
                }
            }
            EXPECT_EQ(bad, 0);
        }
        pvrt_nbhd_free(k);
    }
}

TEST(TerrainTiles, WindowInsideALargerInput)
{
    // The output window anywhere inside a larger input (ox, oy > 1):
    // only the neighbours matter.
    const Dem dem = write_dem(
        "inside.tif", dem_spec(GDT_Float32, -9999, 30, 20, 30, -20, 11));
    const pvrt_nbhd_geo geo = geo_of(dem, 0, 0);
    for (const char *op : {"op=hillshade", "op=slope", "op=tri"}) {
        for (const char *edges : {"edges=nodata", "edges=compute"}) {
            const std::vector<std::string> args = {op, edges};
            const auto whole = run_whole(dem, args, geo);
            pvrt_nbhd *k = make_kernel(args, geo);
            ASSERT_NE(k, nullptr);
            std::vector<double> out(5 * 4);
            ASSERT_EQ(pvrt_nbhd_compute(k, dem.values.data(), 30, 20, 9, 7,
                                        out.data(), 5, 4),
                      0);
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 5; x++)
                    EXPECT_TRUE(same(out[y * 5 + x],
                                     whole[(size_t)(7 + y) * 30 + 9 + x]))
                        << op << " " << edges << " (" << x << ", " << y << ")";
            pvrt_nbhd_free(k);
        }
    }
}

// ---- Output NoData ---------------------------------------------------------

TEST(TerrainNoData, BandNoDataReplacesGdaldems)
{
    // Where gdaldem writes its NoData (0 for hillshade, -9999 otherwise),
    // the kernel writes the band's; everywhere else the same value.
    const Dem dem = write_dem(
        "ndout.tif", dem_spec(GDT_Float32, -9999, 31, 19, 30, -20, 12));
    const struct {
        std::vector<std::string> args;
        double gdaldem_nodata, band_nodata;
    } cases[] = {
        {{"op=hillshade"}, 0, 255},
        {{"op=slope", "edges=compute"}, -9999, -1.5},
        {{"op=aspect"}, -9999, 1e30},
        {{"op=tri"}, -9999, NAN},
        {{"op=roughness", "edges=compute"}, -9999, 42},
    };
    for (const auto &c : cases) {
        const auto theirs = run_whole(dem, c.args, geo_of(dem, 0, 0));
        const auto ours = run_whole(dem, c.args, geo_of(dem, 1, c.band_nodata));
        ASSERT_EQ(theirs.size(), ours.size());
        int replaced = 0;
        for (size_t i = 0; i < ours.size(); i++) {
            if (theirs[i] == c.gdaldem_nodata) {
                EXPECT_TRUE(same(ours[i], c.band_nodata)) << i;
                replaced++;
            } else {
                EXPECT_TRUE(same(ours[i], theirs[i])) << i;
            }
        }
        EXPECT_GT(replaced, 0) << c.args[0];
    }
}

TEST(TerrainNoData, InputNoDataComesFromGeo)
{
    // geo->src_nodata (the DEM's, or the function's `nodata` argument
    // folded in by the caller) is the input NoData: a DEM without NoData
    // computed with geo saying -9999 equals gdaldem on the DEM with it.
    const Dem with = write_dem(
        "srcnd.tif", dem_spec(GDT_Float32, -9999, 25, 21, 30, -20, 13));
    Dem without = with;
    without.spec.has_nodata = false;
    for (const char *op : {"op=slope", "op=tpi"}) {
        pvrt_nbhd_geo g = geo_of(without, 0, 0);
        g.has_src_nodata = 1;
        g.src_nodata = -9999;
        const std::vector<std::string> args = {op, "nodata=-9999"};
        const auto a = run_whole(without, args, g);
        const auto b = run_whole(with, {op}, geo_of(with, 0, 0));
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); i++)
            EXPECT_TRUE(same(a[i], b[i])) << op << " " << i;
    }
}

// ---- Bad arguments and calls -----------------------------------------------

struct BadArgs {
    std::vector<std::string> args;
    std::vector<std::string> must_mention;
};

class CaptureErrors
{
  public:
    CaptureErrors()
    {
        CPLPushErrorHandlerEx(handler, this);
    }
    ~CaptureErrors()
    {
        CPLPopErrorHandler();
    }
    std::vector<std::string> messages;
    int failures = 0;

  private:
    static void CPL_STDCALL handler(CPLErr cls, CPLErrorNum, const char *msg)
    {
        auto *self = static_cast<CaptureErrors *>(CPLGetErrorHandlerUserData());
        self->messages.push_back(msg);
        if (cls == CE_Failure)
            self->failures++;
    }
};

TEST(TerrainBadInput, ArgumentsNamedInTheError)
{
    const std::vector<BadArgs> cases = {
        {{}, {"'op'", "hillshade"}},
        {{"op="}, {"'op'"}},
        {{"op=shade"}, {"'op'", "shade", "roughness"}},
        {{"op=color-relief"}, {"'op'", "color-relief"}},
        {{"op=hillshade", "alg=Zevenbergen"}, {"'alg'", "Zevenbergen"}},
        {{"op=slope", "alg="}, {"'alg'"}},
        {{"op=tri", "alg=Horn"}, {"'alg'", "op=tri"}},
        {{"op=tpi", "alg=ZevenbergenThorne"}, {"'alg'", "op=tpi"}},
        {{"op=hillshade", "z=abc"}, {"'z'", "abc"}},
        {{"op=hillshade", "z=nan"}, {"'z'", "finite"}},
        {{"op=hillshade", "z=inf"}, {"'z'"}},
        {{"op=slope", "z=2"}, {"'z'", "op=slope"}},
        {{"op=hillshade", "scale=0"}, {"'scale'", "positive"}},
        {{"op=slope", "scale=-1"}, {"'scale'"}},
        {{"op=slope", "scale=1e999"}, {"'scale'"}},
        {{"op=aspect", "scale=2"}, {"'scale'", "op=aspect"}},
        {{"op=hillshade", "azimuth=north"}, {"'azimuth'"}},
        {{"op=hillshade", "azimuth=-inf"}, {"'azimuth'"}},
        {{"op=slope", "azimuth=315"}, {"'azimuth'", "op=slope"}},
        {{"op=hillshade", "altitude=45deg"}, {"'altitude'"}},
        {{"op=aspect", "altitude=45"}, {"'altitude'", "op=aspect"}},
        {{"op=hillshade", "mode=multi"}, {"'mode'", "multidirectional"}},
        {{"op=hillshade", "mode=combined,igor"}, {"'mode'"}},
        {{"op=slope", "mode=igor"}, {"'mode'", "op=slope"}},
        {{"op=hillshade", "mode=multidirectional", "azimuth=315"},
         {"'azimuth'", "multidirectional"}},
        {{"op=hillshade", "mode=igor", "altitude=30"}, {"'altitude'", "igor"}},
        {{"op=slope", "unit=radians"}, {"'unit'", "radians", "percent"}},
        {{"op=hillshade", "unit=percent"}, {"'unit'", "op=hillshade"}},
        {{"op=aspect", "trigonometric=maybe"}, {"'trigonometric'", "maybe"}},
        {{"op=slope", "trigonometric=yes"}, {"'trigonometric'", "op=slope"}},
        {{"op=aspect", "zero_for_flat=2"}, {"'zero_for_flat'"}},
        {{"op=hillshade", "zero_for_flat=yes"}, {"'zero_for_flat'"}},
        {{"op=tri", "tri_alg=Valentine"}, {"'tri_alg'", "Valentine"}},
        {{"op=roughness", "tri_alg=Wilson"}, {"'tri_alg'", "op=roughness"}},
        {{"op=slope", "edges=extrapolate"}, {"'edges'", "compute"}},
        {{"op=slope", "edges="}, {"'edges'"}},
        {{"op=slope", "azimith=315"}, {"'azimith'", "unknown"}},
        {{"op=hillshade", "compute_edges=yes"}, {"'compute_edges'", "unknown"}},
        {{"op=hillshade", "s=2"}, {"'s'", "unknown"}},
        {{"op=hillshade", "bogus"}, {"'bogus'", "unknown"}},
        {{"op=hillshade", "=3"}, {"''", "unknown"}},
        {{"op=tpi", "radius=2"}, {"'radius'", "unknown"}},
    };
    const pvrt_nbhd_geo geo = pixel_geo(30, -30);
    for (const auto &c : cases) {
        std::string what;
        for (const auto &a : c.args)
            what += a + " ";
        SCOPED_TRACE(what);
        CaptureErrors errors;
        pvrt_nbhd *k = make_kernel(c.args, geo);
        EXPECT_EQ(k, nullptr);
        pvrt_nbhd_free(k);
        ASSERT_EQ(errors.failures, 1);
        const std::string &msg = errors.messages[0];
        EXPECT_NE(msg.find("pvrt_terrain"), std::string::npos) << msg;
        for (const auto &m : c.must_mention)
            EXPECT_NE(msg.find(m), std::string::npos)
                << "'" << m << "' not in: " << msg;
    }
    EXPECT_GE(cases.size(), 30u);
}

TEST(TerrainBadInput, PixelSize)
{
    const double bad[][2] = {{0, -30}, {30, 0}, {NAN, -30}, {30, INFINITY}};
    for (const auto &p : bad) {
        const pvrt_nbhd_geo geo = pixel_geo(p[0], p[1]);
        CaptureErrors errors;
        EXPECT_EQ(make_kernel({"op=slope"}, geo), nullptr);
        ASSERT_EQ(errors.failures, 1);
        EXPECT_NE(errors.messages[0].find("pixel size"), std::string::npos)
            << errors.messages[0];
    }
}

TEST(TerrainBadInput, ExtremePixelSizesAndScales)
{
    // Resolutions whose product with the scale, or whose float, is 0 or
    // infinite: computed (as gdaldem would, to 0, inf or NaN), no division
    // by zero (a trap in the sanitizer builds) and no crash.
    const double sizes[][2] = {
        {1e-300, -1e-300}, {1e-40, -1e-40}, {1e300, -1e300}, {5e-324, 5e-324}};
    std::vector<double> in(25);
    for (int i = 0; i < 25; i++)
        in[i] = 100 + 7 * (i % 5) - 3 * (i / 5);
    std::vector<double> out(9);
    for (const auto &p : sizes) {
        for (const char *scale : {"1", "1e-300", "1e300"}) {
            const pvrt_nbhd_geo geo = pixel_geo(p[0], p[1]);
            for (const char *op : {"op=hillshade", "op=slope"}) {
                pvrt_nbhd *k =
                    make_kernel({op, std::string("scale=") + scale}, geo);
                ASSERT_NE(k, nullptr) << CPLGetLastErrorMsg();
                EXPECT_EQ(pvrt_nbhd_compute(k, in.data(), 5, 5, 1, 1,
                                            out.data(), 3, 3),
                          0);
                pvrt_nbhd_free(k);
            }
        }
    }
}

TEST(TerrainBadInput, WindowOutsideInput)
{
    const pvrt_nbhd_geo geo = pixel_geo(1, -1);
    pvrt_nbhd *k = make_kernel({"op=slope"}, geo);
    ASSERT_NE(k, nullptr);
    std::vector<double> in(16, 1.0), out(16);
    const int bad[][6] = {// in_w, in_h, ox, oy, out_w, out_h
                          {4, 4, 1, 1, 4, 3},
                          {4, 4, -1, 0, 2, 2},
                          {4, 4, 0, 3, 1, 2},
                          {4, 4, 0, 0, -1, 1}};
    for (const auto &b : bad) {
        CaptureErrors errors;
        EXPECT_EQ(pvrt_nbhd_compute(k, in.data(), b[0], b[1], b[2], b[3],
                                    out.data(), b[4], b[5]),
                  -1);
        EXPECT_EQ(errors.failures, 1);
    }
    pvrt_nbhd_free(k);
}

TEST(TerrainArgs, AcceptedSpellings)
{
    // Names and choices in any case; GDAL's builtin argument names (which
    // pvrt_terrain's empty metadata never makes GDAL pass) are ignored.
    const pvrt_nbhd_geo geo = pixel_geo(30, -30);
    const std::vector<std::vector<std::string>> ok = {
        {"OP=HillShade", "ALG=zevenbergenthorne", "Mode=Igor"},
        {"op=hillshade", "mode="},
        {"op=aspect", "trigonometric=TRUE", "zero_for_flat=0"},
        {"op=tri", "tri_alg=wilson", "edges=COMPUTE"},
        {"op=slope", "nodata=-9999", "NoData=0", "xoff=10", "yoff=20",
         "geotransform=0,1,0,0,0,-1", "source_names=B1", "crs=1234",
         "offset=0"},
    };
    for (const auto &args : ok) {
        pvrt_nbhd *k = make_kernel(args, geo);
        EXPECT_NE(k, nullptr) << args[0] << ": " << CPLGetLastErrorMsg();
        pvrt_nbhd_free(k);
    }
}

} // namespace
