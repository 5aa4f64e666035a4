/* sources.h: what PVRT does to the sources a VRT band holds open.
 *
 * GDAL's VRT driver keeps every source block it decodes in GDAL's block
 * cache, and so does each clone reading a tile for PVRT. On a walk through
 * the raster (read.c's regions computed ahead), a tile that covers whole
 * source blocks is the only one that reads them: they will not be read
 * again, and holding them costs the process fresh memory for every block
 * decoded (sources.cpp, the file comment). Callable from any thread on a
 * dataset that thread alone uses. */
#ifndef PVRT_SOURCES_H
#define PVRT_SOURCES_H

#include <gdal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Drops the cached blocks of every simple or complex source of band `band`
 * of VRT dataset `vrt` that is open (sources never opened stay closed).
 * Returns the number of source bands dropped from; 0 when `vrt` is not a
 * VRT or the band has no such source. Never fails: a block GDAL cannot
 * drop stays cached. */
int pvrt_sources_drop_blocks(GDALDatasetH vrt, int band);

#ifdef __cplusplus
}
#endif

#endif
