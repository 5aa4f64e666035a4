// test_focal.cpp: pvrt_focal's kernel (pixelfuncs/focal.c) against a plain
// C++ reference, and its vrt-examples.
//
// The reference below is written from the documentation
// (docs/pixelfuncs-focal.md), not from focal.c: one loop over the window's
// offsets per pixel (dy, then dx), the valid values collected in that order,
// each statistic computed the obvious way (std::sort, std::map). The kernel
// must equal it bit for bit (NaN equal to NaN) for every op, both shapes,
// both edge rules, radius 1 to 7, with NoData and NaN inputs. A raster
// computed in tiles, each with the halo the driver reads (clamped at the
// raster's edges), must equal the raster computed whole. Bad arguments fail
// with a CPLError naming the argument.
//
// The examples (vrt-examples/cloud_dilate.vrt, cloud_erode.vrt) are read
// through the PVRT driver and compared with the reference applied to the
// cloud mask that GDAL's own VRT driver reads from cloud_mask.vrt.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "neighbourhood.h"
#include "pf_testutil.h"
#include "pixelfuncs.h"
#include "testutil.h"

namespace
{

const char *const kOps[] = {"mean",     "sum",      "min",    "max",
                            "median",   "range",    "std",    "count",
                            "majority", "minority", "variety"};

struct Raster {
    int w = 0, h = 0;
    std::vector<double> v;
    double at(int x, int y) const
    {
        return v[(size_t)y * w + x];
    }
};

struct Params {
    std::string op;
    int radius = 1;
    bool circle = false;
    bool shrink = false;
    bool has_src_nodata = false;
    double src_nodata = 0;
    bool has_nodata = false;
    double nodata = 0;

