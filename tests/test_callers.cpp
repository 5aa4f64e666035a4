// test_callers.cpp: callers that bring their own threads share the cores.
//
// Thread A reads through PVRT and, from its progress callback (called on
// its own thread while its read is still in flight), lets thread B read
// another handle of a derived VRT, then waits for B to finish. B's read
// therefore runs while A's is in flight, by construction rather than by
// timing: with the default thread count B gets half of the threads (the
// read runs inline on two cores), with NUM_THREADS set it keeps them; after
// A has finished B gets them all again. Every read's bytes are compared
// with GDAL's VRT driver.
//
// Small windows of a derived band, gathered (gather.c) through B's own
// handles while B reads alone, are read through the process's shared
// handles once B has read with A in flight, one per source for every
// dataset of the VRT, but not after a source file changed.
//
// A VRT over a derived VRT, opened with NUM_THREADS=1: the nested derived
// VRT (PVRT opens it too, and reads it inline on the caller's thread) uses
// no more threads than the read it is inside of. Observed through a pixel
// function of this test recording the threads it is called on.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testutil.h"

using namespace pvrt_test;

namespace
{

const int W = 700, H = 500;

// The test's W x H Int16 sources, 64x64 blocks.
RasterSpec source_spec(int seed)
{
    RasterSpec s = tiled_spec(W, H, GDT_Int16);
    s.seed = seed;
    return s;
}

std::string make_vrt()
{
    static std::string path;
    if (!path.empty())
        return path;
    const std::vector<std::string> sources =
        tiff_sources("callers", 2, source_spec(40));
    path = write_file(
        "callers.vrt",
        vrt_dataset(W, H, {derived_band(1, GDT_Float32, "sum", sources)}));
    return path;
}

long long debug_item(GDALDatasetH ds, const char *name)
{
    const char *v = GDALGetMetadataItem(ds, name, "__DEBUG__");
    return v ? atoll(v) : -1;
}

std::vector<float> read_all(GDALDatasetH ds)
{
    std::vector<float> out;
    EXPECT_EQ(read_band1(ds, GDT_Float32, &out), CE_None)
        << CPLGetLastErrorMsg();
    return out;
}

struct Handshake {
    std::mutex m;
    std::condition_variable cv;
    bool a_inside = false, b_done = false;
};

int CPL_STDCALL hold_until_b(double, const char *, void *data)
{
    auto *h = static_cast<Handshake *>(data);
    std::unique_lock<std::mutex> lock(h->m);
    h->a_inside = true;
    h->cv.notify_all();
    h->cv.wait(lock, [h] { return h->b_done; });
    return TRUE;
}

std::vector<float> oracle_band1()
{
    OracleScope scope;
    GDALDatasetH o = open_oracle(make_vrt());
    std::vector<float> want = read_all(o);
    GDALClose(o);
    return want;
}

// Runs `b_reads` while thread A's read of another PVRT handle (band 1
// whole, checked against `want`) is held in flight.
void while_a_reads(const std::vector<float> &want,
                   const std::function<void()> &b_reads)
{
    GDALDatasetH a =
        open_pvrt(make_vrt(), {"NUM_THREADS=2", "MIN_TILE_PIXELS=256"});
    EXPECT_EQ(driver_name(a), "PVRT");
    Handshake h;
    std::thread ta([&] {
        std::vector<float> buf(static_cast<size_t>(W) * H);
        GDALRasterIOExtraArg extra;
        INIT_RASTERIO_EXTRA_ARG(extra);
        extra.pfnProgress = hold_until_b;
        extra.pProgressData = &h;
        EXPECT_EQ(GDALRasterIOEx(GDALGetRasterBand(a, 1), GF_Read, 0, 0, W, H,
                                 buf.data(), W, H, GDT_Float32, 0, 0, &extra),
                  CE_None);
        EXPECT_EQ(buf, want);
    });
    {
        std::unique_lock<std::mutex> lock(h.m);
        h.cv.wait(lock, [&] { return h.a_inside; });
    }
    b_reads();
    {
        std::lock_guard<std::mutex> lock(h.m);
        h.b_done = true;
    }
    h.cv.notify_all();
    ta.join();
    GDALClose(a);
}

// B's read (band 1 whole) while A's read is held in flight; returns
// B's LAST_READ_THREADS and checks its bytes.
long long b_threads_while_a_reads(const std::vector<std::string> &b_options)
{
    const std::vector<float> want = oracle_band1();
    GDALDatasetH b = open_pvrt(make_vrt(), b_options);
    EXPECT_EQ(driver_name(b), "PVRT");
    long long threads = -1;
    while_a_reads(want, [&] {
        EXPECT_EQ(read_all(b), want);
        threads = debug_item(b, "LAST_READ_THREADS");
    });
    // Alone again: all of its threads.
    EXPECT_EQ(read_all(b), want);
    EXPECT_EQ(debug_item(b, "LAST_READ_THREADS"), debug_item(b, "THREADS"));
    GDALClose(b);
    return threads;
}

TEST(Callers, DefaultThreadsAreSharedWithAnotherCaller)
{
    GDALDatasetH probe = open_pvrt(make_vrt());
    ASSERT_NE(probe, nullptr);
    const long long all = debug_item(probe, "THREADS");
    GDALClose(probe);
    const long long got = b_threads_while_a_reads({});
    EXPECT_EQ(got, all / 2 > 1 ? all / 2 : 1);
}

TEST(Callers, AnExplicitThreadCountIsKept)
{
    EXPECT_EQ(b_threads_while_a_reads({"NUM_THREADS=3"}), 3);
}

// Checks a 100x100 window of band 1 of ds at (x, y) against `want`.
void check_window(GDALDatasetH ds, const std::vector<float> &want, int x, int y)
{
    std::vector<float> got(100 * 100);
    ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, x, y, 100, 100,
                           got.data(), 100, 100, GDT_Float32, 0, 0),
              CE_None);
    for (int row = 0; row < 100; row++)
        ASSERT_EQ(0, memcmp(got.data() + row * 100,
                            want.data() + (size_t)(y + row) * W + x,
                            100 * sizeof(float)))
            << "window " << x << "," << y << " row " << row;
}

