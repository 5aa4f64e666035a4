/* read.c: see read.h.
 *
 * A request is split only when its result cannot depend on the split: not
 * resampled (buffer size equals window size, no fractional window) and on a
 * tile-safe dataset (vrtinfo.c). Otherwise it goes whole to the primary
 * handle, which is by construction what GDAL's VRT driver returns. Each
 * tile job runs with the caller's thread-local config options and nesting
 * depth, captures its errors (errcap.c), and writes its part of the
 * caller's buffer through the same strides; tiles never overlap, so no two
 * jobs touch the same bytes. */
#include "read.h"

#include "ahead.h"
#include "tilecache.h"
#include "errcap.h"
#include "gather.h"
#include "halo.h"
#include "pool.h"
#include "sources.h"
#include "tiles.h"

#include <cpl_conv.h>
#include <cpl_string.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Nested reads deeper than this fail: a VRT that refers to itself. */
#define PVRT_MAX_DEPTH 32

/* Nesting depth of PVRT reads on this thread. Jobs carry the caller's
 * depth to the worker, so the count survives the hop between threads. */
static _Thread_local int tls_depth;

/* Threads outside the pool inside a top-level PVRT read now (atomic). */
static int active_callers;

/* The threads of the PVRT read this thread is inside of (0: none). A
 * nested PVRT dataset read on the same thread (a VRT over a derived VRT,
 * read inline) uses no more: `-oo NUM_THREADS=1` on the VRT a user opened
 * keeps the whole read on one thread. */
static _Thread_local int tls_thread_cap;

int pvrt_read_depth(void)
{
    return tls_depth;
}

typedef struct read_job {
    pvrt_dataset *ds;
    const pvrt_request *rq;
    const pvrt_rect *tiles;
    /* Non-NULL: tile i is read packed into dsts[i] (its own buffer,
     * pvrt__read_windows; or its place in a tile-major buffer,
     * pvrt__split_start); else the request's strides place the tiles. */
    void *const *dsts;
    /* Working memory per pixel of GDAL's derived bands (their output and
     * one buffer per source), when a tile is computed in stripes; 0: whole
     * (stripe_rows). */
    int64_t stripe_bpp;
    /* The tiles are a walk's region (pvrt__split_start): a tile that covers
     * whole source blocks drops them once read (covers_source_blocks). */
    int drop_sources;
    const int *warm; /* indices into ds->remote for warm_job */
    char **files;    /* paths for prefetch_job */
    char **config;   /* the caller's thread-local config options */
    int depth;       /* the caller's nesting depth */
    pvrt_errlog *log;
    GDALProgressFunc progress;
    void *progress_data;
} read_job;

GDALRasterBandH pvrt_resolve_band(GDALDatasetH ds, const pvrt_band_path *p)
{
    GDALRasterBandH b = GDALGetRasterBand(ds, p->band);
    if (b && p->overview >= 0)
        b = GDALGetOverview(b, p->overview);
    if (b && p->mask)
        b = GDALGetMaskBand(b);
    return b;
}

/* Reads one window of the request from dataset h into buf (already offset
 * to the window's first pixel) with the given strides. */
static CPLErr read_raw(GDALDatasetH h, const pvrt_request *rq, int x, int y,
                       int w, int h_, void *buf, int buf_w, int buf_h,
                       GSpacing ps, GSpacing ls, GSpacing bs,
                       GDALRasterIOExtraArg *extra)
{
    if (rq->path) {
        GDALRasterBandH band = pvrt_resolve_band(h, rq->path);
        if (band == NULL) {
            CPLError(CE_Failure, CPLE_AppDefined,
                     "PVRT: band %d (overview %d, mask %d) not found in %s",
                     rq->path->band, rq->path->overview, rq->path->mask,
                     GDALGetDescription(h));
            return CE_Failure;
        }
        return GDALRasterIOEx(band, GF_Read, x, y, w, h_, buf, buf_w, buf_h,
                              rq->buf_type, ps, ls, extra);
    }
    return GDALDatasetRasterIOEx(h, GF_Read, x, y, w, h_, buf, buf_w, buf_h,
                                 rq->buf_type, rq->nbands, (int *)rq->bands, ps,
                                 ls, bs, extra);
}

/* Reads one window of the request into dst with the request's strides.
 * GDAL 3.6's VRTDerivedRasterBand clears nBufXSize * nBufYSize * nPixelSpace
 * bytes from the buffer start when nPixelSpace is the type size, whatever
 * the line spacing: with lines wider than the buffer (a tile in a wider
 * buffer, a line-interleaved dataset read, a partial block) it wipes pixels
 * that are not its own. Derived datasets therefore read such windows into
 * a packed buffer and copy it out (same type: the copy is exact). */
