/* pf_private.h: what the pixel-function family shares inside pixelfuncs/.
 *
 * Row I/O (sources to a double row, a double row out through one
 * GDALCopyWords), argument parsing that reports through CPLError, and the
 * entry points the registration table (table.c) lists. Nothing here is
 * visible outside the plugin. Every function is reentrant: pixel functions
 * run on many threads at once and keep no mutable static state. */
#ifndef PVRT_PF_PRIVATE_H
#define PVRT_PF_PRIVATE_H

#include <gdal.h>
#include <cpl_string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Row I/O (rowio.c) ------------------------------------------------
 * Source buffers handed to a pixel function are packed: row `y` of source
 * `s` starts at y * width * GDALGetDataTypeSizeBytes(src_type). The output
 * buffer is strided by pixel_space and line_space bytes. */

/* Converts row `y` of a packed source to doubles (real part of complex). */
void pvrt__row_read(const void *src, GDALDataType src_type, int width, int y,
                    double *out);

/* Writes `width` doubles to row `y` of the output buffer, converting the
 * way GDALCopyWords converts (round to nearest, clamp to the type). */
void pvrt__row_write(const double *row, void *dst, GDALDataType dst_type,
                     int pixel_space, int line_space, int width, int y);

/* ---- Arguments (args.c) ------------------------------------------------
 * All return 0 on success, 1 when the argument is absent (the default is
 * stored), -1 after a CPLError(CE_Failure, CPLE_IllegalArg) that names the
 * function, the argument and what was expected. */

int pvrt__arg_double(CSLConstList args, const char *fn, const char *name,
                     double dflt, double *out);
int pvrt__arg_int(CSLConstList args, const char *fn, const char *name, int dflt,
                  int lo, int hi, int *out);

/* Parses a whole string as a double ("nan", "inf", "-inf" accepted).
 * Returns 0, or -1 without reporting. */
int pvrt__parse_double(const char *text, double *out);

/* The nodata value: our own `nodata` argument, else GDAL's builtin
 * `NoData` where this GDAL passes it. *has is 0 when neither is there.
 * Returns 0, or -1 after a CPLError. */
int pvrt__arg_nodata(CSLConstList args, const char *fn, int *has,
                     double *value);

/* A comma-separated list of doubles; *out is CPLMalloc'ed (CPLFree it).
 * Returns 0 (also when absent: *n = 0), or -1 after a CPLError. */
int pvrt__arg_double_list(CSLConstList args, const char *fn, const char *name,
                          double **out, int *n);

/* Reductions, classes and indices need real values: returns 0, or -1 after
 * a CPLError naming the function and the complex source type. */
int pvrt__require_real(const char *fn, GDALDataType src_type);

/* The XML fragment that declares GDAL's builtin NoData argument on GDAL
 * versions that honour optional='true' (empty on GDAL 3.6, where declaring
 * it makes every band without NoData fail). */
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 10, 0)
#define PVRT_BUILTIN_NODATA_ARG                                                \
    "<Argument type='builtin' value='NoData' optional='true'/>"
#else
#define PVRT_BUILTIN_NODATA_ARG ""
#endif

/* ---- Entry points listed in table.c ------------------------------------ */

#define PVRT_PIXELFUNC_ARGS                                                    \
    void **sources, int nsources, void *out, int width, int height,            \
        GDALDataType src_type, GDALDataType out_type, int pixel_space,         \
        int line_space, CSLConstList args

CPLErr pvrt__busy(PVRT_PIXELFUNC_ARGS);
extern const char pvrt__busy_meta[];
/* capture.c: internal, for driver/gather.c */
CPLErr pvrt__capture(PVRT_PIXELFUNC_ARGS);
extern const char pvrt__capture_meta[];

/* reduce.c, reclass.c, index.c */
CPLErr pvrt__reduce(PVRT_PIXELFUNC_ARGS);
extern const char pvrt__reduce_meta[];
CPLErr pvrt__reclass(PVRT_PIXELFUNC_ARGS);
extern const char pvrt__reclass_meta[];
CPLErr pvrt__index(PVRT_PIXELFUNC_ARGS);
extern const char pvrt__index_meta[];

/* select.c: order statistics of n >= 1 doubles, none NaN, in place.
 * pvrt__select puts the k-th smallest (0-based) at v[k], smaller or equal
 * values before it, greater or equal after; pvrt__sort sorts ascending
 * (-0 before +0); pvrt__select_pair gives the k-th and (k+1)-th smallest
 * (*hi = *lo when k = n - 1) and may reorder v. */
void pvrt__select(double *v, int n, int k);
void pvrt__select_pair(double *v, int n, int k, double *lo, double *hi);
void pvrt__sort(double *v, int n);
double pvrt__min(const double *v, int n);
double pvrt__max(const double *v, int n);
/* The mean of two middle values as numpy's median computes it, (a + b) / 2,
 * except that two finite values never overflow to infinity (pvrt_reduce's
 * and pvrt_focal's medians). */
double pvrt__midpoint(double a, double b);

/* neighbourhood.c: what GDAL's registry holds for pvrt_terrain and
 * pvrt_focal; they refuse (the PVRT driver computes them, with a halo). */
CPLErr pvrt__terrain_refuse(PVRT_PIXELFUNC_ARGS);
extern const char pvrt__terrain_meta[];
CPLErr pvrt__focal_refuse(PVRT_PIXELFUNC_ARGS);
extern const char pvrt__focal_meta[];

/* expr_func.c: pvrt_expr; pvrt__expr_cleanup frees its compile cache. */
CPLErr pvrt__expr(PVRT_PIXELFUNC_ARGS);
extern const char pvrt__expr_meta[];
void pvrt__expr_cleanup(void);

#ifdef __cplusplus
}
#endif

#endif
