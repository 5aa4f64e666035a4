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
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <gdal.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testutil.h"

using namespace pvrt_test;

namespace
{

const int W = 700, H = 500;

std::string make_vrt()
{
    static std::string path;
    if (!path.empty())
        return path;
    RasterSpec s;
    s.width = W;
    s.height = H;
    s.type = GDT_Int16;
    s.block_x = 64;
    s.block_y = 64;
    s.seed = 40;
    const std::vector<std::string> sources = tiff_sources("callers", 2, s);
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

// B's read (band 1 whole) while A's read is held in flight; returns
// B's LAST_READ_THREADS and checks its bytes.
long long b_threads_while_a_reads(const std::vector<std::string> &b_options)
{
    const std::string vrt = make_vrt();
    std::vector<float> want;
    {
        OracleScope scope;
        GDALDatasetH o = open_oracle(vrt);
        want = read_all(o);
        GDALClose(o);
    }
    GDALDatasetH a = open_pvrt(vrt, {"NUM_THREADS=2", "MIN_TILE_PIXELS=256"});
    GDALDatasetH b = open_pvrt(vrt, b_options);
    EXPECT_EQ(driver_name(a), "PVRT");
    EXPECT_EQ(driver_name(b), "PVRT");
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
    long long threads = -1;
    {
        std::unique_lock<std::mutex> lock(h.m);
        h.cv.wait(lock, [&] { return h.a_inside; });
    }
    EXPECT_EQ(read_all(b), want);
    threads = debug_item(b, "LAST_READ_THREADS");
    {
        std::lock_guard<std::mutex> lock(h.m);
        h.b_done = true;
    }
    h.cv.notify_all();
    ta.join();
    // Alone again: all of its threads.
    EXPECT_EQ(read_all(b), want);
    EXPECT_EQ(debug_item(b, "LAST_READ_THREADS"), debug_item(b, "THREADS"));
    GDALClose(a);
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

} // namespace
