/* ahead.c: see ahead.h. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "ahead.h"

#include "bigmem.h"
#include "errcap.h"
#include "halo.h"
#include "pool.h"
#include "tilecache.h"

#include <cpl_conv.h>
#include <cpl_string.h>

#include <math.h>
#include <string.h>
#include <time.h>

int pvrt__cacheable(const pvrt_dataset *ds, const pvrt_request *rq)
{
    return rq->path && rq->tile_safe && ds->threads > 1 && ds->cache_cap > 0 &&
           !pvrt_pool_in_worker() && !pvrt__is_resampled(rq);
}

int pvrt__ahead_cached(pvrt_dataset *ds, const pvrt_request *rq, CPLErr *err)
{
    if (ds->cache == NULL || !pvrt__cacheable(ds, rq))
        return 0;
    if (!pvrt_tilecache_read(ds->cache, rq->path, rq->buf_type, rq->x, rq->y,
                             rq->w, rq->h, rq->buf, rq->pixel_space,
                             rq->line_space))
        return 0;
    __atomic_add_fetch(&ds->cache_hits, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&ds->last_tiles, 0, __ATOMIC_RELAXED);
    *err = pvrt__report_done(rq);
    return 1;
}

CPLErr pvrt__report_done(const pvrt_request *rq)
{
    const GDALRasterIOExtraArg *e = rq->extra;
    if (e && e->pfnProgress && !e->pfnProgress(1.0, "", e->pProgressData)) {
        CPLError(CE_Failure, CPLE_UserInterrupt, "User terminated");
        return CE_Failure;
    }
    return CE_None;
}

/* The size of rq's band in *bw x *bh; 0 when it does not resolve. */
static int band_size(const pvrt_dataset *ds, const pvrt_request *rq, int *bw,
                     int *bh)
{
    GDALRasterBandH band = pvrt_resolve_band(ds->primary, rq->path);
    if (band == NULL)
        return 0;
    *bw = GDALGetRasterBandXSize(band);
    *bh = GDALGetRasterBandYSize(band);
    return 1;
}

static int same_band(const pvrt_last_read *l, const pvrt_request *rq)
{
    return l->valid && l->band == rq->path->band &&
           l->overview == rq->path->overview && l->mask == rq->path->mask &&
           l->type == rq->buf_type;
}

/* Direction of travel from the last read to rq, in a band `width` pixels
 * wide: 'r'/'l' along a row of windows (the next row, after a row that
 * ended at the right edge, starting at the left edge counts as 'r'; the
 * mirror image as 'l'), 'd'/'u' down or up a
 * column of windows (full-width rows included), 0: not adjacent. */
static int direction(const pvrt_last_read *l, const pvrt_request *rq, int width)
{
    if (rq->y == l->y && rq->h == l->h) {
        if (rq->x == l->x + l->w)
            return 'r';
        if (rq->x + rq->w == l->x)
            return 'l';
    }
    if (rq->x == l->x && rq->w == l->w) {
        if (rq->y == l->y + l->h)
            return 'd';
        if (rq->y + rq->h == l->y)
            return 'u';
    }
    /* The next row of blocks, from the left edge or from the right one. */
    if (rq->y == l->y + l->h && rq->x == 0 && l->x + l->w == width)
        return 'r';
    if (rq->y == l->y + l->h && rq->x + rq->w == width && l->x == 0)
        return 'l';
    return 0;
}

static void remember(pvrt_last_read *l, const pvrt_request *rq)
{
    l->valid = 1;
    l->band = rq->path->band;
    l->overview = rq->path->overview;
    l->mask = rq->path->mask;
    l->type = rq->buf_type;
    l->x = rq->x;
    l->y = rq->y;
    l->w = rq->w;
    l->h = rq->h;
}

static int floor_to(int v, int step, int off)
{
    const int r = ((v - off) % step + step) % step;
    return v - r;
}

static int ceil_to(int v, int step, int off, int limit)
{
    const int f = floor_to(v, step, off);
    const int c = f == v ? v : f + step;
    return c < limit ? c : limit;
}

/* The alignment grid's cell size and offset (256 x 256 from 0 where the
 * dataset has none). */
static void alignment_grid(const pvrt_dataset *ds, int *gx, int *gy, int *ox,
                           int *oy)
{
    *gx = ds->grid_x > 1 ? ds->grid_x : 256;
    *gy = ds->grid_y > 1 ? ds->grid_y : 256;
    *ox = ds->grid_x > 1 ? ds->grid_off_x : 0;
    *oy = ds->grid_y > 1 ? ds->grid_off_y : 0;
}

/* A sequential reader's regions hold at most this fraction of the cache
 * (and at least the grid cells its window spans). Each region passed gives
 * its memory to the one after the next (region_memory), so a block loop
 * touches about three regions' worth of memory, not the whole band:
 * measured, the benchmark's gdalinfo -checksum made 106,000 page faults
 * with quarter-cache regions kept until evicted, 89,000 reusing them,
 * 70,000 with regions of a sixteenth (the VRT driver 53,000), and went
 * from 1.15x to 1.40x (statistics 1.46x -> 1.62x, blocks 1.43x -> 1.66x,
 * rows 1.34x -> 1.53x, side by side). */
#define REGION_CACHE_FRACTION 16

