/* halo.h: bands whose pixel function is a neighbourhood function
 * (pvrt_terrain, pvrt_focal; pixelfuncs/neighbourhood.h).
 *
 * Their output pixels depend on input pixels around them, which GDAL's
 * derived band never reads for a C function. So the driver computes them
 * whole, GDAL's derived band never runs for them: each tile's source window
 * is read extended by the function's radius (clamped at the raster's
 * edges) through a per-worker "input VRT" (the band reduced to its one
 * source, read as Float64 exactly as GDAL's derived band would hand it to
 * a pixel function), and the kernel runs on that buffer. Called by read.c
 * on the thread that owns the PVRT handle. */
#ifndef PVRT_HALO_H
#define PVRT_HALO_H

#include <gdal.h>

#include "dataset.h"
#include "read.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Non-zero if band b (1-based) of ds is computed here. */
int pvrt_halo_band(const pvrt_dataset *ds, int band);

/* Reads rq: a band-level read of such a band or of its NoData mask, at
 * full or reduced resolution (then the source is read at the buffer's
 * resolution and the kernel sees pixels that size), on up to `threads`
 * threads. Returns CE_None, or CE_Failure after a CPLError. */
CPLErr pvrt_halo_read(pvrt_dataset *ds, const pvrt_request *rq, int threads);

/* Frees the dataset's state (ds->halo). Accepts NULL. */
void pvrt_halo_free(struct pvrt_halo *h);

#ifdef __cplusplus
}
#endif

#endif
