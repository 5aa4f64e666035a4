// test_ahead.cpp: sequential readers (block loops, row loops, GDAL's own
// checksum and statistics) get the bytes GDAL's VRT driver returns, and the
// region ahead of them is computed at once (ahead.c, tilecache.c).
//
// A derived VRT (GDAL's builtin sum of four tiled DEFLATE sources with
// NoData, Float32 with NoData, a size that is a multiple of nothing) is
// read window by window in many orders, through PVRT and through the VRT
// driver (the oracle), and every window's bytes are compared. Each order
// also asserts the mechanism through the __DEBUG__ metadata: walks in
// raster order (either direction, rows or blocks, column-major too)
// compute regions ahead and are served from the cache; jumps compute
// nothing ahead; READ_AHEAD=NO and NUM_THREADS=1 never do; the cache never
// holds more than CACHE_MB.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_alg.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "testutil.h"

using namespace pvrt_test;

namespace
{

const int W = 517, H = 389;

// A source element with its <SourceProperties> (block size `block`), as
// gdalbuildvrt writes them: PVRT learns from them that the sources share
// one block grid, and a walk drops the source blocks it has passed.
std::string source_with_blocks(const std::string &path, int block)
{
    std::string s = simple_source(path, 1, W, H);
    const std::string props =
        CPLSPrintf("<SourceProperties RasterXSize=\"%d\" RasterYSize=\"%d\" "
                   "DataType=\"UInt16\" BlockXSize=\"%d\" "
                   "BlockYSize=\"%d\"/>",
                   W, H, block, block);
    s.insert(s.find("</SourceBand>") + strlen("</SourceBand>"), props);
    return s;
}

// The derived VRT, written as `name` (statistics are saved into the VRT
// file on close, so that test has a copy of its own). Its sources say
// their block size (64, as they are tiled), so every walk below also drops
// source blocks; `second_block` > 0 gives the second source another block
// size in its properties (no shared grid), 0 none for any.
std::string make_vrt(const std::string &name = "ahead_sum.vrt",
                     int second_block = 64)
{
    static std::vector<std::string> paths;
    for (int i = static_cast<int>(paths.size()); i < 4; i++) {
        RasterSpec s = tiled_spec(W, H, GDT_UInt16);
        s.compress = "DEFLATE";
        s.seed = 11 + i;
        s.has_nodata = true;
        s.nodata = 7;
        paths.push_back(make_tiff("ahead_src" + std::to_string(i) + ".tif", s));
    }
    std::vector<std::string> sources;
    for (int i = 0; i < 4; i++)
        sources.push_back(
            second_block == 0
                ? simple_source(paths[i], 1, W, H)
                : source_with_blocks(paths[i], i == 1 ? second_block : 64));
    return write_file(
        name,
        vrt_dataset(W, H,
                    {derived_band(1, GDT_Float32, "sum", sources, "",
                                  GDT_Unknown, "<NoDataValue>-1</NoDataValue>"),
                     derived_band(2, GDT_Int16, "sum", sources)}));
}

long long debug_item(GDALDatasetH ds, const char *name)
{
    const char *v = GDALGetMetadataItem(ds, name, "__DEBUG__");
    return v ? atoll(v) : -1;
}

struct Win {
    int x, y, w, h;
};

// Windows of size bw x bh covering the raster, in raster order.
std::vector<Win> grid(int bw, int bh)
{
    std::vector<Win> out;
    for (int y = 0; y < H; y += bh)
        for (int x = 0; x < W; x += bw)
            out.push_back({x, y, std::min(bw, W - x), std::min(bh, H - y)});
    return out;
}

enum Order { kRaster, kReverse, kRightToLeft, kColumnMajor, kJumps };

std::vector<Win> ordered(int bw, int bh, Order o)
{
    std::vector<Win> g = grid(bw, bh);
    const int nx = (W + bw - 1) / bw;
    switch (o) {
        case kRaster:
            return g;
        case kReverse:
            std::reverse(g.begin(), g.end());
            return g;
        case kRightToLeft: {
            std::vector<Win> out;
            for (size_t r = 0; r < g.size() / nx; r++)
                for (int c = nx - 1; c >= 0; c--)
                    out.push_back(g[r * nx + c]);
            return out;
        }
        case kColumnMajor: {
            std::vector<Win> out;
            const int ny = static_cast<int>(g.size()) / nx;
            for (int c = 0; c < nx; c++)
                for (int r = 0; r < ny; r++)
                    out.push_back(g[r * nx + c]);
            return out;
        }
        case kJumps: {
            // A stride coprime with the count: no two consecutive windows
            // touch.
            std::vector<Win> out;
            const size_t n = g.size();
            size_t stride = 7;
            while (n % stride == 0 || stride % nx == 0 || stride % nx == 1 ||
                   stride % nx == static_cast<size_t>(nx - 1))
                stride += 2;
            for (size_t i = 0, k = 0; i < n; i++, k = (k + stride) % n)
                out.push_back(g[k]);
            return out;
        }
    }
    return g;
}

std::vector<GByte> read_win(GDALDatasetH ds, int band, const Win &w,
                            GDALDataType type, CPLErr *err)
{
    std::vector<GByte> buf(static_cast<size_t>(w.w) * w.h *
                           GDALGetDataTypeSizeBytes(type));
    *err = GDALRasterIO(GDALGetRasterBand(ds, band), GF_Read, w.x, w.y, w.w,
                        w.h, buf.data(), w.w, w.h, type, 0, 0);
    return buf;
}

struct Walk {
    long long regions = 0, hits = 0, cache_bytes = 0, background = 0;
    long long large_ahead = 0, large_tiles_hit = 0, reused = 0;
};

// Reads `wins` of `band` through PVRT (options) and the oracle, comparing
// every window; returns the debug counters after the walk. A slow reader
// spends three times as long as the read itself (at least 5 ms) before the
// next one, as gdalwarp warps a chunk before it reads the next.
Walk walk(const std::vector<Win> &wins, int band, GDALDataType type,
          const std::vector<std::string> &options, size_t stop_after = 0,
          bool slow = false)
{
    const std::string vrt = make_vrt();
    Walk out;
    GDALDatasetH p = open_pvrt(vrt, options);
    EXPECT_NE(p, nullptr);
    if (p == nullptr)
        return out;
    EXPECT_EQ(driver_name(p), "PVRT");
    OracleScope scope;
    GDALDatasetH o = open_oracle(vrt);
    EXPECT_NE(o, nullptr);
    const size_t n = stop_after ? stop_after : wins.size();
    for (size_t i = 0; i < n; i++) {
        CPLErr e1, e2;
        const auto t0 = std::chrono::steady_clock::now();
        const std::vector<GByte> got = read_win(p, band, wins[i], type, &e1);
        const auto took = std::chrono::steady_clock::now() - t0;
        const std::vector<GByte> want = read_win(o, band, wins[i], type, &e2);
        EXPECT_EQ(e1, CE_None) << CPLGetLastErrorMsg();
        EXPECT_EQ(e2, CE_None);
        if (got != want) {
            ADD_FAILURE() << "window " << i << " at " << wins[i].x << ","
                          << wins[i].y << " " << wins[i].w << "x" << wins[i].h;
            break;
        }
        if (slow)
            std::this_thread::sleep_for(
                std::max<std::chrono::steady_clock::duration>(
                    3 * took, std::chrono::milliseconds(5)));
    }
    out.regions = debug_item(p, "AHEAD_REGIONS");
    out.hits = debug_item(p, "CACHE_HITS");
    out.cache_bytes = debug_item(p, "CACHE_BYTES");
    out.background = debug_item(p, "BACKGROUND_REGIONS");
    out.large_ahead = debug_item(p, "LARGE_AHEAD");
    out.large_tiles_hit = debug_item(p, "LARGE_TILES_HIT");
    out.reused = debug_item(p, "REGIONS_REUSED");
    GDALClose(o);
    GDALClose(p);
    return out;
}

std::vector<std::string> opts(int threads, std::vector<std::string> more = {})
{
    more.push_back("NUM_THREADS=" + std::to_string(threads));
    more.push_back("MIN_TILE_PIXELS=1024");
    return more;
}

TEST(Ahead, BlockLoopsInEveryOrderAreExactAndComputeAhead)
{
    for (int threads : {2, 3, 8})
        for (Order o : {kRaster, kReverse, kRightToLeft, kColumnMajor}) {
            SCOPED_TRACE("threads " + std::to_string(threads) + " order " +
                         std::to_string(o));
            const Walk w =
                walk(ordered(32, 32, o), 1, GDT_Float32, opts(threads));
            EXPECT_GT(w.regions, 0);
            // Most windows come out of the cache.
            EXPECT_GT(w.hits, static_cast<long long>(grid(32, 32).size()) / 2);
        }
}

TEST(Ahead, RowLoopsBothWays)
{
    for (Order o : {kRaster, kReverse}) {
        const Walk w = walk(ordered(W, 1, o), 1, GDT_Float32, opts(2));
        EXPECT_GT(w.regions, 0);
        EXPECT_GT(w.hits, H / 2);
    }
}

TEST(Ahead, AWalkDownFromTheTopLinesStartsAtItsFirstRead)
{
    // The top lines of the whole width (GDAL's checksum, a loop over rows)
    // compute their cells' region at once: after that first read alone.
    for (int lines : {1, 3}) {
        const Walk w = walk({{0, 0, W, lines}}, 1, GDT_Float32, opts(2));
        EXPECT_EQ(w.regions, 1) << lines << " lines";
    }
    // Anything else read first waits for the second read to show a walk:
    // not the whole width, not at the top, or a walk's own next window.
    for (const Win &first :
         {Win{0, 0, W - 1, 1}, Win{1, 0, W - 1, 1}, Win{0, 1, W, 1}}) {
        const Walk w = walk({first}, 1, GDT_Float32, opts(2));
        EXPECT_EQ(w.regions, 0) << first.x << "," << first.y << " " << first.w;
    }
    // The whole walk from there: every line equal to the VRT driver's, all
    // but the first served from the cache.
    const Walk all = walk(ordered(W, 1, kRaster), 1, GDT_Float32, opts(2));
    EXPECT_GE(all.hits, H - 1);
}

TEST(Ahead, TopLinesOfTwoBandsInTurn)
{
    // Line after line, band 1 then band 2 (another type): each band's first
    // line computes its region, the other band's read stops the background
    // of the one before; every line equals the VRT driver's.
    const std::string vrt = make_vrt();
    GDALDatasetH p = open_pvrt(vrt, opts(2, {"CACHE_MB=1"}));
    ASSERT_NE(p, nullptr);
    OracleScope scope;
    GDALDatasetH o = open_oracle(vrt);
    ASSERT_NE(o, nullptr);
    for (int y = 0; y < H; y++)
        for (int band : {1, 2}) {
            const GDALDataType type = band == 1 ? GDT_Float32 : GDT_Int16;
            CPLErr e1, e2;
            const Win line{0, y, W, 1};
            const std::vector<GByte> got = read_win(p, band, line, type, &e1);
            const std::vector<GByte> want = read_win(o, band, line, type, &e2);
            ASSERT_EQ(e1, CE_None) << CPLGetLastErrorMsg();
            ASSERT_EQ(e2, CE_None);
            ASSERT_EQ(got, want) << "band " << band << " line " << y;
        }
    EXPECT_GE(debug_item(p, "AHEAD_REGIONS"), 2);
    GDALClose(o);
    GDALClose(p);
}

TEST(Ahead, TheNextRegionIsComputedInTheBackground)
{
    // 1 MB of cache: regions of one row of grid cells, so a walk over the
    // raster meets many, each after the first computed while the reader was in
    // the one before. Every window is compared with the oracle (walk).
    for (Order o : {kRaster, kReverse}) {
        const Walk rows =
            walk(ordered(W, 1, o), 1, GDT_Float64, opts(2, {"CACHE_MB=1"}));
        EXPECT_GT(rows.background, 1);
        EXPECT_LE(rows.background, rows.regions);
        EXPECT_LE(rows.cache_bytes, 1024 * 1024);
    }
    for (Order o : {kRaster, kRightToLeft, kColumnMajor}) {
        const Walk blocks =
            walk(ordered(32, 32, o), 1, GDT_Float32, opts(3, {"CACHE_MB=1"}));
        EXPECT_GT(blocks.background, 0) << o;
    }
    // A reader that stops with a region in the background, then closes.
    walk(ordered(W, 1, kRaster), 1, GDT_Float64, opts(2, {"CACHE_MB=1"}), 300);
}

TEST(Ahead, PassedRegionsGiveTheirMemoryToTheNext)
{
    // Rows in raster order, 2 MB of cache: each region is one row of grid
    // cells (64 rows of 517 Float64, 264,704 bytes), seven in all, which
    // would all fit. A region the reader has passed is dropped and its
    // memory computes the one after the next, so the cache ends holding
    // the last regions only. Every window is compared with the oracle.
    const long long region = 64LL * W * 8;
    const Walk w =
        walk(ordered(W, 1, kRaster), 1, GDT_Float64, opts(2, {"CACHE_MB=2"}));
    EXPECT_GT(w.background, 2);
    EXPECT_GT(w.reused, 1);
    EXPECT_LE(w.cache_bytes, 2 * region);
    // Blocks, right to left: passed rows of blocks are reused too.
    const Walk b = walk(ordered(64, 64, kRightToLeft), 1, GDT_Float64,
                        opts(2, {"CACHE_MB=2"}));
    EXPECT_GT(b.reused, 0);
}

// GDAL's source pool closes what it opened under its own lock, which the
// background's reads would need: datasets it opens (it sets
// CPL_ALLOW_VSISTDIN=NO on its thread while it opens) compute ahead
// synchronously only.
TEST(Ahead, NoBackgroundForDatasetsGdalsSourcePoolOpens)
{
    CPLSetThreadLocalConfigOption("CPL_ALLOW_VSISTDIN", "NO");
    const std::string vrt = make_vrt();
    GDALDatasetH p = open_pvrt(vrt, opts(2, {"CACHE_MB=1"}));
    CPLSetThreadLocalConfigOption("CPL_ALLOW_VSISTDIN", nullptr);
    ASSERT_NE(p, nullptr);
    for (const Win &w : ordered(W, 1, kRaster)) {
        CPLErr err;
        read_win(p, 1, w, GDT_Float64, &err);
        ASSERT_EQ(err, CE_None);
    }
    EXPECT_GT(debug_item(p, "AHEAD_REGIONS"), 1);
    EXPECT_EQ(debug_item(p, "BACKGROUND_REGIONS"), 0);
    GDALClose(p);
}

TEST(Ahead, OtherBandsAndBufferTypes)
{
    const Walk a = walk(ordered(64, 64, kRaster), 2, GDT_Int16, opts(2));
    EXPECT_GT(a.regions, 0);
    const Walk b = walk(ordered(64, 64, kRaster), 1, GDT_Float64, opts(3));
    EXPECT_GT(b.regions, 0);
    const Walk c = walk(ordered(40, 24, kRaster), 2, GDT_Byte, opts(2));
    EXPECT_GT(c.regions, 0);
}

TEST(Ahead, JumpsComputeNothingAhead)
{
    const Walk w = walk(ordered(32, 32, kJumps), 1, GDT_Float32, opts(2));
    EXPECT_EQ(w.regions, 0);
    EXPECT_EQ(w.hits, 0);
}

TEST(Ahead, EarlyStopAndJumpAfterAWalk)
{
    std::vector<Win> wins = ordered(32, 32, kRaster);
    walk(wins, 1, GDT_Float32, opts(2), 5);
    // A walk, then a jump back to the start, then a walk again.
    std::vector<Win> twice(wins.begin(), wins.begin() + 40);
    twice.insert(twice.end(), wins.begin(), wins.begin() + 40);
    const Walk w = walk(twice, 1, GDT_Float32, opts(2));
    EXPECT_GT(w.hits, 40);
}

TEST(Ahead, OffWhenAskedOrSerial)
{
    const Walk off = walk(ordered(32, 32, kRaster), 1, GDT_Float32,
                          opts(2, {"READ_AHEAD=NO"}));
    EXPECT_EQ(off.regions, 0);
    const Walk none =
        walk(ordered(32, 32, kRaster), 1, GDT_Float32, opts(2, {"CACHE_MB=0"}));
    EXPECT_EQ(none.regions, 0);
    const Walk serial = walk(ordered(32, 32, kRaster), 1, GDT_Float32, opts(1));
    EXPECT_EQ(serial.regions, 0);
}

TEST(Ahead, CacheStaysWithinItsCap)
{
    // 1 MB of cache: regions of one row of grid cells, so several regions,
    // and never more than the cap held.
    const Walk w =
        walk(ordered(W, 1, kRaster), 1, GDT_Float64, opts(2, {"CACHE_MB=1"}));
    EXPECT_GT(w.regions, 2);
    EXPECT_LE(w.cache_bytes, 1024 * 1024);
}

TEST(Ahead, BadOptionsFailNamingThem)
{
    for (const char *bad : {"READ_AHEAD=maybe", "CACHE_MB=-3", "CACHE_MB=x"}) {
        CPLPushErrorHandler(CPLQuietErrorHandler);
        CPLErrorReset();
        GDALDatasetH ds = open_pvrt(make_vrt(), {bad});
        CPLPopErrorHandler();
        EXPECT_EQ(ds, nullptr) << bad;
        const std::string name(bad, strchr(bad, '=') - bad);
        EXPECT_NE(std::string(CPLGetLastErrorMsg()).find(name),
                  std::string::npos)
            << CPLGetLastErrorMsg();
        if (ds)
            GDALClose(ds);
    }
}

// Large reads, as gdalwarp reads its chunks and gdal_translate its swaths:
// an nx x ny grid of windows in raster order, each grown or shrunk by up to
// `jitter` pixels on every side (gdalwarp's chunks overlap and differ).
std::vector<Win> chunks(int nx, int ny, int jitter)
{
    std::vector<Win> out;
    unsigned seed = 5;
    auto next = [&seed, jitter]() {
        seed = seed * 1103515245u + 12345u;
        return jitter
                   ? static_cast<int>((seed >> 16) % (2 * jitter + 1)) - jitter
                   : 0;
    };
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            const int x0 = std::max(0, W * i / nx + next());
            const int y0 = std::max(0, H * j / ny + next());
            const int x1 = std::min(W, W * (i + 1) / nx + next());
            const int y1 = std::min(H, H * (j + 1) / ny + next());
            out.push_back({x0, y0, x1 - x0, y1 - y0});
        }
    return out;
}