    std::vector<std::string> args() const
    {
        return {"op=" + op, "radius=" + std::to_string(radius),
                std::string("shape=") + (circle ? "circle" : "square"),
                std::string("edges=") + (shrink ? "shrink" : "nodata")};
    }
    pvrt_nbhd_geo geo() const
    {
        pvrt_nbhd_geo g;
        g.pixel_w = 30;
        g.pixel_h = -30;
        g.has_src_nodata = has_src_nodata;
        g.src_nodata = src_nodata;
        g.has_nodata = has_nodata;
        g.nodata = nodata;
        return g;
    }
    std::string describe() const
    {
        std::string d = "op=" + op + " radius=" + std::to_string(radius) +
                        (circle ? " circle" : " square") +
                        (shrink ? " shrink" : " nodata-edges");
        if (has_src_nodata)
            d += " src_nodata=" + std::to_string(src_nodata);
        if (has_nodata)
            d += " nodata=" + std::to_string(nodata);
        return d;
    }
};

// ---- The reference ---------------------------------------------------------

double midpoint(double a, double b)
{
    if (a == b)
        return a;
    const double m = (a + b) / 2;
    if (std::isinf(m) && std::isfinite(a) && std::isfinite(b))
        return a / 2 + b / 2;
    return m;
}

// The statistic of the valid values v (in offset order).
double statistic(const std::string &op, const std::vector<double> &v,
                 double fill)
{
    const size_t n = v.size();
    if (op == "count")
        return (double)n;
    if (op == "variety")
        return (double)std::set<double>(v.begin(), v.end()).size();
    if (n == 0)
        return fill;
    if (op == "sum" || op == "mean" || op == "std") {
        double s = 0;
        for (double x : v)
            s += x;
        if (op == "sum")
            return s;
        const double m = s / (double)n;
        if (op == "mean")
            return m;
        double ss = 0;
        for (double x : v)
            ss += (x - m) * (x - m);
        return std::sqrt(ss / (double)n);
    }
    if (op == "min" || op == "max" || op == "range") {
        double lo = v[0], hi = v[0];
        for (double x : v) {
            if (x < lo)
                lo = x;
            if (x > hi)
                hi = x;
        }
        return op == "min" ? lo : op == "max" ? hi : hi - lo;
    }
    if (op == "median") {
        std::vector<double> s = v;
        std::sort(s.begin(), s.end());
        if (n % 2 == 1)
            return s[n / 2];
        return midpoint(s[n / 2 - 1], s[n / 2]);
    }
    // majority, minority: ties go to the smallest value.
    std::map<double, int> counts;
    for (double x : v)
        counts[x]++;
    double best = counts.begin()->first;
    int best_count = counts.begin()->second;
    for (const auto &kv : counts) {
        const bool better =
            op == "majority" ? kv.second > best_count : kv.second < best_count;
        if (better) {
            best = kv.first;
            best_count = kv.second;
        }
    }
    return best;
}

std::vector<double> reference(const Raster &r, const Params &s)
{
    const double fill = s.has_nodata ? s.nodata : NAN;
    const int R = s.radius;
    std::vector<double> out((size_t)r.w * r.h);
    for (int y = 0; y < r.h; y++) {
        for (int x = 0; x < r.w; x++) {
            double &o = out[(size_t)y * r.w + x];
            if (!s.shrink &&
                (x - R < 0 || x + R >= r.w || y - R < 0 || y + R >= r.h)) {
                o = fill;
                continue;
            }
            std::vector<double> vals;
            for (int dy = -R; dy <= R; dy++) {
                for (int dx = -R; dx <= R; dx++) {
                    if (s.circle && dx * dx + dy * dy > R * R)
                        continue;
                    const int X = x + dx, Y = y + dy;
                    if (X < 0 || X >= r.w || Y < 0 || Y >= r.h)
                        continue;
                    const double v = r.at(X, Y);
                    if (std::isnan(v) ||
                        (s.has_src_nodata && v == s.src_nodata))
                        continue;
                    vals.push_back(v);
                }
            }
            o = statistic(s.op, vals, fill);
        }
    }
    return out;
}

// ---- Running the kernel ----------------------------------------------------

struct Kernel {
    pvrt_nbhd *k = nullptr;
    explicit Kernel(const Params &s, std::vector<std::string> extra = {})
    {
        std::vector<std::string> a = s.args();
        a.insert(a.end(), extra.begin(), extra.end());
        CPLStringList list;
        for (const auto &x : a)
            list.AddString(x.c_str());
        const pvrt_nbhd_geo g = s.geo();
        k = pvrt_nbhd_new("pvrt_focal", list.List(), &g);
    }
    ~Kernel()
    {
        pvrt_nbhd_free(k);
    }
    Kernel(const Kernel &) = delete;
    Kernel &operator=(const Kernel &) = delete;
};

// The whole raster in one call (its input is the raster itself).
std::vector<double> compute_whole(const Kernel &k, const Raster &r)
{
    std::vector<double> out((size_t)r.w * r.h, -12345.0);
    EXPECT_EQ(pvrt_nbhd_compute(k.k, r.v.data(), r.w, r.h, 0, 0, out.data(),
                                r.w, r.h),
              0)
        << CPLGetLastErrorMsg();
    return out;
}

// In tiles of tw x th, each given the halo the driver reads: the tile
// extended by the radius, clamped to the raster.
std::vector<double> compute_tiled(const Kernel &k, const Raster &r, int tw,
                                  int th)
{
    const int R = pvrt_nbhd_radius(k.k);
    std::vector<double> out((size_t)r.w * r.h, -12345.0);
    for (int ty = 0; ty < r.h; ty += th) {
        for (int tx = 0; tx < r.w; tx += tw) {
            const int w = std::min(tw, r.w - tx), h = std::min(th, r.h - ty);
            const int x0 = std::max(0, tx - R), y0 = std::max(0, ty - R);
            const int x1 = std::min(r.w, tx + w + R);
            const int y1 = std::min(r.h, ty + h + R);
            std::vector<double> in((size_t)(x1 - x0) * (y1 - y0));
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                    in[(size_t)(y - y0) * (x1 - x0) + (x - x0)] = r.at(x, y);
            std::vector<double> tile((size_t)w * h);
            EXPECT_EQ(pvrt_nbhd_compute(k.k, in.data(), x1 - x0, y1 - y0,
                                        tx - x0, ty - y0, tile.data(), w, h),
                      0)
                << CPLGetLastErrorMsg();
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    out[(size_t)(ty + y) * r.w + tx + x] =
                        tile[(size_t)y * w + x];
        }
    }
    return out;
}

// Number of pixels that differ (bitwise, NaN equal to NaN); reports the
// first few.
size_t compare(const std::vector<double> &got, const std::vector<double> &want,
               const Raster &r, const std::string &what)
{
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (pvrt_test::same(got[i], want[i]))
            continue;
        if (bad++ < 3)
            ADD_FAILURE() << what << ": pixel (" << i % r.w << ", " << i / r.w
                          << ") got " << got[i] << ", want " << want[i];
    }
    return bad;
}