/* The region ahead of rq in direction dir: whole cells of the alignment
 * grid, holding rq, within the band (bw x bh) and `budget` bytes of
 * `size`-byte pixels. */
static void plan_region(const pvrt_dataset *ds, const pvrt_request *rq, int dir,
                        int bw, int bh, int64_t budget, int size, int *x0,
                        int *y0, int *x1, int *y1)
{
    int gx, gy, ox, oy;
    alignment_grid(ds, &gx, &gy, &ox, &oy);
    int ax = floor_to(rq->x, gx, ox), ay = floor_to(rq->y, gy, oy);
    int bx = ceil_to(rq->x + rq->w, gx, ox, bw);
    int by = ceil_to(rq->y + rq->h, gy, oy, bh);
    if (ax < 0)
        ax = 0;
    if (ay < 0)
        ay = 0;
    if (dir == 'r' || dir == 'l') {
        /* Along the rows the window spans, as far as the budget goes. */
        const int64_t row_bytes = (int64_t)(by - ay) * size;
        int64_t cols = budget / (row_bytes > 0 ? row_bytes : 1);
        if (cols < bx - ax)
            cols = bx - ax;
        if (dir == 'r') {
            const int64_t end = ax + cols;
            bx = end >= bw ? bw : ceil_to((int)end, gx, ox, bw);
            if (bx - ax > cols && bx - gx > rq->x + rq->w)
                bx -= gx;
        } else {
            const int64_t start = bx - cols;
            ax = start <= 0 ? 0 : floor_to((int)start, gx, ox);
            if (ax < 0)
                ax = 0;
            if (bx - ax > cols && ax + gx < rq->x)
                ax += gx;
        }
    } else {
        const int64_t col_bytes = (int64_t)(bx - ax) * size;
        int64_t rows = budget / (col_bytes > 0 ? col_bytes : 1);
        if (rows < by - ay)
            rows = by - ay;
        if (dir == 'd') {
            const int64_t end = ay + rows;
            by = end >= bh ? bh : ceil_to((int)end, gy, oy, bh);
            if (by - ay > rows && by - gy > rq->y + rq->h)
                by -= gy;
        } else {
            const int64_t start = by - rows;
            ay = start <= 0 ? 0 : floor_to((int)start, gy, oy);
            if (ay < 0)
                ay = 0;
            if (by - ay > rows && ay + gy < rq->y)
                ay += gy;
        }
    }
    /* A window's width from the raster's edge: the edge's partial window
     * (the reader's first or last of a row or column) belongs in it. */
    if (ax < rq->w)
        ax = 0;
    if (ay < rq->h)
        ay = 0;
    if (bw - bx < rq->w)
        bx = bw;
    if (bh - by < rq->h)
        by = bh;
    *x0 = ax;
    *y0 = ay;
    *x1 = bx;
    *y1 = by;
}

/* rq's request for region (x, y, w, h), packed into data. */
static void region_request(const pvrt_request *rq, int x, int y, int w, int h,
                           void *data, pvrt_request *region)
{
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    *region = *rq;
    region->x = x;
    region->y = y;
    region->w = w;
    region->h = h;
    region->buf = data;
    region->buf_w = w;
    region->buf_h = h;
    region->pixel_space = size;
    region->line_space = (GSpacing)w * size;
    region->extra = NULL;
}

/* A copy of a split's tiles for the cache entry of its region (*n: their
 * count), or NULL when memory runs out. */
static pvrt_rect *split_layout(const struct pvrt_split *s, int *n)
{
    const pvrt_rect *tiles = pvrt__split_tiles(s, n);
    pvrt_rect *copy = (pvrt_rect *)VSI_MALLOC2_VERBOSE(sizeof *copy, *n);
    if (copy != NULL)
        memcpy(copy, tiles, sizeof *copy * *n);
    return copy;
}

/* Computes region (x, y, w, h) of rq's band in rq's type into the cache:
 * split, each tile computed where the entry keeps it; a region that does
 * not split (halo.c's bands, one thread), packed. Its errors are captured:
 * on failure they are dropped (rq then runs on its own and reports its
 * own), on success its warnings are replayed. Returns 1 when the region is
 * cached. */
static int compute_region(pvrt_dataset *ds, const pvrt_request *rq, int x,
                          int y, int w, int h)
{
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    void *data = pvrt_big_alloc((size_t)w * h * size);
    if (data == NULL)
        return 0;
    pvrt_request region;
    region_request(rq, x, y, w, h, data, &region);
    pvrt_errlog *log = pvrt_errlog_new();
    if (log == NULL) {
        pvrt_big_free(data);
        return 0;
    }
    pvrt_errcap cap;
    pvrt_errcap_begin(&cap, log, 0);
    pvrt_rect *tiles = NULL;
    int ntiles = 0;
    struct pvrt_split *split = pvrt__split_start(ds, &region, 1);
    CPLErr err;
    if (split != NULL) {
        tiles = split_layout(split, &ntiles);
        /* Without its layout the region cannot be kept: cancelled. */
        const int ok = pvrt__split_finish(split, tiles == NULL);
        err = ok && tiles != NULL ? CE_None : CE_Failure;
    } else
        err = pvrt__read_uncached(ds, &region);
    pvrt_errcap_end(&cap);
    if (err != CE_None) {
        pvrt_errlog_free(log);
        pvrt_big_free(data);
        VSIFree(tiles);
        return 0;
    }
    pvrt_errlog_replay(log);
    pvrt_errlog_free(log);
    __atomic_add_fetch(&ds->ahead_regions, 1, __ATOMIC_RELAXED);
    CPLDebug("PVRT", "%s: band %d: computed %d,%d %dx%d ahead",
             GDALGetDescription(ds->primary), rq->path->band, x, y, w, h);
    return pvrt_tilecache_put(ds->cache, rq->path, rq->buf_type, x, y, w, h,
                              data, tiles, ntiles);
}