// A slow reader of large windows, band 1.
Walk large_walk(const std::vector<Win> &wins, GDALDataType type,
                const std::vector<std::string> &options, bool slow)
{
    return walk(wins, 1, type, options, 0, slow);
}

TEST(Ahead, TheNextLargeReadOfASlowReaderIsComputedMeanwhile)
{
    for (int threads : {2, 3, 8}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        // gdalwarp-like chunks: each after the second predicted, most
        // of it taken from the region computed while the reader slept.
        const Walk warp =
            large_walk(chunks(3, 3, 3), GDT_Float32, opts(threads), true);
        EXPECT_GE(warp.large_ahead, 4);
        EXPECT_GE(warp.large_tiles_hit, warp.large_ahead);
        // Full-width swaths, exactly one after the other: gdal_translate's,
        // never computed ahead however slow the reader.
        const Walk swaths =
            large_walk(chunks(1, 6, 0), GDT_Float64, opts(threads), true);
        EXPECT_EQ(swaths.large_ahead, 0);
        // Half-width strips are.
        const Walk strips =
            large_walk(chunks(2, 6, 0), GDT_Float64, opts(threads), true);
        EXPECT_GE(strips.large_ahead, 4);
    }
    // Reads that do not follow each other (the chunks backwards, a jump),
    // other buffer types, and a reader that is not slow: the bytes are
    // still the oracle's.
    std::vector<Win> back = chunks(3, 3, 3);
    std::reverse(back.begin(), back.end());
    large_walk(back, GDT_Float32, opts(2), true);
    std::vector<Win> mixed = chunks(3, 3, 2);
    std::swap(mixed[3], mixed[7]);
    large_walk(mixed, GDT_Int16, opts(3), true);
    large_walk(chunks(3, 3, 3), GDT_Byte, opts(2), false);
}