// ---- Test rasters ----------------------------------------------------------

struct Dataset {
    const char *name;
    Raster r;
    bool has_src_nodata;
    double src_nodata;
    bool has_nodata;
    double nodata;
};

// 45 x 37: wider than the median network's batch of 32 pixels plus the
// borders of radius 3, so whole batches, tails and edges all occur.
std::vector<Dataset> datasets()
{
    const int W = 45, H = 37;
    std::vector<Dataset> all;
    pvrt_test::Rng rng(20260412);
    auto raster = [&](auto value) {
        Raster r;
        r.w = W;
        r.h = H;
        r.v.resize((size_t)W * H);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                r.v[(size_t)y * W + x] = value(x, y);
        return r;
    };
    // Classes 1..6 (ties everywhere), 15% NoData (-9999), 5% NaN, an empty
    // block (no valid value in many windows).
    all.push_back({"classes", raster([&](int x, int y) {
                       if (x >= 30 && x < 40 && y >= 5 && y < 17)
                           return -9999.0;
                       const double u = rng.uniform();
                       if (u < 0.15)
                           return -9999.0;
                       if (u < 0.20)
                           return (double)NAN;
                       return (double)(1 + rng.below(6));
                   }),
                   true, -9999.0, true, -9999.0});
    // Continuous values on a 1/8 grid (some ties), 3% NaN, a few huge and
    // infinite values; the band has no NoData (fill NaN), the input's is 7.
    all.push_back({"continuous", raster([&](int, int) {
                       const double u = rng.uniform();
                       if (u < 0.03)
                           return (double)NAN;
                       if (u < 0.04)
                           return 7.0;
                       if (u < 0.045)
                           return rng.below(2) ? 1.5e308 : -1.2e308;
                       if (u < 0.047)
                           return rng.below(2) ? (double)INFINITY
                                               : -(double)INFINITY;
                       return std::floor(rng.uniform() * 800 - 400) / 8;
                   }),
                   true, 7.0, false, 0.0});
    // No missing value at all (the median network's whole batches), no
    // NoData anywhere.
    all.push_back({"clean",
                   raster([&](int, int) { return rng.uniform() * 1000 - 500; }),
                   false, 0.0, false, 0.0});
    // Mostly clean with scattered NaN and NoData 0 (the network's batches
    // with pixels recomputed by gathering); band NoData 255.
    all.push_back({"sparse_holes", raster([&](int, int) {
                       const double u = rng.uniform();
                       if (u < 0.01)
                           return (double)NAN;
                       if (u < 0.02)
                           return 0.0;
                       return (double)(1 + rng.below(200));
                   }),
                   true, 0.0, true, 255.0});
    return all;
}

Params params_for(const Dataset &d, const std::string &op, int radius,
                  bool circle, bool shrink)
{
    Params s;
    s.op = op;
    s.radius = radius;
    s.circle = circle;
    s.shrink = shrink;
    s.has_src_nodata = d.has_src_nodata;
    s.src_nodata = d.src_nodata;
    s.has_nodata = d.has_nodata;
    s.nodata = d.nodata;
    return s;
}