static CPLErr read_window(const pvrt_dataset *ds, GDALDatasetH h,
                          const pvrt_request *rq, int x, int y, int w, int h_,
                          GByte *dst, int bw, int bh,
                          GDALRasterIOExtraArg *extra)
{
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    const int nb = rq->path ? 1 : rq->nbands;
    const GSpacing line = (GSpacing)bw * size;
    if (!ds->pack || rq->pixel_space != size ||
        (rq->line_space == line && (nb == 1 || rq->band_space == line * bh)))
        return read_raw(h, rq, x, y, w, h_, dst, bw, bh, rq->pixel_space,
                        rq->line_space, rq->band_space, extra);

    const GSpacing band = line * bh;
    GByte *tmp = (GByte *)VSI_MALLOC3_VERBOSE((size_t)band, 1, (size_t)nb);
    if (tmp == NULL)
        return CE_Failure;
    CPLErr err =
        read_raw(h, rq, x, y, w, h_, tmp, bw, bh, size, line, band, extra);
    if (err == CE_None) {
        for (int b = 0; b < nb; b++)
            for (int r = 0; r < bh; r++)
                memcpy(dst + b * rq->band_space + r * rq->line_space,
                       tmp + b * band + r * line, (size_t)line);
    }
    VSIFree(tmp);
    return err;
}

void pvrt_job_enter(pvrt_job_scope *js, char **config, int depth,
                    pvrt_errlog *log, int index, int worker)
{
    js->saved_config = NULL;
    js->saved_depth = tls_depth;
    if (worker >= 0) {
        js->saved_config = CPLGetThreadLocalConfigOptions();
        CPLSetThreadLocalConfigOptions((const char *const *)config);
        tls_depth = depth;
    }
    pvrt_errcap_begin(&js->cap, log, index);
}

void pvrt_job_leave(pvrt_job_scope *js, int worker)
{
    pvrt_errcap_end(&js->cap);
    if (worker >= 0) {
        CPLSetThreadLocalConfigOptions((const char *const *)js->saved_config);
        CSLDestroy(js->saved_config);
        tls_depth = js->saved_depth;
    }
}

/* On a worker, the caller's context applies for the job (read.h). */
static void job_enter(pvrt_job_scope *js, const read_job *job, int index,
                      int worker)
{
    pvrt_job_enter(js, job->config, job->depth, job->log, index, worker);
}

/* GDAL's derived band allocates and clears an output-sized buffer per
 * source for every call, and reads every source into its own before the
 * pixel function reads them all: a tile read in one call works through
 * (sources + 1) x its pixels, megabytes for the tiles of a large read,
 * which leave the CPU's caches between the passes (and come as fresh pages
 * when they are large enough to be mapped for the call). So a tile of a
 * derived band is read in stripes of whole rows of about STRIPE_BYTES of
 * that memory, on the same clone one after another: the source blocks the
 * first stripe decoded stay in the clone's block cache for the next, and a
 * tile-safe read does not depend on how it is split. Measured on the
 * benchmark's sum of six sources (2 cores): `ReadAsArray()` of the whole
 * band 1.43-1.46 s -> 1.05 s and 577 -> 466 MB; stripes of 128 KiB to
 * 2 MiB measured alike there, 256 KiB the least CPU for `gdalinfo
 * -checksum`. At least STRIPE_MIN_ROWS rows: a call costs its sources'
 * setup. */
#define STRIPE_BYTES (256 * 1024)
#define STRIPE_MIN_ROWS 16

static int64_t bytes_per_pixel(const pvrt_dataset *ds, const pvrt_request *rq);

/* The job's stripe_bpp for rq: 0 when no band it reads is derived, or the
 * sources are remote (a stripe would not fetch a tile's blocks at once). */
static int64_t stripe_bytes_per_pixel(const pvrt_dataset *ds,
                                      const pvrt_request *rq)
{
    int derived = 0;
    const int n = rq->path ? 1 : rq->nbands;
    for (int i = 0; ds->bands && i < n; i++) {
        const int b = rq->path ? rq->path->band : rq->bands[i];
        derived |= b >= 1 && b <= ds->nbands && ds->bands[b - 1].derived;
    }
    return ds->network || !derived ? 0 : bytes_per_pixel(ds, rq);
}

/* Rows per call for a tile w pixels wide (see STRIPE_BYTES). */
static int stripe_rows(const read_job *job, int w)
{
    if (job->stripe_bpp <= 0)
        return INT_MAX;
    const int64_t rows = STRIPE_BYTES / (job->stripe_bpp * w);
    return rows < STRIPE_MIN_ROWS ? STRIPE_MIN_ROWS : (int)rows;
}

/* Whether v, an edge of a tile, lies on a line of the grid of cells
 * `cell` wide starting at `off`, or on or beyond an edge of the raster
 * (`size`). */
static int on_grid_line(int v, int off, int cell, int size)
{
    return v <= 0 || v >= size || ((v - off) % cell + cell) % cell == 0;
}

/* Whether a tile (raster pixels) covers every source block it reads whole:
 * the sources share one block grid and the tile's edges lie on it. No
 * other tile of the walk then reads those blocks. */
static int covers_source_blocks(const pvrt_dataset *ds, int x, int y, int w,
                                int h)
{
    const int xs = GDALGetRasterXSize(ds->primary);
    const int ys = GDALGetRasterYSize(ds->primary);
    return ds->grid_shared && on_grid_line(x, ds->grid_off_x, ds->grid_x, xs) &&
           on_grid_line(x + w, ds->grid_off_x, ds->grid_x, xs) &&
           on_grid_line(y, ds->grid_off_y, ds->grid_y, ys) &&
           on_grid_line(y + h, ds->grid_off_y, ds->grid_y, ys);
}

