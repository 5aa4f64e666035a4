// test_reopen.cpp: a dataset the application closed serves its next open of
// the same unchanged VRT (driver/reopen.c), and never a changed one.
//
// A tile server opens the VRT for every tile. Reused datasets must read
// what GDAL's VRT driver reads (windows and masks, compared byte for byte
// with the oracle); a VRT, a source or a side file (external overviews)
// that changed after the dataset was kept, a dataset whose state the
// application changed or whose read failed, REUSE=NO and PVRT_REUSE=NO
// never give a reused dataset (__DEBUG__ REUSES counts the opens a dataset
// served after a close). A bad REUSE value fails the open naming it, and
// GDAL's teardown with kept datasets exits cleanly.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testutil.h"

namespace
{

using namespace pvrt_test;

const int W = 300, H = 220;

RasterSpec source_spec(int seed, const char *compress = "DEFLATE")
{
    RasterSpec s = tiled_spec(W, H, GDT_UInt16);
    s.compress = compress;
    s.has_nodata = true;
    s.nodata = 7;
    s.seed = seed;
    return s;
}

// Writes <prefix>.vrt in the scratch folder: a derived band (`func`,
// Float32 with NoData) over the n sources <prefix><i>.tif there; returns
// the VRT's path.
std::string write_vrt(const std::string &prefix, int n, const std::string &func)
{
    std::vector<std::string> sources;
    for (int i = 0; i < n; i++)
        sources.push_back(simple_source(
            scratch(prefix + std::to_string(i) + ".tif"), 1, W, H));
    return write_file(
        prefix + ".vrt",
        vrt_dataset(
            W, H,
            {derived_band(1, GDT_Float32, func, sources, "", GDT_Unknown,
                          "<NoDataValue>0</NoDataValue>")}));
}

// The n sources (tiff_sources) and GDAL's sum over them (write_vrt).
std::string sum_vrt(const std::string &prefix, int n,
                    const char *compress = "DEFLATE")
{
    tiff_sources(prefix, n, source_spec(40, compress));
    return write_vrt(prefix, n, "sum");
}

long long reuses(GDALDatasetH ds)
{
    const char *v = GDALGetMetadataItem(ds, "REUSES", "__DEBUG__");
    return v ? atoll(v) : -1;
}

// Reads `r` and its mask through an open of `path` with PVRT and with the
// VRT driver; expects the bytes equal. Returns the PVRT dataset's REUSES
// (the dataset is closed).
long long read_like_gdal(const std::string &path, Read r,
                         const std::vector<std::string> &oo = {})
{
    GDALDatasetH oracle = open_oracle(path);
    GDALDatasetH ds = open_pvrt(path, oo);
    EXPECT_NE(ds, nullptr);
    EXPECT_NE(oracle, nullptr);
    if (ds == nullptr || oracle == nullptr) {
        GDALClose(ds);
        GDALClose(oracle);
        return -1;
    }
    EXPECT_EQ(driver_name(ds), "PVRT");
    const long long n = reuses(ds);
    for (bool mask : {false, true}) {
        r.mask = mask;
        const ReadResult want = do_read(oracle, r);
        const ReadResult got = do_read(ds, r);
        EXPECT_TRUE(want.ok) << r.describe() << ": " << want.error;
        EXPECT_TRUE(got.ok) << r.describe() << ": " << got.error;
        EXPECT_TRUE(got.bytes == want.bytes) << r.describe();
    }
    GDALClose(ds);
    GDALClose(oracle);
    return n;
}

// A square window of `side` pixels read into out x out (0: side).
Read window(int x, int y, int side, int out)
{
    Read r;
    r.x = x;
    r.y = y;
    r.w = r.h = side;
    r.buf_w = r.buf_h = out;
    return r;
}

// Opens path with PVRT twice at once and closes both: both are kept (the
// second open of a key is one a tile server makes).
void keep_two(const std::string &path)
{
    GDALDatasetH a = open_pvrt(path), b = open_pvrt(path);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    GDALClose(a);
    GDALClose(b);
}

// Sets path's modification time exactly (a file rewritten within the file
// system's timestamp tick would keep its time).
void set_mtime(const std::string &path, time_t sec, long nsec = 0)
{
    struct timespec t[2];
    t[0].tv_sec = t[1].tv_sec = sec;
    t[0].tv_nsec = t[1].tv_nsec = nsec;
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), t, 0), 0) << path;
}

const time_t kStamp = 1700000000;

TEST(Reopen, ReusedDatasetsReadLikeGdal)
{
    const std::string path = sum_vrt("ts", 3);
    std::mt19937 rng(11);
    long long reused = 0;
    for (int i = 0; i < 24; i++) {
        const int side = i % 2 ? 96 : 48, out = 48;
        const int x = std::uniform_int_distribution<int>(0, W - side)(rng);
        const int y = std::uniform_int_distribution<int>(0, H - side)(rng);
        const long long n = read_like_gdal(path, window(x, y, side, out));
        // The first two opens are fresh; the second close keeps its
        // dataset, which every later open takes again.
        if (i >= 2) {
            EXPECT_EQ(n, i - 1) << "open " << i;
        }
        reused += n > 0;
    }
    EXPECT_EQ(reused, 22);
}