// ---- Against the reference -------------------------------------------------

TEST(FocalKernel, EveryOpShapeEdgeRadiusAgainstReference)
{
    size_t runs = 0;
    for (const Dataset &d : datasets()) {
        for (const char *op : kOps) {
            for (int circle = 0; circle < 2; circle++) {
                for (int shrink = 0; shrink < 2; shrink++) {
                    for (int radius = 1; radius <= 7; radius++) {
                        const Params s =
                            params_for(d, op, radius, circle, shrink);
                        Kernel k(s);
                        ASSERT_NE(k.k, nullptr)
                            << s.describe() << ": " << CPLGetLastErrorMsg();
                        EXPECT_EQ(pvrt_nbhd_radius(k.k), radius);
                        const std::string what =
                            std::string(d.name) + " " + s.describe();
                        EXPECT_EQ(compare(compute_whole(k, d.r),
                                          reference(d.r, s), d.r, what),
                                  0u)
                            << what;
                        runs++;
                    }
                }
            }
        }
    }
    EXPECT_EQ(runs, 4u * 11 * 2 * 2 * 7);
}

// Arguments spelt otherwise: upper case, defaults, GDAL's builtin arguments
// (ignored), the `nodata` argument (the caller folds it into geo).
TEST(FocalKernel, ArgumentSpellingsAndDefaults)
{
    const Dataset d = datasets()[0];
    Params s = params_for(d, "median", 1, false, false);
    const std::vector<double> want = reference(d.r, s);
    const pvrt_nbhd_geo g = s.geo();
    const std::vector<std::vector<std::string>> spellings = {
        {"op=median"}, // radius 1, square, edges=nodata by default
        {"OP=MEDIAN", "RADIUS=1", "SHAPE=Square", "EDGES=NoData"},
        {"op=median", "nodata=-9999"},
        {"op=median", "NoData=-9999", "scale=1", "offset=0", "xoff=0", "yoff=0",
         "geotransform=0,1,0,0,0,-1", "source_names=B1", "crs=1"},
    };
    for (const auto &args : spellings) {
        CPLStringList list;
        for (const auto &a : args)
            list.AddString(a.c_str());
        pvrt_nbhd *k = pvrt_nbhd_new("pvrt_focal", list.List(), &g);
        ASSERT_NE(k, nullptr) << CPLGetLastErrorMsg();
        EXPECT_EQ(pvrt_nbhd_radius(k), 1);
        std::vector<double> got(d.r.v.size());
        ASSERT_EQ(pvrt_nbhd_compute(k, d.r.v.data(), d.r.w, d.r.h, 0, 0,
                                    got.data(), d.r.w, d.r.h),
                  0);
        EXPECT_EQ(compare(got, want, d.r, args[0]), 0u);
        pvrt_nbhd_free(k);
    }
}

// ---- Rules stated in the documentation, on small cases ---------------------

// A 1-row raster of n values, computed at pixel `at` with a square window
// of radius r and edges=shrink.
double one(const std::string &op, const std::vector<double> &row, int at, int r,
           bool has_nodata = true, double nodata = -1)
{
    Params s;
    s.op = op;
    s.radius = r;
    s.shrink = true;
    s.has_nodata = has_nodata;
    s.nodata = nodata;
    s.has_src_nodata = true;
    s.src_nodata = -9999;
    Kernel k(s);
    EXPECT_NE(k.k, nullptr) << CPLGetLastErrorMsg();
    if (k.k == nullptr)
        return -777;
    std::vector<double> out(row.size());
    EXPECT_EQ(pvrt_nbhd_compute(k.k, row.data(), (int)row.size(), 1, 0, 0,
                                out.data(), (int)row.size(), 1),
              0);
    return out[at];
}

