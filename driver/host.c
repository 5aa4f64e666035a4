/* host.c: the CPUs, file descriptors and GDAL source-pool entries a PVRT
 * dataset takes from its host process (see host.h).
 *
 * Nothing here runs at load or registration: open.c calls in while it
 * configures a dataset. CPU counting reads the affinity mask and the cgroup
 * CPU quota each time (GDAL 3.6's CPLGetNumCPUs honours affinity but not
 * quotas). Raising limits is serialised by one mutex, so two datasets opened
 * at once never lower what the other raised. */
#define _GNU_SOURCE
#include "host.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_multiproc.h>

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Descriptors left for everything else the process opens meanwhile. */
#define FD_MARGIN 64
/* GDAL's own default and ceiling for GDAL_MAX_DATASET_POOL_SIZE. */
#define GDAL_POOL_DEFAULT 100
#define GDAL_POOL_MAX 1000
/* /proc/self/mountinfo and /proc/self/cgroup are read up to this size. */
#define MAX_PROC_TEXT (1024 * 1024)

/* Guards setrlimit and the pool option below. Never held while calling
 * into GDAL beyond CPLGetConfigOption/CPLSetConfigOption/CPLDebug. */
static pthread_mutex_t reserve_lock = PTHREAD_MUTEX_INITIALIZER;
/* The pool size this module set, 0 if none (guarded by reserve_lock). */
static int pool_size_set;

/* The whole text of a small file (malloc'd, NUL-terminated), or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        const size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len < cap - 1 || cap >= MAX_PROC_TEXT)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Parses a non-negative integer at *s, skipping leading blanks; advances *s.
 * Returns -1 if there is none. */
static long long parse_count(const char **s)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    char *end = NULL;
    const long long v = strtoll(p, &end, 10);
    if (end == p || v < 0)
        return -1;
    *s = end;
    return v;
}

static int only_space_left(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return *s == '\0';
}

double pvrt_host_cgroup_v2_cpus(const char *cpu_max)
{
    if (cpu_max == NULL)
        return -1;
    const char *p = cpu_max;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "max", 3) == 0)
        return -1;
    const long long quota = parse_count(&p);
    const long long period = parse_count(&p);
    if (quota <= 0 || period <= 0 || !only_space_left(p))
        return -1;
    return (double)quota / (double)period;
}

double pvrt_host_cgroup_v1_cpus(const char *quota, const char *period)
{
    if (quota == NULL || period == NULL)
        return -1;
    char *end = NULL;
    const long long q = strtoll(quota, &end, 10);
    if (end == quota || q <= 0 || !only_space_left(end))
        return -1; /* -1: no limit */
    const char *p = period;
    const long long per = parse_count(&p);
    if (per <= 0 || !only_space_left(p))
        return -1;
    return (double)q / (double)per;
}

/* Non-zero if the comma-separated list [s, s+n) holds `word`. */
static int list_has(const char *s, size_t n, const char *word)
{
    const size_t w = strlen(word);
    const char *end = s + n;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const size_t len = comma ? (size_t)(comma - s) : (size_t)(end - s);
        if (len == w && memcmp(s, word, w) == 0)
            return 1;
        s += len + 1;
    }
    return 0;
}

/* Copies the line starting at s (without its newline) into out; returns a
 * pointer past the newline. */
static const char *next_line(const char *s, char *out, size_t n)
{
    const char *nl = strchr(s, '\n');
    size_t len = nl ? (size_t)(nl - s) : strlen(s);
    if (len >= n)
        len = n - 1;
    memcpy(out, s, len);
    out[len] = '\0';
    return nl ? nl + 1 : s + strlen(s);
}

/* The path of the cgroup holding the CPU controller, from
 * /proc/self/cgroup ("HIERARCHY:CONTROLLERS:PATH" lines). */
