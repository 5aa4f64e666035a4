// test_errcap.cpp: bringing worker errors home (errcap.h).
//
// Jobs on other threads (plain std::threads and the pool's own workers)
// raise CPLErrors between pvrt_errcap_begin and pvrt_errcap_end; the caller
// then replays the log. Checked: every record comes back on the calling
// thread with its class, number and message, in job order (then in the
// order each job raised them) whatever order the jobs ran in;
// pvrt_errcap_end counts the job's failures; the replay returns the number
// of failures; a process-wide handler installed with CPLSetErrorHandler is
// never called from a worker thread (it records the id of every thread
// that calls it, and must only ever see the main thread); past the cap,
// records are dropped and counted, and the replay ends with a warning
// giving the count; a replayed log is empty.
#include <gtest/gtest.h>

#include <cpl_error.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "errcap.h"
#include "pool.h"

namespace
{

struct Record {
    CPLErr cls;
    CPLErrorNum num;
    std::string msg;
};

// The process-wide handler: records every call and the calling thread.
std::mutex g_lock;
std::vector<std::thread::id> g_threads; // (guarded by g_lock)
std::vector<Record> g_records;          // (guarded by g_lock)

void CPL_STDCALL global_handler(CPLErr cls, CPLErrorNum num, const char *msg)
{
    std::lock_guard<std::mutex> g(g_lock);
    g_threads.push_back(std::this_thread::get_id());
    g_records.push_back({cls, num, msg ? msg : ""});
}

class Errcap : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        {
            std::lock_guard<std::mutex> g(g_lock);
            g_threads.clear();
            g_records.clear();
        }
        // Not under g_lock: GDAL calls global_handler holding its own error
        // mutex, which CPLSetErrorHandler takes too.
        previous_ = CPLSetErrorHandler(global_handler);
        CPLErrorReset();
    }
    void TearDown() override
    {
        CPLSetErrorHandler(previous_);
    }

    // Asserts the global handler saw only the main thread.
    void expect_only_main_thread()
    {
        std::lock_guard<std::mutex> g(g_lock);
        for (const auto &id : g_threads)
            EXPECT_EQ(id, main_)
                << "process-wide handler called off the main thread";
    }

    std::vector<Record> global_records()
    {
        std::lock_guard<std::mutex> g(g_lock);
        return g_records;
    }

    std::thread::id main_ = std::this_thread::get_id();
    CPLErrorHandler previous_ = nullptr;
};

// Job j raises, in order: a warning, `failures(j)` failures, with number
// 1000 + j*10 + k and a message naming job and step.
int failures_of(int job)
{
    return job % 3;
}

void raise_for_job(int job)
{
    CPLError(CE_Warning, 1000 + job * 10, "job %d step 0 (warning)", job);
    for (int k = 1; k <= failures_of(job); k++)
        CPLError(CE_Failure, 1000 + job * 10 + k, "job %d step %d", job, k);
}

std::vector<Record> expected_records(int njobs)
{
    std::vector<Record> out;
    char buf[64];
    for (int j = 0; j < njobs; j++) {
        snprintf(buf, sizeof buf, "job %d step 0 (warning)", j);
        out.push_back({CE_Warning, 1000 + j * 10, buf});
        for (int k = 1; k <= failures_of(j); k++) {
            snprintf(buf, sizeof buf, "job %d step %d", j, k);
            out.push_back({CE_Failure, 1000 + j * 10 + k, buf});
        }
    }
    return out;
}

void expect_same(const std::vector<Record> &got,
                 const std::vector<Record> &want)
{
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) {
        EXPECT_EQ(got[i].cls, want[i].cls) << "record " << i;
        EXPECT_EQ(got[i].num, want[i].num) << "record " << i;
        EXPECT_EQ(got[i].msg, want[i].msg) << "record " << i;
    }
}

TEST_F(Errcap, ThreadsReplayedInJobOrderOnCaller)
{
    const int njobs = 8;
    pvrt_errlog *log = pvrt_errlog_new();
    ASSERT_NE(log, nullptr);
    std::vector<int> ended(njobs, -1);

    // Jobs run in reverse order of their index: job j waits until job j+1
    // has recorded, so arrival order is the opposite of job order.
    std::mutex m;
    std::condition_variable cv;
    int next_to_run = njobs - 1;
    std::vector<std::thread> threads;
    for (int j = 0; j < njobs; j++)
        threads.emplace_back([&, j] {
            {
                std::unique_lock<std::mutex> lk(m);
                cv.wait(lk, [&] { return next_to_run == j; });
            }
            pvrt_errcap cap;
            pvrt_errcap_begin(&cap, log, j);
            raise_for_job(j);
            ended[j] = pvrt_errcap_end(&cap);
            {
                std::lock_guard<std::mutex> lk(m);
                next_to_run--;
            }
            cv.notify_all();
        });
    for (auto &t : threads)
        t.join();

    for (int j = 0; j < njobs; j++)
        EXPECT_EQ(ended[j], failures_of(j)) << "job " << j;
    EXPECT_TRUE(global_records().empty()) << "a worker's error escaped";

    int want_failures = 0;
    for (int j = 0; j < njobs; j++)
        want_failures += failures_of(j);
    EXPECT_EQ(pvrt_errlog_replay(log), want_failures);
    expect_same(global_records(), expected_records(njobs));
    expect_only_main_thread();

    // The caller's last-error state is the last replayed record.
    EXPECT_EQ(CPLGetLastErrorType(), CE_Failure);
    EXPECT_EQ(CPLGetLastErrorNo(), 1000 + 7 * 10 + failures_of(7));

    // A replayed log is empty.
    const size_t before = global_records().size();
    EXPECT_EQ(pvrt_errlog_replay(log), 0);
    EXPECT_EQ(global_records().size(), before);
    pvrt_errlog_free(log);
}