TEST(FocalRules, TiesMissingAndFill)
{
    // Majority and minority ties go to the smallest value.
    EXPECT_EQ(one("majority", {3, 1, 3, 1, 2}, 2, 2), 1);
    EXPECT_EQ(one("minority", {3, 1, 3, 1, 2, 2}, 2, 3), 1);
    EXPECT_EQ(one("minority", {5, 4, 4, 5, 9}, 2, 2), 9);
    EXPECT_EQ(one("variety", {5, 4, 4, 5, 9}, 2, 2), 3);
    // Median of an even count: the mean of the middle two, without
    // overflowing.
    EXPECT_EQ(one("median", {1, 2, 3, 10, -9999}, 1, 3), 2.5);
    EXPECT_EQ(one("median", {1e308, 1.5e308}, 0, 1), 1e308 / 2 + 1.5e308 / 2);
    // std is the population standard deviation.
    EXPECT_EQ(one("std", {2, 4, 4, 4, 5, 5, 7, 9}, 3, 7), 2.0);
    // No valid input: the band's NoData; NaN without one; count and variety
    // are 0.
    const std::vector<double> empty = {-9999, NAN, -9999};
    EXPECT_EQ(one("mean", empty, 1, 1), -1);
    EXPECT_TRUE(std::isnan(one("median", empty, 1, 1, false)));
    EXPECT_TRUE(std::isnan(one("majority", empty, 1, 1, false)));
    EXPECT_EQ(one("count", empty, 1, 1), 0);
    EXPECT_EQ(one("variety", empty, 1, 1), 0);
    // The centre may be missing: the window still has values.
    EXPECT_EQ(one("mean", {2, -9999, 4}, 1, 1), 3);
    // -0 and +0 are one value; majority returns -0 when one is present.
    EXPECT_EQ(one("variety", {0.0, -0.0, 1}, 1, 1), 2);
    const double m = one("majority", {0.0, -0.0, 0.0}, 1, 1);
    EXPECT_TRUE(m == 0 && std::signbit(m));
}

// Whole, valid windows (sorted by a comparator network, which may put -0
// and +0 either way) follow the same zero rule as gathered ones.
TEST(FocalRules, SignedZerosInWholeWindows)
{
    Raster r;
    r.w = 40;
    r.h = 9;
    r.v.assign((size_t)r.w * r.h, 0.0);
    pvrt_test::Rng rng(7);
    for (double &v : r.v)
        if (rng.below(10) == 0)
            v = -0.0;
    for (const char *op : {"majority", "minority", "variety", "median"}) {
        for (int radius : {1, 2, 3}) {
            Params s;
            s.op = op;
            s.radius = radius;
            Kernel k(s);
            ASSERT_NE(k.k, nullptr);
            const std::vector<double> got = compute_whole(k, r);
            for (int y = radius; y < r.h - radius; y++) {
                for (int x = radius; x < r.w - radius; x++) {
                    bool neg = false;
                    for (int dy = -radius; dy <= radius; dy++)
                        for (int dx = -radius; dx <= radius; dx++)
                            neg |= std::signbit(r.at(x + dx, y + dy));
                    const double g = got[(size_t)y * r.w + x];
                    if (!strcmp(op, "variety"))
                        EXPECT_EQ(g, 1.0) << x << "," << y;
                    else if (!strcmp(op, "median"))
                        EXPECT_EQ(g, 0.0) << x << "," << y; // either sign
                    else
                        EXPECT_TRUE(g == 0 && std::signbit(g) == neg)
                            << op << " r=" << radius << " at " << x << "," << y
                            << ": " << g;
                }
            }
        }
    }
}

TEST(FocalRules, EdgesNodataIsGeometric)
{
    // With edges=nodata, a window that leaves the raster gives NoData for
    // every op, count included, even when its inside part is valid.
    Raster r;
    r.w = 5;
    r.h = 5;
    r.v.assign(25, 1.0);
    for (const char *op : kOps) {
        Params s;
        s.op = op;
        s.radius = 1;
        s.has_nodata = true;
        s.nodata = -5;
        Kernel k(s);
        ASSERT_NE(k.k, nullptr);
        const std::vector<double> got = compute_whole(k, r);
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 5; x++) {
                const bool edge = x == 0 || y == 0 || x == 4 || y == 4;
                if (edge)
                    EXPECT_EQ(got[y * 5 + x], -5) << op << " " << x << "," << y;
                else
                    EXPECT_NE(got[y * 5 + x], -5) << op << " " << x << "," << y;
            }
    }
}