static int floor_div(int a, int b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The grid cell holding raster position v, counted from the cell holding
 * position 0. */
static int grid_cell(int v, int off, int cell)
{
    return floor_div(v - off, cell) - floor_div(-off, cell);
}

/* Most bytes of ds->passed: past it (a raster of more than 16 million grid
 * cells per band) no walk drops source blocks. */
#define MAX_PASSED_BYTES ((int64_t)16 << 20)

/* ds->passed, made on first use; NULL when it cannot be. Owner thread. */
static unsigned char *passed_map(pvrt_dataset *ds)
{
    if (ds->passed != NULL || ds->passed_cols < 0)
        return ds->passed;
    ds->passed_cols = -1;
    if (!ds->grid_shared || ds->nbands < 1)
        return NULL;
    const int cols = grid_cell(GDALGetRasterXSize(ds->primary) - 1,
                               ds->grid_off_x, ds->grid_x) +
                     1;
    const int rows = grid_cell(GDALGetRasterYSize(ds->primary) - 1,
                               ds->grid_off_y, ds->grid_y) +
                     1;
    if ((int64_t)cols * rows * ds->nbands > MAX_PASSED_BYTES)
        return NULL;
    ds->passed = (unsigned char *)VSICalloc((size_t)cols * rows, ds->nbands);
    if (ds->passed != NULL) {
        ds->passed_cols = cols;
        ds->passed_rows = rows;
    }
    return ds->passed;
}

/* Marks the grid cells of a tile of band `band` (raster pixels, on grid
 * lines) as read by a walk. Returns 1 when none was before: the walk reads
 * these source blocks for the first time and drops them. Read again (a
 * second pass), they are kept, as GDAL's VRT driver keeps them: the pass
 * after that finds them cached. */
static int first_pass(pvrt_dataset *ds, int band, int x, int y, int w, int h)
{
    const int c0 = grid_cell(x, ds->grid_off_x, ds->grid_x);
    const int c1 = grid_cell(x + w - 1, ds->grid_off_x, ds->grid_x);
    const int r0 = grid_cell(y, ds->grid_off_y, ds->grid_y);
    const int r1 = grid_cell(y + h - 1, ds->grid_off_y, ds->grid_y);
    unsigned char *map =
        ds->passed + (size_t)(band - 1) * ds->passed_cols * ds->passed_rows;
    int first = 1;
    for (int r = r0; r <= r1; r++)
        for (int c = c0; c <= c1; c++)
            if (__atomic_exchange_n(&map[(size_t)r * ds->passed_cols + c], 1,
                                    __ATOMIC_RELAXED))
                first = 0;
    return first;
}

static int tile_job(void *ctx, int index, int worker)
{
    read_job *job = (read_job *)ctx;
    const pvrt_request *rq = job->rq;
    const pvrt_rect *t = &job->tiles[index];
    pvrt_job_scope js;
    job_enter(&js, job, index, worker);

    CPLErr err = CE_Failure;
    GDALDatasetH h = worker < 0 ? job->ds->primary
                                : pvrt_clones_get(job->ds->clones, worker);
    if (h != NULL) {
        GDALRasterIOExtraArg extra;
        INIT_RASTERIO_EXTRA_ARG(extra);
        if (rq->extra)
            extra.eResampleAlg = rq->extra->eResampleAlg;
        pvrt_request packed = *rq;
        GByte *buf;
        if (job->dsts) {
            packed.pixel_space = GDALGetDataTypeSizeBytes(rq->buf_type);
            packed.line_space = packed.pixel_space * t->w;
            buf = (GByte *)job->dsts[index];
        } else
            buf = (GByte *)rq->buf + (GSpacing)t->x * rq->pixel_space +
                  (GSpacing)t->y * rq->line_space;
        const int rows = stripe_rows(job, t->w);
        if (rows < t->h)
            __atomic_add_fetch(&job->ds->striped_tiles, 1, __ATOMIC_RELAXED);
        err = CE_None;
        for (int r = 0, n; r < t->h && err == CE_None; r += n) {
            n = t->h - r < rows ? t->h - r : rows;
            err = read_window(job->ds, h, &packed, rq->x + t->x,
                              rq->y + t->y + r, t->w, n,
                              buf + r * packed.line_space, t->w, n, &extra);
        }
        /* The walk has passed these source blocks: GDAL's cache would keep
         * them, each in memory of its own (sources.h). */
        const int x = rq->x + t->x, y = rq->y + t->y;
        if (err == CE_None && job->drop_sources &&
            covers_source_blocks(job->ds, x, y, t->w, t->h) &&
            first_pass(job->ds, rq->path->band, x, y, t->w, t->h))
            __atomic_add_fetch(&job->ds->source_drops,
                               pvrt_sources_drop_blocks(h, rq->path->band),
                               __ATOMIC_RELAXED);
    }

    pvrt_job_leave(&js, worker);
    return err == CE_None ? 0 : -1;
}

/* GDAL 3.6 opens VRT sources under one process-wide lock (its source
 * pool), so the clones' first opens of remote sources would wait on each
 * other's round trips. Opening each remote source once, in parallel and
 * outside that lock, fills /vsicurl/'s caches (file size, header bytes), and
 * the locked opens that follow are served from memory. Errors are left for
 * the real read to report. */
static int warm_job(void *ctx, int index, int worker)
{
    read_job *job = (read_job *)ctx;
    pvrt_job_scope js;
    job_enter(&js, job, index, worker);
    GDALDatasetH h =
        GDALOpenEx(job->ds->remote[job->warm[index]].path,
                   GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (h)
        GDALClose(h);
    pvrt_job_leave(&js, worker);
    return 0;
}

/* Largest file pvrt_prefetch_files reads (nested VRTs are small). */
#define PREFETCH_MAX_BYTES (16 * 1024 * 1024)

static int prefetch_job(void *ctx, int index, int worker)
{
    read_job *job = (read_job *)ctx;
    pvrt_job_scope js;
    job_enter(&js, job, index, worker);
    GByte *bytes = NULL;
    if (VSIIngestFile(NULL, job->files[index], &bytes, NULL,
                      PREFETCH_MAX_BYTES))
        VSIFree(bytes);
    pvrt_job_leave(&js, worker);
    return 0;
}

void pvrt_prefetch_files(char **paths, int threads)
{
    const int n = CSLCount(paths);
    if (n < 2)
        return; /* one file: its reader fetches it as soon */
    read_job job;
    memset(&job, 0, sizeof job);
    job.files = paths;
    job.config = CPLGetThreadLocalConfigOptions();
    job.depth = tls_depth;
    job.log = pvrt_errlog_new();
    if (job.log != NULL) {
        const pvrt_batch_spec spec =
            pvrt_batch_of(prefetch_job, &job, n, threads);
        pvrt_batch_run(&spec);
        pvrt_errlog_free(job.log);
    }
    CSLDestroy(job.config);
}

/* The request window in full-resolution raster pixels. */
static void full_res_window(const pvrt_dataset *ds, const pvrt_request *rq,
                            double *x, double *y, double *w, double *h)
{
    double fx = 1, fy = 1;
    if (rq->path && rq->path->overview >= 0) {
        GDALRasterBandH b = GDALGetRasterBand(ds->primary, rq->path->band);
        GDALRasterBandH ov = b ? GDALGetOverview(b, rq->path->overview) : NULL;
        if (ov) {
            fx = (double)GDALGetRasterBandXSize(b) / GDALGetRasterBandXSize(ov);
            fy = (double)GDALGetRasterBandYSize(b) / GDALGetRasterBandYSize(ov);
        }
    }
    *x = rq->x * fx;
    *y = rq->y * fy;
    *w = rq->w * fx;
    *h = rq->h * fy;
}

/* Opens, in parallel, the remote sources this read meets that were not
 * opened before (a small window of a big mosaic opens only its own). */
static void warm_sources(pvrt_dataset *ds, read_job *job)
{
    double x, y, w, h;
    full_res_window(ds, job->rq, &x, &y, &w, &h);
    int *todo = (int *)VSI_MALLOC2_VERBOSE(sizeof(int), (size_t)ds->nremote);
    if (todo == NULL)
        return;
    int n = 0;
    for (int i = 0; i < ds->nremote; i++) {
        pvrt_remote_source *r = &ds->remote[i];
        if (r->warmed)
            continue;
        if (r->w >= 0 && (r->x >= x + w || r->x + r->w <= x || r->y >= y + h ||
                          r->y + r->h <= y))
            continue;
        r->warmed = 1;
        todo[n++] = i;
    }
    if (n > 0) {
        pvrt_batch_spec spec;
        memset(&spec, 0, sizeof spec);
        spec.njobs = n;
        spec.max_workers = ds->threads - 1 < n ? ds->threads - 1 : n;
        spec.fn = warm_job;
        spec.ctx = job;
        job->warm = todo;
        pvrt_batch_run(&spec);
        job->warm = NULL;
        pvrt_errlog_free(job->log);
        job->log = pvrt_errlog_new(); /* warming errors are not the read's */
    }
    VSIFree(todo);
}

static int job_progress(void *ctx, double fraction)
{
    read_job *job = (read_job *)ctx;
    return job->progress(fraction, "", job->progress_data);
}

int pvrt__is_resampled(const pvrt_request *rq)
{
    if (rq->buf_w != rq->w || rq->buf_h != rq->h)
        return 1;
    const GDALRasterIOExtraArg *e = rq->extra;
    return e && e->bFloatingPointWindowValidity &&
           (e->dfXOff != rq->x || e->dfYOff != rq->y || e->dfXSize != rq->w ||
            e->dfYSize != rq->h);
}

/* Working memory per request pixel: the output, plus one buffer per source
 * of every derived band read (GDAL allocates them per request). */
static int64_t bytes_per_pixel(const pvrt_dataset *ds, const pvrt_request *rq)
{
    const int out = GDALGetDataTypeSizeBytes(rq->buf_type);
    int64_t total = 0;
    const int n = rq->path ? 1 : rq->nbands;
    for (int i = 0; i < n; i++) {
        const int b = rq->path ? rq->path->band : rq->bands[i];
        total += out;
        if (ds->bands && b >= 1 && b <= ds->nbands) {
            const pvrt_band_info *bi = &ds->bands[b - 1];
            total += (int64_t)bi->nsources *
                     (bi->transfer_size ? bi->transfer_size : out);
        }
    }
    return total;
}

static CPLErr read_inline(pvrt_dataset *ds, const pvrt_request *rq)
{
    __atomic_store_n(&ds->last_tiles, 1, __ATOMIC_RELAXED);
    return read_window(ds, ds->primary, rq, rq->x, rq->y, rq->w, rq->h,
                       (GByte *)rq->buf, rq->buf_w, rq->buf_h, rq->extra);
}

static CPLErr read_split(pvrt_dataset *ds, const pvrt_request *rq,
                         const pvrt_rect *tiles, int ntiles, int threads)
{
    read_job job;
    memset(&job, 0, sizeof job);
    job.ds = ds;
    job.rq = rq;
    job.tiles = tiles;
    job.stripe_bpp = stripe_bytes_per_pixel(ds, rq);
    job.config = CPLGetThreadLocalConfigOptions();
    job.depth = tls_depth;
    job.log = pvrt_errlog_new();
    job.progress = rq->extra ? rq->extra->pfnProgress : NULL;
    job.progress_data = rq->extra ? rq->extra->pProgressData : NULL;
    if (job.log == NULL) {
        CSLDestroy(job.config);
        CPLError(CE_Failure, CPLE_OutOfMemory, "PVRT: out of memory");
        return CE_Failure;
    }

    if (ds->nremote > 0)
        warm_sources(ds, &job);
    if (job.log == NULL) {
        CSLDestroy(job.config);
        CPLError(CE_Failure, CPLE_OutOfMemory, "PVRT: out of memory");
        return CE_Failure;
    }

    int workers = threads - 1;
    if (workers > ntiles - 1)
        workers = ntiles - 1;
    CPLDebug("PVRT", "read %d,%d %dx%d of %s: %d tiles, %d workers", rq->x,
             rq->y, rq->w, rq->h, GDALGetDescription(ds->primary), ntiles,
             workers);
    __atomic_store_n(&ds->last_tiles, ntiles, __ATOMIC_RELAXED);
    __atomic_add_fetch(&ds->split_reads, 1, __ATOMIC_RELAXED);

    pvrt_batch_spec spec;
    spec.njobs = ntiles;
    spec.max_workers = workers;
    spec.fn = tile_job;
    spec.ctx = &job;
    spec.progress = job.progress ? job_progress : NULL;
    spec.progress_ctx = &job;
    const CPLErr err = pvrt__run_batch(ds, &spec, job.log);
    CSLDestroy(job.config);
    return err;
}

static int read_threads(const pvrt_dataset *ds);

int pvrt__read_windows(pvrt_dataset *ds, const pvrt_request *rq,
                       const pvrt_rect *windows, void *const *dsts, int n)
{
    const int threads = read_threads(ds);
    if (rq->path == NULL || n < 2 || threads < 2 || ds->network ||
        pvrt_pool_in_worker() || pvrt_halo_band(ds, rq->path->band))
        return 0;
    /* The windows are in the band: the request is placed at its origin. */
    pvrt_request at = *rq;
    at.x = 0;
    at.y = 0;
    at.buf = NULL;
    at.extra = NULL;
    read_job job;
    memset(&job, 0, sizeof job);
    job.ds = ds;
    job.rq = &at;
    job.tiles = windows;
    job.dsts = dsts;
    job.stripe_bpp = stripe_bytes_per_pixel(ds, &at);
    job.config = CPLGetThreadLocalConfigOptions();
    job.depth = tls_depth;
    job.log = pvrt_errlog_new();
    if (job.log == NULL) {
        CSLDestroy(job.config);
        return 0;
    }
    const pvrt_batch_spec spec = pvrt_batch_of(tile_job, &job, n, threads);
    CPLDebug("PVRT", "%s: band %d: %d windows, %d workers",
             GDALGetDescription(ds->primary), rq->path->band, n,
             spec.max_workers);
    const CPLErr err = pvrt__run_batch(ds, &spec, job.log);
    CSLDestroy(job.config);
    return err == CE_None;
}

CPLErr pvrt__run_batch(const pvrt_dataset *ds, const pvrt_batch_spec *spec,
                       pvrt_errlog *log)
{
    const int rc = pvrt_batch_run(spec);
    const int failures = pvrt_errlog_replay(log);
    pvrt_errlog_free(log);
    if (rc == PVRT_BATCH_CANCELLED) {
        CPLError(CE_Failure, CPLE_UserInterrupt, "User terminated");
        return CE_Failure;
    }
    if (rc == PVRT_BATCH_FAILED) {
        if (failures == 0)
            CPLError(CE_Failure, CPLE_AppDefined, "PVRT: reading %s failed",
                     GDALGetDescription(ds->primary));
        return CE_Failure;
    }
    return CE_None;
}

struct pvrt_split {
    read_job job;
    pvrt_request rq;
    pvrt_band_path path;
    pvrt_rect *tiles;
    int ntiles;
    void **dsts; /* tile-major buffers: each tile's place, else NULL */
    pvrt_batch_spec spec;
    pvrt_batch *batch;
};

static void split_free(struct pvrt_split *s)
{
    if (s->job.log)
        pvrt_errlog_free(s->job.log);
    CSLDestroy(s->job.config);
    free(s->tiles);
    CPLFree(s->dsts);
    CPLFree(s);
}

struct pvrt_split *pvrt__split_start(pvrt_dataset *ds, const pvrt_request *rq,
                                     int tile_major)
{
    const int threads = read_threads(ds);
    if (rq->path == NULL || ds->network || threads < 2 || !rq->tile_safe ||
        pvrt__is_resampled(rq) || pvrt_halo_band(ds, rq->path->band))
        return NULL;
    struct pvrt_split *s =
        (struct pvrt_split *)CPLCalloc(1, sizeof(struct pvrt_split));
    s->path = *rq->path;
    s->rq = *rq;
    s->rq.path = &s->path;
    s->rq.extra = NULL;
    pvrt_tile_params p;
    pvrt__tile_params(ds, &s->rq, threads, &p);
    p.bytes_per_pixel = bytes_per_pixel(ds, &s->rq);
    /* Finer than a read's tiles: the reader joins a background region
     * when it reaches it and waits for the tiles in flight; 16 per thread
     * (not 4) cut that wait: gdalinfo -checksum 1.18 s -> 1.04 s, median
     * of 8 alternating runs. */
    p.per_thread = 16;
    const int ntiles = pvrt_tiles_plan(&p, &s->tiles);
    s->ntiles = ntiles;
    if (tile_major && ntiles > 1) {
        const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
        s->dsts = (void **)CPLMalloc(sizeof(void *) * ntiles);
        GByte *at = (GByte *)rq->buf;
        for (int i = 0; i < ntiles; i++) {
            s->dsts[i] = at;
            at += (size_t)s->tiles[i].w * s->tiles[i].h * size;
        }
    }
    s->job.ds = ds;
    s->job.rq = &s->rq;
    s->job.tiles = s->tiles;
    s->job.dsts = s->dsts;
    s->job.stripe_bpp = stripe_bytes_per_pixel(ds, &s->rq);
    s->job.drop_sources = s->path.overview < 0 && !s->path.mask &&
                          s->path.band <= ds->nbands && passed_map(ds) != NULL;
    s->job.config = CPLGetThreadLocalConfigOptions();
    s->job.depth = tls_depth;
    s->job.log = pvrt_errlog_new();
    s->spec.njobs = ntiles;
    s->spec.max_workers = threads - 1 < ntiles - 1 ? threads - 1 : ntiles - 1;
    s->spec.fn = tile_job;
    s->spec.ctx = &s->job;
    if (ntiles < 2 || s->job.log == NULL ||
        (s->batch = pvrt_batch_start(&s->spec)) == NULL) {
        split_free(s);
        return NULL;
    }
    CPLDebug("PVRT", "read %d,%d %dx%d of %s: %d tiles, %d workers", rq->x,
             rq->y, rq->w, rq->h, GDALGetDescription(ds->primary), ntiles,
             s->spec.max_workers);
    __atomic_add_fetch(&ds->split_reads, 1, __ATOMIC_RELAXED);
    return s;
}

const pvrt_rect *pvrt__split_tiles(const struct pvrt_split *s, int *n)
{
    *n = s->ntiles;
    return s->tiles;
}

int pvrt__split_finish(struct pvrt_split *s, int cancel)
{
    const int rc = pvrt_batch_finish(s->batch, cancel);
    if (rc == PVRT_BATCH_OK)
        pvrt_errlog_replay(s->job.log); /* warnings */
    split_free(s);
    return rc == PVRT_BATCH_OK;
}

void pvrt__tile_params(const pvrt_dataset *ds, const pvrt_request *rq,
                       int threads, pvrt_tile_params *p)
{
    memset(p, 0, sizeof *p);
    p->win_x = rq->x;
    p->win_y = rq->y;
    p->win_w = rq->w;
    p->win_h = rq->h;
    p->grid_x = ds->grid_x;
    p->grid_y = ds->grid_y;
    p->grid_off_x = ds->grid_off_x;
    p->grid_off_y = ds->grid_off_y;
    p->budget_bytes = ds->tile_budget;
    p->min_pixels = ds->min_tile_pixels;
    p->threads = threads;
    p->force_w = ds->force_w;
    p->force_h = ds->force_h;
}

static CPLErr read_request(pvrt_dataset *ds, const pvrt_request *rq, int ahead);

/* Whether a dataset-level request reads a band that halo.c computes. */
static int reads_halo_band(const pvrt_dataset *ds, const pvrt_request *rq)
{
    for (int i = 0; rq->path == NULL && i < rq->nbands; i++)
        if (pvrt_halo_band(ds, rq->bands[i]))
            return 1;
    return 0;
}

/* A dataset-level request, band by band (each at its band_space offset). */
static CPLErr read_by_band(pvrt_dataset *ds, const pvrt_request *rq)
{
    CPLErr err = CE_None;
    for (int i = 0; err == CE_None && i < rq->nbands; i++) {
        pvrt_band_path path = {rq->bands[i], -1, 0};
        pvrt_request one = *rq;
        one.path = &path;
        one.nbands = 0;
        one.bands = NULL;
        one.buf = (GByte *)rq->buf + i * rq->band_space;
        err = pvrt_read(ds, &one);
    }
    return err;
}

CPLErr pvrt_read(pvrt_dataset *ds, const pvrt_request *rq)
{
    if (tls_depth >= PVRT_MAX_DEPTH) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "PVRT: reads of %s are nested more than %d levels deep; "
                 "the VRT probably refers to itself",
                 GDALGetDescription(ds->primary), PVRT_MAX_DEPTH);
        return CE_Failure;
    }
    /* A dataset-level read of one derived band is that band's read: GDAL's
     * VRT dataset sends it to the band (GDALDataset::IRasterIO; its own
     * dataset-level path refuses derived bands). rasterio and
     * gdal_translate -outsize read so; as a band read it is gathered, and
     * kept for the mask read that follows. */
    if (reads_halo_band(ds, rq))
        return read_by_band(ds, rq);
    pvrt_band_path one_path;
    pvrt_request one;
    if (rq->path == NULL && rq->nbands == 1 && ds->bands && rq->bands[0] >= 1 &&
        rq->bands[0] <= ds->nbands && ds->bands[rq->bands[0] - 1].derived) {
        one_path.band = rq->bands[0];
        one_path.overview = -1;
        one_path.mask = 0;
        one = *rq;
        one.path = &one_path;
        one.nbands = 0;
        one.bands = NULL;
        rq = &one;
    }
    tls_depth++;
    const int caller = tls_depth == 1 && !pvrt_pool_in_worker();
    if (caller)
        __atomic_add_fetch(&active_callers, 1, __ATOMIC_RELAXED);
    const int saved_cap = tls_thread_cap;
    tls_thread_cap = read_threads(ds);
    __atomic_store_n(&ds->last_pixels, (int64_t)rq->w * rq->h,
                     __ATOMIC_RELAXED);
    /* A large read of the application's (split into tiles): its reader
     * may be slow enough for the next one to be computed meanwhile. */
    const int large =
        caller && rq->path &&
        (int64_t)rq->w * rq->h >= 2 * ds->min_tile_pixels * tls_thread_cap;
    const double start = large ? pvrt__large_begin() : 0;
    CPLErr err;
    if (!pvrt__ahead_cached(ds, rq, &err) &&
        !pvrt__mask_from_kept(ds, rq, &err) &&
        !(pvrt__background_join(ds, rq) && pvrt__ahead_cached(ds, rq, &err))) {
        err = read_request(ds, rq, 1);
        if (err == CE_None)
            pvrt__keep_read(ds, rq);
    }
    /* The regions computed for this read that it covers are spent. */
    if (ds->large.joined)
        pvrt_tilecache_drop_within(ds->cache, rq->path, rq->buf_type, rq->x,
                                   rq->y, rq->w, rq->h);
    ds->large.joined = 0;
    if (large && err == CE_None)
        pvrt__large_done(ds, rq, start);
    if (err != CE_None)
        ds->read_failed = 1;
    if (caller)
        __atomic_sub_fetch(&active_callers, 1, __ATOMIC_RELAXED);
    tls_thread_cap = saved_cap;
    tls_depth--;
    return err;
}

