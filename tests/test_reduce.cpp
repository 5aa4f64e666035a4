// test_reduce.cpp: pvrt_reduce and the selection helpers it uses.
//
// Oracles:
// - numpy (tests/oracles/reduce_oracle.py through Debian's python3):
//   median, percentile, min, max, range, count, mode, first, last, argmin,
//   argmax on every case, and sum and mean where the sums are exact
//   (integer sources), compared bit for bit;
// - a plain C++ reference in this file for sum, mean, var and std, doing
//   the documented summation (source order, two-pass variance), compared
//   bit for bit on every case (numpy's pairwise summation may round
//   differently, so numpy is not the oracle there);
// - std::sort and std::nth_element for the selection helpers;
// - GDALCopyWords for the conversion to every output type.
// Cases cover every real input type, 1 to 300 sources, holes (nodata,
// skip values, NaN), all-missing pixels, single valid inputs, ties, a
// strided output buffer and a row wider than the internal chunk.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
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

// A test case: inputs as doubles (exact in src_type), arguments, output.
struct Case {
    std::string name;
    std::string op;
    double q = NAN; // percentile only
    int min_count = 1;
    bool has_nodata = false;
    double nodata = 0;
    std::vector<double> skip;
    GDALDataType src_type = GDT_Float64;
    GDALDataType out_type = GDT_Float64;
    int nsrc = 1;
    int width = 260; // wider than the 256-pixel chunk
    int height = 2;
    int pixel_stride = 1;     // output pixel spacing, in elements
    std::vector<double> data; // nsrc * npix, source after source

    int npix() const
    {
        return width * height;
    }

    CPLStringList args() const
    {
        CPLStringList a;
        a.AddNameValue("op", op.c_str());
        if (!std::isnan(q))
            a.AddNameValue("q", CPLSPrintf("%.17g", q));
        if (min_count != 1)
            a.AddNameValue("min_count", CPLSPrintf("%d", min_count));
        if (has_nodata)
            a.AddNameValue("nodata", CPLSPrintf("%.17g", nodata));
        if (!skip.empty()) {
            std::string s;
            for (size_t i = 0; i < skip.size(); i++)
                s += (i ? "," : "") + std::string(CPLSPrintf("%.17g", skip[i]));
            a.AddNameValue("skip", s.c_str());
        }
        return a;
    }
};

// Runs pvrt_reduce on a case; returns the output converted back to double
// (exact for every real type), or an empty vector on failure.
std::vector<double> run(const Case &c)
{
    const int npix = c.npix();
    const int ssize = GDALGetDataTypeSizeBytes(c.src_type);
    std::vector<std::vector<GByte>> bufs(
        c.nsrc, std::vector<GByte>((size_t)npix * ssize));
    std::vector<void *> ptrs(c.nsrc);
    for (int s = 0; s < c.nsrc; s++) {
        GDALCopyWords(c.data.data() + (size_t)s * npix, GDT_Float64, 8,
                      bufs[s].data(), c.src_type, ssize, npix);
        ptrs[s] = bufs[s].data();
    }
    const int osize = GDALGetDataTypeSizeBytes(c.out_type);
    const int pixel_space = osize * c.pixel_stride;
    const int line_space = pixel_space * c.width;
    std::vector<GByte> out((size_t)line_space * c.height, 0xAB);
    CPLStringList args = c.args();
    if (pvrt_test::pixelfunc("pvrt_reduce")(
            ptrs.data(), c.nsrc, out.data(), c.width, c.height, c.src_type,
            c.out_type, pixel_space, line_space, args.List()) != CE_None)
        return {};
    std::vector<double> got(npix);
    GDALCopyWords(out.data(), c.out_type, pixel_space, got.data(), GDT_Float64,
                  8, npix);
    return got;
}