// ---- Tiles with clamped halos equal the whole computation -------------------

TEST(FocalKernel, TilesEqualWhole)
{
    const std::vector<std::pair<int, int>> tiles = {
        {1, 1}, {7, 5}, {16, 16}, {45, 3}, {3, 37}, {33, 2}, {40, 36}};
    for (const Dataset &d : datasets()) {
        for (const char *op : kOps) {
            for (int circle = 0; circle < 2; circle++) {
                for (int shrink = 0; shrink < 2; shrink++) {
                    for (int radius : {1, 2, 3, 6}) {
                        const Params s =
                            params_for(d, op, radius, circle, shrink);
                        Kernel k(s);
                        ASSERT_NE(k.k, nullptr);
                        const std::vector<double> whole = compute_whole(k, d.r);
                        for (const auto &t : tiles) {
                            const std::string what =
                                std::string(d.name) + " " + s.describe() +
                                " tiles " + std::to_string(t.first) + "x" +
                                std::to_string(t.second);
                            EXPECT_EQ(compare(compute_tiled(k, d.r, t.first,
                                                            t.second),
                                              whole, d.r, what),
                                      0u)
                                << what;
                        }
                    }
                }
            }
        }
    }
}

// An output window may sit anywhere in a larger buffer (ox, oy > 0).
TEST(FocalKernel, OutputInsideALargerBuffer)
{
    const Dataset d = datasets()[1];
    for (const char *op : kOps) {
        const Params s = params_for(d, op, 2, true, true);
        Kernel k(s);
        ASSERT_NE(k.k, nullptr);
        const std::vector<double> whole = compute_whole(k, d.r);
        std::vector<double> part(10 * 6);
        ASSERT_EQ(pvrt_nbhd_compute(k.k, d.r.v.data(), d.r.w, d.r.h, 17, 9,
                                    part.data(), 10, 6),
                  0);
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 10; x++)
                EXPECT_TRUE(pvrt_test::same(
                    part[y * 10 + x], whole[(size_t)(9 + y) * d.r.w + 17 + x]))
                    << op << " " << x << "," << y;
    }
}

// ---- Bad arguments
// -----------------------------------------------------------

struct BadCase {
    std::vector<std::string> args;
    std::string must_mention;
};