/* The threads one read of ds may use now. Callers that bring their own
 * threads (tile servers, a thread pool over windows) share the cores: with
 * n of them reading local data at once, each gets 1/n of the default
 * threads, so two callers on two cores both run inline rather than both
 * fan out. A thread count the user set (NUM_THREADS, PVRT_NUM_THREADS) is
 * kept, and remote reads wait on round trips, not cores: they keep theirs. */
static int read_threads(const pvrt_dataset *ds)
{
    const int callers = __atomic_load_n(&active_callers, __ATOMIC_RELAXED);
    int t = ds->threads;
    if (!ds->network && !ds->threads_explicit && callers > 1)
        t = ds->threads / callers > 1 ? ds->threads / callers : 1;
    return tls_thread_cap > 0 && t > tls_thread_cap ? tls_thread_cap : t;
}

/* read_split of a read that met the region computed for it (ahead.c):
 * what an entry of the cache holds of each tile is copied from it, and the
 * rest of the tile, up to four rectangles around that part, is read. */
static CPLErr read_split_kept(pvrt_dataset *ds, const pvrt_request *rq,
                              const pvrt_rect *tiles, int ntiles, int threads)
{
    if (ds->cache == NULL || !pvrt__cacheable(ds, rq))
        return read_split(ds, rq, tiles, ntiles, threads);
    pvrt_rect *left = (pvrt_rect *)CPLMalloc(sizeof(pvrt_rect) * 4 * ntiles);
    int n = 0, hits = 0;
    for (int i = 0; i < ntiles; i++) {
        const pvrt_rect t = tiles[i];
        int x, y, w, h; /* in the band */
        if (!pvrt_tilecache_overlap(ds->cache, rq->path, rq->buf_type,
                                    rq->x + t.x, rq->y + t.y, t.w, t.h, &x, &y,
                                    &w, &h)) {
            left[n++] = t;
            continue;
        }
        GByte *buf = (GByte *)rq->buf +
                     (GSpacing)(x - rq->x) * rq->pixel_space +
                     (GSpacing)(y - rq->y) * rq->line_space;
        pvrt_tilecache_read(ds->cache, rq->path, rq->buf_type, x, y, w, h, buf,
                            rq->pixel_space, rq->line_space);
        hits++;
        x -= rq->x; /* relative to the window, as tiles are */
        y -= rq->y;
        const pvrt_rect around[4] = {
            {t.x, t.y, t.w, y - t.y},               /* above */
            {t.x, y + h, t.w, t.y + t.h - (y + h)}, /* below */
            {t.x, y, x - t.x, h},                   /* left */
            {x + w, y, t.x + t.w - (x + w), h}};    /* right */
        for (int k = 0; k < 4; k++)
            if (around[k].w > 0 && around[k].h > 0)
                left[n++] = around[k];
    }
    if (hits > 0)
        __atomic_add_fetch(&ds->large_tiles_hit, hits, __ATOMIC_RELAXED);
    const CPLErr err =
        n == 0 ? pvrt__report_done(rq) : read_split(ds, rq, left, n, threads);
    CPLFree(left);
    return err;
}