// Full-resolution windows are gathered on GDAL 3.6 to 3.10 (gather.c).
const long long gathers =
    GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 11, 0) ? 1 : 0;

// 100x100 windows: over 4096 pixels, under the 2 x 4096 x threads a split
// needs. Not kept for reuse once closed: the test counts shared handles.
const std::vector<std::string> window_options = {"MIN_TILE_PIXELS=4096",
                                                 "REUSE=NO"};

// Small full-resolution windows of a derived band are gathered through
// the dataset's own handles (from the second window a dataset reads) until
// another caller shares the cores with its reads; from then on they are
// read through the process's shared handles (gather.c, shared.h), also
// when it reads alone again. Two datasets of the VRT read through one
// handle per source, so a source block is decoded once for both; the last
// dataset closed closes them.
TEST(Callers, WindowsOfCallersSharingTheCoresUseSharedHandles)
{
    const std::vector<float> want = oracle_band1();
    GDALDatasetH b = open_pvrt(make_vrt(), window_options);
    GDALDatasetH c = open_pvrt(make_vrt(), window_options);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(c, nullptr);
    if (debug_item(b, "THREADS") < 2) {
        GDALClose(b);
        GDALClose(c);
        GTEST_SKIP() << "one CPU: PVRT reads with one thread";
    }
    const long long before = debug_item(b, "SHARED_HANDLES");
    check_window(b, want, 10, 20); // the first: on the primary
    EXPECT_EQ(debug_item(b, "GATHERED_READS"), 0);
    check_window(b, want, 300, 200);
    EXPECT_EQ(debug_item(b, "GATHERED_READS"), gathers);
    check_window(c, want, 5, 5);
    while_a_reads(want, [&] {
        check_window(b, want, 500, 100);
        EXPECT_EQ(debug_item(b, "LAST_READ_THREADS"),
                  debug_item(b, "THREADS") / 2 > 1
                      ? debug_item(b, "THREADS") / 2
                      : 1);
        check_window(c, want, 200, 300);
        check_window(c, want, 250, 310);
    });
    check_window(b, want, 40, 350);
    check_window(b, want, 600, 0);
    EXPECT_EQ(debug_item(b, "GATHERED_READS"), gathers)
        << "windows were gathered through the dataset's own handles after "
           "another caller shared the cores";
    EXPECT_EQ(debug_item(b, "SHARED_READS"), 3 * gathers);
    EXPECT_EQ(debug_item(c, "SHARED_READS"), 2 * gathers);
    EXPECT_EQ(debug_item(c, "SHARED_HANDLES") - before, 2 * gathers)
        << "one shared handle per source for both datasets";
    GDALClose(b);
    EXPECT_EQ(debug_item(c, "SHARED_HANDLES") - before, 2 * gathers);
    GDALClose(c);
    GDALDatasetH d = open_pvrt(make_vrt(), window_options);
    EXPECT_EQ(debug_item(d, "SHARED_HANDLES"), before)
        << "the last dataset closed did not close the shared handles";
    GDALClose(d);
}

