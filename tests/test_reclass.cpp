// test_reclass.cpp: pvrt_reclass.
//
// Oracles:
// - the expected arrays of GDAL's own reclassify test (autotest
//   gdrivers/vrtderived.py, test_vrt_pixelfn_reclassify), with the same
//   mapping, data and NoData, for every default;
// - a plain C++ reference written here that scans the entries as written,
//   comparing with <, <=, == per bound (the code under test moves open
//   bounds inward and binary-searches), over random mappings and data of
//   every real type, through the lookup-table path (Byte, UInt16, Int16)
//   and the search path (the others);
// - hand-checked interval edges, DEFAULT, PASS_THROUGH, NO_DATA, NAN;
// - GDALCopyWords for the conversion to the output type.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
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

// Runs pvrt_reclass over `values` (exact in src_type); the output converted
// back to double, or empty on failure (the CPLError is kept).
std::vector<double> classify(const std::vector<double> &values,
                             GDALDataType src_type, GDALDataType out_type,
                             const CPLStringList &args, int width = 0)
{
    const int n = (int)values.size();
    if (width == 0)
        width = n;
    const int height = n / width;
    const int ss = GDALGetDataTypeSizeBytes(src_type);
    std::vector<GByte> src((size_t)n * ss);
    GDALCopyWords(values.data(), GDT_Float64, 8, src.data(), src_type, ss, n);
    void *ptrs[1] = {src.data()};
    const int os = GDALGetDataTypeSizeBytes(out_type);
    std::vector<GByte> out((size_t)n * os * 2);
    if (pvrt_test::pixelfunc("pvrt_reclass")(
            ptrs, 1, out.data(), width, height, src_type, out_type, 2 * os,
            2 * os * width, args.List()) != CE_None)
        return {};
    std::vector<double> got(n);
    GDALCopyWords(out.data(), out_type, 2 * os, got.data(), GDT_Float64, 8, n);
    return got;
}

CPLStringList mapping_args(const std::string &mapping,
                           const char *nodata = nullptr)
{
    CPLStringList a;
    a.AddNameValue("mapping", mapping.c_str());
    if (nodata)
        a.AddNameValue("nodata", nodata);
    return a;
}

// GDAL's autotest: data 0..14, NoData 7, the same mapping and the expected
// results it asserts for each default.
TEST(Reclass, GdalAutotestCase)
{
    std::vector<double> data(15);
    for (int i = 0; i < 15; i++)
        data[i] = i;
    const char *base = " (-inf, 1)=8; 2=9 ; (3,5]=4; NO_DATA=123; "
                       "[8,9]=PASS_THROUGH; 10=NO_DATA; "
                       "[11, Inf] = 11; default=";
    struct {
        const char *dflt;
        std::vector<double> want;
    } cases[] = {
        {"200", {8, 200, 9, 200, 4, 4, 200, 123, 8, 9, 7, 11, 11, 11, 11}},
        {"7", {8, 7, 9, 7, 4, 4, 7, 123, 8, 9, 7, 11, 11, 11, 11}},
        {"NO_DATA", {8, 7, 9, 7, 4, 4, 7, 123, 8, 9, 7, 11, 11, 11, 11}},
        {"PASS_THROUGH", {8, 1, 9, 3, 4, 4, 6, 123, 8, 9, 7, 11, 11, 11, 11}},
    };
    for (GDALDataType st : {GDT_Byte, GDT_UInt16, GDT_Int16, GDT_UInt32,
                            GDT_Int32, GDT_Float32, GDT_Float64})
        for (const auto &c : cases) {
            auto got =
                classify(data, st, GDT_Float32,
                         mapping_args(std::string(base) + c.dflt, "7"), 3);
            EXPECT_EQ(got, c.want)
                << GDALGetDataTypeName(st) << " default=" << c.dflt << " "
                << CPLGetLastErrorMsg();
        }
}