// The C++ reference for sum, mean, var and std: valid inputs in source
// order, sequential sum, mean = sum / n, var = sum((x - mean)^2) / n.
std::vector<double> reference_moments(const Case &c)
{
    const int npix = c.npix();
    std::vector<double> r(npix);
    auto held = [&](double v) {
        // A value given in an argument as a Float32 source holds it.
        if (c.src_type == GDT_Float32 && std::isfinite(v) &&
            std::fabs(v) <= FLT_MAX)
            return (double)(float)v;
        return v;
    };
    for (int p = 0; p < npix; p++) {
        std::vector<double> v;
        for (int s = 0; s < c.nsrc; s++) {
            const double x = c.data[(size_t)s * npix + p];
            bool missing =
                std::isnan(x) || (c.has_nodata && x == held(c.nodata));
            for (double k : c.skip)
                missing = missing || x == held(k);
            if (!missing)
                v.push_back(x);
        }
        if ((int)v.size() < c.min_count) {
            r[p] = c.has_nodata                         ? c.nodata
                   : GDALDataTypeIsFloating(c.out_type) ? NAN
                                                        : 0.0;
            continue;
        }
        double sum = 0;
        for (double x : v)
            sum += x;
        const double mean = sum / (double)v.size();
        double ss = 0;
        for (double x : v)
            ss += (x - mean) * (x - mean);
        const double var = ss / (double)v.size();
        r[p] = c.op == "sum"    ? sum
               : c.op == "mean" ? mean
               : c.op == "var"  ? var
                                : std::sqrt(var);
    }
    return r;
}

// Int64/UInt64 (GDAL 3.5+) with values exact in double.
const GDALDataType kSrcTypes[] = {GDT_Byte,    GDT_UInt16, GDT_Int16,
                                  GDT_UInt32,  GDT_Int32,  GDT_Float32,
                                  GDT_Float64, GDT_Int64,  GDT_UInt64};
const GDALDataType kOutTypes[] = {GDT_Float32, GDT_Int16, GDT_Byte,
                                  GDT_UInt16,  GDT_Int32, GDT_UInt32};

// Random inputs for a case: tie-heavy small integers or the type's full
// range, holes through nodata, skip values and NaN, the first pixels all
// missing and the next ones with exactly one valid input.
void fill_data(Case &c, Rng &rng, bool small)
{
    const int npix = c.npix();
    const bool is_float = GDALDataTypeIsFloating(c.src_type);
    auto draw = [&]() -> double {
        if (small) {
            const int v = rng.below(10);
            return c.src_type == GDT_Int16 || c.src_type == GDT_Int32 ||
                           is_float
                       ? v - 4
                       : v;
        }
        switch (c.src_type) {
            case GDT_Byte:
                return rng.below(256);
            case GDT_UInt16:
                return rng.below(65536);
            case GDT_Int16:
                return rng.below(65536) - 32768;
            case GDT_UInt32:
                return (double)(rng.next() % 4294967296ULL);
            case GDT_Int32:
                return (double)(int64_t)(rng.next() % 4294967296ULL) -
                       2147483648.0;
            default: {
                const double mag = std::pow(10.0, rng.below(12) - 4);
                const double v = (rng.uniform() - 0.5) * mag;
                return c.src_type == GDT_Float32 ? (double)(float)v : v;
            }
        }
    };
    // The values holes are made of.
    std::vector<double> hole_values;
    if (c.has_nodata)
        hole_values.push_back(
            c.src_type == GDT_Float32 ? (double)(float)c.nodata : c.nodata);
    for (double k : c.skip)
        hole_values.push_back(c.src_type == GDT_Float32 ? (double)(float)k : k);
    if (is_float)
        hole_values.push_back(NAN);

    c.data.assign((size_t)c.nsrc * npix, 0);
    for (int p = 0; p < npix; p++) {
        const int single = rng.below(c.nsrc);
        for (int s = 0; s < c.nsrc; s++) {
            double v = draw();
            const bool all_missing = p < 5;
            const bool one_valid = p >= 5 && p < 10 && s != single;
            if (!hole_values.empty() &&
                (all_missing || one_valid || rng.uniform() < 0.25))
                v = hole_values[rng.below((int)hole_values.size())];
            c.data[(size_t)s * npix + p] = v;
        }
    }
    // What the source buffers will hold (a skip value of -1 clamps to 0 in
    // an unsigned type, for instance).
    c.data = convert(c.data, c.src_type);
}