/* ---- The next region, in the background --------------------------------
 * While the reader copies its windows out of a region (and spends its own
 * time on them: a checksum, statistics, a GeoTIFF written), the pool's
 * workers compute the region after it; the read that reaches it waits for
 * what is left, the calling thread helping, and the region after that
 * starts. Only for datasets the application opened and reads itself (not
 * nested in another read, not opened by GDAL's source pool): a dataset
 * GDAL's pool closes does so under the pool's lock, which the background's
 * own reads need; such datasets compute ahead synchronously only. A reader
 * that leaves cancels it: the tiles already started are the work wasted. */

static int background_allowed(const pvrt_dataset *ds)
{
    return ds->background_ok && !ds->network && pvrt_read_depth() == 1 &&
           !pvrt_pool_in_worker();
}

/* A region passed by its reader (ahead.h): its pixels, which the next
 * region may take, and their size. */
typedef struct region_spare {
    void *data; /* NULL: none */
    int64_t bytes;
} region_spare;

/* Memory for a region of `bytes`: the spare's, taken (spare->data set to
 * NULL), when it is that size (the cache counts exactly what it holds;
 * REGION_CACHE_FRACTION says why), else freshly allocated. NULL when
 * memory runs out. */
static void *region_memory(region_spare *spare, int64_t bytes)
{
    void *data = spare != NULL && spare->bytes == bytes ? spare->data : NULL;
    if (data == NULL)
        return pvrt_big_alloc((size_t)bytes);
    spare->data = NULL;
    return data;
}

static void start_region(pvrt_dataset *ds, const pvrt_request *rq, int x0,
                         int y0, int x1, int y1, int dir, region_spare *spare);

/* Starts the region after (x0, y0)-(x1, y1), the one rq's reader reached,
 * moving in direction dir, in the spare's memory when it fits
 * (region_memory; spare may be NULL). */
static void background_start(pvrt_dataset *ds, const pvrt_request *rq, int dir,
                             int x0, int y0, int x1, int y1,
                             region_spare *spare)
{
    pvrt_background *bg = &ds->background;
    int bw, bh;
    if (bg->split != NULL || !background_allowed(ds) ||
        !band_size(ds, rq, &bw, &bh))
        return;
    /* The reader's first window past the region. */
    pvrt_request next = *rq;
    if (dir == 'd' && y1 < bh)
        next.y = y1;
    else if (dir == 'd' && x1 < bw) { /* the next column, from the top */
        next.x = x1;
        next.y = 0;
    } else if (dir == 'u' && y0 > 0)
        next.y = y0 - rq->h > 0 ? y0 - rq->h : 0;
    else if (dir == 'u' && x1 < bw) { /* the next column, from the bottom */
        next.x = x1;
        next.y = bh - rq->h > 0 ? bh - rq->h : 0;
    } else if (dir == 'r' && x1 < bw)
        next.x = x1;
    else if (dir == 'r' && y1 < bh) {
        next.x = 0;
        next.y = y1;
    } else if (dir == 'l' && x0 > 0)
        next.x = x0 - rq->w > 0 ? x0 - rq->w : 0;
    else if (dir == 'l' && y1 < bh) {
        next.x = bw - rq->w > 0 ? bw - rq->w : 0;
        next.y = y1;
    } else
        return;
    if (next.x + next.w > bw)
        next.w = bw - next.x;
    if (next.y + next.h > bh)
        next.h = bh - next.y;
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    int ax, ay, bx, by;
    plan_region(ds, &next, dir, bw, bh, ds->cache_cap / REGION_CACHE_FRACTION,
                size, &ax, &ay, &bx, &by);
    start_region(ds, rq, ax, ay, bx, by, dir, spare);
    if (bg->split != NULL) {
        bg->from_x = x0;
        bg->from_y = y0;
        bg->from_w = x1 - x0;
        bg->from_h = y1 - y0;
    }
}

/* Starts computing region (x0, y0) - (x1, y1) of rq's band and type in the
 * background, for a reader moving in direction dir (0: the next large
 * read), unless an entry holds it or it does not fit the cache; in the
 * spare's memory when it fits (region_memory; spare may be NULL). */
