/* read.h: the read path. One request (band- or dataset-level RasterIO) is
 * served inline on the primary handle, or split into tiles that the pool's
 * workers read through their clones, straight into the caller's buffer.
 * Called on the thread that owns the PVRT handle. */
#ifndef PVRT_READ_H
#define PVRT_READ_H

#include <gdal.h>

#include "dataset.h"
#include "errcap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which band of a dataset a band-level request reads: band (1-based), then
 * overview (-1: none), then its mask band (0/1). */
typedef struct pvrt_band_path {
    int band;
    int overview;
    int mask;
} pvrt_band_path;

typedef struct pvrt_request {
    const pvrt_band_path *path; /* band-level; NULL: dataset-level */
    int tile_safe; /* what is read cannot depend on the split (see vrtinfo.h):
                      the dataset's, or an overview dataset's own */
    int nbands;    /* dataset-level band list */
    const int *bands;
    int x, y, w, h; /* window */
    void *buf;
    int buf_w, buf_h;
    GDALDataType buf_type;
    GSpacing pixel_space, line_space, band_space;
    GDALRasterIOExtraArg *extra; /* may be NULL */
} pvrt_request;

/* Reads. Returns CE_None, or CE_Failure after raising (on this thread) the
 * errors the read met, in tile order; CPLE_UserInterrupt when the progress
 * callback stopped it. */
CPLErr pvrt_read(pvrt_dataset *ds, const pvrt_request *rq);

/* Reads the files whole, in parallel on up to `threads` threads (the
 * caller's thread-local config options apply in each), to fill /vsicurl/'s
 * caches before a serial reader needs them. Errors are dropped: whoever
 * needs a file reports them. Runs serially on a pool worker. */
void pvrt_prefetch_files(char **paths, int threads);

/* Nesting depth of PVRT reads on this thread. */
int pvrt_read_depth(void);

/* What a pool job of the read path (read.c, gather.c) swaps in on a
 * worker: its caller's thread-local config options (credentials, cache
 * settings) and nesting depth; its errors are captured into the batch's
 * log as job `index`. On the caller's own thread (worker -1) only the
 * capture applies. */
typedef struct pvrt_job_scope {
    char **saved_config;
    int saved_depth;
    pvrt_errcap cap;
} pvrt_job_scope;
void pvrt_job_enter(pvrt_job_scope *js, char **config, int depth,
                    pvrt_errlog *log, int index, int worker);
void pvrt_job_leave(pvrt_job_scope *js, int worker);

/* The band a path names in dataset ds, or NULL. */
GDALRasterBandH pvrt_resolve_band(GDALDatasetH ds, const pvrt_band_path *p);

#ifdef __cplusplus
}
#endif

#endif