// A source file rewritten after a shared handle read it: a dataset opened
// after the change reads it anew, not through that handle (whose blocks
// are the old file's), while the dataset that holds it is still open.
TEST(Callers, SharedHandlesAreNotTakenAfterTheSourceChanged)
{
    RasterSpec spec = source_spec(70);
    const std::vector<std::string> sources =
        tiff_sources("callers_changed", 2, spec);
    const std::string vrt = write_file(
        "callers_changed.vrt",
        vrt_dataset(W, H, {derived_band(1, GDT_Float32, "sum", sources)}));
    auto oracle = [&] {
        OracleScope scope;
        GDALDatasetH o = open_oracle(vrt);
        std::vector<float> out = read_all(o);
        GDALClose(o);
        return out;
    };
    const std::vector<float> a_want = oracle_band1();
    const std::vector<float> old_want = oracle();
    GDALDatasetH b = open_pvrt(vrt, window_options);
    ASSERT_NE(b, nullptr);
    if (debug_item(b, "THREADS") < 2 || !gathers) {
        GDALClose(b);
        GTEST_SKIP() << "no shared handles here (one CPU, or GDAL 3.11+)";
    }
    check_window(b, old_want, 10, 20);
    while_a_reads(a_want, [&] {
        check_window(b, old_want, 300, 200);
        check_window(b, old_want, 400, 100);
    });
    ASSERT_EQ(debug_item(b, "SHARED_READS"), 2);

    spec.seed = 90; // source 0 rewritten in place, other pixels
    make_tiff("callers_changed0.tif", spec);
    const std::vector<float> new_want = oracle();
    ASSERT_NE(new_want, old_want);
    GDALDatasetH c = open_pvrt(vrt, window_options);
    ASSERT_NE(c, nullptr);
    check_window(c, new_want, 10, 20);
    while_a_reads(a_want, [&] {
        check_window(c, new_want, 300, 200);
        check_window(c, new_want, 400, 100);
    });
    EXPECT_EQ(debug_item(c, "SHARED_READS"), 2);
    GDALClose(c);
    GDALClose(b);
}

std::mutex g_probe_lock;
std::condition_variable g_probe_cv;
std::set<std::thread::id> g_probe_threads; // (guarded by g_probe_lock)
bool g_probe_rendezvous = false;           // (guarded by g_probe_lock)