static void start_region(pvrt_dataset *ds, const pvrt_request *rq, int x0,
                         int y0, int x1, int y1, int dir, region_spare *spare)
{
    pvrt_background *bg = &ds->background;
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    const int64_t bytes = (int64_t)(x1 - x0) * (y1 - y0) * size;
    int rx, ry, rw, rh;
    /* Its pixels count within the cache's cap from now on. */
    if (pvrt_tilecache_find(ds->cache, rq->path, rq->buf_type, x0, y0, x1 - x0,
                            y1 - y0, &rx, &ry, &rw, &rh) ||
        !pvrt_tilecache_make_room(ds->cache, bytes))
        return;
    const void *spare_data = spare != NULL ? spare->data : NULL;
    void *data = region_memory(spare, bytes);
    if (data == NULL)
        return;
    if (spare_data != NULL && data == spare_data)
        __atomic_add_fetch(&ds->regions_reused, 1, __ATOMIC_RELAXED);
    pvrt_request region;
    region_request(rq, x0, y0, x1 - x0, y1 - y0, data, &region);
    bg->split = pvrt__split_start(ds, &region, 1);
    if (bg->split == NULL) {
        pvrt_big_free(data);
        return;
    }
    bg->tiles = split_layout(bg->split, &bg->ntiles);
    if (bg->tiles == NULL) {
        pvrt__split_finish(bg->split, 1);
        pvrt_big_free(data);
        memset(bg, 0, sizeof *bg);
        return;
    }
    bg->data = data;
    bg->band = rq->path->band;
    bg->overview = rq->path->overview;
    bg->mask = rq->path->mask;
    bg->type = rq->buf_type;
    bg->x = x0;
    bg->y = y0;
    bg->w = x1 - x0;
    bg->h = y1 - y0;
    bg->dir = dir;
    bg->large = dir == 0;
    CPLDebug("PVRT", "%s: band %d: computing %d,%d %dx%d in the background",
             GDALGetDescription(ds->primary), rq->path->band, x0, y0, x1 - x0,
             y1 - y0);
}

void pvrt__background_stop(pvrt_dataset *ds)
{
    pvrt_background *bg = &ds->background;
    if (bg->split == NULL)
        return;
    pvrt__split_finish(bg->split, 1);
    pvrt_big_free(bg->data);
    VSIFree(bg->tiles);
    memset(bg, 0, sizeof *bg);
}

int pvrt__background_join(pvrt_dataset *ds, const pvrt_request *rq)
{
    pvrt_background *bg = &ds->background;
    if (bg->split == NULL)
        return 0;
    const int same = rq->path && bg->band == rq->path->band &&
                     bg->overview == rq->path->overview &&
                     bg->mask == rq->path->mask && bg->type == rq->buf_type &&
                     !pvrt__is_resampled(rq);
    /* A predicted large read serves the tiles of the read it overlaps. */
    const int wanted =
        same && (bg->large ? rq->x < bg->x + bg->w && bg->x < rq->x + rq->w &&
                                 rq->y < bg->y + bg->h && bg->y < rq->y + rq->h
                           : rq->x >= bg->x && rq->y >= bg->y &&
                                 rq->x + rq->w <= bg->x + bg->w &&
                                 rq->y + rq->h <= bg->y + bg->h);
    if (!wanted) {
        pvrt__background_stop(ds);
        return 0;
    }
    const int ok = pvrt__split_finish(bg->split, 0);
    const pvrt_background done = *bg;
    memset(bg, 0, sizeof *bg);
    if (!ok) {
        pvrt_big_free(done.data);
        VSIFree(done.tiles);
        return 0;
    }
    __atomic_add_fetch(&ds->ahead_regions, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&ds->background_regions, 1, __ATOMIC_RELAXED);
    /* The region the reader was in is passed: it walks on, through this
     * one, into the next, which reuses its memory. */
    region_spare spare = {NULL, 0};
    if (!done.large)
        spare.data = pvrt_tilecache_take(ds->cache, rq->path, rq->buf_type,
                                         done.from_x, done.from_y, done.from_w,
                                         done.from_h, &spare.bytes);
    const int put =
        pvrt_tilecache_put(ds->cache, rq->path, rq->buf_type, done.x, done.y,
                           done.w, done.h, done.data, done.tiles, done.ntiles);
    if (put && done.large) {
        __atomic_add_fetch(&ds->large_ahead, 1, __ATOMIC_RELAXED);
        ds->large.joined = 1;
    } else if (put)
        background_start(ds, rq, done.dir, done.x, done.y, done.x + done.w,
                         done.y + done.h, &spare);
    pvrt_big_free(spare.data); /* not taken */
    return put;
}

/* ---- The next large read, in the background ------------------------------
 * gdalwarp reads its source in chunks and warps each on one thread: while
 * the application works on what a large read returned, the pool's workers
 * sit idle. When a reader spent at least a quarter as long
 * between two large reads of a band as on the read before, the next read
 * is predicted and computed in the background: the window after the last
 * one in its row of reads, or the first of the next row (windows of about
 * one size, left to right, top to bottom, as gdalwarp's chunks are), on
 * whole cells of the alignment grid. The
 * read that comes takes what the cache holds of it (read.c) and computes
 * the rest; a wrong guess cost threads that had nothing to do, and is
 * dropped. */

/* A reader whose time between two large reads is at least this fraction
 * of the read before counts as slow. */
#define LARGE_SLOW_GAP 0.25

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

double pvrt__large_begin(void)
{
    return now_seconds();
}

static int iabs(int v)
{
    return v < 0 ? -v : v;
}