TEST(Reclass, IntervalEdges)
{
    const double below5 = std::nextafter(5.0, 0.0),
                 above5 = std::nextafter(5.0, 10.0);
    const double above0 = std::nextafter(0.0, 1.0);
    const std::vector<double> v = {
        std::nextafter(1.0, 0.0),   1, below5, 5,  above5,    10,
        std::nextafter(10.0, 11.0), 0, above0, 20, -INFINITY, INFINITY};
    // [1,5) (5,10] closed/open both sides; a point interval; -inf/inf.
    auto got =
        classify(v, GDT_Float64, GDT_Float64,
                 mapping_args("[1,5)=1; (5,10]=2; (0,1)=3; [20,20]=4; "
                              "[-inf,0]=5; (10,20)=6; (20, inf]=8; 5=7"));
    const std::vector<double> want = {3, 1, 1, 7, 2, 2, 6, 5, 3, 4, 5, 8};
    EXPECT_EQ(got, want) << CPLGetLastErrorMsg();
    // DEFAULT for the gap at 5, then PASS_THROUGH.
    got = classify(v, GDT_Float64, GDT_Float64,
                   mapping_args("[1,5)=1; (5,10]=2; DEFAULT=-1"));
    EXPECT_EQ(
        got, (std::vector<double>{-1, 1, 1, -1, 2, 2, -1, -1, -1, -1, -1, -1}));
    got = classify(v, GDT_Float64, GDT_Float64,
                   mapping_args("[1,5)=1; (5,10]=2; DEFAULT=PASS_THROUGH"));
    std::vector<double> pass = v;
    pass[1] = pass[2] = 1;
    pass[4] = pass[5] = 2;
    EXPECT_EQ(got, pass);
}

TEST(Reclass, NoDataAndNanBothSides)
{
    const std::vector<double> v = {0, 1, NAN, 2, -9};
    CPLPushErrorHandler(CPLQuietErrorHandler);
    auto got =
        classify(v, GDT_Float32, GDT_Float32,
                 mapping_args("NO_DATA=NO_DATA; NAN=5; [1,2]=NO_DATA", "-9"));
    CPLPopErrorHandler();
    EXPECT_EQ(got.size(), 0u); // 0 has no mapping
    EXPECT_NE(strstr(CPLGetLastErrorMsg(), "value 0 "), nullptr)
        << CPLGetLastErrorMsg();
    got = classify(v, GDT_Float32, GDT_Float32,
                   mapping_args("NO_DATA=100; NAN=5; [0,2]=NO_DATA", "-9"));
    EXPECT_EQ(got, (std::vector<double>{-9, -9, 5, -9, 100}));
    // A NaN nodata: NO_DATA as FROM is NaN.
    got = classify(v, GDT_Float64, GDT_Float64,
                   mapping_args("NO_DATA=3; DEFAULT=PASS_THROUGH", "nan"));
    EXPECT_EQ(got, (std::vector<double>{0, 1, 3, 2, -9}));
    // NaN with PASS_THROUGH stays NaN; into an integer type it is 0 as
    // GDALCopyWords converts.
    got = classify(v, GDT_Float64, GDT_Float64,
                   mapping_args("DEFAULT=PASS_THROUGH"));
    ASSERT_EQ(got.size(), 5u);
    EXPECT_TRUE(std::isnan(got[2]));
}

TEST(Reclass, UnmappedValueIsNamed)
{
    for (GDALDataType st : {GDT_Byte, GDT_Int16, GDT_Float64}) {
        CPLPushErrorHandler(CPLQuietErrorHandler);
        auto got =
            classify({1, 3, 45, 1}, st, GDT_Byte, mapping_args("1=2;3=4"));
        CPLPopErrorHandler();
        EXPECT_TRUE(got.empty());
        EXPECT_NE(strstr(CPLGetLastErrorMsg(), "pvrt_reclass"), nullptr);
        EXPECT_NE(strstr(CPLGetLastErrorMsg(), "value 45 "), nullptr)
            << CPLGetLastErrorMsg();
    }
    CPLPushErrorHandler(CPLQuietErrorHandler);
    auto got = classify({1, NAN}, GDT_Float32, GDT_Byte, mapping_args("1=2"));
    CPLPopErrorHandler();
    EXPECT_TRUE(got.empty());
    EXPECT_NE(strstr(CPLGetLastErrorMsg(), "value nan"), nullptr)
        << CPLGetLastErrorMsg();
}

TEST(Reclass, OverlapIsNamed)
{
    struct {
        const char *mapping;
        const char *value;
    } cases[] = {
        {"[1,3]=7;[3, 5]=8", "contain 3)"},
        {"[1,3]=7;[2, 4]=8", "contain 2)"},
        {"[1,10)=1; 4=2", "contain 4)"},
        {"4=1; 4=2", "contain 4)"},
        {"(-inf, 0]=1; [0, inf)=2", "contain 0)"},
        {"NO_DATA=1; [5,6]=2", "contain 5)"},
    };
    for (const auto &c : cases) {
        CPLPushErrorHandler(CPLQuietErrorHandler);
        auto got = classify({1}, GDT_Float64, GDT_Float64,
                            mapping_args(c.mapping, "5"));
        CPLPopErrorHandler();
        EXPECT_TRUE(got.empty()) << c.mapping;
        EXPECT_NE(strstr(CPLGetLastErrorMsg(), "overlaps"), nullptr)
            << CPLGetLastErrorMsg();
        EXPECT_NE(strstr(CPLGetLastErrorMsg(), c.value), nullptr)
            << CPLGetLastErrorMsg();
    }
    // Touching but not overlapping.
    auto got = classify({1, 3, 5}, GDT_Float64, GDT_Float64,
                        mapping_args("[1,3)=1; [3,5)=2; [5,5]=3"));
    EXPECT_EQ(got, (std::vector<double>{1, 2, 3}));
}

