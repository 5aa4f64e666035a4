// pf_testutil.h: helpers the pixel-function suites share.
//
// Looking a function up in the plugin's table, comparing doubles bit for
// bit (NaN equal to NaN), and converting a reference result to an output
// type the way GDALCopyWords does, so references compare with outputs.
#ifndef PVRT_PF_TESTUTIL_H
#define PVRT_PF_TESTUTIL_H

#include <gdal.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pixelfuncs.h"

namespace pvrt_test
{

// The pixel function registered as `name` (a test failure if there is none).
inline GDALDerivedPixelFuncWithArgs pixelfunc(const char *name)
{
    GDALDerivedPixelFuncWithArgs fn = pvrt_pixelfunc_find(name, nullptr);
    EXPECT_NE(fn, nullptr) << name;
    return fn;
}

// Bit equality, NaN equal to NaN.
inline bool same(double a, double b)
{
    if (std::isnan(a) && std::isnan(b))
        return true;
    return std::memcmp(&a, &b, sizeof a) == 0;
}

// r converted to type t as GDALCopyWords converts, then back to double.
inline std::vector<double> convert(const std::vector<double> &r, GDALDataType t)
{
    const int size = GDALGetDataTypeSizeBytes(t);
    std::vector<GByte> tmp(r.size() * size);
    GDALCopyWords(r.data(), GDT_Float64, 8, tmp.data(), t, size, (int)r.size());
    std::vector<double> back(r.size());
    GDALCopyWords(tmp.data(), t, size, back.data(), GDT_Float64, 8,
                  (int)r.size());
    return back;
}

// A small deterministic generator (splitmix64) for generated test cases.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next()
    {
        uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1).
    double uniform()
    {
        return (double)(next() >> 11) / 9007199254740992.0;
    }
    // Uniform in [0, n).
    int below(int n)
    {
        return (int)(next() % (uint64_t)n);
    }
};

} // namespace pvrt_test

#endif