struct PoolCtx {
    pvrt_errlog *log;
    std::atomic<int> failures{0};
};

int pool_job(void *p, int index, int)
{
    PoolCtx *c = static_cast<PoolCtx *>(p);
    pvrt_errcap cap;
    pvrt_errcap_begin(&cap, c->log, index);
    // Scramble the finishing order a little.
    std::this_thread::sleep_for(
        std::chrono::microseconds((7 - index % 8) * 100));
    raise_for_job(index);
    c->failures += pvrt_errcap_end(&cap);
    return 0; // keep going: this test wants every job's records
}

TEST_F(Errcap, PoolWorkersReplayedInJobOrderOnCaller)
{
    for (int workers : {1, 3}) {
        {
            std::lock_guard<std::mutex> g(g_lock);
            g_threads.clear();
            g_records.clear();
        }
        const int njobs = 12; // 12 + 12 failures: under the cap of 32
        PoolCtx ctx;
        ctx.log = pvrt_errlog_new();
        pvrt_batch_spec s{};
        s.njobs = njobs;
        s.max_workers = workers;
        s.fn = pool_job;
        s.ctx = &ctx;
        ASSERT_EQ(pvrt_batch_run(&s), PVRT_BATCH_OK);
        EXPECT_TRUE(global_records().empty());
        const int replayed = pvrt_errlog_replay(ctx.log);
        EXPECT_EQ(replayed, ctx.failures.load());
        expect_same(global_records(), expected_records(njobs));
        expect_only_main_thread();
        pvrt_errlog_free(ctx.log);
    }
}

TEST_F(Errcap, CapKeepsFirstRecordsAndCountsTheRest)
{
    pvrt_errlog *log = pvrt_errlog_new();
    int ended = -1;
    std::thread t([&] {
        pvrt_errcap cap;
        pvrt_errcap_begin(&cap, log, 0);
        for (int i = 0; i < 40; i++)
            CPLError(CE_Failure, CPLE_AppDefined, "failure %d", i);
        ended = pvrt_errcap_end(&cap);
    });
    t.join();
    EXPECT_EQ(ended, 40); // the job knows of all its failures
    EXPECT_TRUE(global_records().empty());

    // The kept records, in order; the dropped count is only a debug note,
    // so the caller's last error stays the read's own failure.
    const int replayed = pvrt_errlog_replay(log);
    const std::vector<Record> got = global_records();
    ASSERT_GE(got.size(), 2u);
    EXPECT_EQ(replayed, (int)got.size());
    EXPECT_LT(got.size(), 40u);
    for (size_t i = 0; i < got.size(); i++) {
        EXPECT_EQ(got[i].cls, CE_Failure);
        EXPECT_EQ(got[i].msg, "failure " + std::to_string(i));
    }
    EXPECT_EQ(CPLGetLastErrorType(), CE_Failure);
    expect_only_main_thread();
    pvrt_errlog_free(log);
}

// When the log is full, a lower job's record displaces the highest job's:
// what is replayed first is the lowest failing job, whoever ran first.
TEST_F(Errcap, FullLogKeepsTheLowestJobs)
{
    pvrt_errlog *log = pvrt_errlog_new();
    std::thread t([&] {
        for (int job = 99; job >= 50; job--) {
            pvrt_errcap cap;
            pvrt_errcap_begin(&cap, log, job);
            CPLError(CE_Failure, CPLE_AppDefined, "job %d", job);
            pvrt_errcap_end(&cap);
        }
    });
    t.join();
    pvrt_errlog_replay(log);
    const std::vector<Record> got = global_records();
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.front().msg, "job 50");
    for (size_t i = 0; i < got.size(); i++)
        EXPECT_EQ(got[i].msg, "job " + std::to_string(50 + i));
    pvrt_errlog_free(log);
}

TEST_F(Errcap, HandlerIsPoppedAfterEnd)
{
    pvrt_errlog *log = pvrt_errlog_new();
    std::thread t([&] {
        pvrt_errcap cap;
        pvrt_errcap_begin(&cap, log, 0);
        CPLError(CE_Warning, CPLE_AppDefined, "captured");
        pvrt_errcap_end(&cap);
    });
    t.join();
    // On this thread no capture is active: the error goes to the global
    // handler directly.
    CPLError(CE_Warning, CPLE_AppDefined, "direct");
    std::vector<Record> got = global_records();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].msg, "direct");
    EXPECT_EQ(pvrt_errlog_replay(log), 0); // a warning is not a failure
    got = global_records();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1].msg, "captured");
    pvrt_errlog_free(log);
}

TEST_F(Errcap, FreeAcceptsNull)
{
    pvrt_errlog_free(nullptr);
}

} // namespace