TEST(Ahead, NoLargeReadAheadWhenOffOrWithoutCache)
{
    for (const char *off : {"READ_AHEAD=NO", "CACHE_MB=0"}) {
        const Walk w =
            large_walk(chunks(3, 3, 3), GDT_Float32, opts(2, {off}), true);
        EXPECT_EQ(w.large_ahead, 0) << off;
        EXPECT_EQ(w.large_tiles_hit, 0) << off;
    }
}

// GDAL's own block loops: the checksum and statistics through PVRT equal
// the VRT driver's, and they walked through regions computed ahead.
TEST(Ahead, ChecksumAndStatisticsLikeGdal)
{
    const std::string vrt = make_vrt("ahead_stats.vrt");
    GDALDatasetH p = open_pvrt(vrt, opts(2));
    ASSERT_NE(p, nullptr);
    int want_sum;
    double want[4];
    {
        OracleScope scope;
        GDALDatasetH o = open_oracle(vrt);
        ASSERT_NE(o, nullptr);
        want_sum = GDALChecksumImage(GDALGetRasterBand(o, 1), 0, 0, W, H);
        ASSERT_EQ(GDALComputeRasterStatistics(GDALGetRasterBand(o, 2), FALSE,
                                              &want[0], &want[1], &want[2],
                                              &want[3], nullptr, nullptr),
                  CE_None);
        GDALClose(o);
    }
    EXPECT_EQ(GDALChecksumImage(GDALGetRasterBand(p, 1), 0, 0, W, H), want_sum);
    double got[4];
    ASSERT_EQ(GDALComputeRasterStatistics(GDALGetRasterBand(p, 2), FALSE,
                                          &got[0], &got[1], &got[2], &got[3],
                                          nullptr, nullptr),
              CE_None);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(got[i], want[i]) << i;
    // GDAL 3.6 walks blocks (computed ahead); later versions read larger
    // chunks, which split on their own.
    EXPECT_GT(debug_item(p, "AHEAD_REGIONS") + debug_item(p, "SPLIT_READS"), 1);
    GDALClose(p);
}

} // namespace

