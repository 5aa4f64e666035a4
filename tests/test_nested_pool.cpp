// test_nested_pool.cpp: nested derived VRTs that GDAL's source pool closes
// under its global lock while PVRT's pool is busy (issue 10, item 2).
//
// GDAL's VRT driver keeps the datasets of its sources in one process-wide
// pool (gcore/gdalproxypool.cpp) of GDAL_MAX_DATASET_POOL_SIZE entries,
// guarded by GDAL's dataset-list mutex. To open a source into a full pool
// it closes the least recently used idle one, holding that mutex; a source
// that is itself a derived VRT is opened by PVRT (PVRT_CLAIM=DERIVED), so
// PVRT's close runs under GDAL's lock. An earlier read-ahead kept jobs
// running after a read returned; such a close waited for them while they
// waited for the lock. This test is that situation under load:
//
// - 16 child VRTs, each a derived band (GDAL's builtin sum or diff of two
//   GeoTIFFs), and a top derived VRT summing them;
// - GDAL_MAX_DATASET_POOL_SIZE set (before any VRT is opened: GDAL reads it
//   when it creates the pool) to threads x children = 48. PVRT gives a VRT
//   at most pool size / sources threads, so 48 is the least that lets the
//   top VRT use its 3 threads; it is still far below what the readers
//   touch (every VRT instance, one per handle and clone, uses its own
//   entries: 16 children and their 32 GeoTIFFs each), so children are
//   closed and reopened all the time; and far above what is in use at once
//   (3 callers and 2 pool workers, 2 nested levels each): GDAL 3.6's pool
//   cannot open a source when every entry is in use;
// - 3 caller threads, each with its own PVRT handle of the top VRT
//   (3 threads, small tiles and a 1 MB computed-tile cache, smaller than
//   the raster, so every round recomputes), and in the callers'
//   thread-local config PVRT_NUM_THREADS=2 and PVRT_MIN_TILE_PIXELS, so
//   the children PVRT opens split their own reads too; each round reads
//   the whole raster (split), a block loop and a row loop (read ahead,
//   ahead.c) and downsampled windows (gathered, gather.c);
// - every result compared byte for byte with GDAL's VRT driver, computed
//   beforehand on the main thread: the whole raster per buffer type, cut
//   into the windows read at full resolution (the top's sources are whole
//   rasters at offset 0 and its functions are per pixel, so a window read
//   is the cut of the whole read; checked on sample windows), and each
//   downsampled request read as is;
// - a watchdog: a load that does not finish in kWatchdogSeconds prints each
//   caller's step and every thread's stack, then aborts.
//
// Mechanisms are asserted, not timing: every whole read was split; block
// and row loops computed regions ahead; every downsampled read was
// gathered; and, from GDAL's own debug messages (GDALOpen/GDALClose of
// each dataset, written by GDAL's default handler to CPL_LOG from every
// thread, pool workers included), PVRT opened children during the load,
// the source pool closed some of them during the load (while the handles
// were open, nothing else closes them), and children's own reads were
// split onto the pool. A pool of 1000 fails the close count. CI also runs
// this under TSan (fewer rounds; PVRT_NESTED_ROUNDS sets them).
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "testutil.h"

#if defined(__SANITIZE_THREAD__)
#define NESTED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NESTED_TSAN 1
#endif
#endif
#ifndef NESTED_TSAN
#define NESTED_TSAN 0
#endif

using namespace pvrt_test;

