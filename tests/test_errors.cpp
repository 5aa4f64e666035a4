// test_errors.cpp: failing reads, cancellation and recursion through PVRT.
//
// Checked, for NUM_THREADS 1, 2 and 8: a derived VRT over a DEFLATE-tiled
// GeoTIFF cut short mid-file, and one over a missing source, give a read
// that returns CE_Failure with GDAL's own error in the calling thread (the
// first CE_Failure record equals the first one GDAL's VRT driver raises for
// the same read: class, number and message); a process-wide error handler
// (CPLSetErrorHandler) sees every record on the main thread only, never
// from a worker; the next good read on the same handle succeeds. A progress
// callback that returns FALSE on its first call stops a CPU-heavy read
// (pvrt_busy with many iterations) within about one tile's time after it
// returned, with CPLE_UserInterrupt, no further callback, every callback on
// the calling thread. A VRT that refers to itself, directly or through
// another VRT, fails with a CPLError instead of hanging or crashing (a
// watchdog turns a hang into a failure with every thread's stack).
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "testutil.h"

using namespace pvrt_test;

namespace
{

const int W = 263, H = 177;

struct Record {
    CPLErr cls;
    CPLErrorNum num;
    std::string msg;
    std::thread::id thread;
};

// The process-wide handler for this executable: records everything with
// the calling thread.
std::mutex g_lock;
std::vector<Record> g_records; // (guarded by g_lock)

void CPL_STDCALL global_handler(CPLErr cls, CPLErrorNum num, const char *msg)
{
    if (cls == CE_Debug)
        return;
    std::lock_guard<std::mutex> g(g_lock);
    g_records.push_back({cls, num, msg ? msg : "", std::this_thread::get_id()});
}

class Errors : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        clear();
        previous_ = CPLSetErrorHandler(global_handler);
    }
    void TearDown() override
    {
        CPLSetErrorHandler(previous_);
        // Every record the process-wide handler got came from this thread.
        std::lock_guard<std::mutex> g(g_lock);
        for (const Record &r : g_records)
            EXPECT_EQ(r.thread, main_)
                << "process-wide handler called from another thread: " << r.msg;
    }
    static void clear()
    {
        std::lock_guard<std::mutex> g(g_lock);
        g_records.clear();
    }
    static std::vector<Record> records()
    {
        std::lock_guard<std::mutex> g(g_lock);
        return g_records;
    }
    static const Record *first_failure(const std::vector<Record> &v)
    {
        for (const Record &r : v)
            if (r.cls >= CE_Failure)
                return &r;
        return nullptr;
    }

    std::thread::id main_ = std::this_thread::get_id();
    CPLErrorHandler previous_ = nullptr;
};

std::string busy_vrt(const std::string &name, const std::string &source,
                     int iterations = 1)
{
    return write_file(
        name,
        vrt_dataset(
            W, H,
            {derived_band(
                1, GDT_UInt16, "pvrt_busy", {simple_source(source, 1, W, H)},
                "iterations=\"" + std::to_string(iterations) + "\"")}));
}

Read whole()
{
    Read r;
    r.w = W;
    r.h = H;
    return r;
}

// libtiff's read errors name the TIFF handle's current row and column
// ("TIFFFillTile:Read error at row 32, col 128, tile 29; ..."), which
// depend on what that handle read before, not on the failing tile: a
// worker's clone has another history than the oracle's handle (seen under
// ASan: "row 0, col 96, tile 29" for the same tile). Those two numbers are
// masked; everything else in the message must match.
std::string without_handle_position(std::string msg)
{
    static const std::regex pos("at row [0-9]+, col [0-9]+");
    return std::regex_replace(msg, pos, "at row _, col _");
}