namespace
{

// A derived band whose NoData value occurs: the value GDAL computes at the
// first pixel, so its mask has both 0 and 255.
std::string make_mask_vrt(GDALDataType type)
{
    RasterSpec s = tiled_spec(W, H, GDT_Byte);
    s.seed = 31;
    const std::string src =
        simple_source(make_tiff("mask_src.tif", s), 1, W, H);
    const std::string name =
        std::string("mask_") + GDALGetDataTypeName(type) + ".vrt";
    std::string vrt = write_file(
        name, vrt_dataset(W, H, {derived_band(1, type, "sum", {src, src})}));
    double first = 0;
    {
        OracleScope scope;
        GDALDatasetH o = open_oracle(vrt);
        EXPECT_EQ(GDALRasterIO(GDALGetRasterBand(o, 1), GF_Read, 0, 0, 1, 1,
                               &first, 1, 1, GDT_Float64, 0, 0),
                  CE_None);
        GDALClose(o);
    }
    return write_file(
        name,
        vrt_dataset(W, H,
                    {derived_band(1, type, "sum", {src, src}, "", GDT_Unknown,
                                  "<NoDataValue>" + std::to_string(first) +
                                      "</NoDataValue>")}));
}

struct MaskRead {
    int x, y, w, h, bw, bh;
    GDALRIOResampleAlg alg;
};

std::vector<GByte> read_pair(GDALDatasetH ds, const MaskRead &r,
                             GDALDataType type, bool mask)
{
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    if (mask)
        b = GDALGetMaskBand(b);
    const GDALDataType t = mask ? GDT_Byte : type;
    std::vector<GByte> buf(static_cast<size_t>(r.bw) * r.bh *
                           GDALGetDataTypeSizeBytes(t));
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    extra.eResampleAlg = r.alg;
    EXPECT_EQ(GDALRasterIOEx(b, GF_Read, r.x, r.y, r.w, r.h, buf.data(), r.bw,
                             r.bh, t, 0, 0, &extra),
              CE_None)
        << CPLGetLastErrorMsg();
    return buf;
}

// rasterio's read(masked=True): the band, then its NoData mask with the same
// request. The mask comes out of the band's computation (MASK_HITS) where
// the band type is its own mask working type, and equals GDAL's everywhere.
TEST(Ahead, MaskAfterTheBandIsComputedOnce)
{
    const MaskRead reads[] = {
        {0, 0, W, H, W, H, GRIORA_NearestNeighbour},
        {10, 7, 400, 300, 400, 300, GRIORA_NearestNeighbour},
        {0, 0, W, H, W / 3, H / 3, GRIORA_NearestNeighbour},
        {0, 0, W, H, W / 2, H / 2, GRIORA_Average}};
    for (GDALDataType type : {GDT_Float32, GDT_Float64, GDT_Int16}) {
        const std::string vrt = make_mask_vrt(type);
        GDALDatasetH p =
            open_pvrt(vrt, {"NUM_THREADS=2", "MIN_TILE_PIXELS=1024"});
        ASSERT_NE(p, nullptr);
        OracleScope scope;
        GDALDatasetH o = open_oracle(vrt);
        int both_classes = 0;
        for (const MaskRead &r : reads) {
            EXPECT_EQ(read_pair(p, r, type, false),
                      read_pair(o, r, type, false));
            const std::vector<GByte> m = read_pair(p, r, type, true);
            EXPECT_EQ(m, read_pair(o, r, type, true))
                << GDALGetDataTypeName(type) << " " << r.bw << "x" << r.bh;
            both_classes += std::count(m.begin(), m.end(), 0) > 0 &&
                            std::count(m.begin(), m.end(), 255) > 0;
        }
        EXPECT_GT(both_classes, 0);
        // A mask of another window is GDAL's too, and not from the kept read.
        const long long hits = debug_item(p, "MASK_HITS");
        const MaskRead other = {
            5, 5, 300, 200, 300, 200, GRIORA_NearestNeighbour};
        EXPECT_EQ(read_pair(p, other, type, true),
                  read_pair(o, other, type, true));
        EXPECT_EQ(debug_item(p, "MASK_HITS"), hits);
        EXPECT_EQ(hits, type == GDT_Int16 ? 0 : 4) << GDALGetDataTypeName(type);
        GDALClose(o);
        GDALClose(p);
    }
}

} // namespace