// Server threads, each opening the VRT for every window: datasets move
// between threads through the kept ones.
TEST(Reopen, ServerThreadsReadLikeGdal)
{
    const std::string path = sum_vrt("threads", 3);
    const int kThreads = 3, kOpens = 12;
    std::vector<std::vector<Read>> reads(kThreads);
    std::vector<std::vector<ReadResult>> want(kThreads);
    std::mt19937 rng(5);
    GDALDatasetH oracle = open_oracle(path);
    ASSERT_NE(oracle, nullptr);
    for (int t = 0; t < kThreads; t++)
        for (int i = 0; i < kOpens; i++) {
            const int side = i % 2 ? 80 : 40;
            Read r = window(
                std::uniform_int_distribution<int>(0, W - side)(rng),
                std::uniform_int_distribution<int>(0, H - side)(rng), side, 40);
            r.mask = i % 3 == 0;
            reads[t].push_back(r);
            want[t].push_back(do_read(oracle, r));
        }
    GDALClose(oracle);
    std::vector<long long> reused(kThreads, 0);
    std::vector<std::vector<ReadResult>> got(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++)
        threads.emplace_back([&, t] {
            for (const Read &r : reads[t]) {
                GDALDatasetH ds = open_pvrt(path);
                if (ds == nullptr) {
                    got[t].push_back(ReadResult());
                    continue;
                }
                reused[t] += reuses(ds) > 0;
                got[t].push_back(do_read(ds, r));
                GDALClose(ds);
            }
        });
    for (std::thread &th : threads)
        th.join();
    long long total = 0;
    for (int t = 0; t < kThreads; t++) {
        total += reused[t];
        for (int i = 0; i < kOpens; i++) {
            EXPECT_TRUE(got[t][i].ok) << reads[t][i].describe();
            EXPECT_TRUE(got[t][i].bytes == want[t][i].bytes)
                << reads[t][i].describe();
        }
    }
    // At most one open per thread finds no dataset kept by then.
    EXPECT_GE(total, kThreads * kOpens - 2 * kThreads);
}

TEST(Reopen, ChangedFilesAreNotReused)
{
    // Uncompressed: a file with other pixels has the same size.
    const std::string path = sum_vrt("changed", 2, nullptr);
    const std::string prefix = scratch("changed");
    const Read r = window(10, 20, 120, 60);

    // Each case changes one part of the stamp (size, modification time's
    // seconds or nanoseconds, inode) after the dataset was kept.
    // A source rewritten in place with other pixels: the same size, the
    // modification time's seconds differ.
    const std::string src0 = prefix + "0.tif", src1 = prefix + "1.tif";
    set_mtime(src0, kStamp);
    keep_two(path);
    make_tiff("changed0.tif", source_spec(99, nullptr));
    set_mtime(src0, kStamp + 5);
    EXPECT_EQ(read_like_gdal(path, r), 0);

    // Again, only the nanoseconds differ.
    set_mtime(src0, kStamp);
    keep_two(path);
    make_tiff("changed0.tif", source_spec(97, nullptr));
    set_mtime(src0, kStamp, 500);
    EXPECT_EQ(read_like_gdal(path, r), 0);

    // A source replaced by another file (another inode) with the same size
    // and modification time.
    set_mtime(src1, kStamp);
    keep_two(path);
    make_tiff("changed_new.tif", source_spec(98, nullptr));
    set_mtime(scratch("changed_new.tif"), kStamp);
    ASSERT_EQ(rename(scratch("changed_new.tif").c_str(), src1.c_str()), 0);
    EXPECT_EQ(read_like_gdal(path, r), 0);

    // The VRT rewritten, the same size: another pixel function.
    set_mtime(path, kStamp);
    keep_two(path);
    write_vrt("changed", 2, "mul");
    set_mtime(path, kStamp + 5);
    EXPECT_EQ(read_like_gdal(path, r), 0);

    // Unchanged since: reused again.
    keep_two(path);
    EXPECT_GT(read_like_gdal(path, r), 0);
}