CPLErr pvrt__read_uncached(pvrt_dataset *ds, const pvrt_request *rq)
{
    return read_request(ds, rq, 0);
}

/* Plans rq and reads it split, through the region ahead (`ahead`: a
 * sequential reader's), gathered (derived bands: gather.h) or whole. */
static CPLErr read_request(pvrt_dataset *ds, const pvrt_request *rq, int ahead)
{
    CPLErr err;
    pvrt_rect *tiles = NULL;
    int ntiles = 1;
    const int64_t pixels = (int64_t)rq->w * rq->h;
    const int threads = read_threads(ds);
    __atomic_store_n(&ds->last_threads, threads, __ATOMIC_RELAXED);
    /* Neighbourhood bands: halo.c computes them whole; a sequential
     * reader of small windows gets the region ahead computed (split) and
     * cached like any band. */
    if (rq->path && rq->path->overview < 0 &&
        pvrt_halo_band(ds, rq->path->band)) {
        if (ahead && pixels < 2 * ds->min_tile_pixels * threads &&
            pvrt__ahead_read(ds, rq, &err))
            return err;
        return pvrt_halo_read(ds, rq, threads);
    }
    /* Worth splitting: local reads when every thread gets two tiles of the
     * smallest size worth scheduling (a smaller window runs faster on the
     * primary, whose block cache holds what earlier reads decoded, than on
     * clones that decode it again; a derived band's is gathered, each
     * source on one handle); remote reads as soon as two tiles. */
    const int64_t worth = 2 * ds->min_tile_pixels * (ds->network ? 1 : threads);
    if (rq->tile_safe && threads > 1 && !pvrt_pool_in_worker() &&
        !pvrt__is_resampled(rq) && (pixels >= worth || ds->force_w > 0)) {
        pvrt_tile_params p;
        pvrt__tile_params(ds, rq, threads, &p);
        p.bytes_per_pixel = bytes_per_pixel(ds, rq);
        /* Remote sources. A tile reads its sources one after the other,
         * so each round of tiles costs round trips: 2 tiles per thread,
         * not 4, halves the rounds (remote mosaic 5.7x -> 6.7x). And tiles
         * are one block row high: a tile two blocks high makes GTiff fetch
         * its blocks as separate ranges, in parallel, through a path of
         * GDAL 3.6.2's /vsicurl/ that never retries (a stall or 503 that
         * GDAL_HTTP_MAX_RETRY would absorb failed the read), while the
         * blocks of one row of a COG are one merged range, read and
         * retried like the VRT driver's full-width swaths. */
        p.per_thread = ds->network ? 2 : 4;
        p.one_row = ds->network;
        ntiles = pvrt_tiles_plan(&p, &tiles);
    }
    /* Reads large enough to split are computed ahead only for a reader
     * that spends long between them (ahead.c, pvrt__large_done): measured,
     * computing gdal_translate's next swath while it wrote the last took
     * its speed-up from 1.86x to 1.62x, and gdaladdo's from 2.05x to
     * 1.50x, with 85-160 MB more. */
    if (ntiles > 1 && ahead && ds->large.joined)
        err = read_split_kept(ds, rq, tiles, ntiles, threads);
    else if (ntiles > 1)
        err = read_split(ds, rq, tiles, ntiles, threads);
    else if (ahead && pvrt__ahead_read(ds, rq, &err))
        ;
    else if (pvrt_pool_in_worker() ||
             !pvrt_gather_read(ds, rq, threads, &err)) /* derived bands */
        err = read_inline(ds, rq);
    free(tiles);
    return err;
}