// The arguments' hole values for a source type: in range, and for Float32
// one that only matches as the float nearest to it.
void choose_holes(Case &c, Rng &rng, bool small)
{
    const bool is_float = GDALDataTypeIsFloating(c.src_type);
    const int mode = rng.below(4); // 0: none, 1: nodata, 2: skip, 3: both
    if (mode & 1) {
        c.has_nodata = true;
        c.nodata = small ? 3 : (is_float ? 0.1 : 7);
    }
    if (mode & 2)
        c.skip = small ? std::vector<double>{-1, 5}
                       : std::vector<double>{11, is_float ? -2.5 : 12};
}

struct OracleRun {
    std::vector<Case> cases;
    std::vector<std::vector<double>> expected;

    // Writes every case, runs the numpy oracle once, reads the answers.
    bool solve()
    {
        const std::string dir = pvrt_test::scratch("reduce_oracle");
        pvrt_test::run_command("mkdir -p '" + dir + "'");
        std::ofstream manifest(dir + "/cases.txt");
        for (const Case &c : cases) {
            std::string skip = "-";
            if (!c.skip.empty()) {
                skip.clear();
                for (size_t i = 0; i < c.skip.size(); i++)
                    skip += (i ? "," : "") +
                            std::string(CPLSPrintf("%.17g", c.skip[i]));
            }
            manifest << c.name << ' ' << c.op << ' '
                     << (std::isnan(c.q)
                             ? std::string("-")
                             : std::string(CPLSPrintf("%.17g", c.q)))
                     << ' ' << c.min_count << ' '
                     << (c.has_nodata
                             ? std::string(CPLSPrintf("%.17g", c.nodata))
                             : std::string("-"))
                     << ' ' << skip << ' ' << GDALGetDataTypeName(c.src_type)
                     << ' ' << c.nsrc << ' ' << c.npix() << ' '
                     << (GDALDataTypeIsFloating(c.out_type) ? 1 : 0) << '\n';
            FILE *f = fopen((dir + "/" + c.name + ".in").c_str(), "wb");
            if (!f)
                return false;
            fwrite(c.data.data(), sizeof(double), c.data.size(), f);
            fclose(f);
        }
        manifest.close();
        std::string output;
        const int rc = pvrt_test::run_command(
            "GDAL_DRIVER_PATH=disable '" + pvrt_test::python() + "' '" +
                pvrt_test::source_dir() + "/tests/oracles/reduce_oracle.py' '" +
                dir + "'",
            &output);
        if (rc != 0) {
            ADD_FAILURE() << "oracle failed: " << output;
            return false;
        }
        for (const Case &c : cases) {
            std::vector<double> r(c.npix());
            FILE *f = fopen((dir + "/" + c.name + ".out").c_str(), "rb");
            if (!f || fread(r.data(), sizeof(double), r.size(), f) != r.size())
                return false;
            fclose(f);
            expected.push_back(convert(r, c.out_type));
        }
        return true;
    }
};

void expect_same(const Case &c, const std::vector<double> &got,
                 const std::vector<double> &want, const char *oracle)
{
    ASSERT_EQ(got.size(), want.size())
        << c.name << " failed to run: " << CPLGetLastErrorMsg();
    int bad = 0;
    for (size_t p = 0; p < got.size() && bad < 3; p++) {
        if (!same(got[p], want[p])) {
            bad++;
            std::string inputs;
            for (int s = 0; s < c.nsrc && s < 16; s++)
                inputs +=
                    CPLSPrintf(" %.17g", c.data[(size_t)s * c.npix() + p]);
            ADD_FAILURE() << c.name << " (" << oracle << ") op=" << c.op
                          << " q=" << c.q
                          << " src=" << GDALGetDataTypeName(c.src_type)
                          << " out=" << GDALGetDataTypeName(c.out_type)
                          << " pixel " << p << ": got "
                          << CPLSPrintf("%.17g", got[p]) << ", want "
                          << CPLSPrintf("%.17g", want[p]) << "; inputs"
                          << inputs;
        }
    }
}

