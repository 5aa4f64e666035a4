// terrain_testutil.h: the gdaldem oracle shared by test_terrain (kernel)
// and test_terrain_driver (through the PVRT driver).
//
// DEMs written as GeoTIFFs (a smooth surface with noise, a flat plateau,
// NoData holes inside and on the edges, optionally values within GDAL's
// float tolerance of NoData), the installed gdaldem run on them, and the
// table of gdaldem invocations with the pvrt_terrain arguments that must
// give the same bytes.
#ifndef PVRT_TERRAIN_TESTUTIL_H
#define PVRT_TERRAIN_TESTUTIL_H

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_utils.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "pf_testutil.h"
#include "testutil.h"

namespace pvrt_test
{

struct DemSpec {
    GDALDataType type = GDT_Float32;
    int width = 97, height = 61;
    double gt[6] = {500000, 30, 0, 4100000, 0, -20}; // non-square, north-up
    bool has_nodata = true;
    double nodata = -9999;
    int seed = 1;
    bool holes = true;        // NoData pixels inside and on the edges
    bool near_nodata = false; // values within ARE_REAL_EQUAL of NoData
    bool nan_holes = false;   // holes are NaN (Float types)
    // Planes in 6x6 blocks instead of hills: slopes along one axis only,
    // opposite, tiny (one float ulp a row) and none, so aspect meets its
    // axes, its wrap to 360 and flat windows (Float types).
    bool planes = false;
};

// What differs from DemSpec's defaults, for dem_spec.
constexpr unsigned NO_NODATA = 1;   // no NoData declared
constexpr unsigned NO_HOLES = 2;    // no NoData (or NaN) holes
constexpr unsigned NEAR_NODATA = 4; // values within GDAL's tolerance of NoData
constexpr unsigned NAN_HOLES = 8;   // the holes are NaN
constexpr unsigned PLANES = 16;     // planes instead of hills

// A DemSpec in one call: the type and NoData, size, pixel size
// (geotransform[1] and [5]), seed, and flags.
inline DemSpec dem_spec(GDALDataType type, double nodata, int width, int height,
                        double pixel_w, double pixel_h, int seed,
                        unsigned flags = 0)
{
    DemSpec s;
    s.type = type;
    s.nodata = nodata;
    s.width = width, s.height = height;
    s.gt[1] = pixel_w, s.gt[5] = pixel_h;
    s.seed = seed;
    s.has_nodata = !(flags & NO_NODATA);
    s.holes = !(flags & NO_HOLES);
    s.near_nodata = flags & NEAR_NODATA;
    s.nan_holes = flags & NAN_HOLES;
    s.planes = flags & PLANES;
    return s;
}

struct Dem {
    std::string path;
    DemSpec spec;
    std::vector<double> values; // as written, row-major
};

// Writes dem.values to a new GeoTIFF at dem.path of dem.spec's type,
// geotransform and NoData, then reads them back: what the file holds (the
// type's conversion), as the kernel gets it.
inline void save_dem(Dem *dem)
{
    const DemSpec &spec = dem->spec;
    const int w = spec.width, h = spec.height;
    GDALDatasetH ds =
        GDALCreate(GDALGetDriverByName("GTiff"), dem->path.c_str(), w, h, 1,
                   spec.type, nullptr);
    EXPECT_NE(ds, nullptr) << dem->path;
    if (ds == nullptr)
        return;
    GDALSetGeoTransform(ds, const_cast<double *>(spec.gt));
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    if (spec.has_nodata)
        GDALSetRasterNoDataValue(b, spec.nodata);
    EXPECT_EQ(GDALRasterIO(b, GF_Write, 0, 0, w, h, dem->values.data(), w, h,
                           GDT_Float64, 0, 0),
              CE_None);
    GDALClose(ds);

    ds = GDALOpen(dem->path.c_str(), GA_ReadOnly);
    EXPECT_NE(ds, nullptr);
    if (ds) {
        EXPECT_EQ(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, w, h,
                               dem->values.data(), w, h, GDT_Float64, 0, 0),
                  CE_None);
        GDALClose(ds);
    }
}