TEST(FocalBadArgs, EachNamesTheArgument)
{
    const std::vector<BadCase> cases = {
        {{}, "'op'"},
        {{"radius=2"}, "'op'"},
        {{"op=average"}, "'op'"},
        {{"op="}, "'op'"},
        {{"op=percentile"}, "'op'"},
        {{"op=mode"}, "'op'"},
        {{"op=median "}, "'op'"},
        {{"op=mean,max"}, "'op'"},
        {{"op=mean", "radius=0"}, "'radius'"},
        {{"op=mean", "radius=-1"}, "'radius'"},
        {{"op=mean", "radius=51"}, "'radius'"},
        {{"op=mean", "radius=abc"}, "'radius'"},
        {{"op=mean", "radius=2.5"}, "'radius'"},
        {{"op=mean", "radius="}, "'radius'"},
        {{"op=mean", "radius=1e1"}, "'radius'"},
        {{"op=mean", "radius=99999999999999999999"}, "'radius'"},
        {{"op=mean", "radius=3x"}, "'radius'"},
        {{"op=mean", "shape=round"}, "'shape'"},
        {{"op=mean", "shape="}, "'shape'"},
        {{"op=mean", "shape=squares"}, "'shape'"},
        {{"op=mean", "shape=diamond"}, "'shape'"},
        {{"op=mean", "edges=wrap"}, "'edges'"},
        {{"op=mean", "edges="}, "'edges'"},
        {{"op=mean", "edges=reflect"}, "'edges'"},
        {{"op=mean", "edges=nearest"}, "'edges'"},
        {{"op=mean", "nodata=abc"}, "'nodata'"},
        {{"op=mean", "nodata="}, "'nodata'"},
        {{"op=mean", "nodata=1,2"}, "'nodata'"},
        {{"op=mean", "nodata=nanx"}, "'nodata'"},
        {{"op=mean", "size=3"}, "'size'"},
        {{"op=mean", "radiuss=2"}, "'radiuss'"},
        {{"op=mean", "q=50"}, "'q'"},
        {{"op=mean", "skip=1"}, "'skip'"},
        {{"op=mean", "min_count=2"}, "'min_count'"},
        {{"op=mean", "shape_=circle"}, "'shape_'"},
        {{"op=mean", "weights=1,2,1"}, "'weights'"},
        {{"op=mean", "radius"}, "'radius'"},
        {{"op=mean", "mode=1"}, "'mode'"},
        {{"op=mean", "=3"}, "''"},
    };
    EXPECT_GE(cases.size(), 30u);
    pvrt_nbhd_geo g;
    memset(&g, 0, sizeof(g));
    for (const BadCase &c : cases) {
        CPLStringList list;
        for (const auto &a : c.args)
            list.AddString(a.c_str());
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        pvrt_nbhd *k = pvrt_nbhd_new("pvrt_focal", list.List(), &g);
        CPLPopErrorHandler();
        std::string joined;
        for (const auto &a : c.args)
            joined += a + " ";
        EXPECT_EQ(k, nullptr) << joined;
        pvrt_nbhd_free(k);
        const std::string msg = CPLGetLastErrorMsg();
        EXPECT_EQ(CPLGetLastErrorType(), CE_Failure) << joined;
        EXPECT_NE(msg.find("pvrt_focal"), std::string::npos)
            << joined << ": " << msg;
        EXPECT_NE(msg.find(c.must_mention), std::string::npos)
            << joined << ": " << msg;
    }
}

TEST(FocalBadArgs, ComputeOutsideTheBufferFails)
{
    Params s;
    s.op = "mean";
    Kernel k(s);
    ASSERT_NE(k.k, nullptr);
    std::vector<double> in(20, 1.0), out(20);
    const int bad[][6] = {// in_w, in_h, ox, oy, out_w, out_h
                          {5, 4, 1, 0, 5, 4},  {5, 4, 0, 1, 5, 4},
                          {5, 4, -1, 0, 2, 2}, {5, 4, 0, -1, 2, 2},
                          {5, 4, 0, 0, -1, 2}, {5, 4, 4, 3, 2, 2}};
    for (const auto &b : bad) {
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        const int rc = pvrt_nbhd_compute(k.k, in.data(), b[0], b[1], b[2], b[3],
                                         out.data(), b[4], b[5]);
        CPLPopErrorHandler();
        EXPECT_EQ(rc, -1);
        EXPECT_NE(std::string(CPLGetLastErrorMsg()).find("pvrt_focal"),
                  std::string::npos);
    }
}

// Through GDAL's registry (GDAL's VRT driver has no halo): a refusal that
// names the PVRT driver.
TEST(FocalBadArgs, RegisteredFunctionRefuses)
{
    ASSERT_EQ(pvrt_pixelfuncs_register(), 0);
    GDALDerivedPixelFuncWithArgs fn = pvrt_test::pixelfunc("pvrt_focal");
    ASSERT_NE(fn, nullptr);
    double src[4] = {1, 2, 3, 4}, dst[4];
    void *sources[1] = {src};
    const char *args[] = {"op=mean", nullptr};
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    const CPLErr e =
        fn(sources, 1, dst, 2, 2, GDT_Float64, GDT_Float64, 8, 16, args);
    CPLPopErrorHandler();
    EXPECT_EQ(e, CE_Failure);
    EXPECT_NE(std::string(CPLGetLastErrorMsg()).find("PVRT"),
              std::string::npos);
}