// The numpy-checked ops over every type, source count and hole pattern.
TEST(Reduce, MatchesNumpy)
{
    if (pvrt_test::python().empty())
        GTEST_SKIP() << "no python3 with numpy";
    const char *ops[] = {"median", "min",   "max",       "range",  "count",
                         "mode",   "first", "last",      "argmin", "argmax",
                         "sum",    "mean",  "percentile"};
    const double qs[] = {0, 1e-10, 25, 50, 62.5, 99.9999999999, 100};
    const int nsrcs[] = {1, 2, 3, 4, 12};
    Rng rng(42);
    OracleRun run_all;
    int id = 0;
    for (GDALDataType st : kSrcTypes)
        for (int nsrc : nsrcs)
            for (const char *op : ops) {
                const bool moments = !strcmp(op, "sum") || !strcmp(op, "mean");
                // Sums are exact (hence order-free) only for integer inputs.
                if (moments && GDALDataTypeIsFloating(st))
                    continue;
                const int nq = !strcmp(op, "percentile")
                                   ? (int)(sizeof qs / sizeof qs[0])
                                   : 1;
                for (int iq = 0; iq < nq; iq++) {
                    Case c;
                    c.name = CPLSPrintf("c%d", id);
                    c.op = op;
                    if (!strcmp(op, "percentile"))
                        c.q = qs[iq];
                    c.src_type = st;
                    c.nsrc = nsrc;
                    c.out_type = id % 2 ? kOutTypes[(id / 2) % 6] : GDT_Float64;
                    c.pixel_stride = id % 5 == 0 ? 2 : 1;
                    c.min_count = 1 + rng.below(std::min(nsrc, 3));
                    const bool small = id % 3 != 0;
                    choose_holes(c, rng, small);
                    fill_data(c, rng, small);
                    run_all.cases.push_back(c);
                    id++;
                }
            }
    // Hundreds of sources.
    for (const char *op : {"median", "percentile", "mode", "argmax", "count"}) {
        Case c;
        c.name = CPLSPrintf("c%d", id++);
        c.op = op;
        if (!strcmp(op, "percentile"))
            c.q = 37.5;
        c.src_type = GDT_UInt16;
        c.nsrc = 300;
        c.width = 40;
        c.min_count = 2;
        c.has_nodata = true;
        c.nodata = 7;
        fill_data(c, rng, !strcmp(op, "mode"));
        run_all.cases.push_back(c);
    }
    ASSERT_TRUE(run_all.solve());
    for (size_t i = 0; i < run_all.cases.size(); i++)
        expect_same(run_all.cases[i], run(run_all.cases[i]),
                    run_all.expected[i], "numpy");
}

// sum, mean, var, std against the C++ reference, on every type, including
// float inputs with fractions and infinities.
TEST(Reduce, MomentsMatchReference)
{
    Rng rng(7);
    int id = 0;
    for (GDALDataType st : kSrcTypes)
        for (int nsrc : {1, 2, 3, 5, 12, 200})
            for (const char *op : {"sum", "mean", "var", "std"}) {
                Case c;
                c.name = CPLSPrintf("m%d", id);
                c.op = op;
                c.src_type = st;
                c.nsrc = nsrc;
                c.out_type = id % 2 ? kOutTypes[(id / 2) % 6] : GDT_Float64;
                c.pixel_stride = id % 3 == 0 ? 3 : 1;
                c.min_count = 1 + rng.below(std::min(nsrc, 3));
                if (nsrc == 200)
                    c.width = 30;
                const bool small = id % 2 == 0;
                choose_holes(c, rng, small);
                fill_data(c, rng, small);
                if (GDALDataTypeIsFloating(st) && id % 4 == 1)
                    for (size_t k = 0; k < c.data.size(); k += 97)
                        c.data[k] = k % 2 ? INFINITY : -INFINITY;
                expect_same(c, run(c),
                            convert(reference_moments(c), c.out_type),
                            "C++ reference");
                id++;
            }
}

