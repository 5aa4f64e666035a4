/* host.h: what the host process lends a PVRT dataset: the CPUs it may use
 * and the file descriptors and GDAL source-pool entries its clones need.
 *
 * The plugin changes no process state when it is loaded or registered.
 * open.c asks here, while opening a dataset, how many threads "all CPUs"
 * means (CPU affinity and cgroup v1/v2 CPU quotas included), and raises the
 * descriptor limit and GDAL's source-pool size only when that dataset needs
 * more than the process has, only as far as it needs, where the user has not
 * set them. Every function may be called from any thread. The cgroup parsers
 * are pure and exposed for the unit tests (tests/test_host.cpp). */
#ifndef PVRT_HOST_H
#define PVRT_HOST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CPUs this process may use: the smallest of GDAL's count (CPLGetNumCPUs),
 * the CPU affinity mask (sched_getaffinity) and the cgroup CPU quota
 * (rounded up). At least 1. Read again at each call (cheap: a system call
 * and a few small files), so a process moved to another cgroup or affinity
 * mask after loading the plugin gets the right count. */
int pvrt_host_cpus(void);

/* Makes room for a dataset read by `threads` handles (the caller's and the
 * clones) that each hold `sources_per_thread` sources open: raises the soft
 * RLIMIT_NOFILE up to the hard limit, and sets GDAL_MAX_DATASET_POOL_SIZE
 * when neither the user nor the environment set it (descriptors are raised
 * for no more sources than the pool holds). Nothing changes for one thread
 * (GDAL's own VRT driver would need as much), nor where the current value
 * is large enough for this dataset; each change is
 * reported with CPLDebug("PVRT", ...) naming `name`. GDAL reads
 * GDAL_MAX_DATASET_POOL_SIZE when it creates its source pool, which lives
 * while any VRT source is open: the new size applies if no source is open
 * yet (a fresh process), else from the next time the pool is created. */
void pvrt_host_reserve(const char *name, int threads, int sources_per_thread);

/* ---- cgroup parsing (pure; for host.c and its tests) ---- */

/* CPUs granted by a cgroup v2 "cpu.max" text ("QUOTA PERIOD" or
 * "max PERIOD"): quota / period, or -1 for no limit or unparsable text. */
double pvrt_host_cgroup_v2_cpus(const char *cpu_max);

/* CPUs granted by cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us texts:
 * quota / period, or -1 for no limit (-1 quota) or unparsable text. */
double pvrt_host_cgroup_v1_cpus(const char *quota, const char *period);

/* The folder holding this process's CPU controller files, from the texts of
 * /proc/self/cgroup and /proc/self/mountinfo: for cgroup v2 (`v2` non-zero)
 * the cgroup2 mount joined with the "0::" path, for v1 the mount whose
 * options list "cpu" joined with the path of the line listing "cpu". The
 * mount's own root is stripped from the path (containers mount their cgroup
 * as "/"). Writes it into out (size n) and returns 0, or -1 if not found. */
int pvrt_host_cgroup_dir(const char *proc_cgroup, const char *mountinfo, int v2,
                         char *out, size_t n);

/* The CPU quota of the cgroup folder `dir` and of every parent up to
 * `mount` (the smallest wins), reading files under those folders; -1 when
 * none is limited. `v2` selects cpu.max or the v1 cfs files. */
double pvrt_host_cgroup_quota(const char *dir, const char *mount, int v2);

#ifdef __cplusplus
}
#endif

#endif
