// test_index.cpp: pvrt_index.
//
// Oracle: the published formulas written out here in plain C++ (same
// operation order as documented in README.md (pvrt_index), so results compare
// bit for bit), applied to reflectance = dn * scale + offset; GDALCopyWords for
// the output conversion. Covers every index, band orders with extra roles,
// per-band and shared scale/offset, constant overrides, nodata and NaN inputs,
// zero denominators, and a read through GDAL's VRT driver.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "pf_private.h"
#include "pixelfuncs.h"
#include "pf_testutil.h"
#include "testutil.h"

namespace
{

using pvrt_test::convert;
using pvrt_test::Rng;
using pvrt_test::same;

// Reflectances by role name -> the index, NaN where there is no result.
double reference(const std::string &index, std::map<std::string, double> r,
                 std::map<std::string, double> k)
{
    const double blue = r["blue"], green = r["green"], red = r["red"],
                 rededge = r["rededge"], nir = r["nir"], swir1 = r["swir1"],
                 swir2 = r["swir2"];
    auto nd = [](double a, double b) {
        return a + b == 0 ? NAN : (a - b) / (a + b);
    };
    if (index == "NDVI")
        return nd(nir, red);
    if (index == "NDWI")
        return nd(green, nir);
    if (index == "MNDWI")
        return nd(green, swir1);
    if (index == "NDBI")
        return nd(swir1, nir);
    if (index == "NBR")
        return nd(nir, swir2);
    if (index == "NDMI")
        return nd(nir, swir1);
    if (index == "GNDVI")
        return nd(nir, green);
    if (index == "NDRE")
        return nd(nir, rededge);
    if (index == "EVI") {
        const double G = k.count("G") ? k["G"] : 2.5,
                     C1 = k.count("C1") ? k["C1"] : 6,
                     C2 = k.count("C2") ? k["C2"] : 7.5,
                     L = k.count("L") ? k["L"] : 1;
        const double den = nir + C1 * red - C2 * blue + L;
        return den == 0 ? NAN : G * (nir - red) / den;
    }
    if (index == "EVI2") {
        const double G = k.count("G") ? k["G"] : 2.5,
                     C = k.count("C") ? k["C"] : 2.4,
                     L = k.count("L") ? k["L"] : 1;
        const double den = nir + C * red + L;
        return den == 0 ? NAN : G * (nir - red) / den;
    }
    if (index == "SAVI") {
        const double L = k.count("L") ? k["L"] : 0.5;
        const double den = nir + red + L;
        return den == 0 ? NAN : (1 + L) * (nir - red) / den;
    }
    if (index == "MSAVI") {
        const double a = 2 * nir + 1;
        const double disc = a * a - 8 * (nir - red);
        return disc < 0 ? NAN : (a - std::sqrt(disc)) / 2;
    }
    ADD_FAILURE() << "unknown index " << index;
    return NAN;
}

// The bands each index reads, from its published formula.
std::vector<std::string> roles_of(const std::string &index)
{
    if (index == "NDVI" || index == "EVI2" || index == "SAVI" ||
        index == "MSAVI")
        return {"nir", "red"};
    if (index == "NDWI" || index == "GNDVI")
        return {"green", "nir"};
    if (index == "MNDWI")
        return {"green", "swir1"};
    if (index == "NDBI" || index == "NDMI")
        return {"swir1", "nir"};
    if (index == "NBR")
        return {"nir", "swir2"};
    if (index == "NDRE")
        return {"nir", "rededge"};
    if (index == "EVI")
        return {"nir", "red", "blue"};
    ADD_FAILURE() << index;
    return {};
}

std::vector<std::string> split(const std::string &s)
{
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        const size_t comma = s.find(',', start);
        out.push_back(s.substr(start, comma - start));
        if (comma == std::string::npos)
            return out;
        start = comma + 1;
    }
}