// Hand-checked semantics: ties, first/last, min_count, count, extremes.
double one_pixel(const std::vector<double> &values, CPLStringList args,
                 GDALDataType out_type = GDT_Float64)
{
    std::vector<void *> ptrs(values.size());
    for (size_t i = 0; i < values.size(); i++)
        ptrs[i] = const_cast<double *>(&values[i]);
    double out[2] = {-12345, -12345};
    GByte obuf[16] = {0};
    if (pvrt_test::pixelfunc("pvrt_reduce")(
            ptrs.data(), (int)values.size(), obuf, 1, 1, GDT_Float64, out_type,
            GDALGetDataTypeSizeBytes(out_type),
            GDALGetDataTypeSizeBytes(out_type), args.List()) != CE_None)
        return -12345;
    GDALCopyWords(obuf, out_type, 0, out, GDT_Float64, 8, 1);
    return out[0];
}

CPLStringList op_args(const char *op, const char *k1 = nullptr,
                      const char *v1 = nullptr, const char *k2 = nullptr,
                      const char *v2 = nullptr)
{
    CPLStringList a;
    a.AddNameValue("op", op);
    if (k1)
        a.AddNameValue(k1, v1);
    if (k2)
        a.AddNameValue(k2, v2);
    return a;
}

TEST(Reduce, Semantics)
{
    const std::vector<double> v = {5, 2, NAN, 9, 2, 7, 9, 9, 2};
    EXPECT_EQ(one_pixel(v, op_args("mode")), 2);   // 2 and 9 thrice: smallest
    EXPECT_EQ(one_pixel(v, op_args("argmin")), 2); // first 2 is source 2
    EXPECT_EQ(one_pixel(v, op_args("argmax")), 4); // first 9 is source 4
    EXPECT_EQ(one_pixel(v, op_args("first", "skip", "5")), 2);
    EXPECT_EQ(one_pixel(v, op_args("last", "nodata", "2")), 9);
    EXPECT_EQ(one_pixel(v, op_args("count")), 8);
    EXPECT_EQ(one_pixel(v, op_args("count", "skip", "2,9")), 2);
    EXPECT_EQ(one_pixel(v, op_args("median")), 6); // 2 2 2 5 7 9 9 9
    EXPECT_EQ(one_pixel(v, op_args("range")), 7);
    // min_count: 8 valid; 9 asked for gives the fill value.
    EXPECT_TRUE(std::isnan(one_pixel(v, op_args("max", "min_count", "9"))));
    EXPECT_EQ(one_pixel(v, op_args("max", "min_count", "9", "nodata", "-1")),
              -1);
    EXPECT_EQ(one_pixel(v, op_args("max", "min_count", "9"), GDT_Int16), 0);
    // count is never nodata.
    EXPECT_EQ(one_pixel(v, op_args("count", "min_count", "9", "nodata", "-1")),
              8);
    // All missing.
    EXPECT_TRUE(std::isnan(one_pixel({NAN, NAN}, op_args("median"))));
    EXPECT_EQ(one_pixel({NAN, 4}, op_args("count")), 1);
    EXPECT_EQ(one_pixel({NAN, NAN}, op_args("count")), 0);
    // Extremes: two finite values do not overflow the median.
    EXPECT_EQ(one_pixel({DBL_MAX, DBL_MAX}, op_args("median")), DBL_MAX);
    EXPECT_EQ(one_pixel({DBL_MAX, DBL_MAX / 2}, op_args("median")),
              DBL_MAX / 2 + DBL_MAX / 4);
    EXPECT_EQ(one_pixel({INFINITY, 1}, op_args("median")), INFINITY);
    EXPECT_TRUE(
        std::isnan(one_pixel({INFINITY, -INFINITY}, op_args("median"))));
    // Percentile with infinities: equal ends give that end (numpy: NaN).
    EXPECT_EQ(
        one_pixel({INFINITY, INFINITY, 1}, op_args("percentile", "q", "75")),
        INFINITY);
    EXPECT_EQ(one_pixel({INFINITY, 3, 1}, op_args("percentile", "q", "100")),
              INFINITY);
    EXPECT_EQ(one_pixel({INFINITY, 3, 1}, op_args("percentile", "q", "50")), 3);
    EXPECT_EQ(one_pixel({1, 2, 3, 4}, op_args("percentile", "q", "50")), 2.5);
    EXPECT_EQ(one_pixel({1, 2, 3, 4}, op_args("percentile", "q", "0")), 1);
    EXPECT_EQ(one_pixel({4, 3, 2, 1}, op_args("percentile", "q", "100")), 4);
    // Population variance: numpy's default (ddof = 0).
    EXPECT_EQ(one_pixel({1, 2, 3, 4}, op_args("var")), 1.25);
    EXPECT_EQ(one_pixel({2, 4, 4, 4, 5, 5, 7, 9}, op_args("std")), 2);
    // Signed zeros: the mode of zeros is -0 when one is there.
    EXPECT_TRUE(std::signbit(one_pixel({0.0, -0.0, 0.0, 1}, op_args("mode"))));
    // Output conversion: 2.5 rounds as GDALCopyWords rounds.
    double half = 2.5, want = 0;
    GInt16 i16;
    GDALCopyWords(&half, GDT_Float64, 0, &i16, GDT_Int16, 0, 1);
    want = i16;
    EXPECT_EQ(one_pixel({1, 2, 3, 4}, op_args("median"), GDT_Int16), want);
}

