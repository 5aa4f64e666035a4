// test_host.cpp: how many CPUs "all CPUs" means (driver/host.c).
//
// The cgroup v1/v2 parsers on fixture texts of /proc/self/cgroup,
// /proc/self/mountinfo and the quota files (a host, a container with and
// without a cgroup namespace, a hybrid v1/v2 host, a Kubernetes pod), the
// upward walk through parent cgroups on a fixture tree, and end to end:
// gdalinfo pinned with `taskset -c 0` gets a PVRT dataset of one thread,
// read back from the dataset's __DEBUG__ metadata item THREADS.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_multiproc.h>
#include <cpl_vsi.h>

#include <cstdlib>
#include <cstring>
#include <sched.h>
#include <string>

#include "host.h"
#include "testutil.h"

namespace
{

std::string cgroup_dir(const char *proc_cgroup, const char *mountinfo, int v2)
{
    char out[4096];
    if (pvrt_host_cgroup_dir(proc_cgroup, mountinfo, v2, out, sizeof out) != 0)
        return "<none>";
    return out;
}

const char kHybridMountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup "
    "rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup "
    "rw,cpuset\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(HostCgroup, CpuMaxV2)
{
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus("max 100000\n"), -1);
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus("150000 100000\n"), 1.5);
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus("50000 100000"), 0.5);
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus("400000 100000\n"), 4.0);
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus("100000"), -1);
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus("garbage"), -1);
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus("100000 0"), -1);
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus("100000 100000 7"), -1);
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus(""), -1);
    EXPECT_EQ(pvrt_host_cgroup_v2_cpus(nullptr), -1);
}

TEST(HostCgroup, CfsQuotaV1)
{
    EXPECT_EQ(pvrt_host_cgroup_v1_cpus("-1\n", "100000\n"), -1);
    EXPECT_EQ(pvrt_host_cgroup_v1_cpus("200000\n", "100000\n"), 2.0);
    EXPECT_EQ(pvrt_host_cgroup_v1_cpus("50000\n", "100000\n"), 0.5);
    EXPECT_EQ(pvrt_host_cgroup_v1_cpus("abc", "100000"), -1);
    EXPECT_EQ(pvrt_host_cgroup_v1_cpus("200000", "0"), -1);
    EXPECT_EQ(pvrt_host_cgroup_v1_cpus("200000", nullptr), -1);
}

TEST(HostCgroup, DirOnAV2Host)
{
    const char *mi = "30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 "
                     "cgroup2 rw,nsdelegate\n";
    EXPECT_EQ(cgroup_dir("0::/user.slice/user-1000.slice/s.scope\n", mi, 1),
              "/sys/fs/cgroup/user.slice/user-1000.slice/s.scope");
    // A container with a cgroup namespace sees its own cgroup as "/".
    EXPECT_EQ(cgroup_dir("0::/\n", mi, 1), "/sys/fs/cgroup");
    // No v1 cpu hierarchy on a pure v2 host.
    EXPECT_EQ(cgroup_dir("0::/\n", mi, 0), "<none>");
}

TEST(HostCgroup, DirInAContainerWithoutNamespace)
{
    // The mount's root is the container's cgroup: it is stripped.
    const char *mi = "700 690 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 "
                     "cgroup rw\n";
    EXPECT_EQ(cgroup_dir("0::/docker/abc\n", mi, 1), "/sys/fs/cgroup");
    EXPECT_EQ(cgroup_dir("0::/docker/abc/sub\n", mi, 1), "/sys/fs/cgroup/sub");
    // A path outside the mounted root: the mount itself.
    EXPECT_EQ(cgroup_dir("0::/elsewhere\n", mi, 1), "/sys/fs/cgroup");
}

TEST(HostCgroup, DirOnAHybridHost)
{
    const char *pc = "9:name=systemd:/\n4:memory:/x\n3:cpuset:/\n"
                     "2:cpuacct:/\n1:cpu:/\n0::/\n";
    EXPECT_EQ(cgroup_dir(pc, kHybridMountinfo, 0), "/sys/fs/cgroup/cpu");
    EXPECT_EQ(cgroup_dir(pc, kHybridMountinfo, 1), "/sys/fs/cgroup/unified");
}

TEST(HostCgroup, DirOfAV1Pod)
{
    const char *mi = "40 31 0:35 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup "
                     "cgroup rw,cpu,cpuacct\n";
    EXPECT_EQ(cgroup_dir("5:cpu,cpuacct:/kubepods/pod1/c1\n", mi, 0),
              "/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/c1");
}