TEST(Index, EveryIndexMatchesReference)
{
    struct {
        const char *index;
        const char *bands;
        std::map<std::string, double> consts;
    } cases[] = {
        {"NDVI", "red,nir", {}},
        {"ndvi", "nir,blue,red", {}},
        {"NDWI", "green,nir", {}},
        {"MNDWI", "swir1,green,nir", {}},
        {"NDBI", "nir,swir1", {}},
        {"NBR", "swir2,nir", {}},
        {"NDMI", "nir,swir1,swir2", {}},
        {"GNDVI", "green,nir", {}},
        {"NDRE", "rededge,nir", {}},
        {"EVI", "blue,green,red,nir", {}},
        {"EVI",
         "nir,red,blue",
         {{"G", 2.0}, {"C1", 5.5}, {"C2", 7.0}, {"L", 0.75}}},
        {"EVI2", "red,nir", {}},
        {"EVI2", "red,nir", {{"C", 2.0}, {"L", 0.5}}},
        {"SAVI", "red,nir", {}},
        {"SAVI", "nir,red", {{"L", 0.25}}},
        {"MSAVI", "red,nir", {}},
    };
    Rng rng(5);
    const int width = 50, height = 3, n = width * height;
    int id = 0;
    for (const auto &c : cases)
        for (GDALDataType st :
             {GDT_UInt16, GDT_Int16, GDT_Float32, GDT_Float64}) {
            const std::vector<std::string> roles = split(c.bands);
            const int nsrc = (int)roles.size();
            const bool is_float = GDALDataTypeIsFloating(st);
            // DNs: Sentinel-2-like for integers, reflectances for floats.
            const bool scaled = !is_float;
            const bool per_band = id % 2 == 1;
            std::vector<double> scale(nsrc, scaled ? 0.0001 : 1.0),
                offset(nsrc, scaled ? -0.1 : 0.0);
            if (per_band)
                for (int s = 0; s < nsrc; s++) {
                    scale[s] = scaled ? 0.0001 * (1 + s) : 1.0 + s * 0.5;
                    offset[s] = scaled ? -0.1 + 0.01 * s : 0.0;
                }
            const bool has_nodata = id % 3 != 2;
            const double nodata = st == GDT_Int16 ? -1 : 0;
            std::vector<std::vector<double>> dn(nsrc, std::vector<double>(n));
            for (int s = 0; s < nsrc; s++)
                for (int p = 0; p < n; p++) {
                    double v = is_float ? (rng.below(20001) - 2000) / 10000.0
                                        : (double)rng.below(
                                              st == GDT_Int16 ? 12000 : 20000);
                    if (st == GDT_Float32)
                        v = (double)(float)v;
                    if (rng.below(10) == 0)
                        v = nodata;
                    if (is_float && rng.below(20) == 0)
                        v = NAN;
                    dn[s][p] = v;
                }
            // Zero denominators on purpose: equal and opposite reflectances.
            if (!scaled && nsrc >= 2)
                for (int p = 0; p < 5; p++) {
                    dn[0][p] = 0.25;
                    for (int s = 1; s < nsrc; s++)
                        dn[s][p] = per_band ? -0.25 / (1.0 + s * 0.5) : -0.25;
                }

            const int ss = GDALGetDataTypeSizeBytes(st);
            std::vector<std::vector<GByte>> bufs(
                nsrc, std::vector<GByte>((size_t)n * ss));
            std::vector<void *> ptrs(nsrc);
            for (int s = 0; s < nsrc; s++) {
                GDALCopyWords(dn[s].data(), GDT_Float64, 8, bufs[s].data(), st,
                              ss, n);
                ptrs[s] = bufs[s].data();
            }
            CPLStringList args;
            args.AddNameValue("index", c.index);
            args.AddNameValue("bands", c.bands);
            std::string sc, of;
            for (int s = 0; s < (per_band ? nsrc : 1); s++) {
                sc +=
                    (s ? "," : "") + std::string(CPLSPrintf("%.17g", scale[s]));
                of += (s ? "," : "") +
                      std::string(CPLSPrintf("%.17g", offset[s]));
            }
            if (scaled || per_band) {
                args.AddNameValue("scale", sc.c_str());
                args.AddNameValue("offset", of.c_str());
            }
            for (const auto &k : c.consts)
                args.AddNameValue(k.first.c_str(),
                                  CPLSPrintf("%.17g", k.second));
            if (has_nodata)
                args.AddNameValue("nodata", CPLSPrintf("%g", nodata));

            for (GDALDataType out : {GDT_Float64, GDT_Float32, GDT_Int16}) {
                const int os = GDALGetDataTypeSizeBytes(out);
                std::vector<GByte> obuf((size_t)n * os);
                ASSERT_EQ(pvrt_test::pixelfunc("pvrt_index")(
                              ptrs.data(), nsrc, obuf.data(), width, height, st,
                              out, os, os * width, args.List()),
                          CE_None)
                    << c.index << " " << CPLGetLastErrorMsg();
                std::vector<double> got(n), want(n);
                GDALCopyWords(obuf.data(), out, os, got.data(), GDT_Float64, 8,
                              n);
                std::string idx = c.index;
                for (auto &ch : idx)
                    ch = (char)toupper(ch);
                const std::vector<std::string> used = roles_of(idx);
                for (int p = 0; p < n; p++) {
                    std::map<std::string, double> refl;
                    bool missing = false;
                    for (int s = 0; s < nsrc; s++) {
                        // What the source holds, read back.
                        double held;
                        GDALCopyWords(bufs[s].data() + (size_t)p * ss, st, 0,
                                      &held, GDT_Float64, 8, 1);
                        refl[roles[s]] = held * scale[s] + offset[s];
                        // Only the roles the index reads count as missing.
                        if ((std::isnan(held) ||
                             (has_nodata && held == nodata)) &&
                            std::find(used.begin(), used.end(), roles[s]) !=
                                used.end())
                            missing = true;
                    }
                    const double r = reference(idx, refl, c.consts);
                    double v =
                        missing || std::isnan(r)
                            ? (has_nodata
                                   ? nodata
                                   : (GDALDataTypeIsFloating(out) ? NAN : 0))
                            : r;
                    GByte tmp[8];
                    GDALCopyWords(&v, GDT_Float64, 0, tmp, out, 0, 1);
                    GDALCopyWords(tmp, out, 0, &want[p], GDT_Float64, 0, 1);
                }
                for (int p = 0; p < n; p++)
                    ASSERT_TRUE(same(got[p], want[p]))
                        << c.index << " bands=" << c.bands
                        << " src=" << GDALGetDataTypeName(st)
                        << " out=" << GDALGetDataTypeName(out) << " pixel " << p
                        << ": got " << got[p] << " want " << want[p];
            }
            id++;
        }
}