// Ten thousand sources, one row: the median against a sort.
TEST(Reduce, TenThousandSources)
{
    const int nsrc = 10000, w = 3;
    Rng rng(99);
    std::vector<std::vector<double>> src(nsrc, std::vector<double>(w));
    std::vector<void *> ptrs(nsrc);
    for (int s = 0; s < nsrc; s++) {
        for (int x = 0; x < w; x++)
            src[s][x] = x == 2 && s % 3 == 0 ? NAN : rng.uniform() * 1000 - 500;
        ptrs[s] = src[s].data();
    }
    double out[w];
    CPLStringList args = op_args("median");
    ASSERT_EQ(pvrt_test::pixelfunc("pvrt_reduce")(ptrs.data(), nsrc, out, w, 1,
                                                  GDT_Float64, GDT_Float64, 8,
                                                  8 * w, args.List()),
              CE_None);
    for (int x = 0; x < w; x++) {
        std::vector<double> v;
        for (int s = 0; s < nsrc; s++)
            if (!std::isnan(src[s][x]))
                v.push_back(src[s][x]);
        std::sort(v.begin(), v.end());
        const size_t n = v.size();
        const double want = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        EXPECT_EQ(out[x], want) << x;
    }
}

// A Float32 source holds nodata 0.1 as the float nearest to 0.1.
TEST(Reduce, Float32NodataMatchesAsHeld)
{
    float src[3] = {0.1f, 5.0f, 0.1f};
    std::vector<void *> ptrs = {&src[0], &src[1], &src[2]};
    double out = 0;
    CPLStringList args = op_args("count", "nodata", "0.1");
    ASSERT_EQ(pvrt_test::pixelfunc("pvrt_reduce")(ptrs.data(), 3, &out, 1, 1,
                                                  GDT_Float32, GDT_Float64, 8,
                                                  8, args.List()),
              CE_None);
    EXPECT_EQ(out, 1);
}