// Reads `r` with the oracle, then with PVRT under each thread count; both
// must fail, PVRT with the oracle's first failure, all on this thread.
void expect_same_failure(const std::string &vrt, const Read &r,
                         const std::string &what)
{
    Record want;
    {
        OracleScope scope;
        GDALDatasetH oracle = open_oracle(vrt);
        ASSERT_NE(oracle, nullptr);
        {
            std::lock_guard<std::mutex> g(g_lock);
            g_records.clear();
        }
        ReadResult res = do_read(oracle, r);
        ASSERT_FALSE(res.ok) << what << ": the oracle read should fail";
        GDALClose(oracle);
        std::lock_guard<std::mutex> g(g_lock);
        const Record *f = nullptr;
        for (const Record &rec : g_records)
            if (rec.cls >= CE_Failure) {
                f = &rec;
                break;
            }
        ASSERT_NE(f, nullptr) << what << ": the oracle raised no failure";
        want = *f;
    }
    for (int threads : {1, 2, 8}) {
        const std::string where =
            what + ", NUM_THREADS=" + std::to_string(threads);
        GDALDatasetH ds = open_pvrt(
            vrt, {"NUM_THREADS=" + std::to_string(threads), "TILE_SIZE=32x32"});
        ASSERT_NE(ds, nullptr) << where;
        ASSERT_EQ(driver_name(ds), "PVRT");
        {
            std::lock_guard<std::mutex> g(g_lock);
            g_records.clear();
        }
        const ReadResult res = do_read(ds, r);
        EXPECT_FALSE(res.ok) << where << ": the read should fail";
        const std::vector<Record> got = [] {
            std::lock_guard<std::mutex> g(g_lock);
            return g_records;
        }();
        const Record *f = nullptr;
        for (const Record &rec : got)
            if (rec.cls >= CE_Failure) {
                f = &rec;
                break;
            }
        ASSERT_NE(f, nullptr) << where << ": no CPLError reached the caller";
        EXPECT_EQ(f->cls, want.cls) << where;
        EXPECT_EQ(f->num, want.num) << where;
        EXPECT_EQ(without_handle_position(f->msg),
                  without_handle_position(want.msg))
            << where;
        EXPECT_EQ(f->thread, std::this_thread::get_id()) << where;
        EXPECT_EQ(CPLGetLastErrorType(), CE_Failure) << where;
        EXPECT_NE(std::string(CPLGetLastErrorMsg()), "") << where;
        if (threads > 1) {
            EXPECT_GT(last_read_tiles(ds), 1) << where << ": not split";
        }
        printf("%s: %s\n", where.c_str(), f->msg.c_str());
        GDALClose(ds);
    }
}

TEST_F(Errors, SourceCutShortMidFile)
{
    RasterSpec s;
    s.width = W;
    s.height = H;
    s.type = GDT_UInt16;
    s.block_x = 32;
    s.block_y = 32;
    s.compress = "DEFLATE";
    const std::string tif = make_tiff("cut.tif", s);
    VSIStatBufL st;
    ASSERT_EQ(VSIStatL(tif.c_str(), &st), 0);
    // Keep 60 %: the cut must leave the header and tile index (the open
    // must still work: the failure belongs to the read), so check that.
    ASSERT_EQ(truncate(tif.c_str(), (off_t)(st.st_size * 6 / 10)), 0);
    {
        CPLPushErrorHandler(CPLQuietErrorHandler);
        GDALDatasetH probe = GDALOpen(tif.c_str(), GA_ReadOnly);
        CPLPopErrorHandler();
        ASSERT_NE(probe, nullptr) << "the cut file should still open";
        GDALClose(probe);
    }
    const std::string vrt = busy_vrt("cut.vrt", tif);
    expect_same_failure(vrt, whole(), "cut source");

    // A window inside the intact part still reads, on the same handle,
    // after a failed read, and equals the oracle.
    GDALDatasetH ds = open_pvrt(vrt, {"NUM_THREADS=2", "TILE_SIZE=32x32"});
    ASSERT_NE(ds, nullptr);
    Read bad = whole();
    EXPECT_FALSE(do_read(ds, bad).ok);
    Read top;
    top.w = W;
    top.h = 32;
    const ReadResult got = do_read(ds, top);
    ASSERT_TRUE(got.ok) << got.error;
    ReadResult want;
    {
        OracleScope scope;
        GDALDatasetH oracle = open_oracle(vrt);
        want = do_read(oracle, top);
        GDALClose(oracle);
    }
    ASSERT_TRUE(want.ok);
    EXPECT_TRUE(got.bytes == want.bytes);
    GDALClose(ds);
}

TEST_F(Errors, MissingSource)
{
    const std::string vrt =
        busy_vrt("missing.vrt", scratch("no_such_file.tif"));
    expect_same_failure(vrt, whole(), "missing source");
    Read corner;
    corner.x = W - 40;
    corner.y = H - 40;
    corner.w = 40;
    corner.h = 40;
    expect_same_failure(vrt, corner, "missing source, corner");
}

struct CancelProbe {
    std::thread::id caller;
    int calls = 0;
    int wrong_thread = 0;
    std::chrono::steady_clock::time_point cancelled_at;
};

int CPL_STDCALL cancel_at_first(double, const char *, void *arg)
{
    CancelProbe *p = static_cast<CancelProbe *>(arg);
    p->calls++;
    if (std::this_thread::get_id() != p->caller)
        p->wrong_thread++;
    p->cancelled_at = std::chrono::steady_clock::now();
    return FALSE;
}