namespace
{

const int W = 512, H = 512;
const int kChildren = 16;
const int kCallers = 3;
const int kTopThreads = 3;
const int kPoolSize = kTopThreads * kChildren;
const int kBlock = 64;
const int kWatchdogSeconds = 400;
const size_t kCanary = 4096; // do_read's canary zones
const GDALDataType kTypes[] = {GDT_Float64, GDT_Float32};

// Rounds per caller: PVRT_NESTED_ROUNDS, else 4 (1 under TSan).
int rounds()
{
    const char *e = getenv("PVRT_NESTED_ROUNDS");
    if (e && atoi(e) > 0)
        return atoi(e);
    return NESTED_TSAN ? 1 : 4;
}

struct Files {
    std::string top;
    std::vector<std::string> children;
};

Files make_files()
{
    Files f;
    std::vector<std::string> child_sources;
    for (int i = 0; i < kChildren; i++) {
        RasterSpec s = tiled_spec(W, H, GDT_UInt16);
        s.seed = 100 + 2 * i;
        const std::string prefix = "nested_c" + std::to_string(i) + "_";
        const std::vector<std::string> tiffs = tiff_sources(prefix, 2, s);
        const std::string child = write_file(
            "nested_child" + std::to_string(i) + ".vrt",
            vrt_dataset(
                W, H,
                {derived_band(1, GDT_Float32, i % 2 ? "diff" : "sum", tiffs)}));
        f.children.push_back(child);
        child_sources.push_back(simple_source(child, 1, W, H));
    }
    f.top = write_file(
        "nested_top.vrt",
        vrt_dataset(W, H,
                    {derived_band(1, GDT_Float64, "sum", child_sources)}));
    return f;
}

// ---- The oracle: GDAL's VRT driver on the main thread ----------------------

struct Oracle {
    std::map<GDALDataType, std::vector<unsigned char>> whole; // no canaries
    std::vector<Read> down;                                   // requests ...
    std::vector<ReadResult> down_results;                     // ... and bytes
};

Read window(int x, int y, int w, int h, GDALDataType type)
{
    Read r;
    r.x = x;
    r.y = y;
    r.w = w;
    r.h = h;
    r.buf_type = type;
    return r;
}

// What do_read returns for full-resolution window r: the cut of the whole
// raster read in r's type, between canary zones.
std::vector<unsigned char> expected(const Oracle &o, const Read &r)
{
    const std::vector<unsigned char> &whole = o.whole.at(r.buf_type);
    const size_t size = GDALGetDataTypeSizeBytes(r.buf_type);
    std::vector<unsigned char> out(2 * kCanary + (size_t)r.w * r.h * size,
                                   0xA5);
    for (int row = 0; row < r.h; row++)
        memcpy(out.data() + kCanary + (size_t)row * r.w * size,
               whole.data() + ((size_t)(r.y + row) * W + r.x) * size,
               (size_t)r.w * size);
    return out;
}

// Downsampled requests (QGIS-shaped +1 window included), each buffer at
// least MIN_TILE_PIXELS so PVRT gathers it.
std::vector<Read> downsampled_requests()
{
    std::vector<Read> v;
    Read r = window(0, 0, W, H, GDT_Float64);
    r.buf_w = 128;
    r.buf_h = 128;
    v.push_back(r); // nearest, exactly 1/4
    r.buf_w = 100;
    r.buf_h = 100;
    r.resample = GRIORA_Average;
    v.push_back(r);
    r = window(100, 50, 257, 257, GDT_Float64);
    r.buf_w = 128;
    r.buf_h = 128;
    r.resample = GRIORA_Bilinear;
    v.push_back(r); // a 2x zoom-out as QGIS asks for it
    r = window(37, 11, 400, 333, GDT_Float32);
    r.buf_w = 150;
    r.buf_h = 90;
    r.resample = GRIORA_Cubic;
    v.push_back(r);
    return v;
}

Oracle build_oracle(const std::string &top)
{
    Oracle o;
    OracleScope scope;
    GDALDatasetH ds = open_oracle(top);
    EXPECT_NE(ds, nullptr);
    if (ds == nullptr)
        return o;
    EXPECT_EQ(driver_name(ds), "VRT");
    for (GDALDataType t : kTypes) {
        const ReadResult res = do_read(ds, window(0, 0, W, H, t));
        EXPECT_TRUE(res.ok) << res.error;
        o.whole[t].assign(res.bytes.begin() + kCanary,
                          res.bytes.end() - kCanary);
    }
    // The cut of the whole read is the windowed read: checked on windows
    // of every shape the callers read at full resolution.
    const Read samples[] = {window(0, 0, kBlock, kBlock, GDT_Float64),
                            window(448, 384, kBlock, kBlock, GDT_Float64),
                            window(192, 64, kBlock, kBlock, GDT_Float64),
                            window(0, 0, W, 1, GDT_Float32),
                            window(0, H - 1, W, 1, GDT_Float32),
                            window(0, 211, W, 1, GDT_Float32),
                            window(13, 17, 301, 5, GDT_Float64),
                            window(511, 0, 1, 512, GDT_Float32)};
    for (const Read &r : samples) {
        const ReadResult res = do_read(ds, r);
        EXPECT_TRUE(res.ok) << res.error;
        EXPECT_TRUE(res.bytes == expected(o, r))
            << "the VRT driver's window differs from its whole read cut "
               "there: "
            << r.describe();
    }
    o.down = downsampled_requests();
    for (const Read &r : o.down) {
        o.down_results.push_back(do_read(ds, r));
        EXPECT_TRUE(o.down_results.back().ok) << o.down_results.back().error;
    }
    GDALClose(ds);
    return o;
}

// ---- The callers ------------------------------------------------------------

enum Step { kIdle, kWhole, kBlocks, kRows, kDown, kDone };
const char *const kStepNames[] = {"starting", "whole read",  "block loop",
                                  "row loop", "downsampled", "done"};

struct Caller {
    int id = 0;
    GDALDatasetH ds = nullptr;
    // Progress, read by the watchdog (atomic).
    std::atomic<int> round{0}, step{kIdle}, index{0};
    // Results (written by the caller; read after join).
    int reads = 0, failures = 0, mismatches = 0;
    int whole_reads = 0, whole_split = 0, down_reads = 0;
    std::string first_problem;
};

void check(Caller *c, const Read &r, const std::vector<unsigned char> &want)
{
    const ReadResult got = do_read(c->ds, r);
    c->reads++;
    if (!got.ok) {
        c->failures++;
        if (c->first_problem.empty())
            c->first_problem = "failed: " + got.error + "; " + r.describe();
    } else if (got.bytes != want) {
        c->mismatches++;
        if (c->first_problem.empty())
            c->first_problem = "differs: " + r.describe();
    }
}

void run_caller(Caller *c, const Oracle *o, int nrounds)
{
    // Children opened from this thread or its jobs (the config travels with
    // them) split their reads too.
    CPLSetThreadLocalConfigOption("PVRT_NUM_THREADS", "2");
    CPLSetThreadLocalConfigOption("PVRT_MIN_TILE_PIXELS", "1024");
    const bool reverse = c->id % 2 == 1;
    for (int round = 0; round < nrounds; round++) {
        c->round = round;

        c->step = kWhole;
        const Read whole = window(0, 0, W, H, kTypes[(round + c->id) % 2]);
        check(c, whole, expected(*o, whole));
        c->whole_reads++;
        if (last_read_tiles(c->ds) > 1)
            c->whole_split++;

        // Blocks in raster order: left to right, or right to left.
        c->step = kBlocks;
        for (int by = 0; by < H / kBlock; by++)
            for (int k = 0; k < W / kBlock; k++) {
                const int bx = reverse ? W / kBlock - 1 - k : k;
                c->index = by * (W / kBlock) + k;
                const Read r = window(bx * kBlock, by * kBlock, kBlock, kBlock,
                                      GDT_Float64);
                check(c, r, expected(*o, r));
            }

        // Full-width rows, downwards or upwards.
        c->step = kRows;
        for (int k = 0; k < H; k++) {
            c->index = k;
            const Read r =
                window(0, reverse ? H - 1 - k : k, W, 1, GDT_Float32);
            check(c, r, expected(*o, r));
        }

        c->step = kDown;
        for (int k = 0; k < 2; k++) {
            const int i = (c->id + round + 2 * k) % (int)o->down.size();
            c->index = i;
            check(c, o->down[i], o->down_results[i].bytes);
            c->down_reads++;
        }
    }
    c->step = kDone;
    CPLSetThreadLocalConfigOption("PVRT_NUM_THREADS", nullptr);
    CPLSetThreadLocalConfigOption("PVRT_MIN_TILE_PIXELS", nullptr);
}

// Aborts with each caller's step and every thread's stack unless stopped
// within `seconds`: a hang fails the test (ctest's TIMEOUT is the backup).
class LoadWatchdog
{
  public:
    LoadWatchdog(int seconds, const std::vector<Caller *> &callers)
    {
        thread_ = std::thread([this, seconds, callers] {
            std::unique_lock<std::mutex> lk(lock_);
            if (cv_.wait_for(lk, std::chrono::seconds(seconds),
                             [this] { return done_; }))
                return;
            fprintf(stderr, "watchdog: the load did not finish in %d s\n",
                    seconds);
            for (const Caller *c : callers)
                fprintf(stderr, "  caller %d: round %d, %s, index %d\n", c->id,
                        c->round.load(), kStepNames[c->step.load()],
                        c->index.load());
            fprintf(stderr, "stacks:\n");
            fflush(stderr);
            const std::string cmd =
                "gdb -p " + std::to_string(getpid()) +
                " -batch -ex 'thread apply all bt' 1>&2 2>/dev/null";
            if (system(cmd.c_str()) != 0)
                fprintf(stderr, "(gdb failed)\n");
            fflush(stderr);
            abort();
        });
    }
    ~LoadWatchdog()
    {
        {
            std::lock_guard<std::mutex> g(lock_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    LoadWatchdog(const LoadWatchdog &) = delete;
    LoadWatchdog &operator=(const LoadWatchdog &) = delete;

  private:
    std::mutex lock_;
    std::condition_variable cv_;
    bool done_ = false; // (guarded by lock_)
    std::thread thread_;
};

// ---- GDAL's debug log -------------------------------------------------------

// What the log says happened between the load's start and end markers.
struct LogCounts {
    bool markers = false;
    int child_pvrt_opens = 0;  // children opened by PVRT
    int child_pvrt_closes = 0; // ... and closed
    int closes_off_owner = 0;  // ... on a thread not the VRT instance's
    int child_split_reads = 0; // child reads split with a worker
    int top_gathers = 0;       // "gather: band 1 of <top>, ... ->"
    int errors = 0;
    std::string first_error;
};

// The text between `open` and `close` after position `from` of s.
std::string between(const std::string &s, size_t from, const char *open,
                    const char *close)
{
    const size_t a = s.find(open, from);
    if (a == std::string::npos)
        return "";
    const size_t b = s.find(close, a + strlen(open));
    if (b == std::string::npos)
        return "";
    return s.substr(a + strlen(open), b - a - strlen(open));
}

LogCounts parse_log(const std::string &path, const Files &f)
{
    LogCounts n;
    const std::set<std::string> children(f.children.begin(), f.children.end());
    // Pointers of live PVRT children (a freed address may be reused: the
    // log is in causal order, the close line precedes the next open's).
    std::set<std::string> live;
    std::ifstream in(path);
    std::string line;
    bool in_load = false;
    while (std::getline(in, line)) {
        if (line == "NESTED: load start") {
            in_load = true;
            continue;
        }
        if (line == "NESTED: load done") {
            n.markers = in_load;
            break;
        }
        if (line.rfind("GDAL: GDALOpen(", 0) == 0) {
            const std::string name = between(line, 0, "GDALOpen(", ", this=");
            const std::string ptr = between(line, 0, ", this=", ")");
            const std::string drv = between(line, 0, "succeeds as ", ".");
            if (children.count(name) && drv.rfind("PVRT", 0) == 0) {
                live.insert(ptr);
                n.child_pvrt_opens += in_load;
            }
        } else if (line.rfind("GDAL: GDALClose(", 0) == 0) {
            const std::string ptr = between(line, 0, ", this=", ")");
            if (live.erase(ptr) && in_load) {
                n.child_pvrt_closes++;
                n.closes_off_owner +=
                    line.find("responsiblePID=") != std::string::npos;
            }
        } else if (!in_load) {
            continue;
        } else if (line.rfind("PVRT: read ", 0) == 0) {
            for (const std::string &c : children)
                if (line.find(" of " + c + ": ") != std::string::npos &&
                    line.find(", 0 workers") == std::string::npos)
                    n.child_split_reads++;
        } else if (line.rfind("PVRT: gather: band 1 of " + f.top + ", ", 0) ==
                       0 &&
                   line.find(" -> ") != std::string::npos) {
            n.top_gathers++;
        } else if (line.rfind("ERROR ", 0) == 0) {
            if (n.errors++ == 0)
                n.first_error = line;
        }
    }
    return n;
}

bool file_contains(const std::string &path, const std::string &text)
{
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line == text)
            return true;
    return false;
}

TEST(NestedPool, ChildrenClosedUnderPoolLockWhileCallersRead)
{
    // GDAL's default handler writes every thread's messages (workers'
    // included: errcap.c passes debug messages to it) to CPL_LOG, opened at
    // its first message; GDAL reads GDAL_MAX_DATASET_POOL_SIZE when it
    // creates its source pool, at the first VRT source opened. Both are
    // set before either happens.
    const std::string log = scratch("nested_debug.log");
    CPLSetConfigOption("CPL_LOG", log.c_str());
    CPLSetConfigOption("CPL_DEBUG", "GDAL,PVRT,NESTED");
    CPLSetConfigOption("GDAL_MAX_DATASET_POOL_SIZE",
                       std::to_string(kPoolSize).c_str());
    CPLDebug("NESTED", "log opened");
    ASSERT_TRUE(file_contains(log, "NESTED: log opened"))
        << "GDAL's default error handler was writing elsewhere before "
           "CPL_LOG was set: the opens and closes cannot be counted";

    const Files files = make_files();
    const Oracle oracle = build_oracle(files.top);
    ASSERT_FALSE(::testing::Test::HasFailure());

    const int nrounds = rounds();
    std::vector<Caller> callers(kCallers);
    std::vector<Caller *> pointers;
    bool opened = true;
    for (int i = 0; i < kCallers; i++) {
        Caller &c = callers[i];
        c.id = i;
        // One thread more than the pool size allows: PVRT must see the
        // same pool size as GDAL and cap it.
        c.ds = open_pvrt(files.top,
                         {"NUM_THREADS=" + std::to_string(kTopThreads + 1),
                          "MIN_TILE_PIXELS=2048", "CACHE_MB=1"});
        pointers.push_back(&c);
        if (c.ds == nullptr || driver_name(c.ds) != "PVRT") {
            ADD_FAILURE() << "the top VRT did not open through PVRT";
            opened = false;
            continue;
        }
        EXPECT_STREQ(GDALGetMetadataItem(c.ds, "TILE_SAFE", "__DEBUG__"),
                     "YES");
        EXPECT_EQ(atoi(GDALGetMetadataItem(c.ds, "THREADS", "__DEBUG__")),
                  kTopThreads);
    }
    if (!opened) {
        for (Caller &c : callers)
            if (c.ds)
                GDALClose(c.ds);
        return;
    }

    CPLDebug("NESTED", "load start");
    {
        LoadWatchdog dog(kWatchdogSeconds, pointers);
        std::vector<std::thread> threads;
        for (Caller &c : callers)
            threads.emplace_back(run_caller, &c, &oracle, nrounds);
        for (auto &t : threads)
            t.join();
    }
    CPLDebug("NESTED", "load done");

    int down = 0;
    for (Caller &c : callers) {
        EXPECT_EQ(c.failures, 0)
            << "caller " << c.id << ": " << c.first_problem;
        EXPECT_EQ(c.mismatches, 0)
            << "caller " << c.id << ": " << c.first_problem;
        EXPECT_EQ(c.whole_split, c.whole_reads)
            << "caller " << c.id << ": whole reads not split";
        // Each round's block loop walks 2 MB (Float64) through the 1 MB
        // cache, and its row loop (Float32) finds the regions of the last
        // one pushed out by the block loop: each computes regions ahead.
        const int ahead =
            atoi(GDALGetMetadataItem(c.ds, "AHEAD_REGIONS", "__DEBUG__"));
        EXPECT_GE(ahead, 2 * nrounds) << "caller " << c.id;
        const std::string split =
            GDALGetMetadataItem(c.ds, "SPLIT_READS", "__DEBUG__");
        const std::string hits =
            GDALGetMetadataItem(c.ds, "CACHE_HITS", "__DEBUG__");
        printf("caller %d: %d reads, %d whole (%d split), %d regions ahead, "
               "%s split reads, %s cache hits\n",
               c.id, c.reads, c.whole_reads, c.whole_split, ahead,
               split.c_str(), hits.c_str());
        down += c.down_reads;
    }
    for (Caller &c : callers)
        GDALClose(c.ds);

    const LogCounts n = parse_log(log, files);
    ASSERT_TRUE(n.markers) << "no load markers in " << log;
    printf("during the load: %d children opened by PVRT, %d closed by the "
           "source pool (%d on a thread other than their owner's), %d child "
           "reads split, %d of %d downsampled reads gathered\n",
           n.child_pvrt_opens, n.child_pvrt_closes, n.closes_off_owner,
           n.child_split_reads, n.top_gathers, down);
    EXPECT_EQ(n.errors, 0) << n.first_error
                           << " (PVRT_KEEP_SCRATCH=1 keeps the log, " << log
                           << ")";
    EXPECT_GT(n.child_pvrt_opens, kChildren)
        << "PVRT did not claim the nested children";
    // A pool that held what the readers use would close a few children
    // per round (about 60 with GDAL_MAX_DATASET_POOL_SIZE=1000, where PVRT's
    // children and their clones still outgrow it), the pool of 48 closes
    // thousands (about 3000 per round): 4 per child, caller and round
    // separates the two with a wide margin.
    EXPECT_GE(n.child_pvrt_closes, 4 * kChildren * kCallers * nrounds)
        << "the source pool rarely closed PVRT children while the handles "
           "were open: GDAL_MAX_DATASET_POOL_SIZE was not in effect";
    EXPECT_GT(n.child_split_reads, 0)
        << "no child read was split onto PVRT's pool";
    // Gathering covers GDAL 3.6 to 3.10 and 3.13 (gather.c).
    const bool gathers = GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 11, 0) ||
                         (GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0) &&
                          GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 14, 0));
    EXPECT_EQ(n.top_gathers, gathers ? down : 0);
}

} // namespace