static int cgroup_path(const char *proc_cgroup, int v2, char *out, size_t n)
{
    char line[4096];
    for (const char *s = proc_cgroup; *s;) {
        s = next_line(s, line, sizeof line);
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        const int unified = c1 == line + 1 && line[0] == '0' && c2 == c1 + 1;
        const int cpu = list_has(c1 + 1, (size_t)(c2 - c1 - 1), "cpu");
        if (v2 ? unified : cpu) {
            snprintf(out, n, "%s", c2 + 1);
            return 0;
        }
    }
    return -1;
}

int pvrt_host_cgroup_dir(const char *proc_cgroup, const char *mountinfo, int v2,
                         char *out, size_t n)
{
    if (proc_cgroup == NULL || mountinfo == NULL || n == 0)
        return -1;
    char path[4096];
    if (cgroup_path(proc_cgroup, v2, path, sizeof path) != 0)
        return -1;
    /* mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE
     * SOURCE SUPEROPTIONS */
    char line[4096];
    for (const char *s = mountinfo; *s;) {
        s = next_line(s, line, sizeof line);
        char root[1024], point[1024], fstype[64], super[1024];
        const char *dash = strstr(line, " - ");
        if (dash == NULL ||
            sscanf(line, "%*s %*s %*s %1023s %1023s", root, point) != 2 ||
            sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2)
            continue;
        const int match = v2 ? strcmp(fstype, "cgroup2") == 0
                             : strcmp(fstype, "cgroup") == 0 &&
                                   list_has(super, strlen(super), "cpu");
        if (!match)
            continue;
        const char *rest = path;
        const size_t rl = strlen(root);
        if (strcmp(root, "/") != 0) {
            if (strncmp(path, root, rl) == 0 &&
                (path[rl] == '/' || path[rl] == '\0'))
                rest = path + rl;
            else
                rest = "";
        }
        if (strcmp(rest, "/") == 0)
            rest = "";
        snprintf(out, n, "%s%s", point, rest);
        return 0;
    }
    return -1;
}

/* The quota set on one cgroup folder, or -1. */
static double quota_at(const char *dir, int v2)
{
    char file[4200];
    if (v2) {
        snprintf(file, sizeof file, "%s/cpu.max", dir);
        char *text = read_text(file);
        const double q = pvrt_host_cgroup_v2_cpus(text);
        free(text);
        return q;
    }
    snprintf(file, sizeof file, "%s/cpu.cfs_quota_us", dir);
    char *quota = read_text(file);
    snprintf(file, sizeof file, "%s/cpu.cfs_period_us", dir);
    char *period = read_text(file);
    const double q = pvrt_host_cgroup_v1_cpus(quota, period);
    free(quota);
    free(period);
    return q;
}

double pvrt_host_cgroup_quota(const char *dir, const char *mount, int v2)
{
    char d[4096];
    snprintf(d, sizeof d, "%s", dir);
    const size_t mount_len = strlen(mount);
    double best = -1;
    for (;;) {
        const double q = quota_at(d, v2);
        if (q > 0 && (best < 0 || q < best))
            best = q;
        if (strlen(d) <= mount_len || strncmp(d, mount, mount_len) != 0)
            break;
        char *slash = strrchr(d, '/');
        if (slash == NULL || slash == d)
            break;
        *slash = '\0';
    }
    return best;
}

/* The mount point of the hierarchy (v2 or v1 cpu) in mountinfo, for the
 * upward walk's stop. */
static int cgroup_mount(const char *mountinfo, int v2, char *out, size_t n)
{
    /* A cgroup path of "/" yields the mount point itself. */
    return pvrt_host_cgroup_dir(v2 ? "0::/\n" : "1:cpu:/\n", mountinfo, v2, out,
                                n);
}

