// test_stress.cpp: many callers share the pool; every result checked.
//
// 8 caller threads, each with its own PVRT handle of one three-band derived
// VRT (its own NUM_THREADS and TILE_SIZE), make 200 random reads each:
// random windows, buffer types, band lists (dataset-level, band-sequential
// or pixel-interleaved buffers), band-level reads, and resampled reads.
// Every result is compared byte for byte with an oracle computed
// beforehand in the main thread with GDAL's VRT driver: each band read
// whole, once per buffer type, and windows cut out of it for reads at full
// resolution; a fixed list of resampled requests read once each for the
// rest. Reads at full resolution are position-independent for this VRT
// (sources at integer offsets, per-pixel functions), which is also what
// lets PVRT split them, so a window of the whole read is the windowed read.
// Line-interleaved buffers are left out: GDAL 3.6.2's derived bands
// zero-fill over them (see test_equiv.cpp, gdal_zero_fill_overruns).
// The run asserts that a good share of the reads were split into tiles, so
// the pool really was shared. A watchdog turns a deadlock into a failure
// with every thread's stack. CI also runs this under TSan.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <gdal.h>

#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testutil.h"

using namespace pvrt_test;

namespace
{

const int W = 400, H = 300, NBANDS = 3;
const int kCallers = 8, kReadsPerCaller = 200;
const GDALDataType kBufTypes[] = {GDT_UInt16, GDT_Float64, GDT_Byte, GDT_Int32};

std::string make_vrt()
{
    RasterSpec a;
    a.width = W;
    a.height = H;
    a.bands = 3;
    a.type = GDT_UInt16;
    a.block_x = 64;
    a.block_y = 64;
    a.compress = "DEFLATE";
    const std::string ta = make_tiff("stress_a.tif", a);
    RasterSpec b;
    b.width = W;
    b.height = H;
    b.type = GDT_Byte;
    b.block_y = 9; // striped
    b.seed = 5;
    const std::string tb = make_tiff("stress_b.tif", b);
    return write_file(
        "stress.vrt",
        vrt_dataset(
            W, H,
            {derived_band(1, GDT_UInt16, "pvrt_busy",
                          {simple_source(ta, 1, W, H)}, "iterations=\"3\""),
             derived_band(
                 2, GDT_UInt16, "sum",
                 {simple_source(ta, 2, W, H), simple_source(tb, 1, W, H)}, "",
                 GDT_Float64),
             derived_band(3, GDT_UInt16, "pvrt_busy",
                          {simple_source(ta, 3, W, H)}, "iterations=\"1\"",
                          GDT_Int32)}));
}

// Whole-raster oracle reads, keyed by (band, buffer type).
struct Oracle {
    std::map<std::pair<int, GDALDataType>, std::vector<unsigned char>> whole;
    std::vector<Read> resampled;               // fixed requests ...
    std::vector<ReadResult> resampled_results; // ... and their bytes
};

// The bytes do_read would give for r, cut from the whole-raster reads.
std::vector<unsigned char> expected_bytes(const Oracle &o, const Read &r)
{
    const std::vector<int> bands =
        r.bands.empty() ? std::vector<int>{r.band} : r.bands;
    const GDALDataType type = r.buf_type;
    const int size = GDALGetDataTypeSizeBytes(type);
    const GSpacing ps = r.pixel_space ? r.pixel_space : size;
    const GSpacing ls = r.line_space ? r.line_space : ps * r.w;
    const GSpacing bs = r.band_space ? r.band_space : ls * r.h;
    const int nb = (int)bands.size();
    const size_t span =
        (size_t)((nb - 1) * bs + (r.h - 1) * ls + (r.w - 1) * ps + size);
    std::vector<unsigned char> out(span + 2 * 4096, 0xA5);
    for (int k = 0; k < nb; k++) {
        const auto &src = o.whole.at({bands[k], type});
        for (int y = 0; y < r.h; y++)
            for (int x = 0; x < r.w; x++)
                memcpy(out.data() + 4096 + k * bs + y * ls + x * ps,
                       src.data() + ((size_t)(r.y + y) * W + (r.x + x)) * size,
                       size);
    }
    return out;
}

Oracle build_oracle(const std::string &vrt)
{
    Oracle o;
    OracleScope scope;
    GDALDatasetH ds = open_oracle(vrt);
    EXPECT_NE(ds, nullptr);
    if (ds == nullptr)
        return o;
    for (int b = 1; b <= NBANDS; b++)
        for (GDALDataType t : kBufTypes) {
            Read r;
            r.w = W;
            r.h = H;
            r.band = b;
            r.buf_type = t;
            ReadResult res = do_read(ds, r);
            EXPECT_TRUE(res.ok);
            o.whole[{b, t}].assign(res.bytes.begin() + 4096,
                                   res.bytes.end() - 4096);
        }
    const GDALRIOResampleAlg algs[] = {GRIORA_Bilinear, GRIORA_Cubic,
                                       GRIORA_Average, GRIORA_Mode,
                                       GRIORA_NearestNeighbour};
    std::mt19937 rng(99);
    for (int i = 0; i < 20; i++) {
        Read r;
        r.w = 20 + rng() % 300;
        r.h = 20 + rng() % 200;
        r.x = rng() % (W - r.w + 1);
        r.y = rng() % (H - r.h + 1);
        r.buf_w = std::max(1, (int)(r.w * (i % 2 ? 0.37 : 1.9)));
        r.buf_h = std::max(1, (int)(r.h * (i % 2 ? 0.41 : 1.3)));
        r.resample = algs[i % 5];
        r.buf_type = kBufTypes[i % 4];
        if (i % 3 == 0)
            r.bands = {3, 1};
        else
            r.band = 1 + i % NBANDS;
        o.resampled.push_back(r);
        o.resampled_results.push_back(do_read(ds, r));
        EXPECT_TRUE(o.resampled_results.back().ok);
    }
    GDALClose(ds);
    return o;
}

struct CallerStats {
    int reads = 0;
    int mismatches = 0;
    int failures = 0;
    int split = 0;
    int full_resolution = 0;
    std::string first_problem;
};

void caller(int id, const std::string &vrt, const Oracle &o, CallerStats *st)
{
    std::mt19937 rng(1000 + id);
    auto pick = [&](int lo, int hi) {
        return std::uniform_int_distribution<int>(lo, hi)(rng);
    };
    static const char *const tiles[] = {"AUTO", "32x32",  "7x5",  "64x64",
                                        "AUTO", "100x17", "AUTO", "16x64"};
    const std::vector<std::string> options = {
        "NUM_THREADS=" + std::to_string(2 + id % 3),
        std::string("TILE_SIZE=") + tiles[id % 8], "MIN_TILE_PIXELS=1024"};
    GDALDatasetH ds = open_pvrt(vrt, options);
    if (ds == nullptr || driver_name(ds) != "PVRT") {
        st->failures++;
        st->first_problem = "open failed or not PVRT";
        if (ds)
            GDALClose(ds);
        return;
    }
    for (int i = 0; i < kReadsPerCaller; i++) {
        Read r;
        std::vector<unsigned char> want;
        const int kind = pick(0, 9);
        if (kind == 0) {
            const int k = pick(0, (int)o.resampled.size() - 1);
            r = o.resampled[k];
            want = o.resampled_results[k].bytes;
        } else {
            // Mostly small and medium windows, sometimes large ones.
            const int maxw = kind == 1 ? W : 160, maxh = kind == 1 ? H : 120;
            r.w = pick(1, maxw);
            r.h = pick(1, maxh);
            r.x = pick(0, W - r.w);
            r.y = pick(0, H - r.h);
            r.buf_type = kBufTypes[pick(0, 3)];
            if (kind <= 5) {
                r.band = pick(1, NBANDS);
            } else {
                const int nb = pick(1, NBANDS);
                for (int k = 0; k < nb; k++)
                    r.bands.push_back(pick(1, NBANDS));
                if (kind >= 8) // pixel-interleaved
                {
                    const int size = GDALGetDataTypeSizeBytes(r.buf_type);
                    r.pixel_space = (GSpacing)size * nb;
                    r.line_space = r.pixel_space * r.w;
                    r.band_space = size;
                }
            }
            want = expected_bytes(o, r);
            st->full_resolution++;
        }
        const ReadResult got = do_read(ds, r);
        st->reads++;
        if (!got.ok) {
            st->failures++;
            if (st->first_problem.empty())
                st->first_problem = "read " + std::to_string(i) +
                                    " failed: " + got.error + "; " +
                                    r.describe();
            continue;
        }
        if (got.bytes != want) {
            st->mismatches++;
            if (st->first_problem.empty())
                st->first_problem =
                    "read " + std::to_string(i) + " differs: " + r.describe();
        }
        if (last_read_tiles(ds) > 1)
            st->split++;
    }
    GDALClose(ds);
}

TEST(Stress, EightCallersTwoHundredRandomReadsEach)
{
    const std::string vrt = make_vrt();
    const Oracle oracle = build_oracle(vrt);
    ASSERT_FALSE(::testing::Test::HasFailure());

    Watchdog dog(500, "stress run");
    std::vector<CallerStats> stats(kCallers);
    std::vector<std::thread> threads;
    for (int t = 0; t < kCallers; t++)
        threads.emplace_back(caller, t, vrt, std::cref(oracle), &stats[t]);
    for (auto &th : threads)
        th.join();

    int reads = 0, split = 0, full = 0;
    for (int t = 0; t < kCallers; t++) {
        const CallerStats &s = stats[t];
        EXPECT_EQ(s.reads, kReadsPerCaller) << "caller " << t;
        EXPECT_EQ(s.failures, 0) << "caller " << t << ": " << s.first_problem;
        EXPECT_EQ(s.mismatches, 0) << "caller " << t << ": " << s.first_problem;
        reads += s.reads;
        split += s.split;
        full += s.full_resolution;
    }
    printf("%d reads, %d at full resolution, %d split into tiles\n", reads,
           full, split);
    // Most full-resolution windows are larger than the callers' tiles.
    EXPECT_GT(split, full / 4) << "the parallel path was rarely taken";
}

} // namespace