TEST(Reopen, OverviewsBuiltLaterAreSeen)
{
    const std::string path = sum_vrt("ovr", 2);
    keep_two(path);
    {
        // gdaladdo -ro: external overviews in <vrt>.ovr.
        GDALDatasetH oracle = open_oracle(path);
        ASSERT_NE(oracle, nullptr);
        const int levels[] = {2, 4};
        ASSERT_EQ(GDALBuildOverviews(oracle, "NEAREST", 2, levels, 0, nullptr,
                                     nullptr, nullptr),
                  CE_None);
        GDALClose(oracle);
    }
    GDALDatasetH oracle = open_oracle(path);
    GDALDatasetH ds = open_pvrt(path);
    ASSERT_NE(ds, nullptr);
    ASSERT_NE(oracle, nullptr);
    EXPECT_EQ(reuses(ds), 0);
    const int n = GDALGetOverviewCount(GDALGetRasterBand(oracle, 1));
    EXPECT_EQ(n, 2);
    EXPECT_EQ(GDALGetOverviewCount(GDALGetRasterBand(ds, 1)), n);
    Read r = window(0, 0, W / 2, 0);
    r.overview = 0;
    r.w = W / 4;
    r.h = H / 4;
    const ReadResult want = do_read(oracle, r), got = do_read(ds, r);
    EXPECT_TRUE(want.ok && got.ok) << want.error << got.error;
    EXPECT_TRUE(got.bytes == want.bytes);
    GDALClose(ds);
    GDALClose(oracle);
}

TEST(Reopen, ChangedStateIsNotKept)
{
    const std::string path = sum_vrt("state", 2);
    keep_two(path);
    // The application changes the VRT's metadata: that dataset is closed
    // (GDAL writes the VRT back) and the one kept before is stale.
    GDALDatasetH ds = open_pvrt(path);
    ASSERT_NE(ds, nullptr);
    EXPECT_EQ(reuses(ds), 1);
    ASSERT_EQ(GDALSetMetadataItem(ds, "PVRT_TEST_ITEM", "1", nullptr), CE_None);
    GDALClose(ds);
    GDALDatasetH oracle = open_oracle(path);
    ds = open_pvrt(path);
    ASSERT_NE(ds, nullptr);
    ASSERT_NE(oracle, nullptr);
    EXPECT_EQ(reuses(ds), 0);
    const char *want = GDALGetMetadataItem(oracle, "PVRT_TEST_ITEM", nullptr);
    const char *got = GDALGetMetadataItem(ds, "PVRT_TEST_ITEM", nullptr);
    EXPECT_STREQ(got, want);
    GDALClose(ds);
    GDALClose(oracle);
}

TEST(Reopen, FailedReadsAreNotKept)
{
    const std::string path = sum_vrt("failing", 2);
    const std::string prefix = scratch("failing");
    const std::string moved = scratch("failing_moved.tif");
    ASSERT_EQ(rename((prefix + "1.tif").c_str(), moved.c_str()), 0);
    for (int i = 0; i < 3; i++) {
        GDALDatasetH ds = open_pvrt(path);
        ASSERT_NE(ds, nullptr);
        EXPECT_EQ(reuses(ds), 0) << "open " << i;
        std::vector<float> out;
        CPLPushErrorHandler(CPLQuietErrorHandler);
        EXPECT_NE(read_band1(ds, GDT_Float32, &out), CE_None);
        CPLPopErrorHandler();
        GDALClose(ds);
    }
}

TEST(Reopen, ReuseNoKeepsNothing)
{
    const std::string path = sum_vrt("noreuse", 2);
    const Read r = window(5, 5, 64, 64);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(read_like_gdal(path, r, {"REUSE=NO"}), 0) << "open " << i;
    CPLSetThreadLocalConfigOption("PVRT_REUSE", "NO");
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(read_like_gdal(path, r), 0) << "open " << i;
    CPLSetThreadLocalConfigOption("PVRT_REUSE", nullptr);
    // Neither kept anything: the next two opens are fresh.
    EXPECT_EQ(read_like_gdal(path, r), 0);
    EXPECT_EQ(read_like_gdal(path, r), 0);
    EXPECT_EQ(read_like_gdal(path, r), 1);
}

TEST(Reopen, BadReuseValueFailsNamingIt)
{
    const std::string path = sum_vrt("badreuse", 1);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    GDALDatasetH ds = open_pvrt("PVRT:" + path, {"REUSE=MAYBE"});
    const std::string msg = CPLGetLastErrorMsg();
    CPLPopErrorHandler();
    EXPECT_EQ(ds, nullptr);
    GDALClose(ds);
    EXPECT_NE(msg.find("REUSE"), std::string::npos) << msg;
    EXPECT_NE(msg.find("MAYBE"), std::string::npos) << msg;
}

// GDAL's teardown destroys its source pool before the drivers: datasets
// still kept then are left alone (closing them would touch the pool).
TEST(ReopenDeathTest, TeardownWithKeptDatasetsExitsCleanly)
{
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const std::string path = sum_vrt("teardown", 2);
    EXPECT_EXIT(
        {
            for (int i = 0; i < 3; i++)
                read_like_gdal(path, window(0, 0, 64, 64));
            GDALDestroyDriverManager();
            fprintf(stderr, "teardown done\n");
            exit(0);
        },
        testing::ExitedWithCode(0), "teardown done");
}

} // namespace
