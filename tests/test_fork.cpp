// test_fork.cpp: the pool after fork().
//
// Python's multiprocessing forks by default on Linux; a child of a process
// whose pool has started has none of its worker threads. The child's first
// batch must start fresh workers (pthread_atfork resets the pool) and run
// every job, instead of waiting forever on threads that do not exist.
#include <gtest/gtest.h>

#include <atomic>
#include <sys/wait.h>
#include <unistd.h>

#include "pool.h"

namespace
{

std::atomic<int> g_ran{0};

int count_job(void *, int, int)
{
    g_ran++;
    return 0;
}

int run_batch(int njobs)
{
    pvrt_batch_spec spec = {};
    spec.njobs = njobs;
    spec.max_workers = 2;
    spec.fn = count_job;
    g_ran = 0;
    const int rc = pvrt_batch_run(&spec);
    return rc == PVRT_BATCH_OK ? g_ran.load() : -1;
}

TEST(Fork, ChildRunsBatchesWithFreshWorkers)
{
    ASSERT_EQ(run_batch(64), 64);
    ASSERT_GE(pvrt_pool_size(), 1) << "the parent's pool should be started";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // In the child: no worker survived the fork.
        const int before = pvrt_pool_size();
        const int ran = run_batch(64);
        const int after = pvrt_pool_size();
        _exit(before == 0 && ran == 64 && after >= 1 ? 0 : 1);
    }
    int status = 0;
    // A child stuck waiting on dead workers would hang: bound the wait.
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        usleep(50 * 1000);
        if (i == 199) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            FAIL() << "the child hung";
        }
    }
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    // The parent's pool still works.
    EXPECT_EQ(run_batch(64), 64);
    pvrt_pool_shutdown();
}

} // namespace