// Through GDAL's own VRT driver: the arguments arrive from the XML.
TEST(Reduce, WorksInPlainVrt)
{
    pvrt_pixelfuncs_register();
    std::string sources;
    for (int i = 0; i < 3; i++) {
        pvrt_test::RasterSpec spec;
        spec.type = GDT_UInt16;
        spec.seed = i;
        const std::string tif =
            pvrt_test::make_tiff(CPLSPrintf("reduce_vrt_%d.tif", i), spec);
        sources += pvrt_test::simple_source(tif, 1, 97, 61);
    }
    const std::string vrt = pvrt_test::write_file(
        "reduce.vrt", pvrt_test::vrt_dataset(97, 61,
                                             {pvrt_test::derived_band(
                                                 1, GDT_Float32, "pvrt_reduce",
                                                 {sources}, "op=\"median\"")}));
    GDALDatasetH ds = pvrt_test::open_oracle(vrt);
    ASSERT_NE(ds, nullptr);
    std::vector<float> got;
    ASSERT_EQ(pvrt_test::read_band1(ds, GDT_Float32, &got), CE_None);
    GDALClose(ds);
    for (int y = 0; y < 61; y++)
        for (int x = 0; x < 97; x++) {
            double v[3];
            for (int i = 0; i < 3; i++)
                v[i] = pvrt_test::pattern_value(GDT_UInt16, x, y, 1, i);
            std::sort(v, v + 3);
            ASSERT_EQ(got[y * 97 + x], (float)v[1]) << x << "," << y;
        }
}

// ---- select.c ------------------------------------------------------------

std::vector<double> pattern(int kind, int n, Rng &rng)
{
    std::vector<double> v(n);
    for (int i = 0; i < n; i++) {
        switch (kind) {
            case 0:
                v[i] = rng.uniform();
                break;
            case 1:
                v[i] = rng.below(3);
                break; // many duplicates
            case 2:
                v[i] = i;
                break; // sorted
            case 3:
                v[i] = n - i;
                break; // reversed
            case 4:
                v[i] = i < n / 2 ? i : n - i;
                break; // organ pipe
            case 5:
                v[i] = 1;
                break; // all equal
            default:
                v[i] = (i % 2 ? -1 : 1) * (double)(i * 7919 % 101);
                break;
        }
    }
    return v;
}

TEST(Select, KthMatchesNthElement)
{
    Rng rng(3);
    for (int kind = 0; kind < 7; kind++)
        for (int n : {1, 2, 3, 7, 8, 9, 10, 17, 24, 25, 64, 257, 1000})
            for (int rep = 0; rep < 3; rep++) {
                std::vector<double> base = pattern(kind, n, rng);
                std::vector<double> sorted = base;
                std::sort(sorted.begin(), sorted.end());
                for (int k : {0, n / 3, n / 2, n - 1, rng.below(n)}) {
                    std::vector<double> v = base;
                    pvrt__select(v.data(), n, k);
                    ASSERT_EQ(v[k], sorted[k])
                        << "kind " << kind << " n " << n << " k " << k;
                    for (int i = 0; i < k; i++)
                        ASSERT_LE(v[i], v[k]);
                    for (int i = k + 1; i < n; i++)
                        ASSERT_GE(v[i], v[k]);
                    std::vector<double> vs = v;
                    std::sort(vs.begin(), vs.end());
                    ASSERT_EQ(vs, sorted); // a permutation
                }
                for (int k = 0; k < n; k++) {
                    std::vector<double> v = base;
                    double lo = 0, hi = 0;
                    pvrt__select_pair(v.data(), n, k, &lo, &hi);
                    ASSERT_EQ(lo, sorted[k])
                        << "pair kind " << kind << " n " << n << " k " << k;
                    ASSERT_EQ(hi, sorted[k + 1 < n ? k + 1 : k])
                        << "pair kind " << kind << " n " << n << " k " << k;
                }
                std::vector<double> s = base;
                pvrt__sort(s.data(), n);
                ASSERT_EQ(s, sorted);
                ASSERT_EQ(pvrt__min(base.data(), n), sorted.front());
                ASSERT_EQ(pvrt__max(base.data(), n), sorted.back());
            }
}

} // namespace