// The surface: hills, a ramp, noise, a flat plateau (aspect's flat case,
// TRI 0), NoData holes (random, a block, on each edge and corner).
inline Dem write_dem(const std::string &name, const DemSpec &spec)
{
    Dem dem;
    dem.spec = spec;
    dem.path = scratch(name);
    const int w = spec.width, h = spec.height;
    Rng rng(0x7e77a1 + spec.seed);
    const bool integer = spec.type == GDT_Byte || spec.type == GDT_Int16 ||
                         spec.type == GDT_UInt16;
    const double hole = spec.nan_holes ? NAN : spec.nodata;
    dem.values.resize((size_t)w * h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double v = (spec.type == GDT_Byte ? 120 : 400) +
                       (spec.type == GDT_Byte ? 60 : 250) *
                           std::sin(x * 0.17 + spec.seed) * std::cos(y * 0.11) +
                       (spec.type == GDT_Byte ? 0.5 : 3.0) * x -
                       (spec.type == GDT_Byte ? 0.3 : 2.0) * y +
                       rng.uniform() * (spec.type == GDT_Byte ? 6 : 20);
            if (x >= 10 && x < 22 && y >= 5 && y < 14)
                v = spec.type == GDT_Byte ? 140 : 555;
            if (spec.planes) {
                static const double sx[] = {0, 100, -100, 1e-3, 7, 0};
                static const int sy_ulps[] = {0, 1, -1, 0, 3, -2};
                static const double sy[] = {0, 0, 0, 100, -100, 1e-3};
                const int b = (x / 6 + 7 * (y / 6)) % 36;
                float f =
                    (float)(1000 + sx[b % 6] * (x % 6) + sy[b / 6] * (y % 6));
                for (int k = 0; k < (y % 6) * std::abs(sy_ulps[b / 6]); k++)
                    f = std::nextafter(f, sy_ulps[b / 6] > 0 ? 1e9f : -1e9f);
                v = f;
            }
            if (integer)
                v = std::floor(v + 0.5);
            else
                v = (double)(float)v;
            dem.values[(size_t)y * w + x] = v;
        }
    }
    if (spec.holes && (spec.has_nodata || spec.nan_holes)) {
        for (size_t i = 0; i < dem.values.size(); i++)
            if (rng.below(100) < 3)
                dem.values[i] = hole;
        for (int y = 30; y < 33 && y < h; y++)
            for (int x = 40; x < 44 && x < w; x++)
                dem.values[(size_t)y * w + x] = hole;
        const int edge[][2] = {{0, 0},         {w - 1, 0},     {0, h - 1},
                               {w - 1, h - 1}, {w / 2, 0},     {w / 3, h - 1},
                               {0, h / 2},     {w - 1, h / 3}, {1, 1}};
        for (const auto &p : edge)
            dem.values[(size_t)p[1] * w + p[0]] = hole;
    }
    if (spec.near_nodata && spec.has_nodata && !integer) {
        // Within GDAL's ARE_REAL_EQUAL (2 float ulps relative to the sum)
        // of NoData: gdaldem takes them as NoData.
        const float nd = (float)spec.nodata;
        const float near = std::nextafter(nd, 0.0f);
        for (int k = 0; k < 12; k++)
            dem.values[(size_t)((7 * k + 3) % h) * w + (13 * k + 5) % w] = near;
    }
    save_dem(&dem);
    return dem;
}

// An Int16 DEM for gdaldem's integer NoData rules: NoData 100.004 (the
// integer path rounds it to 100, the float path matches nothing), and the
// first and last rows such that extrapolating beyond them (2a - b) lands
// on 100 (the integer path moves it to 101, the float path takes it as
// NoData).
inline Dem write_integer_path_dem(const std::string &name)
{
    const DemSpec s =
        dem_spec(GDT_Int16, 100.004, 19, 13, 30, -20, 9, NO_HOLES);
    Dem dem = write_dem(name, s);
    const int w = s.width, h = s.height;
    for (int x = 0; x < w; x += 3) {
        dem.values[x] = 150, dem.values[w + x] = 200; // 2 * 150 - 200
        dem.values[(size_t)5 * w + x] = 100;          // NoData, rounded
        dem.values[(size_t)(h - 1) * w + x] = 120;    // 2 * 120 - 140
        dem.values[(size_t)(h - 2) * w + x] = 140;
    }
    save_dem(&dem);
    return dem;
}

// The same values and NoData in a file of another type.
inline Dem retype_dem(const Dem &from, GDALDataType type,
                      const std::string &name)
{
    Dem dem = from;
    dem.spec.type = type;
    dem.path = scratch(name);
    save_dem(&dem);
    return dem;
}

// A gdaldem output file, read whole.
struct Oracle {
    bool ok = false;
    std::string log;
    GDALDataType type = GDT_Unknown;
    int has_nodata = 0;
    double nodata = 0;
    double gt[6] = {0, 1, 0, 0, 0, 1};
    std::vector<GByte> bytes;
};

// Reads band 1 of a gdaldem output whole.
inline void read_oracle(GDALDatasetH ds, Oracle *o)
{
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    o->type = GDALGetRasterDataType(b);
    o->nodata = GDALGetRasterNoDataValue(b, &o->has_nodata);
    const int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    o->bytes.resize((size_t)w * h * GDALGetDataTypeSizeBytes(o->type));
    o->ok = GDALRasterIO(b, GF_Read, 0, 0, w, h, o->bytes.data(), w, h, o->type,
                         0, 0) == CE_None;
    GDALGetGeoTransform(ds, o->gt);
}

