/* ahead.h: sequential readers and the computed-tile cache (tilecache.h).
 *
 * GDAL's own block loops (statistics, checksums, overview building),
 * rasterio's block windows and row loops ask for windows too small to
 * split, one after the other. When a band-level read touches the previous
 * one (the next block of a row, the next row, in either direction), the
 * region ahead of it (whole grid cells, bounded by a sixteenth of the
 * cache) is computed at once, split on the pool like any large read, and
 * kept in the dataset's cache; this read and the ones after it are copied
 * out of it. A reader that jumps computes nothing ahead; one that stops
 * wastes at most one region. A region the reader has passed gives its
 * memory to the one after the next. Called by read.c on the thread that owns
 * the handle. */
#ifndef PVRT_AHEAD_H
#define PVRT_AHEAD_H

#include <gdal.h>

#include "dataset.h"
#include "errcap.h"
#include "pool.h"
#include "tiles.h"
#include "read.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether reads like rq may be served from, or computed into, the cache:
 * band-level, at full resolution, of a tile-safe band, by a handle that
 * computes on several threads, with a cache. */
int pvrt__cacheable(const pvrt_dataset *ds, const pvrt_request *rq);

/* A read served from computed pixels is done: calls rq's progress
 * callback with 1.0. Returns CE_None, or CE_Failure ("User terminated")
 * when the callback stopped it. */
CPLErr pvrt__report_done(const pvrt_request *rq);

/* Serves rq from the cache when an entry holds its window. Returns 1 with
 * *err set when it did, 0 otherwise (nothing done). */
int pvrt__ahead_cached(pvrt_dataset *ds, const pvrt_request *rq, CPLErr *err);

/* rq would run whole: if it continues the last such read, computes the
 * region ahead, caches it and serves rq from it. Returns 1 with *err set
 * when it served rq, 0 when it did not (nothing reported). Records rq as
 * the last read either way. */
int pvrt__ahead_read(pvrt_dataset *ds, const pvrt_request *rq, CPLErr *err);

/* Keeps the pixels of rq, a band read that succeeded, when the read of its
 * NoData mask may follow (large reads of bands whose mask is NoData). */
void pvrt__keep_read(pvrt_dataset *ds, const pvrt_request *rq);

/* Serves rq, a read of a band's NoData mask, from the kept pixels when they
 * are exactly what GDAL's mask band would read of the band. Returns 1 with
 * *err set when it did, 0 otherwise (nothing reported). */
int pvrt__mask_from_kept(pvrt_dataset *ds, const pvrt_request *rq, CPLErr *err);

/* On a read the cache did not serve: if the region being computed in the
 * background holds rq, waits for it, caches it, starts the next one and
 * returns 1; otherwise stops it (a reader that left) and returns 0. */
int pvrt__background_join(pvrt_dataset *ds, const pvrt_request *rq);

/* A large read (split into tiles) of the application's reader begins:
 * returns the time, for pvrt__large_done. */
double pvrt__large_begin(void);

/* rq, a large read that began at `start`, succeeded: when its reader is
 * slow, predicts the next one and starts computing it in the background
 * (see ahead.c). */
void pvrt__large_done(pvrt_dataset *ds, const pvrt_request *rq, double start);

/* Stops the region being computed in the background, if any (a reader
 * that left, the dataset closing). */
void pvrt__background_stop(pvrt_dataset *ds);

/* GDAL's own NoData mask (GDALNoDataMaskBand, over a MEM band on the
 * values) of w x h packed values of type t with NoData `nodata`, read 1:1
 * into buf. Returns 1 with *err the read's outcome, or 0 when the MEM band
 * could not be set up (nothing reported, nothing written). */
int pvrt__nodata_mask(const void *values, GDALDataType t, int w, int h,
                      double nodata, void *buf, GDALDataType buf_type,
                      GSpacing ps, GSpacing ls, CPLErr *err);

/* Frees the kept pixels (on close). */
void pvrt__kept_clear(pvrt_dataset *ds);

/* Reads rq as pvrt_read does, without the cache: split or whole (read.c). */
CPLErr pvrt__read_uncached(pvrt_dataset *ds, const pvrt_request *rq);

/* The tile planner's parameters for rq on `threads` threads, as read.c
 * sets them (bytes_per_pixel, per_thread and one_row left 0). */
void pvrt__tile_params(const pvrt_dataset *ds, const pvrt_request *rq,
                       int threads, pvrt_tile_params *p);

/* Runs a batch of read-path jobs whose errors go to `log` (freed here), and
 * raises what they recorded: CE_None, or CE_Failure ("User terminated" when
 * the progress callback stopped it). */
CPLErr pvrt__run_batch(const pvrt_dataset *ds, const pvrt_batch_spec *spec,
                       pvrt_errlog *log);

/* A split read on the pool's workers while the caller goes on: rq (copied,
 * without its extra argument; its buffer must live until the finish) is
 * planned like any split read. `tile_major`: rq's buffer (packed, window
 * size) receives the tiles one after another, each packed, in the order
 * pvrt__split_tiles lists them, so no tile is copied (regions of the cache,
 * tilecache.h); else the request's strides place them. NULL when it would
 * not split or cannot run in the background (nothing reported). Not for
 * halo.c's bands. */
struct pvrt_split *pvrt__split_start(pvrt_dataset *ds, const pvrt_request *rq,
                                     int tile_major);
/* Its tiles (relative to the window) and their count in *n. */
const pvrt_rect *pvrt__split_tiles(const struct pvrt_split *s, int *n);
/* Waits for it (the calling thread helping) and frees it. Returns 1 when
 * every tile was read (its warnings are raised), 0 otherwise (its errors
 * dropped); `cancel`: tiles not yet started are skipped. */
int pvrt__split_finish(struct pvrt_split *s, int cancel);

/* Reads the n windows (full resolution, in the band) of band-level read
 * rq's band in its buffer type, each packed into its own buffer dsts[i],
 * one job each on the pool, the calling thread helping. Returns 1 when
 * every window was read (warnings raised); 0 when a read failed (its errors
 * raised as a split read's) or the reads cannot run so: fewer than two
 * windows, one thread, network or neighbourhood bands, on a worker
 * (nothing raised). */
int pvrt__read_windows(pvrt_dataset *ds, const pvrt_request *rq,
                       const pvrt_rect *windows, void *const *dsts, int n);

/* The shape of band-level read rq, and whether two shapes are the same
 * read (field by field). */
void pvrt__read_shape(const pvrt_request *rq, pvrt_read_shape *s);
int pvrt__same_shape(const pvrt_read_shape *a, const pvrt_read_shape *b);

/* Whether rq's window is resampled (read.c). */
int pvrt__is_resampled(const pvrt_request *rq);

#ifdef __cplusplus
}
#endif

#endif
