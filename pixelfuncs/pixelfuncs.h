/* pixelfuncs.h: the pvrt pixel-function library, as the driver sees it.
 *
 * One call registers every pvrt_* function with GDAL's VRT pixel-function
 * registry. The functions themselves are only reached through that registry
 * (or, in tests, through pvrt_pixelfunc_find). Call registration from the
 * thread that registers drivers: GDAL's registry has no lock. */
#ifndef PVRT_PIXELFUNCS_H
#define PVRT_PIXELFUNCS_H

#include <gdal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Registers all pvrt_* pixel functions. Returns 0, or -1 after a CPLError. */
int pvrt_pixelfuncs_register(void);

/* Frees what the functions cache (compiled expressions, ...). Call when the
 * driver is unloaded, with no read in flight. */
void pvrt_pixelfuncs_cleanup(void);

/* The function registered under `name` and its argument metadata, or NULL
 * (metadata may be NULL too). For tests, which call functions directly. */
GDALDerivedPixelFuncWithArgs pvrt_pixelfunc_find(const char *name,
                                                 const char **metadata);

#ifdef __cplusplus
}
#endif

#endif