void pvrt__large_done(pvrt_dataset *ds, const pvrt_request *rq, double start)
{
    pvrt_large_read *l = &ds->large;
    if (rq->path == NULL || !pvrt__cacheable(ds, rq) || !ds->read_ahead) {
        l->read.valid = 0;
        return;
    }
    int bw, bh;
    if (!band_size(ds, rq, &bw, &bh))
        return;
    /* Whether this read is the window after the last one, give or take
     * an eighth of its size: along the row, or the first of the next row
     * (gdalwarp's chunks overlap a few pixels and differ in size). */
    const pvrt_last_read *last = &l->read;
    int along = 0, next_row = 0;
    if (same_band(last, rq)) {
        along = iabs(rq->x - (last->x + last->w)) <= rq->w / 8 &&
                iabs(rq->y - last->y) <= rq->h / 8;
        next_row = !along && iabs(rq->y - (last->y + last->h)) <= rq->h / 8 &&
                   iabs(rq->x - l->row_x) <= rq->w / 8;
    }
    /* Slow: long between the last read's end and this one's start. */
    const int slow = (along || next_row) &&
                     start - l->end >= LARGE_SLOW_GAP * (l->end - l->start);
    if (!along) {
        l->row_x = rq->x;
        l->row_w = rq->w;
    }
    remember(&l->read, rq);
    l->start = start;
    l->end = now_seconds();
    /* Full-width reads are gdal_translate's swaths: its writes between
     * them are short, and computing the next swath meanwhile measured
     * slower, with more memory (read.c). */
    if (!slow || (rq->x == 0 && rq->w == bw) || !background_allowed(ds) ||
        ds->background.split != NULL)
        return;
    /* The next read: along the row, or the first of the next row, on
     * whole cells of the alignment grid, less the cells at its start that
     * the cache holds (computed for this read: gdalwarp's chunks overlap). */
    int x, y, w = rq->w, h = rq->h;
    if (rq->x + rq->w < bw) {
        x = rq->x + rq->w;
        y = rq->y;
    } else {
        x = l->row_x;
        y = rq->y + rq->h;
        w = l->row_w;
    }
    int gx, gy, ox, oy;
    alignment_grid(ds, &gx, &gy, &ox, &oy);
    int x0 = floor_to(x, gx, ox), y0 = floor_to(y, gy, oy);
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    const int x1 = ceil_to(x + w > bw ? bw : x + w, gx, ox, bw);
    const int y1 = ceil_to(y + h > bh ? bh : y + h, gy, oy, bh);
    int rx, ry, rw, rh;
    while (x0 < x1 && y0 < y1 &&
           pvrt_tilecache_find(ds->cache, rq->path, rq->buf_type, x0, y0,
                               ceil_to(x0 + 1, gx, ox, bw) - x0, y1 - y0, &rx,
                               &ry, &rw, &rh))
        x0 = ceil_to(x0 + 1, gx, ox, bw);
    while (x0 < x1 && y0 < y1 &&
           pvrt_tilecache_find(ds->cache, rq->path, rq->buf_type, x0, y0,
                               x1 - x0, ceil_to(y0 + 1, gy, oy, bh) - y0, &rx,
                               &ry, &rw, &rh))
        y0 = ceil_to(y0 + 1, gy, oy, bh);
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    if (x1 <= x0 || y1 <= y0 ||
        (int64_t)(x1 - x0) * (y1 - y0) < 2 * ds->min_tile_pixels ||
        (int64_t)(x1 - x0) * (y1 - y0) * size > ds->cache_cap / 2)
        return;
    if (ds->cache == NULL &&
        (ds->cache = pvrt_tilecache_new(ds->cache_cap)) == NULL)
        return;
    start_region(ds, rq, x0, y0, x1, y1, 0, NULL);
}

/* Whether rq, which continues no walk, is the top lines of the band's whole
 * width, fewer than the grid cells they lie in: how GDAL's checksum and a
 * loop over rows begin. Such a reader walks down, so the region below is
 * computed from its first read, not its second: the sources' blocks under
 * those lines are decoded whole anyway (by the VRT driver too), and the
 * first read alone read them on the calling thread, then the region
 * decoded half of them again on the clones. Measured on the benchmark's
 * sum (4096 wide, 256-line blocks): the first two lines took 0.10 s and
 * 0.17 s (the VRT driver 0.10 s and 0). A reader that stops after one line
 * has had the rest of those cells computed (and the tiles of the next
 * region that had started: a reader that leaves cancels the rest). */
static int top_lines(const pvrt_dataset *ds, const pvrt_request *rq, int bw,
                     int bh)
{
    int gx, gy, ox, oy;
    alignment_grid(ds, &gx, &gy, &ox, &oy);
    return rq->x == 0 && rq->y == 0 && rq->w == bw &&
           rq->h < ceil_to(rq->h, gy, oy, bh);
}

/* ---- GDAL's sampled blocks ------------------------------------------------
 * GDAL's approximate statistics and minimum/maximum of a band without
 * overviews read one block in every `rate`, in raster order from the
 * first: rate = sqrt(blocks per row x blocks per column), one more when
 * that is the number of blocks per row (GDAL 3.6 to 3.13 alike; 3.13 reads
 * each block's NoData mask before it, a second sequence). QGIS does so for
 * every band of a layer it adds. Each block is too small to split;
 * gathered, its sources are read on as many threads as it has sources.
 * Once a reader of a band path has read its first block, then block
 * `rate`, the blocks it will read are known: they are computed at once, one
 * job each, a region's budget (REGION_CACHE_FRACTION) at a time, and
 * cached for the reads that follow. A reader that leaves the sequence
 * wastes at most one budget. */