// GDAL 3.13's gdaldem turns a south-up DEM north-up before aspect, TRI and
// TPI, so its file is the DEM's grid upside down: flips it back when its
// rows run the other way from the DEM's.
inline void align_rows(Oracle *o, const double *dem_gt, int width)
{
    if (!(o->gt[5] * dem_gt[5] < 0))
        return;
    const size_t row = (size_t)width * GDALGetDataTypeSizeBytes(o->type);
    const size_t h = o->bytes.size() / row;
    for (size_t y = 0; y < h / 2; y++)
        std::swap_ranges(o->bytes.begin() + y * row,
                         o->bytes.begin() + (y + 1) * row,
                         o->bytes.begin() + (h - 1 - y) * row);
}

// gdaldem as a library call (GDALDEMProcessing, which the gdaldem program
// runs with its command line), writing a GeoTIFF as the program does.
inline Oracle run_gdaldem(const std::string &mode, const Dem &dem,
                          const std::string &options, const std::string &out)
{
    Oracle o;
    const std::string path = scratch(out);
    GDALDatasetH src = GDALOpen(dem.path.c_str(), GA_ReadOnly);
    if (src == nullptr) {
        o.log = dem.path + ": cannot open";
        return o;
    }
    char **argv = CSLTokenizeString(options.c_str());
    GDALDEMProcessingOptions *opts = GDALDEMProcessingOptionsNew(argv, nullptr);
    CSLDestroy(argv);
    int usage = 0;
    GDALDatasetH ds = opts ? GDALDEMProcessing(path.c_str(), src, mode.c_str(),
                                               nullptr, opts, &usage)
                           : nullptr;
    GDALDEMProcessingOptionsFree(opts);
    if (ds == nullptr) {
        o.log = "gdaldem " + mode + " " + options + ": " + CPLGetLastErrorMsg();
    } else {
        read_oracle(ds, &o);
        align_rows(&o, dem.spec.gt, dem.spec.width);
        GDALClose(ds);
    }
    GDALClose(src);
    VSIUnlink(path.c_str());
    return o;
}

// The gdaldem program itself, for checking that the library call above is
// what it runs.
inline Oracle run_gdaldem_program(const std::string &mode, const Dem &dem,
                                  const std::string &options,
                                  const std::string &out)
{
    Oracle o;
    const std::string path = scratch(out);
    VSIUnlink(path.c_str());
    const std::string cmd = host_env() + "gdaldem " + mode + " '" + dem.path +
                            "' '" + path + "' -q " + options;
    const int rc = run_command(cmd, &o.log);
    if (rc != 0) {
        o.log = cmd + ": exit " + std::to_string(rc) + "\n" + o.log;
        return o;
    }
    GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
    if (ds == nullptr) {
        o.log = cmd + ": no output";
        return o;
    }
    read_oracle(ds, &o);
    align_rows(&o, dem.spec.gt, dem.spec.width);
    GDALClose(ds);
    VSIUnlink(path.c_str());
    return o;
}

// One gdaldem invocation and the pvrt_terrain arguments meaning the same.
struct TerrainCase {
    std::string mode;                  // gdaldem's first argument
    std::string options;               // gdaldem's options
    std::vector<std::string> args;     // pvrt_terrain's NAME=VALUE arguments
    bool plain_horn_hillshade = false; // gdaldem's simplified Horn hillshade
};