// ---- vrt-examples: morphology of the cloud mask
// ------------------------------

class FocalExamples : public ::testing::Test
{
  protected:
    static std::string dir_;

    static void SetUpTestSuite()
    {
        ASSERT_EQ(pvrt_pixelfuncs_register(), 0);
        if (pvrt_test::python().empty())
            return;
        dir_ = pvrt_test::scratch("focal_examples");
        // make_expr_inputs.py writes expr_qa.tif and copies cloud_mask.vrt;
        // the focal VRTs name cloud_mask.vrt relative to themselves.
        const std::string src = pvrt_test::source_dir() + "/vrt-examples/";
        std::string out;
        const std::string cmd =
            "env -u GDAL_DRIVER_PATH '" + pvrt_test::python() + "' '" + src +
            "make_expr_inputs.py' '" + dir_ + "' && cp '" + src +
            "cloud_dilate.vrt' '" + src + "cloud_erode.vrt' '" + dir_ + "/'";
        if (pvrt_test::run_command(cmd, &out) != 0) {
            ADD_FAILURE() << out;
            dir_.clear();
        }
    }

    // Band 1 as doubles, or empty after a failure.
    static std::vector<double> read(GDALDatasetH ds)
    {
        std::vector<double> v;
        if (pvrt_test::read_band1(ds, GDT_Float64, &v) != CE_None)
            v.clear();
        return v;
    }

    static void check(const std::string &name, const char *op, int radius,
                      bool circle)
    {
        if (dir_.empty())
            GTEST_SKIP() << "no python3 with numpy";
        // The mask, as GDAL's VRT driver computes it with pvrt_expr.
        Raster mask;
        {
            pvrt_test::OracleScope scope;
            GDALDatasetH ds = pvrt_test::open_oracle(dir_ + "/cloud_mask.vrt");
            ASSERT_NE(ds, nullptr) << CPLGetLastErrorMsg();
            mask.w = GDALGetRasterXSize(ds);
            mask.h = GDALGetRasterYSize(ds);
            mask.v = read(ds);
            GDALClose(ds);
        }
        ASSERT_FALSE(mask.v.empty()) << CPLGetLastErrorMsg();
        Params s;
        s.op = op;
        s.radius = radius;
        s.circle = circle;
        s.shrink = true;
        s.has_src_nodata = true;
        s.src_nodata = 255;
        s.has_nodata = true;
        s.nodata = 255;
        const std::vector<double> want = reference(mask, s);

        for (const char *threads : {"1", "3"}) {
            GDALDatasetH ds = pvrt_test::open_pvrt(
                dir_ + "/" + name + ".vrt",
                {std::string("NUM_THREADS=") + threads, "TILE_SIZE=37x23"});
            ASSERT_NE(ds, nullptr) << CPLGetLastErrorMsg();
            EXPECT_EQ(pvrt_test::driver_name(ds), "PVRT");
            EXPECT_EQ(GDALGetRasterDataType(GDALGetRasterBand(ds, 1)),
                      GDT_Byte);
            const std::vector<double> got = read(ds);
            GDALClose(ds);
            ASSERT_EQ(got.size(), want.size()) << CPLGetLastErrorMsg();
            EXPECT_EQ(compare(got, want, mask, name), 0u) << name;
        }
        // The example does something: some clear pixels change.
        size_t changed = 0;
        for (size_t i = 0; i < want.size(); i++)
            changed += want[i] != mask.v[i];
        EXPECT_GT(changed, 100u) << name;
    }
};

std::string FocalExamples::dir_;

TEST_F(FocalExamples, CloudDilate)
{
    check("cloud_dilate", "max", 3, true);
}

TEST_F(FocalExamples, CloudErode)
{
    check("cloud_erode", "min", 3, true);
}

} // namespace