// A copy of its one source, recording the calling thread.
CPLErr thread_probe(void **sources, int nsources, void *out, int w, int h,
                    GDALDataType src_type, GDALDataType buf_type,
                    int pixel_space, int line_space)
{
    if (nsources != 1)
        return CE_Failure;
    {
        // In rendezvous, a call waits (a long bound: only a read that never
        // uses a second thread waits it out) until a second thread has
        // called: a read split over threads then shows two, however the
        // threads happen to be scheduled.
        std::unique_lock<std::mutex> g(g_probe_lock);
        g_probe_threads.insert(std::this_thread::get_id());
        g_probe_cv.notify_all();
        if (g_probe_rendezvous)
            g_probe_cv.wait_for(g, std::chrono::seconds(30),
                                [] { return g_probe_threads.size() >= 2; });
    }
    const int size = GDALGetDataTypeSizeBytes(src_type);
    for (int y = 0; y < h; y++)
        GDALCopyWords(static_cast<GByte *>(sources[0]) + (size_t)y * w * size,
                      src_type, size,
                      static_cast<GByte *>(out) + (size_t)y * line_space,
                      buf_type, pixel_space, w);
    return CE_None;
}

std::set<std::thread::id> probe_threads_reset()
{
    std::lock_guard<std::mutex> g(g_probe_lock);
    std::set<std::thread::id> out;
    out.swap(g_probe_threads);
    return out;
}

TEST(Callers, NestedReadsKeepTheOuterThreadCount)
{
    ASSERT_EQ(
        GDALAddDerivedBandPixelFunc("pvrt_test_thread_probe", thread_probe),
        CE_None);
    const std::vector<std::string> src =
        tiff_sources("nested_cap", 1, source_spec(41));
    const std::string inner =
        write_file("nested_cap_inner.vrt",
                   vrt_dataset(W, H,
                               {derived_band(1, GDT_Float32,
                                             "pvrt_test_thread_probe", src)}));
    const std::string outer = write_file(
        "nested_cap_outer.vrt",
        vrt_dataset(W, H,
                    {derived_band(1, GDT_Float32, "pvrt_test_thread_probe",
                                  {simple_source(inner, 1, W, H)})}));
    std::vector<float> want;
    {
        OracleScope scope;
        GDALDatasetH o = open_oracle(outer);
        ASSERT_NE(o, nullptr);
        want = read_all(o);
        GDALClose(o);
    }
    // Small tiles, so that the nested VRT's read is worth splitting.
    CPLSetConfigOption("PVRT_MIN_TILE_PIXELS", "256");
    const std::thread::id me = std::this_thread::get_id();

    // The control: the inner VRT read on its own splits, its function
    // running on the pool's threads too.
    GDALDatasetH in = open_pvrt(inner, {"NUM_THREADS=2"});
    ASSERT_EQ(driver_name(in), "PVRT");
    probe_threads_reset();
    {
        std::lock_guard<std::mutex> g(g_probe_lock);
        g_probe_rendezvous = true;
    }
    EXPECT_EQ(read_all(in), want);
    {
        std::lock_guard<std::mutex> g(g_probe_lock);
        g_probe_rendezvous = false;
    }
    std::set<std::thread::id> seen = probe_threads_reset();
    EXPECT_EQ(seen.size(), 2u) << "the inner VRT alone was not split";
    GDALClose(in);

    // The VRT over it with NUM_THREADS=1: every call on this thread.
    GDALDatasetH out = open_pvrt(outer, {"NUM_THREADS=1"});
    ASSERT_EQ(driver_name(out), "PVRT");
    EXPECT_EQ(read_all(out), want);
    seen = probe_threads_reset();
    EXPECT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen.count(me), 1u) << "the nested read left this thread";
    EXPECT_EQ(debug_item(out, "LAST_READ_THREADS"), 1);
    GDALClose(out);
    CPLSetConfigOption("PVRT_MIN_TILE_PIXELS", nullptr);
}

} // namespace