TEST(HostCgroup, CpusetIsNotCpu)
{
    const char *mi = "34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup "
                     "rw,cpuset\n";
    EXPECT_EQ(cgroup_dir("3:cpuset:/\n", mi, 0), "<none>");
    EXPECT_EQ(cgroup_dir("3:cpuset:/\n1:cpu:/\n", mi, 0), "<none>");
}

void put(const std::string &path, const char *text)
{
    VSIMkdirRecursive(CPLGetPath(path.c_str()), 0755);
    VSILFILE *f = VSIFOpenL(path.c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    VSIFWriteL(text, 1, strlen(text), f);
    VSIFCloseL(f);
}

TEST(HostCgroup, QuotaWalksUpToTheMountV2)
{
    const std::string root = pvrt_test::scratch("cg2");
    put(root + "/cpu.max", "10000 100000\n"); // above the mount: never read
    put(root + "/mnt/a/b/cpu.max", "max 100000\n");
    put(root + "/mnt/a/cpu.max", "250000 100000\n");
    const std::string mnt = root + "/mnt";
    EXPECT_EQ(pvrt_host_cgroup_quota((mnt + "/a/b").c_str(), mnt.c_str(), 1),
              2.5);
    put(root + "/mnt/a/b/cpu.max", "100000 100000\n");
    EXPECT_EQ(pvrt_host_cgroup_quota((mnt + "/a/b").c_str(), mnt.c_str(), 1),
              1.0);
    EXPECT_EQ(pvrt_host_cgroup_quota(mnt.c_str(), mnt.c_str(), 1), -1);
}

TEST(HostCgroup, QuotaWalksUpV1)
{
    const std::string mnt = pvrt_test::scratch("cg1");
    put(mnt + "/x/cpu.cfs_quota_us", "-1\n");
    put(mnt + "/x/cpu.cfs_period_us", "100000\n");
    put(mnt + "/cpu.cfs_quota_us", "300000\n");
    put(mnt + "/cpu.cfs_period_us", "100000\n");
    EXPECT_EQ(pvrt_host_cgroup_quota((mnt + "/x").c_str(), mnt.c_str(), 0),
              3.0);
}

int affinity_count(cpu_set_t *set)
{
    CPU_ZERO(set);
    return sched_getaffinity(0, sizeof *set, set) == 0 ? CPU_COUNT(set) : -1;
}

TEST(HostCpus, WithinAffinityAndGdalCount)
{
    cpu_set_t set;
    const int n = pvrt_host_cpus();
    EXPECT_GE(n, 1);
    EXPECT_LE(n, CPLGetNumCPUs());
    const int a = affinity_count(&set);
    if (a > 0) {
        EXPECT_LE(n, a);
    }
}

// THREADS of a derived VRT opened by gdalinfo pinned to `cpus`.
int threads_under_taskset(const std::string &cpus, const std::string &vrt)
{
    std::string out;
    const std::string cmd = pvrt_test::host_env() +
                            "env -u PVRT_NUM_THREADS taskset -c " + cpus +
                            " gdalinfo -mdd __DEBUG__ '" + vrt + "'";
    if (pvrt_test::run_command(cmd, &out) != 0)
        return -1;
    if (out.find("Driver: PVRT/") == std::string::npos)
        return -2;
    const size_t at = out.find("\n  THREADS=");
    if (at == std::string::npos)
        return -3;
    return atoi(out.c_str() + at + 11);
}

TEST(HostCpus, TasksetLimitsTheDefaultThreads)
{
    pvrt_test::RasterSpec spec;
    spec.width = 256;
    spec.height = 256;
    const std::string a = pvrt_test::make_tiff("taskset_a.tif", spec);
    spec.seed = 1;
    const std::string b = pvrt_test::make_tiff("taskset_b.tif", spec);
    const std::string vrt = pvrt_test::write_file(
        "taskset.vrt", pvrt_test::vrt_dataset(
                           256, 256,
                           {pvrt_test::derived_band(
                               1, GDT_Float32, "sum",
                               {pvrt_test::simple_source(a, 1, 256, 256),
                                pvrt_test::simple_source(b, 1, 256, 256)})}));
    cpu_set_t set;
    if (affinity_count(&set) < 1 || !CPU_ISSET(0, &set))
        GTEST_SKIP() << "CPU 0 is not in this process's affinity mask";
    EXPECT_EQ(threads_under_taskset("0", vrt), 1);
    if (CPU_ISSET(1, &set)) {
        const int want = pvrt_host_cpus() < 2 ? pvrt_host_cpus() : 2;
        EXPECT_EQ(threads_under_taskset("0,1", vrt), want);
    }
}

} // namespace