TEST_F(Errors, CancellationStopsWithinAboutOneTile)
{
    RasterSpec s;
    s.width = W;
    s.height = H;
    s.type = GDT_UInt16;
    const std::string tif = make_tiff("cancel.tif", s);
    const std::string vrt = busy_vrt("cancel.vrt", tif, 20000);
    using Clock = std::chrono::steady_clock;
    auto ms = [](Clock::duration d) {
        return std::chrono::duration<double, std::milli>(d).count();
    };

    for (int threads : {2, 8}) {
        GDALDatasetH ds = open_pvrt(
            vrt, {"NUM_THREADS=" + std::to_string(threads), "TILE_SIZE=32x32"});
        ASSERT_NE(ds, nullptr);
        GDALRasterBandH band = GDALGetRasterBand(ds, 1);
        std::vector<uint16_t> buf((size_t)W * H);

        // One tile's time: a 32x32 read (inline, unsplit), mean of three.
        const Clock::time_point t0 = Clock::now();
        for (int k = 0; k < 3; k++)
            ASSERT_EQ(GDALRasterIO(band, GF_Read, 32 * k, 0, 32, 32, buf.data(),
                                   32, 32, GDT_UInt16, 0, 0),
                      CE_None);
        const double tile_ms = ms(Clock::now() - t0) / 3;

        CancelProbe probe;
        probe.caller = std::this_thread::get_id();
        GDALRasterIOExtraArg extra;
        INIT_RASTERIO_EXTRA_ARG(extra);
        extra.pfnProgress = cancel_at_first;
        extra.pProgressData = &probe;
        clear();
        const Clock::time_point t1 = Clock::now();
        const CPLErr err = GDALRasterIOEx(band, GF_Read, 0, 0, W, H, buf.data(),
                                          W, H, GDT_UInt16, 0, 0, &extra);
        const Clock::time_point t2 = Clock::now();
        EXPECT_EQ(err, CE_Failure);
        EXPECT_EQ(CPLGetLastErrorNo(), CPLE_UserInterrupt)
            << CPLGetLastErrorMsg();
        EXPECT_EQ(probe.calls, 1) << "callbacks after cancellation";
        EXPECT_EQ(probe.wrong_thread, 0);
        EXPECT_GT(last_read_tiles(ds), 1);
        // After the callback, only tiles already running may finish: at most
        // one per thread, sharing the machine's cores, so about one tile's
        // time when threads <= cores and threads/cores tile times beyond.
        const int cpus = std::max(1, (int)std::thread::hardware_concurrency());
        const int rounds = (threads + cpus - 1) / cpus;
        const double after_ms = ms(t2 - probe.cancelled_at);
        printf("NUM_THREADS=%d: tile %.1f ms, cancel to return %.1f ms, "
               "read %.1f ms\n",
               threads, tile_ms, after_ms, ms(t2 - t1));
        EXPECT_LE(after_ms, 1.5 * rounds * tile_ms + 100)
            << "cancel took " << after_ms << " ms; one tile takes " << tile_ms
            << " ms; the whole read " << ms(t2 - t1) << " ms";
        // The whole read (54 tiles) would take 54 / min(threads, cpus) tile
        // times; the cancelled one, clearly less (the first callback comes
        // after the caller's first tile, which shares the cores with the
        // other threads' tiles: up to `rounds` tile times).
        EXPECT_LT(ms(t2 - t1), 54.0 / std::min(threads, cpus) * tile_ms * 0.6);
        GDALClose(ds);
    }
}

TEST_F(Errors, SelfReferencingVrtFailsWithoutHanging)
{
    const std::string self = scratch("self.vrt");
    write_file("self.vrt",
               vrt_dataset(W, H,
                           {derived_band(1, GDT_Byte, "pvrt_busy",
                                         {simple_source(self, 1, W, H)},
                                         "iterations=\"1\"")}));
    const std::string a = scratch("cycle_a.vrt"), b = scratch("cycle_b.vrt");
    write_file("cycle_a.vrt",
               vrt_dataset(W, H,
                           {derived_band(1, GDT_Byte, "pvrt_busy",
                                         {simple_source(b, 1, W, H)},
                                         "iterations=\"1\"")}));
    write_file("cycle_b.vrt",
               vrt_dataset(W, H,
                           {derived_band(1, GDT_Byte, "sum",
                                         {simple_source(a, 1, W, H)})}));
    for (const std::string &path : {self, a})
        for (int threads : {1, 8}) {
            const std::string where =
                path + ", NUM_THREADS=" + std::to_string(threads);
            Watchdog dog(60, where);
            clear();
            GDALDatasetH ds =
                open_pvrt(path, {"NUM_THREADS=" + std::to_string(threads),
                                 "TILE_SIZE=32x32"});
            bool failed = ds == nullptr;
            if (ds) {
                failed = !do_read(ds, whole()).ok;
                GDALClose(ds);
            }
            EXPECT_TRUE(failed) << where << ": a cyclic VRT read succeeded";
            const std::vector<Record> got = records();
            const Record *f = first_failure(got);
            ASSERT_NE(f, nullptr) << where << ": no CPLError";
            EXPECT_NE(f->msg, "") << where;
            printf("%s: %s\n", where.c_str(), f->msg.c_str());
        }
}

} // namespace