/* The smallest CPU quota over cgroup v2 and v1, or -1. */
static double cgroup_cpus(void)
{
    char *proc_cgroup = read_text("/proc/self/cgroup");
    char *mountinfo = read_text("/proc/self/mountinfo");
    double best = -1;
    for (int v2 = 1; v2 >= 0 && proc_cgroup && mountinfo; v2--) {
        char dir[4096], mount[4096];
        if (pvrt_host_cgroup_dir(proc_cgroup, mountinfo, v2, dir, sizeof dir) !=
                0 ||
            cgroup_mount(mountinfo, v2, mount, sizeof mount) != 0)
            continue;
        const double q = pvrt_host_cgroup_quota(dir, mount, v2);
        if (q > 0 && (best < 0 || q < best))
            best = q;
    }
    free(proc_cgroup);
    free(mountinfo);
    return best;
}

int pvrt_host_cpus(void)
{
    int n = CPLGetNumCPUs();
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int a = CPU_COUNT(&set);
        if (a > 0 && (n < 1 || a < n))
            n = a;
    }
    const double quota = cgroup_cpus();
    if (quota > 0) {
        int q = (int)quota;
        if (q < quota)
            q++; /* 1.5 CPUs of quota: 2 threads */
        if (n < 1 || q < n)
            n = q;
    }
    return n < 1 ? 1 : n;
}

/* Descriptors open in this process now (0 if /proc is not there). */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 0;
    long n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* not the directory's own descriptor */
}

/* Raises the soft descriptor limit so that `sources` more can be open. */
static void reserve_fds(const char *name, int threads, int per_thread,
                        long sources)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return;
    const rlim_t want = (rlim_t)open_fds() + (rlim_t)sources + FD_MARGIN;
    if (want <= rl.rlim_cur)
        return;
    rlim_t to = want;
    if (rl.rlim_max != RLIM_INFINITY && to > rl.rlim_max)
        to = rl.rlim_max;
    if (to <= rl.rlim_cur)
        return; /* at the hard limit: open.c caps the threads instead */
    const rlim_t from = rl.rlim_cur;
    rl.rlim_cur = to;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        CPLDebug("PVRT",
                 "%s: raised the soft file descriptor limit from %ld to %ld "
                 "for %d threads x %d sources",
                 name, (long)from, (long)to, threads, per_thread);
}

/* Raises GDAL_MAX_DATASET_POOL_SIZE for threads x per_thread sources
 * unless the user set it; returns the size in effect afterwards. */
static int reserve_pool(const char *name, int threads, int per_thread)
{
    const char *cur = CPLGetConfigOption("GDAL_MAX_DATASET_POOL_SIZE", NULL);
    const int have = cur ? atoi(cur) : GDAL_POOL_DEFAULT;
    if (cur != NULL && (pool_size_set == 0 || have != pool_size_set))
        return have; /* the user's value */
    const long need = (long)threads * per_thread;
    const int to = need > GDAL_POOL_MAX ? GDAL_POOL_MAX : (int)need;
    if (to <= have)
        return have;
    char text[32];
    snprintf(text, sizeof text, "%d", to);
    CPLSetConfigOption("GDAL_MAX_DATASET_POOL_SIZE", text);
    pool_size_set = to;
    CPLDebug("PVRT",
             "%s: set GDAL_MAX_DATASET_POOL_SIZE=%d for %d threads x %d "
             "sources (GDAL applies it when it creates its source pool: now "
             "if no VRT source is open in this process, else later)",
             name, to, threads, per_thread);
    return to;
}

void pvrt_host_reserve(const char *name, int threads, int sources_per_thread)
{
    /* One thread reads as GDAL's VRT driver would: nothing to make room for.
     */
    if (threads <= 1)
        return;
    if (sources_per_thread < 1)
        sources_per_thread = 1;
    if (name == NULL)
        name = "";
    pthread_mutex_lock(&reserve_lock);
    /* GDAL's pool bounds how many sources are open at once, so descriptors
     * are raised only for as many as the pool will hold. */
    const int pool = reserve_pool(name, threads, sources_per_thread);
    long sources = (long)threads * sources_per_thread;
    if (pool > 0 && sources > pool)
        sources = pool;
    reserve_fds(name, threads, sources_per_thread, sources);
    pthread_mutex_unlock(&reserve_lock);
}
