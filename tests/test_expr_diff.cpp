// test_expr_diff.cpp: pvrt_expr against an independent evaluator.
//
// Generates random expression trees (test_expr_ref.h), prints each to text
// (fewest parentheses, sometimes all of them, sometimes with names= for the
// sources), runs pvrt_expr on random sources holding zeros, negatives,
// extremes, NaN, infinities and the nodata value, and evaluates the same
// tree with the plain recursive evaluator. Both results pass through the
// same GDALCopyWords conversion to the output type and must be equal byte
// for byte (NaN equals NaN, whatever its payload). Every input type is
// paired with every output type, twice.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "pixelfuncs.h"
#include "test_expr_ref.h"

namespace
{

const GDALDataType kTypes[] = {
    GDT_Byte,   GDT_UInt16,   GDT_Int16,   GDT_UInt32,  GDT_Int32,
    GDT_UInt64, GDT_Int64,    GDT_Float32, GDT_Float64, GDT_CInt16,
    GDT_CInt32, GDT_CFloat32, GDT_CFloat64};
const int kNumTypes = sizeof(kTypes) / sizeof(kTypes[0]);

bool is_float(GDALDataType t)
{
    return t == GDT_Float32 || t == GDT_Float64 || t == GDT_CFloat32 ||
           t == GDT_CFloat64;
}

// A random value the type holds exactly (the real part for complex types),
// as the double the pixel function must see.
double random_value_any(std::mt19937_64 &rng, GDALDataType t)
{
    std::uniform_int_distribution<int> pct(0, 99);
    const int k = pct(rng);
    double lo = 0, hi = 0;
    switch (t) {
        case GDT_Byte:
            lo = 0;
            hi = 255;
            break;
        case GDT_UInt16:
            lo = 0;
            hi = 65535;
            break;
        case GDT_Int16:
        case GDT_CInt16:
            lo = -32768;
            hi = 32767;
            break;
        case GDT_UInt32:
            lo = 0;
            hi = 4294967295.0;
            break;
        case GDT_Int32:
        case GDT_CInt32:
            lo = -2147483648.0;
            hi = 2147483647.0;
            break;
        case GDT_UInt64:
            lo = 0;
            hi = 18446744073709549568.0;
            break;
        case GDT_Int64:
            lo = -9223372036854775808.0;
            hi = 9223372036854774784.0;
            break;
        default:
            lo = -1e6;
            hi = 1e6;
            break;
    }
    if (k < 10)
        return 0;
    if (k < 15)
        return lo;
    if (k < 20)
        return hi;
    if (k < 55) // small integers, where bit operations are interesting
        return std::max(lo,
                        std::min(hi, (double)std::uniform_int_distribution<int>(
                                         -8, 70)(rng)));
    if (is_float(t)) {
        if (k < 60)
            return NAN;
        if (k < 63)
            return pct(rng) < 50 ? INFINITY : -INFINITY;
        if (k < 66)
            return -0.0;
        if (k < 70)
            return pct(rng) < 50 ? 1e300 : -3e-300;
        double v = std::uniform_real_distribution<double>(-1000, 1000)(rng);
        if (t == GDT_Float32 || t == GDT_CFloat32)
            v = (double)(float)v;
        return v;
    }
    if (t == GDT_UInt64)
        return (double)(std::uniform_int_distribution<uint64_t>(0, UINT64_MAX)(
                            rng) &
                        ~2047ULL);
    if (t == GDT_Int64)
        return (double)(std::uniform_int_distribution<int64_t>(INT64_MIN,
                                                               INT64_MAX)(rng) &
                        ~1023LL);
    return std::floor(std::uniform_real_distribution<double>(lo, hi)(rng));
}

double random_value(std::mt19937_64 &rng, GDALDataType t)
{
    const double v = random_value_any(rng, t);
    return t == GDT_Float32 || t == GDT_CFloat32 ? (double)(float)v : v;
}

// Stores v (exactly representable) as type t; the imaginary part is junk.
void store(double v, GDALDataType t, GByte *dst, std::mt19937_64 &rng)
{
    const double imag =
        (double)std::uniform_int_distribution<int>(-100, 100)(rng);
    switch (t) {
        case GDT_Byte:
            *dst = (GByte)v;
            break;
        case GDT_UInt16: {
            uint16_t x = (uint16_t)v;
            memcpy(dst, &x, 2);
            break;
        }
        case GDT_Int16: {
            int16_t x = (int16_t)v;
            memcpy(dst, &x, 2);
            break;
        }
        case GDT_UInt32: {
            uint32_t x = (uint32_t)v;
            memcpy(dst, &x, 4);
            break;
        }
        case GDT_Int32: {
            int32_t x = (int32_t)v;
            memcpy(dst, &x, 4);
            break;
        }
        case GDT_UInt64: {
            uint64_t x = (uint64_t)v;
            memcpy(dst, &x, 8);
            break;
        }
        case GDT_Int64: {
            int64_t x = (int64_t)v;
            memcpy(dst, &x, 8);
            break;
        }
        case GDT_Float32: {
            float x = (float)v;
            memcpy(dst, &x, 4);
            break;
        }
        case GDT_Float64:
            memcpy(dst, &v, 8);
            break;
        case GDT_CInt16: {
            int16_t x[2] = {(int16_t)v, (int16_t)imag};
            memcpy(dst, x, 4);
            break;
        }
        case GDT_CInt32: {
            int32_t x[2] = {(int32_t)v, (int32_t)imag};
            memcpy(dst, x, 8);
            break;
        }
        case GDT_CFloat32: {
            float x[2] = {(float)v, (float)imag};
            memcpy(dst, x, 8);
            break;
        }
        case GDT_CFloat64: {
            double x[2] = {v, imag};
            memcpy(dst, x, 16);
            break;
        }
        default:
            FAIL() << "type";
    }
}

// Equal bytes, or NaN in both for each floating-point component.
bool same_pixel(const GByte *a, const GByte *b, GDALDataType t)
{
    const int size = GDALGetDataTypeSizeBytes(t);
    if (memcmp(a, b, size) == 0)
        return true;
    if (!is_float(t))
        return false;
    const int comp = (t == GDT_Float32 || t == GDT_CFloat32) ? 4 : 8;
    for (int off = 0; off < size; off += comp) {
        double x, y;
        if (comp == 4) {
            float fx, fy;
            memcpy(&fx, a + off, 4);
            memcpy(&fy, b + off, 4);
            x = fx;
            y = fy;
        } else {
            memcpy(&x, a + off, 8);
            memcpy(&y, b + off, 8);
        }
        if (!(std::isnan(x) && std::isnan(y)) &&
            memcmp(a + off, b + off, comp) != 0)
            return false;
    }
    return true;
}

TEST(ExprDiff, RandomExpressionsEveryTypePair)
{
    GDALDerivedPixelFuncWithArgs fn = pvrt_pixelfunc_find("pvrt_expr", nullptr);
    ASSERT_NE(fn, nullptr);
    std::mt19937_64 rng(20261121);
    const int width = 300, height = 2; // a full VM block and a tail per row
    const int n = width * height;
    const std::vector<std::string> names = {"red", "nir", "swir_1"};
    int expressions = 0, nodata_runs = 0, pixels = 0;
    for (int e = 0; e < 2 * kNumTypes * kNumTypes; e++) {
        const GDALDataType in_type = kTypes[e % kNumTypes];
        const GDALDataType out_type = kTypes[(e / kNumTypes) % kNumTypes];
        const int nsrc = 1 + (int)(rng() % 3);
        auto tree = exprref::random_tree(rng, nsrc, 1 + (int)(rng() % 5));
        const bool use_names = e % 5 == 1;
        std::vector<std::string> src_names;
        if (use_names)
            src_names.assign(names.begin(), names.begin() + nsrc);
        const std::string text = exprref::print(*tree, src_names, e % 4 == 3);

        // Sources.
        const int in_size = GDALGetDataTypeSizeBytes(in_type);
        std::vector<std::vector<double>> values(nsrc, std::vector<double>(n));
        std::vector<std::vector<GByte>> raw(
            nsrc, std::vector<GByte>((size_t)n * in_size));
        for (int s = 0; s < nsrc; s++)
            for (int i = 0; i < n; i++) {
                values[s][i] = random_value(rng, in_type);
                store(values[s][i], in_type, &raw[s][(size_t)i * in_size], rng);
            }

        exprref::Context ctx;
        bool propagate = true;
        CPLStringList args;
        args.SetNameValue("expr", text.c_str());
        if (use_names) {
            std::string list;
            for (int s = 0; s < nsrc; s++)
                list += (s ? "," : "") + names[s];
            args.SetNameValue("names", list.c_str());
        }
        if (e % 3 == 0) {
            ctx.has_nodata = true;
            ctx.nodata = values[0][rng() % n];
            if (is_float(in_type) && rng() % 4 == 0)
                ctx.nodata = NAN;
            char buf[64];
            if (std::isnan(ctx.nodata))
                snprintf(buf, sizeof(buf), "nan");
            else
                snprintf(buf, sizeof(buf), "%.17g", ctx.nodata);
            args.SetNameValue("nodata", buf);
            propagate = rng() % 3 != 0;
            if (!propagate)
                args.SetNameValue("propagate_nodata", "no");
            nodata_runs++;
        }

        // pvrt_expr.
        const int out_size = GDALGetDataTypeSizeBytes(out_type);
        std::vector<GByte> got((size_t)n * out_size, 0xCD);
        std::vector<void *> ptrs;
        for (auto &r : raw)
            ptrs.push_back(r.data());
        ASSERT_EQ(fn(ptrs.data(), nsrc, got.data(), width, height, in_type,
                     out_type, out_size, out_size * width, args.List()),
                  CE_None)
            << text << "\n"
            << CPLGetLastErrorMsg();

        // The oracle.
        std::vector<bool> used(nsrc, false);
        exprref::used_sources(*tree, used);
        auto is_nd = [&](double v) {
            return std::isnan(ctx.nodata) ? std::isnan(v) : v == ctx.nodata;
        };
        std::vector<double> want_d(n);
        for (int i = 0; i < n; i++) {
            std::vector<double> px(nsrc);
            bool any_nodata = false;
            for (int s = 0; s < nsrc; s++) {
                px[s] = values[s][i];
                any_nodata = any_nodata || (used[s] && is_nd(px[s]));
            }
            double v;
            if (ctx.has_nodata && propagate && any_nodata)
                v = ctx.nodata;
            else {
                v = exprref::eval(*tree, px, ctx);
                if (ctx.has_nodata && std::isnan(v))
                    v = ctx.nodata;
            }
            want_d[i] = v;
        }
        std::vector<GByte> want((size_t)n * out_size);
        GDALCopyWords(want_d.data(), GDT_Float64, 8, want.data(), out_type,
                      out_size, n);
        for (int i = 0; i < n; i++) {
            ASSERT_TRUE(same_pixel(&got[(size_t)i * out_size],
                                   &want[(size_t)i * out_size], out_type))
                << "expression: " << text << "\n"
                << GDALGetDataTypeName(in_type) << " -> "
                << GDALGetDataTypeName(out_type) << ", pixel " << i
                << ", oracle value " << want_d[i] << ", sources "
                << values[0][i]
                << (nsrc > 1 ? ", " + std::to_string(values[1][i]) : "")
                << (nsrc > 2 ? ", " + std::to_string(values[2][i]) : "");
            pixels++;
        }
        expressions++;
    }
    EXPECT_GE(expressions, 300);
    EXPECT_GT(nodata_runs, 100);
    EXPECT_EQ(pixels, expressions * n);
}

} // namespace