namespace
{

std::vector<GByte> file_bytes(const std::string &path)
{
    std::vector<GByte> out;
    VSILFILE *f = VSIFOpenL(path.c_str(), "rb");
    if (f == nullptr)
        return out;
    GByte buf[65536];
    size_t n;
    while ((n = VSIFReadL(buf, 1, sizeof buf, f)) > 0)
        out.insert(out.end(), buf, buf + n);
    VSIFCloseL(f);
    return out;
}

// GDAL's GetStatistics (gdalinfo -stats) and external overviews (gdaladdo
// -ro) through PVRT: the same statistics and the same .ovr file, byte for
// byte, as GDAL's VRT driver writes, computed through PVRT's split reads.
TEST(Ahead, GetStatisticsAndExternalOverviewsLikeGdal)
{
    // One band: an external .ovr holds one data type.
    const std::vector<GByte> text = file_bytes(make_mask_vrt(GDT_Float32));
    const std::string one(text.begin(), text.end());
    const std::string pv = write_file("builder_pvrt.vrt", one);
    const std::string vr = write_file("builder_vrt.vrt", one);
    const int levels[] = {2, 4, 8};
    const int bands[] = {1};
    double want[4];
    {
        OracleScope scope;
        GDALDatasetH o = open_oracle(vr);
        ASSERT_NE(o, nullptr);
        ASSERT_EQ(GDALGetRasterStatistics(GDALGetRasterBand(o, 1), FALSE, TRUE,
                                          &want[0], &want[1], &want[2],
                                          &want[3]),
                  CE_None);
        ASSERT_EQ(GDALBuildOverviews(o, "AVERAGE", 3, levels, 1, bands, nullptr,
                                     nullptr),
                  CE_None)
            << CPLGetLastErrorMsg();
        GDALClose(o);
    }
    GDALDatasetH p = open_pvrt(pv, opts(2));
    ASSERT_NE(p, nullptr);
    double got[4];
    ASSERT_EQ(GDALGetRasterStatistics(GDALGetRasterBand(p, 1), FALSE, TRUE,
                                      &got[0], &got[1], &got[2], &got[3]),
              CE_None);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(got[i], want[i]) << i;
    const long long parallel =
        debug_item(p, "AHEAD_REGIONS") + debug_item(p, "SPLIT_READS");
    EXPECT_GT(parallel, 1);
    ASSERT_EQ(
        GDALBuildOverviews(p, "AVERAGE", 3, levels, 1, bands, nullptr, nullptr),
        CE_None)
        << CPLGetLastErrorMsg();
    EXPECT_GT(debug_item(p, "AHEAD_REGIONS") + debug_item(p, "SPLIT_READS"),
              parallel)
        << "the overviews were not built through PVRT's reads";
    GDALClose(p);
    const std::vector<GByte> a = file_bytes(pv + ".ovr");
    const std::vector<GByte> b = file_bytes(vr + ".ovr");
    ASSERT_GT(a.size(), 1000u);
    EXPECT_TRUE(a == b) << "the .ovr files differ";
}

} // namespace