/* Whether window (x, y, w, h) is block `*index` of a band of bw x bh in
 * blocks of bx x by (raster order), as GDAL's block reads ask for it. */
static int block_index(int x, int y, int w, int h, int bw, int bh, int bx,
                       int by, int64_t *index)
{
    if (x % bx != 0 || y % by != 0 || w != (bw - x < bx ? bw - x : bx) ||
        h != (bh - y < by ? bh - y : by))
        return 0;
    *index = (int64_t)(y / by) * ((bw + bx - 1) / bx) + x / bx;
    return 1;
}

/* GDAL's sampling rate for a band of nx x ny blocks (gdalrasterband.cpp,
 * ComputeStatistics, ComputeRasterMinMax, GetHistogram). */
static int sample_rate(int nx, int ny)
{
    const double root = sqrt((double)nx * ny);
    int rate = root > 1.0 ? (int)root : 1;
    if (rate == nx && nx > 1)
        rate++;
    return rate;
}

/* Computes the sampled blocks from `first` on (one budget's worth) into
 * the cache; the block its reader reads next in s->next. Returns 1 when
 * they are cached. */
static int compute_sampled(pvrt_dataset *ds, pvrt_sampled *s,
                           const pvrt_request *rq, int bw, int bh, int bx,
                           int by, int64_t first)
{
    const int rate = s->rate;
    const int nx = (bw + bx - 1) / bx, ny = (bh + by - 1) / by;
    const int64_t nblocks = (int64_t)nx * ny;
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    const int64_t block_bytes = (int64_t)bx * by * size;
    int64_t n = (nblocks - 1 - first) / rate + 1;
    const int64_t fit = ds->cache_cap / REGION_CACHE_FRACTION / block_bytes;
    if (n > fit)
        n = fit;
    if (n < 2 || (ds->cache == NULL &&
                  (ds->cache = pvrt_tilecache_new(ds->cache_cap)) == NULL))
        return 0;
    pvrt_rect *windows = (pvrt_rect *)VSI_MALLOC2_VERBOSE(sizeof *windows, n);
    void **dsts = (void **)VSI_CALLOC_VERBOSE(sizeof *dsts, n);
    int ok = windows != NULL && dsts != NULL &&
             pvrt_tilecache_make_room(ds->cache, n * block_bytes);
    int64_t bytes = 0;
    for (int64_t i = 0; ok && i < n; i++) {
        const int64_t k = first + i * rate;
        pvrt_rect *t = &windows[i];
        t->x = (int)(k % nx) * bx;
        t->y = (int)(k / nx) * by;
        t->w = bw - t->x < bx ? bw - t->x : bx;
        t->h = bh - t->y < by ? bh - t->y : by;
        bytes += (int64_t)t->w * t->h * size;
        ok = (dsts[i] = pvrt_big_alloc((size_t)t->w * t->h * size)) != NULL;
    }
    /* Errors are the reads' own to report: on failure they are dropped. */
    pvrt_errlog *log = ok ? pvrt_errlog_new() : NULL;
    if (log != NULL) {
        pvrt_errcap cap;
        pvrt_errcap_begin(&cap, log, 0);
        ok = pvrt__read_windows(ds, rq, windows, dsts, (int)n);
        pvrt_errcap_end(&cap);
        if (ok)
            pvrt_errlog_replay(log);
        pvrt_errlog_free(log);
    } else
        ok = 0;
    for (int64_t i = 0; ok && i < n; i++) {
        const pvrt_rect *t = &windows[i];
        pvrt_tilecache_put(ds->cache, rq->path, rq->buf_type, t->x, t->y, t->w,
                           t->h, dsts[i], NULL, 0);
        dsts[i] = NULL;
    }
    for (int64_t i = 0; dsts != NULL && i < n; i++)
        pvrt_big_free(dsts[i]);
    VSIFree(dsts);
    VSIFree(windows);
    if (!ok)
        return 0;
    __atomic_add_fetch(&ds->sampled_blocks, n, __ATOMIC_RELAXED);
    CPLDebug("PVRT",
             "%s: band %d%s: %d sampled blocks from block " CPL_FRMT_GIB
             " computed ahead (%.1f MB)",
             GDALGetDescription(ds->primary), rq->path->band,
             rq->path->mask ? " (mask)" : "", (int)n, (GIntBig)first,
             bytes / 1048576.0);
    const int64_t next = first + n * rate;
    s->next = next < nblocks ? next : 0;
    return 1;
}

/* The reader of GDAL's sampled blocks of rq's band path and type, or
 * NULL; with `take`, the oldest slot when none is (emptied). */
