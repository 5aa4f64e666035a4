/* gather.h: reads of a derived band that cannot be split into tiles,
 * computed in parallel and exactly as GDAL's VRT driver computes them: each
 * source of the request is read through its own handle, exactly as
 * VRTDerivedRasterBand would read it, on the pool at once; then the band's
 * pixel function runs over the gathered buffers in row stripes. These are
 * downsampled reads, and full-resolution windows too small to split
 * (random windows, a tile server's tiles; WINDOW_GATHER=NO leaves those
 * to the primary). Bands a reader reads one after another with the same
 * request (QGIS's RGB layers) are computed together and kept for their
 * reads (gather.c, "Bands read together"). Called by read.c on the thread
 * that owns the PVRT handle. */
#ifndef PVRT_GATHER_H
#define PVRT_GATHER_H

#include <gdal.h>

#include "dataset.h"
#include "read.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Serves rq if it can, exactly: returns 1 with *err the read's outcome
 * (errors raised on this thread), or 0 when it declines, having reported
 * nothing and written nothing, so the caller reads some other way. */
int pvrt_gather_read(pvrt_dataset *ds, const pvrt_request *rq, int threads,
                     CPLErr *err);

/* Handles open on the sources of gathered reads (for tests): with only
 * full-resolution windows read, one per source of each band gathered. Call
 * only while no read runs. */
int pvrt_gather_handles_open(const struct pvrt_gather *g);

/* Bands computed together that took the memory of bands kept for an
 * earlier read (a view panned), for tests. Call only while no read runs. */
int64_t pvrt_gather_memory_reused(const struct pvrt_gather *g);

/* Frees the buffers kept for the next read and the bands kept for their
 * reads, and forgets which bands the reader walked. Accepts NULL. No read
 * may be in flight. */
void pvrt_gather_trim(struct pvrt_gather *g);

/* Frees the dataset's gather state (ds->gather). Accepts NULL. No read may
 * be in flight. */
void pvrt_gather_free(struct pvrt_gather *g);

#ifdef __cplusplus
}
#endif

#endif