namespace
{

// Opening the same VRT again after it changed (another source, of another
// block size) reads the new pixels: what is kept across opens (probed
// block grids, by path, size and time) only shapes tiles, and each
// dataset's cache of computed pixels dies with it.
TEST(Ahead, ReopenAfterTheFileChangedReadsTheNewPixels)
{
    std::vector<GByte> first;
    for (int round = 0; round < 2; round++) {
        RasterSpec s;
        s.width = W;
        s.height = H;
        s.type = GDT_Int16;
        s.block_x = round ? 32 : 64; // another grid, too
        s.block_y = round ? 32 : 64;
        s.seed = 90 + round;
        // A new source file: GDAL's own source pool may still hold the
        // old one open, whose overwriting would fail GDAL's reads too.
        const std::string src = simple_source(
            make_tiff("reopen_src" + std::to_string(round) + ".tif", s), 1, W,
            H);
        const std::string vrt = write_file(
            "reopen.vrt",
            vrt_dataset(W, H,
                        {derived_band(1, GDT_Float32, "sum", {src, src})}));
        std::vector<GByte> want;
        {
            OracleScope scope;
            GDALDatasetH o = open_oracle(vrt);
            ASSERT_EQ(read_band1(o, GDT_Float32, &want), CE_None)
                << CPLGetLastErrorMsg();
            GDALClose(o);
        }
        GDALDatasetH p = open_pvrt(vrt, opts(2));
        ASSERT_NE(p, nullptr);
        std::vector<GByte> got;
        ASSERT_EQ(read_band1(p, GDT_Float32, &got), CE_None);
        // A block walk too, through the cache.
        for (const Win &w : ordered(64, 64, kRaster)) {
            CPLErr e1, e2;
            GDALDatasetH o = nullptr;
            {
                OracleScope scope;
                o = open_oracle(vrt);
            }
            EXPECT_EQ(read_win(p, 1, w, GDT_Float32, &e1),
                      read_win(o, 1, w, GDT_Float32, &e2));
            GDALClose(o);
            if (w.x == 0 && w.y == 128)
                break;
        }
        GDALClose(p);
        EXPECT_TRUE(got == want) << "round " << round;
        if (round == 0)
            first = want;
        else
            EXPECT_FALSE(want == first) << "the source did not change";
    }
}

} // namespace