static pvrt_sampled *sampled_reader(pvrt_dataset *ds, const pvrt_request *rq,
                                    int take)
{
    pvrt_sampled *oldest = &ds->sampled.reader[0];
    for (int i = 0; i < PVRT_SAMPLED_READERS; i++) {
        pvrt_sampled *s = &ds->sampled.reader[i];
        if (s->band == rq->path->band && s->overview == rq->path->overview &&
            s->mask == rq->path->mask && s->type == rq->buf_type)
            return s;
        if (s->stamp < oldest->stamp)
            oldest = s;
    }
    if (!take)
        return NULL;
    memset(oldest, 0, sizeof *oldest);
    oldest->band = rq->path->band;
    oldest->overview = rq->path->overview;
    oldest->mask = rq->path->mask;
    oldest->type = rq->buf_type;
    return oldest;
}

/* rq, not adjacent to the last read: a block of the band's first, which
 * may start GDAL's sampled reads, or the block they read next, which then
 * has them computed ahead and is served. Any other read of the band path
 * ends its sampled reader. */
static int sampled_read(pvrt_dataset *ds, const pvrt_request *rq, int bw,
                        int bh, CPLErr *err)
{
    GDALRasterBandH band = pvrt_resolve_band(ds->primary, rq->path);
    int bx = 0, by = 0;
    if (band == NULL || pvrt_halo_band(ds, rq->path->band))
        return 0;
    GDALGetBlockSize(band, &bx, &by);
    if (bx < 1 || by < 1)
        return 0;
    int64_t k = -1;
    const int block =
        block_index(rq->x, rq->y, rq->w, rq->h, bw, bh, bx, by, &k);
    const int rate = sample_rate((bw + bx - 1) / bx, (bh + by - 1) / by);
    pvrt_sampled *s = sampled_reader(ds, rq, block && k == 0 && rate > 1);
    if (s == NULL)
        return 0;
    s->stamp = ++ds->sampled.clock;
    if (block && k == 0 && rate > 1) {
        s->rate = rate;
        s->next = rate;
        return 0;
    }
    if (!block || k != s->next || s->rate != rate) {
        s->next = 0;
        return 0;
    }
    s->next = 0;
    return compute_sampled(ds, s, rq, bw, bh, bx, by, k) &&
           pvrt__ahead_cached(ds, rq, err);
}

int pvrt__ahead_read(pvrt_dataset *ds, const pvrt_request *rq, CPLErr *err)
{
    if (!pvrt__cacheable(ds, rq) || !ds->read_ahead)
        return 0;
    int bw, bh;
    if (!band_size(ds, rq, &bw, &bh))
        return 0;
    int dir =
        same_band(&ds->last_read, rq) ? direction(&ds->last_read, rq, bw) : 0;
    remember(&ds->last_read, rq);
    if (dir == 0 && top_lines(ds, rq, bw, bh))
        dir = 'd';
    if (dir == 0)
        return sampled_read(ds, rq, bw, bh, err);
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    int x0, y0, x1, y1;
    plan_region(ds, rq, dir, bw, bh, ds->cache_cap / REGION_CACHE_FRACTION,
                size, &x0, &y0, &x1, &y1);
    /* Not worth it unless the region is split and holds more reads. */
    const int64_t pixels = (int64_t)(x1 - x0) * (y1 - y0);
    if (pixels < 2 * ds->min_tile_pixels || pixels < 2 * (int64_t)rq->w * rq->h)
        return 0;
    if (ds->cache == NULL) {
        ds->cache = pvrt_tilecache_new(ds->cache_cap);
        if (ds->cache == NULL)
            return 0;
    }
    if (!compute_region(ds, rq, x0, y0, x1 - x0, y1 - y0))
        return 0;
    background_start(ds, rq, dir, x0, y0, x1, y1, NULL);
    return pvrt__ahead_cached(ds, rq, err);
}

/* ---- Masks computed once -------------------------------------------------
 * rasterio's read(masked=True) reads a band, then its NoData mask, whose
 * GDALNoDataMaskBand reads the band again (same window, buffer size and
 * arguments, in a working type) and compares each value with NoData: the
 * derived band would be computed twice. The last large read of a band is
 * kept; a mask read that asks GDAL's mask band for exactly that parent read
 * is computed by GDAL's own GDALNoDataMaskBand over a MEM band holding the
 * kept values. Only for band types whose working type is the type itself
 * in every GDAL from 3.6 to 3.13 (GetWorkDataType in gdalnodatamaskband.cpp):
 * Byte, Int32, UInt32, Float32, Float64. */

static int mask_work_type_is_own(GDALDataType t)
{
    return t == GDT_Byte || t == GDT_Int32 || t == GDT_UInt32 ||
           t == GDT_Float32 || t == GDT_Float64;
}

void pvrt__read_shape(const pvrt_request *rq, pvrt_read_shape *s)
{
    s->type = rq->buf_type;
    s->x = rq->x;
    s->y = rq->y;
    s->w = rq->w;
    s->h = rq->h;
    s->buf_w = rq->buf_w;
    s->buf_h = rq->buf_h;
    const GDALRasterIOExtraArg *e = rq->extra;
    s->resample = e ? e->eResampleAlg : GRIORA_NearestNeighbour;
    s->float_window = e && e->bFloatingPointWindowValidity;
    s->fx = s->float_window ? e->dfXOff : 0;
    s->fy = s->float_window ? e->dfYOff : 0;
    s->fw = s->float_window ? e->dfXSize : 0;
    s->fh = s->float_window ? e->dfYSize : 0;
}