// The reference: entries as written, checked in order with the comparison
// each bracket means.
struct RefEntry {
    double lo, hi;
    bool lo_closed, hi_closed;
    bool pass;
    double to;
};

struct RefMapping {
    std::vector<RefEntry> entries;
    bool has_default = false, default_pass = false;
    double default_to = 0;
    std::string text;

    bool lookup(double v, double *out) const
    {
        for (const RefEntry &e : entries) {
            const bool lo_ok = e.lo_closed ? v >= e.lo : v > e.lo;
            const bool hi_ok = e.hi_closed ? v <= e.hi : v < e.hi;
            if (lo_ok && hi_ok) {
                *out = e.pass ? v : e.to;
                return true;
            }
        }
        if (!has_default)
            return false;
        *out = default_pass ? v : default_to;
        return true;
    }
};

// Disjoint intervals over [lo, hi): cut points, each piece an interval
// with random brackets or a single value, some pieces left unmapped.
RefMapping random_mapping(Rng &rng, double lo, double hi, bool fractional)
{
    RefMapping m;
    const int pieces = 1 + rng.below(12);
    std::vector<double> cuts;
    for (int i = 0; i < pieces + 1; i++) {
        double c = lo + (hi - lo) * (double)rng.below(100000) / 100000.0;
        if (!fractional)
            c = std::floor(c);
        cuts.push_back(c);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    for (size_t i = 0; i + 1 < cuts.size(); i++) {
        if (rng.below(5) == 0)
            continue; // a gap
        RefEntry e;
        e.lo = cuts[i];
        e.hi = cuts[i + 1];
        // Neighbours may share a cut only if at most one includes it.
        e.lo_closed = rng.below(2) == 0;
        e.hi_closed = false;
        e.pass = rng.below(6) == 0;
        e.to = rng.below(200);
        if (rng.below(6) == 0) {
            e.hi = e.lo; // a single value
            e.lo_closed = e.hi_closed = true;
        }
        m.entries.push_back(e);
        if (e.lo == e.hi)
            m.text += CPLSPrintf("%.17g=", e.lo);
        else
            m.text += CPLSPrintf("%c%.17g, %.17g%c=", e.lo_closed ? '[' : '(',
                                 e.lo, e.hi, e.hi_closed ? ']' : ')');
        m.text += e.pass ? std::string("PASS_THROUGH")
                         : std::string(CPLSPrintf("%g", e.to));
        m.text += rng.below(2) ? " ; " : ";";
    }
    m.has_default = true;
    m.default_pass = rng.below(3) == 0;
    m.default_to = 250;
    m.text += m.default_pass ? "DEFAULT=PASS_THROUGH" : "default = 250";
    return m;
}

TEST(Reclass, RandomMappingsMatchReference)
{
    Rng rng(11);
    struct {
        GDALDataType type;
        double lo, hi;
    } types[] = {{GDT_Byte, 0, 256},
                 {GDT_UInt16, 0, 65536},
                 {GDT_Int16, -32768, 32768},
                 {GDT_UInt32, 0, 4294967296.0},
                 {GDT_Int32, -2147483648.0, 2147483648.0},
                 {GDT_Float32, -1000, 1000},
                 {GDT_Float64, -1e6, 1e6}};
    for (const auto &t : types)
        for (int rep = 0; rep < 40; rep++) {
            const bool fractional = GDALDataTypeIsFloating(t.type);
            RefMapping m = random_mapping(rng, t.lo, t.hi, fractional);
            // Data: every cut point, its neighbours, and random values.
            std::vector<double> v;
            for (const RefEntry &e : m.entries)
                for (double c : {e.lo, e.hi})
                    for (double d : {-1.0, 0.0, 1.0})
                        v.push_back(
                            fractional ? (d == 0 ? c : std::nextafter(c, c + d))
                                       : c + d);
            while (v.size() % 16 != 0 || v.size() < 256)
                v.push_back(t.lo + (t.hi - t.lo) * (double)rng.below(1 << 20) /
                                       (double)(1 << 20));
            for (double &x : v) {
                x = std::min(std::max(x, t.lo), t.hi - 1);
                if (!fractional)
                    x = std::floor(x);
            }
            v = convert(v, t.type); // exactly what the source holds
            std::vector<double> want(v.size());
            for (size_t i = 0; i < v.size(); i++)
                ASSERT_TRUE(m.lookup(v[i], &want[i]));
            const GDALDataType out = rep % 2 ? GDT_Float64 : GDT_Int32;
            auto got = classify(v, t.type, out, mapping_args(m.text), 16);
            ASSERT_EQ(got.size(), v.size())
                << m.text << ": " << CPLGetLastErrorMsg();
            want = convert(want, out);
            for (size_t i = 0; i < v.size(); i++)
                ASSERT_TRUE(same(got[i], want[i]))
                    << GDALGetDataTypeName(t.type) << " " << m.text << " at "
                    << v[i] << ": got " << got[i] << " want " << want[i];
        }
}

// Every Byte value through the table path equals the search path (read as
// Float64) and the reference.
TEST(Reclass, LookupTableCoversEveryByte)
{
    std::vector<double> v(256);
    for (int i = 0; i < 256; i++)
        v[i] = i;
    const char *mapping =
        "[0,50)=1; [50,100]=2; (100,200)=3; 200=PASS_THROUGH; DEFAULT=9";
    auto via_lut = classify(v, GDT_Byte, GDT_Byte, mapping_args(mapping));
    auto via_search = classify(v, GDT_Float64, GDT_Byte, mapping_args(mapping));
    ASSERT_EQ(via_lut.size(), 256u);
    EXPECT_EQ(via_lut, via_search);
    for (int i = 0; i < 256; i++) {
        const double want = i < 50     ? 1
                            : i <= 100 ? 2
                            : i < 200  ? 3
                            : i == 200 ? 200
                                       : 9;
        EXPECT_EQ(via_lut[i], want) << i;
    }
}

TEST(Reclass, OutputValueMustFitType)
{
    struct {
        const char *mapping;
        GDALDataType out;
        bool ok;
    } cases[] = {
        {"1=256", GDT_Byte, false},     {"1=255", GDT_Byte, true},
        {"1=-1", GDT_UInt16, false},    {"1=0.5", GDT_Int16, false},
        {"1=0.5", GDT_Float32, true},   {"1=0.1", GDT_Float32, false},
        {"1=0.1", GDT_Float64, true},   {"1=nan", GDT_Int32, false},
        {"1=1e40", GDT_Float32, false}, {"1=4294967295", GDT_UInt32, true},
    };
    for (const auto &c : cases) {
        CPLPushErrorHandler(CPLQuietErrorHandler);
        auto got = classify({1}, GDT_Byte, c.out, mapping_args(c.mapping));
        CPLPopErrorHandler();
        EXPECT_EQ(!got.empty(), c.ok)
            << c.mapping << " " << GDALGetDataTypeName(c.out);
        if (!c.ok) {
            EXPECT_NE(strstr(CPLGetLastErrorMsg(), "cannot be represented"),
                      nullptr);
        }
    }
}

TEST(Reclass, WorksInPlainVrt)
{
    pvrt_pixelfuncs_register();
    pvrt_test::RasterSpec spec;
    spec.type = GDT_Byte;
    const std::string tif = pvrt_test::make_tiff("reclass_src.tif", spec);
    const std::string vrt = pvrt_test::write_file(
        "reclass.vrt",
        pvrt_test::vrt_dataset(
            97, 61,
            {pvrt_test::derived_band(
                1, GDT_Byte, "pvrt_reclass",
                {pvrt_test::simple_source(tif, 1, 97, 61)},
                "mapping=\"[0,100)=1; [100,200)=2; DEFAULT=PASS_THROUGH\"")}));
    GDALDatasetH ds = pvrt_test::open_oracle(vrt);
    ASSERT_NE(ds, nullptr);
    std::vector<GByte> got;
    ASSERT_EQ(pvrt_test::read_band1(ds, GDT_Byte, &got), CE_None);
    GDALClose(ds);
    for (int y = 0; y < 61; y++)
        for (int x = 0; x < 97; x++) {
            const double v = pvrt_test::pattern_value(GDT_Byte, x, y, 1, 0);
            const double want = v < 100 ? 1 : v < 200 ? 2 : v;
            ASSERT_EQ(got[y * 97 + x], want) << x << "," << y;
        }
}

} // namespace