namespace
{

// rasterio reads a band through the dataset (band list {1}) before its
// mask: that read is the band's, kept, and the mask comes from it.
TEST(Ahead, MaskAfterADatasetLevelReadOfTheBand)
{
    const std::string vrt = make_mask_vrt(GDT_Float32);
    GDALDatasetH p = open_pvrt(vrt, {"NUM_THREADS=2", "MIN_TILE_PIXELS=1024"});
    ASSERT_NE(p, nullptr);
    OracleScope scope;
    GDALDatasetH o = open_oracle(vrt);
    const int bw = W / 2, bh = H / 2;
    int band = 1;
    for (GDALDatasetH ds : {p, o}) {
        std::vector<float> data(static_cast<size_t>(bw) * bh);
        EXPECT_EQ(GDALDatasetRasterIO(ds, GF_Read, 0, 0, W, H, data.data(), bw,
                                      bh, GDT_Float32, 1, &band, 0, 0, 0),
                  CE_None);
    }
    std::vector<GByte> mp(static_cast<size_t>(bw) * bh),
        mo(static_cast<size_t>(bw) * bh);
    EXPECT_EQ(GDALRasterIO(GDALGetMaskBand(GDALGetRasterBand(p, 1)), GF_Read, 0,
                           0, W, H, mp.data(), bw, bh, GDT_Byte, 0, 0),
              CE_None);
    EXPECT_EQ(GDALRasterIO(GDALGetMaskBand(GDALGetRasterBand(o, 1)), GF_Read, 0,
                           0, W, H, mo.data(), bw, bh, GDT_Byte, 0, 0),
              CE_None);
    EXPECT_EQ(mp, mo);
    EXPECT_EQ(debug_item(p, "MASK_HITS"), 1);
    GDALClose(o);
    GDALClose(p);
}

} // namespace