int pvrt__same_shape(const pvrt_read_shape *a, const pvrt_read_shape *b)
{
    return a->type == b->type && a->x == b->x && a->y == b->y && a->w == b->w &&
           a->h == b->h && a->buf_w == b->buf_w && a->buf_h == b->buf_h &&
           a->resample == b->resample && a->float_window == b->float_window &&
           a->fx == b->fx && a->fy == b->fy && a->fw == b->fw && a->fh == b->fh;
}

void pvrt__kept_clear(pvrt_dataset *ds)
{
    pvrt_big_free(ds->kept.data);
    memset(&ds->kept, 0, sizeof ds->kept);
}

void pvrt__keep_read(pvrt_dataset *ds, const pvrt_request *rq)
{
    if (rq->path == NULL || rq->path->overview >= 0 || rq->path->mask ||
        ds->cache_cap <= 0 || ds->threads < 2 || pvrt_pool_in_worker())
        return;
    const int64_t pixels = (int64_t)rq->buf_w * rq->buf_h;
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    if (pixels < ds->min_tile_pixels || pixels * size > ds->cache_cap / 2)
        return;
    GDALRasterBandH band = pvrt_resolve_band(ds->primary, rq->path);
    if (band == NULL || GDALGetRasterDataType(band) != rq->buf_type ||
        !mask_work_type_is_own(rq->buf_type) ||
        GDALGetMaskFlags(band) != GMF_NODATA)
        return;
    /* The buffer of the last read kept is reused: a fresh large allocation
     * per read (mmap, page faults, munmap) cost tile servers reading small
     * windows from several threads a few percent. A large one is on huge
     * pages (bigmem.h): the copy below faults it in on the calling thread. */
    const size_t bytes = (size_t)rq->buf_w * rq->buf_h * size;
    GByte *data = (GByte *)ds->kept.data;
    if (ds->kept.allocated < bytes) {
        pvrt__kept_clear(ds);
        data = (GByte *)pvrt_big_alloc(bytes);
        if (data == NULL)
            return;
        ds->kept.data = data;
        ds->kept.allocated = bytes;
    }
    ds->kept.band = 0; /* not valid until filled */
    for (int r = 0; r < rq->buf_h; r++) {
        const GByte *src = (const GByte *)rq->buf + r * rq->line_space;
        GByte *dst = data + (size_t)r * rq->buf_w * size;
        if (rq->pixel_space == size)
            memcpy(dst, src, (size_t)rq->buf_w * size);
        else
            GDALCopyWords(src, rq->buf_type, (int)rq->pixel_space, dst,
                          rq->buf_type, size, rq->buf_w);
    }
    ds->kept.band = rq->path->band;
    pvrt__read_shape(rq, &ds->kept.shape);
}

int pvrt__nodata_mask(const void *values, GDALDataType t, int w, int h,
                      double nodata, void *buf, GDALDataType buf_type,
                      GSpacing ps, GSpacing ls, CPLErr *err)
{
    GDALDriverH mem = GDALGetDriverByName("MEM");
    GDALDatasetH ds = mem ? GDALCreate(mem, "", w, h, 0, GDT_Byte, NULL) : NULL;
    if (ds == NULL) {
        CPLErrorReset();
        return 0;
    }
    char ptr[64] = {0}; /* CPLPrintPointer does not terminate it */
    CPLPrintPointer(ptr, (void *)values, sizeof ptr - 1);
    char **opts = CSLSetNameValue(NULL, "DATAPOINTER", ptr);
    int served = 0;
    if (GDALAddBand(ds, t, opts) == CE_None) {
        GDALRasterBandH b = GDALGetRasterBand(ds, 1);
        GDALSetRasterNoDataValue(b, nodata);
        GDALRasterBandH m = GDALGetMaskBand(b);
        if (m && GDALGetMaskFlags(b) == GMF_NODATA) {
            *err = GDALRasterIOEx(m, GF_Read, 0, 0, w, h, buf, w, h, buf_type,
                                  ps, ls, NULL);
            served = 1;
        }
    }
    CSLDestroy(opts);
    GDALClose(ds);
    if (!served)
        CPLErrorReset();
    return served;
}

int pvrt__mask_from_kept(pvrt_dataset *ds, const pvrt_request *rq, CPLErr *err)
{
    const pvrt_kept_read *k = &ds->kept;
    if (k->band == 0 || rq->path == NULL || !rq->path->mask ||
        rq->path->overview >= 0 || rq->path->band != k->band ||
        rq->buf_type != GDT_Byte)
        return 0;
    pvrt_read_shape want;
    pvrt__read_shape(rq, &want);
    want.type = k->shape.type; /* the parent is read in its working type */
    if (!pvrt__same_shape(&want, &k->shape))
        return 0;
    GDALRasterBandH parent = GDALGetRasterBand(ds->primary, k->band);
    int has_nodata = 0;
    const double nodata = GDALGetRasterNoDataValue(parent, &has_nodata);
    if (!has_nodata ||
        !pvrt__nodata_mask(k->data, k->shape.type, k->shape.buf_w,
                           k->shape.buf_h, nodata, rq->buf, GDT_Byte,
                           rq->pixel_space, rq->line_space, err))
        return 0;
    __atomic_add_fetch(&ds->mask_hits, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&ds->last_tiles, 0, __ATOMIC_RELAXED);
    return 1;
}
