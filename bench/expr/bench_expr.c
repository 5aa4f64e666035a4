/* bench_expr.c: single-thread NDVI throughput of pvrt_expr against a
 * hand-written C kernel, in process, on the same buffers.
 *
 * Two UInt16 rasters (N x N, default 8192) in memory; the output is
 * Float32. pvrt_expr `(B2-B1)/(B2+B1)` is called directly (the entry point
 * GDAL would call), on strips of N x 128 pixels as a VRT read of block rows
 * would; the hand kernel converts each pair to double, computes, and casts
 * to float (what GDALCopyWords does for in-range values). Prints Mpixel/s
 * of each (best of --reps runs) and their ratio, and checks the two outputs
 * are identical bit for bit (NaN equal NaN). Built and run by
 * bench/expr/bench_expr.sh. */
#include "pf_private.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void hand_ndvi(const uint16_t *red, const uint16_t *nir, float *out,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const double r = red[i], v = nir[i];
        out[i] = (float)((v - r) / (v + r));
    }
}

int main(int argc, char **argv)
{
    int size = 8192, reps = 3, strip = 128;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--strip") == 0 && i + 1 < argc)
            strip = atoi(argv[++i]);
    }
    const size_t n = (size_t)size * (size_t)size;
    uint16_t *red = malloc(n * 2), *nir = malloc(n * 2);
    float *out_expr = malloc(n * 4), *out_hand = malloc(n * 4);
    if (!red || !nir || !out_expr || !out_hand)
        return 1;
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        red[i] = (uint16_t)(s % 5000);
        nir[i] = (uint16_t)((s >> 20) % 9000);
    }
    red[0] = nir[0] = 0; /* one 0/0 */

    char **args = CSLSetNameValue(NULL, "expr", "(B2-B1)/(B2+B1)");
    double best_expr = 1e30, best_hand = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int y = 0; y < size; y += strip) {
            const int h = size - y < strip ? size - y : strip;
            void *src[2] = {red + (size_t)y * size, nir + (size_t)y * size};
            if (pvrt__expr(src, 2, out_expr + (size_t)y * size, size, h,
                           GDT_UInt16, GDT_Float32, 4, 4 * size,
                           args) != CE_None)
                return 1;
        }
        double t1 = now();
        if (t1 - t0 < best_expr)
            best_expr = t1 - t0;
        t0 = now();
        for (int y = 0; y < size; y += strip) {
            const int h = size - y < strip ? size - y : strip;
            const size_t off = (size_t)y * size;
            hand_ndvi(red + off, nir + off, out_hand + off, (size_t)h * size);
        }
        t1 = now();
        if (t1 - t0 < best_hand)
            best_hand = t1 - t0;
    }
    size_t diff = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&out_expr[i], &out_hand[i], 4) != 0 &&
            !(isnan(out_expr[i]) && isnan(out_hand[i])))
            diff++;
    const double mpix = (double)n / 1e6;
    printf("size %dx%d, strips of %d rows, best of %d\n", size, size, strip,
           reps);
    printf("pvrt_expr (in process)  %8.1f Mpixel/s\n", mpix / best_expr);
    printf("hand-written C kernel   %8.1f Mpixel/s\n", mpix / best_hand);
    printf("ratio pvrt_expr / hand  %8.2f\n", best_hand / best_expr);
    printf("outputs differ at %zu pixels\n", diff);
    CSLDestroy(args);
    pvrt__expr_cleanup();
    free(red);
    free(nir);
    free(out_expr);
    free(out_hand);
    return diff != 0;
}
