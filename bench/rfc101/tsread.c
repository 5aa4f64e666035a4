/* tsread.c: reads a raster from several threads, either through one handle
 * per thread or through one GDAL_OF_THREAD_SAFE handle (RFC 101, GDAL 3.10+)
 * shared by all, and prints what run.sh compares.
 *
 *   tsread <raster> handles|shared same|split [threads] [chunk_rows]
 *
 * Each thread reads the raster in full-width chunks of chunk_rows rows (all
 * bands, in band 1's data type): with `same` every thread reads every chunk
 * (the case where decoded blocks shared between threads would save work),
 * with `split` thread t reads chunks t, t + threads, ... The time runs from
 * before the first open to after the last close. Printed on one line:
 *
 *   seconds=<wall> cpu=<user + system seconds> cache_mb=<block cache in
 *   use before closing> hash=<h>
 *
 * h is the sum over chunks of FNV-1a 64 over (chunk index, chunk bytes), the
 * same for every mode, pattern and thread count when the bytes are the same
 * (with `same` every thread's sum must agree, or tsread fails). The block
 * cache in use is GDALGetCacheUsed64() after the reads, before any close:
 * with `same`, per-thread decoded blocks take about threads times what one
 * copy takes. Exit 0, 1 on a read error, 2 on bad usage or when the
 * GDAL in use has no GDAL_OF_THREAD_SAFE. */
#define _POSIX_C_SOURCE 200809L
#include <gdal.h>

#include <pthread.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 64

typedef struct job {
    const char *path;
    GDALDatasetH shared; /* NULL: open a handle of its own */
    int index, nthreads, chunk_rows, same;
    uint64_t hash;
    int failed;
    pthread_barrier_t *barrier; /* after the reads, and again to close */
} job;

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void *reader(void *arg)
{
    job *j = (job *)arg;
    GDALDatasetH ds = j->shared;
    if (ds == NULL)
        ds = GDALOpenEx(j->path, GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR, NULL,
                        NULL, NULL);
    if (ds == NULL) {
        j->failed = 1;
        pthread_barrier_wait(j->barrier);
        pthread_barrier_wait(j->barrier);
        return NULL;
    }
    const int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    const int nb = GDALGetRasterCount(ds);
    const GDALDataType type = GDALGetRasterDataType(GDALGetRasterBand(ds, 1));
    const size_t row_bytes =
        (size_t)w * (size_t)nb * (size_t)GDALGetDataTypeSizeBytes(type);
    unsigned char *buf = malloc(row_bytes * (size_t)j->chunk_rows);
    const int nchunks = (h + j->chunk_rows - 1) / j->chunk_rows;
    for (int c = j->same ? 0 : j->index; buf && c < nchunks;
         c += j->same ? 1 : j->nthreads) {
        const int y = c * j->chunk_rows;
        const int rows = h - y < j->chunk_rows ? h - y : j->chunk_rows;
        if (GDALDatasetRasterIO(ds, GF_Read, 0, y, w, rows, buf, w, rows, type,
                                nb, NULL, 0, 0, 0) != CE_None) {
            j->failed = 1;
            break;
        }
        const uint64_t ci = (uint64_t)c;
        j->hash += fnv1a(fnv1a(14695981039346656037ULL, &ci, sizeof ci), buf,
                         row_bytes * (size_t)rows);
    }
    if (buf == NULL)
        j->failed = 1;
    free(buf);
    /* main reads the block cache while every thread still holds its
     * handle: an RFC 101 handle closes a thread's own dataset when the
     * thread ends. */
    pthread_barrier_wait(j->barrier);
    pthread_barrier_wait(j->barrier);
    if (j->shared == NULL)
        GDALClose(ds);
    return NULL;
}

/* CPU seconds (user + system) of the whole process so far. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6 ||
        (strcmp(argv[2], "handles") != 0 && strcmp(argv[2], "shared") != 0) ||
        (strcmp(argv[3], "same") != 0 && strcmp(argv[3], "split") != 0)) {
        fprintf(stderr, "usage: tsread <raster> handles|shared same|split "
                        "[threads] [chunk_rows]\n");
        return 2;
    }
    const int shared = strcmp(argv[2], "shared") == 0;
    const int nthreads = argc > 4 ? atoi(argv[4]) : 2;
    const int chunk_rows = argc > 5 ? atoi(argv[5]) : 256;
    if (nthreads < 1 || nthreads > MAX_THREADS || chunk_rows < 1) {
        fprintf(stderr, "tsread: threads must be 1..%d, chunk_rows >= 1\n",
                MAX_THREADS);
        return 2;
    }
#ifndef GDAL_OF_THREAD_SAFE
    if (shared) {
        fprintf(stderr, "tsread: GDAL %s has no GDAL_OF_THREAD_SAFE (3.10+)\n",
                GDALVersionInfo("RELEASE_NAME"));
        return 2;
    }
#endif
    GDALAllRegister();
    const double t0 = now(), c0 = cpu_seconds();
    GDALDatasetH ts = NULL;
#ifdef GDAL_OF_THREAD_SAFE
    if (shared) {
        ts = GDALOpenEx(argv[1],
                        GDAL_OF_RASTER | GDAL_OF_THREAD_SAFE |
                            GDAL_OF_VERBOSE_ERROR,
                        NULL, NULL, NULL);
        if (ts == NULL)
            return 1;
    }
#endif
    job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (job){argv[1],  ts,         i,
                        nthreads, chunk_rows, strcmp(argv[3], "same") == 0,
                        0,        0,          &barrier};
        if (pthread_create(&tids[i], NULL, reader, &jobs[i]) != 0) {
            fprintf(stderr, "tsread: cannot start thread %d\n", i);
            return 1;
        }
    }
    pthread_barrier_wait(&barrier);
    const double cache_mb = (double)GDALGetCacheUsed64() / (1024.0 * 1024.0);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < nthreads; i++)
        pthread_join(tids[i], NULL);
    pthread_barrier_destroy(&barrier);
    int failed = 0;
    uint64_t hash = 0;
    for (int i = 0; i < nthreads; i++) {
        failed |= jobs[i].failed;
        if (jobs[i].same) {
            if (i > 0 && jobs[i].hash != jobs[0].hash) {
                fprintf(stderr, "tsread: thread %d read other bytes\n", i);
                failed = 1;
            }
            hash = jobs[0].hash;
        } else {
            hash += jobs[i].hash;
        }
    }
    if (ts)
        GDALClose(ts);
    const double secs = now() - t0, cpu = cpu_seconds() - c0;
    if (failed)
        return 1;
    printf("seconds=%.4f cpu=%.4f cache_mb=%.1f hash=%016llx\n", secs, cpu,
           cache_mb, (unsigned long long)hash);
    return 0;
}