// Every op and option, each without and with -compute_edges.
inline std::vector<TerrainCase> terrain_cases()
{
    const std::vector<TerrainCase> base = {
        {"hillshade", "", {"op=hillshade"}, true},
        {"hillshade",
         "-alg ZevenbergenThorne",
         {"op=hillshade", "alg=ZevenbergenThorne"}},
        {"hillshade",
         "-alg Horn -z 3.5",
         {"op=hillshade", "alg=Horn", "z=3.5"},
         true},
        {"hillshade",
         "-s 2.5 -az 100 -alt 30",
         {"op=hillshade", "scale=2.5", "azimuth=100", "altitude=30"},
         true},
        {"hillshade",
         "-z 0.7 -az 10.5 -alt 72 -alg ZevenbergenThorne",
         {"op=hillshade", "z=0.7", "azimuth=10.5", "altitude=72",
          "alg=ZevenbergenThorne"}},
        {"hillshade", "-combined", {"op=hillshade", "mode=combined"}},
        {"hillshade",
         "-combined -alg ZevenbergenThorne -z 2 -az 250",
         {"op=hillshade", "mode=combined", "alg=ZevenbergenThorne", "z=2",
          "azimuth=250"}},
        {"hillshade",
         "-multidirectional",
         {"op=hillshade", "mode=multidirectional"}},
        {"hillshade",
         "-multidirectional -alg ZevenbergenThorne -alt 60 -z 4 -s 1.5",
         {"op=hillshade", "mode=multidirectional", "alg=ZevenbergenThorne",
          "altitude=60", "z=4", "scale=1.5"}},
        {"hillshade", "-igor", {"op=hillshade", "mode=igor"}},
        {"hillshade",
         "-igor -alg ZevenbergenThorne -az 200 -z 1.5",
         {"op=hillshade", "mode=igor", "alg=ZevenbergenThorne", "azimuth=200",
          "z=1.5"}},
        {"slope", "", {"op=slope"}},
        {"slope", "-p", {"op=slope", "unit=percent"}},
        {"slope",
         "-alg ZevenbergenThorne -s 0.5",
         {"op=slope", "alg=ZevenbergenThorne", "scale=0.5"}},
        {"slope",
         "-p -alg ZevenbergenThorne -s 111120",
         {"op=slope", "unit=percent", "alg=ZevenbergenThorne", "scale=111120"}},
        {"aspect", "", {"op=aspect"}},
        {"aspect", "-trigonometric", {"op=aspect", "trigonometric=yes"}},
        {"aspect", "-zero_for_flat", {"op=aspect", "zero_for_flat=yes"}},
        {"aspect",
         "-alg ZevenbergenThorne -trigonometric -zero_for_flat",
         {"op=aspect", "alg=ZevenbergenThorne", "trigonometric=yes",
          "zero_for_flat=yes"}},
        {"aspect",
         "-alg ZevenbergenThorne",
         {"op=aspect", "alg=ZevenbergenThorne", "trigonometric=no",
          "zero_for_flat=no"}},
        {"TRI", "", {"op=tri"}},
        {"TRI", "-alg Wilson", {"op=tri", "tri_alg=Wilson"}},
        {"TRI", "-alg Riley", {"op=tri", "tri_alg=Riley"}},
        {"TPI", "", {"op=tpi"}},
        {"roughness", "", {"op=roughness"}},
    };
    std::vector<TerrainCase> all;
    for (const auto &c : base) {
        all.push_back(c);
        all.back().args.push_back("edges=nodata");
        TerrainCase e = c;
        e.options += " -compute_edges";
        e.args.push_back("edges=compute");
        all.push_back(e);
    }
    return all;
}

inline std::string describe(const TerrainCase &c)
{
    std::string s = "gdaldem " + c.mode + " " + c.options + "  <->  ";
    for (const auto &a : c.args)
        s += a + " ";
    return s;
}

// The value of pixel i of a raw buffer of type t, as a double.
inline double value_at(const std::vector<GByte> &bytes, GDALDataType t,
                       size_t i)
{
    double v = 0;
    const int size = GDALGetDataTypeSizeBytes(t);
    GDALCopyWords(bytes.data() + i * size, t, size, &v, GDT_Float64, 8, 1);
    return v;
}

// Kernel results converted as the driver converts them (GDALCopyWords,
// Float64 to the band's type).
inline std::vector<GByte> to_type(const std::vector<double> &v, GDALDataType t)
{
    const int size = GDALGetDataTypeSizeBytes(t);
    std::vector<GByte> out(v.size() * size);
    GDALCopyWords64(v.data(), GDT_Float64, 8, out.data(), t, size,
                    (GPtrDiff_t)v.size());
    return out;
}

// Pixels whose bytes differ.
inline std::vector<size_t> mismatches(const std::vector<GByte> &a,
                                      const std::vector<GByte> &b,
                                      GDALDataType t)
{
    std::vector<size_t> bad;
    const int size = GDALGetDataTypeSizeBytes(t);
    if (a.size() != b.size())
        return {(size_t)-1};
    for (size_t i = 0; i * size < a.size(); i++)
        if (memcmp(a.data() + i * size, b.data() + i * size, size) != 0)
            bad.push_back(i);
    return bad;
}

inline std::string list_mismatches(const std::vector<size_t> &bad,
                                   const std::vector<GByte> &expected,
                                   const std::vector<GByte> &got,
                                   GDALDataType t, int width)
{
    std::ostringstream s;
    s.precision(17);
    s << bad.size() << " pixels differ";
    for (size_t k = 0; k < bad.size() && k < 8; k++) {
        if (bad[k] == (size_t)-1)
            return "sizes differ";
        s << "; (" << bad[k] % width << ", " << bad[k] / width << ") gdaldem "
          << value_at(expected, t, bad[k]) << " pvrt "
          << value_at(got, t, bad[k]);
    }
    return s.str();
}

} // namespace pvrt_test

#endif