// Known values: Sentinel-2 L2A DNs (scale 0.0001, offset -0.1).
TEST(Index, KnownValues)
{
    GUInt16 red = 1100, nir = 4100,
            blue = 600; // reflectances 0.01, 0.31, -0.04
    void *ptrs[3] = {&red, &nir, &blue};
    double out = 0;
    CPLStringList args;
    args.AddNameValue("index", "NDVI");
    args.AddNameValue("bands", "red,nir");
    args.AddNameValue("scale", "0.0001");
    args.AddNameValue("offset", "-0.1");
    ASSERT_EQ(pvrt_test::pixelfunc("pvrt_index")(ptrs, 2, &out, 1, 1,
                                                 GDT_UInt16, GDT_Float64, 8, 8,
                                                 args.List()),
              CE_None);
    const double r = 1100 * 0.0001 + -0.1, n = 4100 * 0.0001 + -0.1;
    EXPECT_EQ(out, (n - r) / (n + r));
    EXPECT_NEAR(out, 0.30 / 0.32, 1e-12);
    // Equal DNs: a zero numerator, not a zero denominator.
    GUInt16 same_dn = 3000;
    void *ptrs2[2] = {&same_dn, &same_dn};
    ASSERT_EQ(pvrt_test::pixelfunc("pvrt_index")(ptrs2, 2, &out, 1, 1,
                                                 GDT_UInt16, GDT_Float64, 8, 8,
                                                 args.List()),
              CE_None);
    EXPECT_EQ(out, 0.0);
    // Both reflectances zero: nodata (NaN here, no nodata given).
    GUInt16 zero_dn = 1000;
    void *ptrs3[2] = {&zero_dn, &zero_dn};
    ASSERT_EQ(pvrt_test::pixelfunc("pvrt_index")(ptrs3, 2, &out, 1, 1,
                                                 GDT_UInt16, GDT_Float64, 8, 8,
                                                 args.List()),
              CE_None);
    EXPECT_TRUE(std::isnan(out));
    args.AddNameValue("nodata", "-2");
    ASSERT_EQ(pvrt_test::pixelfunc("pvrt_index")(ptrs3, 2, &out, 1, 1,
                                                 GDT_UInt16, GDT_Float64, 8, 8,
                                                 args.List()),
              CE_None);
    EXPECT_EQ(out, -2);
}

TEST(Index, WorksInPlainVrt)
{
    pvrt_pixelfuncs_register();
    std::string sources;
    for (int i = 0; i < 2; i++) {
        pvrt_test::RasterSpec spec;
        spec.type = GDT_UInt16;
        spec.seed = 10 + i;
        const std::string tif =
            pvrt_test::make_tiff(CPLSPrintf("index_vrt_%d.tif", i), spec);
        sources += pvrt_test::simple_source(tif, 1, 97, 61);
    }
    const std::string vrt = pvrt_test::write_file(
        "index.vrt",
        pvrt_test::vrt_dataset(
            97, 61,
            {pvrt_test::derived_band(
                1, GDT_Float64, "pvrt_index", {sources},
                "index=\"NDVI\" bands=\"red,nir\" scale=\"0.0001\"")}));
    GDALDatasetH ds = pvrt_test::open_oracle(vrt);
    ASSERT_NE(ds, nullptr);
    std::vector<double> got;
    ASSERT_EQ(pvrt_test::read_band1(ds, GDT_Float64, &got), CE_None);
    GDALClose(ds);
    for (int y = 0; y < 61; y++)
        for (int x = 0; x < 97; x++) {
            const double red =
                pvrt_test::pattern_value(GDT_UInt16, x, y, 1, 10) * 0.0001 +
                0.0;
            const double nir =
                pvrt_test::pattern_value(GDT_UInt16, x, y, 1, 11) * 0.0001 +
                0.0;
            const double want =
                red + nir == 0 ? NAN : (nir - red) / (nir + red);
            ASSERT_TRUE(same(got[y * 97 + x], want)) << x << "," << y;
        }
}

} // namespace