// ---- GDAL's sampled blocks
// --------------------------------------------------- GDAL's approximate
// statistics, min/max and histogram read one block in every `rate` (QGIS does
// it for each band it adds). Through PVRT they equal the VRT driver's, every
// sampled block's bytes equal the VRT driver's, and the blocks after the second
// were computed ahead and then served from the cache: every block computed
// ahead was read.
namespace
{

// A sum of `n` tiled DEFLATE sources (NoData 7), Float32 with NoData -1,
// in VRT blocks of `block` x `block`: the VRT's text (`name` names its
// sources). GDAL saves statistics into a VRT when it closes, without the
// block size, so each open gets a copy of its own (sampled_copy).
std::string sampled_vrt(const std::string &name, int w, int h, int block, int n)
{
    RasterSpec s = tiled_spec(w, h, GDT_UInt16);
    s.compress = "DEFLATE";
    s.seed = 31;
    s.has_nodata = true;
    s.nodata = 7;
    std::string band = derived_band(
        1, GDT_Float32, "sum",
        tiff_sources(name + "_src" + std::to_string(w) + "_", n, s), "",
        GDT_Unknown, "<NoDataValue>-1</NoDataValue>");
    const std::string tag = "<VRTRasterBand ";
    band.replace(
        0, tag.size(),
        tag + CPLSPrintf("blockXSize=\"%d\" blockYSize=\"%d\" ", block, block));
    return vrt_dataset(w, h, {band});
}

std::string sampled_copy(const std::string &text)
{
    static int copies = 0;
    return write_file("sampled_" + std::to_string(copies++) + ".vrt", text);
}

struct Sampled {
    double stats[4], minmax[2];
    std::vector<GUIntBig> histogram;
    long long computed = 0, hits = 0; // PVRT's counters, after the stats
};

// GDAL's three sampled computations of band 1 of the VRT `text`, each on a
// fresh copy (PVRT with `options`, or the oracle).
Sampled sampled_results(const std::string &text, bool oracle,
                        const std::vector<std::string> &options)
{
    Sampled r;
    r.histogram.assign(64, 0);
    for (int what = 0; what < 3; what++) {
        const std::string vrt = sampled_copy(text);
        std::unique_ptr<OracleScope> scope(oracle ? new OracleScope : nullptr);
        GDALDatasetH ds = oracle ? open_oracle(vrt) : open_pvrt(vrt, options);
        EXPECT_NE(ds, nullptr);
        if (ds == nullptr)
            return r;
        if (!oracle) {
            EXPECT_EQ(driver_name(ds), "PVRT");
        }
        GDALRasterBandH b = GDALGetRasterBand(ds, 1);
        CPLErr err;
        if (what == 0)
            err = GDALComputeRasterStatistics(b, TRUE, &r.stats[0], &r.stats[1],
                                              &r.stats[2], &r.stats[3], nullptr,
                                              nullptr);
        else if (what == 1)
            err = GDALComputeRasterMinMax(b, TRUE, r.minmax);
        else
            err = GDALGetRasterHistogramEx(b, 0.0, 300000.0, 64,
                                           r.histogram.data(), TRUE, TRUE,
                                           nullptr, nullptr);
        EXPECT_EQ(err, CE_None) << what << ": " << CPLGetLastErrorMsg();
        if (!oracle && what == 0) {
            r.computed = debug_item(ds, "SAMPLED_BLOCKS");
            r.hits = debug_item(ds, "CACHE_HITS");
        }
        GDALClose(ds);
    }
    return r;
}

void expect_sampled_like_gdal(const char *vrt, const std::string &text,
                              const std::vector<std::string> &options,
                              long long more_than)
{
    const Sampled want = sampled_results(text, true, {});
    const Sampled got = sampled_results(text, false, options);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(got.stats[i], want.stats[i]) << vrt << " statistic " << i;
    EXPECT_EQ(got.minmax[0], want.minmax[0]) << vrt;
    EXPECT_EQ(got.minmax[1], want.minmax[1]) << vrt;
    EXPECT_EQ(got.histogram, want.histogram) << vrt;
    EXPECT_GT(got.computed, more_than) << vrt;
    EXPECT_EQ(got.hits, got.computed) << vrt;
}

TEST(Ahead, SampledStatisticsAreComputedAheadLikeGdal)
{
    // 17 x 13 blocks, partial at the right and bottom: rate 14, and the
    // sampled blocks include partial ones (84: right column, 210: bottom).
    expect_sampled_like_gdal("a", sampled_vrt("sampled_a", 517, 389, 32, 3),
                             opts(2), 1);
    // 12 x 12 blocks: sqrt is the blocks per row, so GDAL samples one in 13.
    expect_sampled_like_gdal("b", sampled_vrt("sampled_b", 384, 384, 32, 2),
                             opts(3), 1);
    // 64 x 64 blocks of 4 KB, a cache of 1 MB: a region's budget (64 KB)
    // holds 16 blocks, fewer than the 63 sampled, so they come in turns.
    expect_sampled_like_gdal("c", sampled_vrt("sampled_c", 2048, 2048, 32, 2),
                             opts(2, {"CACHE_MB=1"}), 16);
}

// A reader of the sampled blocks that leaves the sequence, comes back,
// reads a block twice: every block's bytes are the VRT driver's.
TEST(Ahead, SampledBlocksLeftAndResumedAreExact)
{
    const std::string vrt =
        sampled_copy(sampled_vrt("sampled_d", 517, 389, 32, 3));
    const int nx = 17, rate = 14, nblocks = 17 * 13;
    std::vector<int> order = {0, rate, 2 * rate, 100, 3 * rate, 3 * rate};
    for (int k = 4 * rate; k < nblocks; k += rate)
        order.push_back(k);
    order.push_back(0);
    GDALDatasetH p = open_pvrt(vrt, opts(2));
    ASSERT_NE(p, nullptr);
    OracleScope scope;
    GDALDatasetH o = open_oracle(vrt);
    ASSERT_NE(o, nullptr);
    for (int k : order) {
        const Win w = {(k % nx) * 32, (k / nx) * 32,
                       std::min(32, 517 - (k % nx) * 32),
                       std::min(32, 389 - (k / nx) * 32)};
        CPLErr e1, e2;
        const std::vector<GByte> got = read_win(p, 1, w, GDT_Float32, &e1);
        const std::vector<GByte> want = read_win(o, 1, w, GDT_Float32, &e2);
        EXPECT_EQ(e1, CE_None) << CPLGetLastErrorMsg();
        EXPECT_EQ(e2, CE_None);
        EXPECT_EQ(got, want) << "block " << k;
    }
    EXPECT_GT(debug_item(p, "SAMPLED_BLOCKS"), 0);
    GDALClose(o);
    GDALClose(p);
}

// A block loop drops the blocks its tiles read from the sources once each
// tile is computed: GDAL's cache grows by a fraction of the sources'
// decoded size (which it grows by when nothing is dropped). A second loop
// on the same handle reads them again and keeps them, as GDAL's VRT
// driver keeps them. Sources whose block grids differ drop nothing. Every
// window equals the VRT driver's.
GIntBig pass_growth(GDALDatasetH p, GDALDatasetH o, int band)
{
    const std::vector<Win> wins = grid(64, 64);
    std::vector<std::vector<GByte>> got;
    const GIntBig before = GDALGetCacheUsed64();
    for (const Win &w : wins) {
        CPLErr e;
        got.push_back(read_win(p, band, w, GDT_Float32, &e));
        EXPECT_EQ(e, CE_None) << CPLGetLastErrorMsg();
    }
    const GIntBig growth = GDALGetCacheUsed64() - before;
    for (size_t i = 0; i < wins.size(); i++) {
        CPLErr e;
        EXPECT_EQ(got[i], read_win(o, band, wins[i], GDT_Float32, &e))
            << "window " << i;
    }
    return growth;
}

TEST(Ahead, AWalkDropsTheSourceBlocksItPassedOnce)
{
    const GIntBig sources = 4LL * W * H * 2; // four UInt16 sources, decoded
    GDALFlushCache(nullptr);
    {
        const std::string vrt = make_vrt("ahead_drop.vrt");
        GDALDatasetH p = open_pvrt(vrt, opts(2));
        ASSERT_NE(p, nullptr);
        OracleScope scope;
        GDALDatasetH o = open_oracle(vrt);
        ASSERT_NE(o, nullptr);
        const GIntBig first = pass_growth(p, o, 1);
        const long long drops = debug_item(p, "SOURCE_DROPS");
        EXPECT_GT(drops, 4 * 20); // four sources, most of the 9 x 7 blocks
        EXPECT_LT(first, sources / 4);
        const GIntBig second = pass_growth(p, o, 1);
        EXPECT_EQ(debug_item(p, "SOURCE_DROPS"), drops);
        EXPECT_GT(second, sources / 2);
        GDALClose(o);
        GDALClose(p);
    }
    for (int second_block : {0, 32}) {
        const std::string vrt =
            make_vrt("ahead_nodrop" + std::to_string(second_block) + ".vrt",
                     second_block);
        GDALDatasetH p = open_pvrt(vrt, opts(2));
        ASSERT_NE(p, nullptr);
        OracleScope scope;
        GDALDatasetH o = open_oracle(vrt);
        ASSERT_NE(o, nullptr);
        pass_growth(p, o, 1);
        EXPECT_GT(debug_item(p, "AHEAD_REGIONS"), 0);
        EXPECT_EQ(debug_item(p, "SOURCE_DROPS"), 0) << second_block;
        GDALClose(o);
        GDALClose(p);
    }
}

} // namespace
