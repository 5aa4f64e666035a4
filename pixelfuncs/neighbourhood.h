/* neighbourhood.h: pvrt's neighbourhood functions (pvrt_terrain in
 * terrain.c, pvrt_focal in focal.c) as the driver calls them.
 *
 * An output pixel of these functions depends on the input pixels around
 * it. GDAL hands a C pixel function only the pixels of the request (its
 * <BufferRadius> halo is for Python functions only, GDAL 3.6 to 3.13), so
 * the PVRT driver (driver/halo.c) reads the band's source over each tile
 * extended by the function's radius on every side, clamped to the raster,
 * and calls the kernel here on that buffer. Through GDAL's own VRT driver
 * the registered functions fail with a CPLError that names the PVRT
 * driver: without a halo their edges would be wrong.
 *
 * A kernel is parsed once (arguments checked, errors naming the argument)
 * and then shared read-only by every worker. */
#ifndef PVRT_NEIGHBOURHOOD_H
#define PVRT_NEIGHBOURHOOD_H

#include <gdal.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pvrt_nbhd pvrt_nbhd;

/* What a kernel knows of the raster it computes. */
typedef struct pvrt_nbhd_geo {
    /* The geotransform's pixel width and height (gt[1], gt[5]) at the
     * resolution the input is read at: gdaldem's ewres and nsres. */
    double pixel_w, pixel_h;
    /* The input's NoData: the function's `nodata` argument if given,
     * else the source raster's NoData (the DEM's, for terrain). */
    int has_src_nodata;
    double src_nodata;
    /* The band's own NoData (<NoDataValue>), written where there is no
     * result. */
    int has_nodata;
    double nodata;
    /* The data type of the raster the source reads (the DEM's): gdaldem
     * computes Byte, Int16 and UInt16 DEMs on an integer path with NoData
     * rules of its own. GDT_Unknown when not known (a float DEM then). */
    GDALDataType src_type;
} pvrt_nbhd_geo;

/* Non-zero if `name` is a neighbourhood function (needs the driver's
 * halo). */
int pvrt_nbhd_is_function(const char *name);

/* Parses the band's <PixelFunctionArguments> (NAME=VALUE strings, as GDAL
 * hands them to pixel functions) for the function `name`. Returns NULL
 * after a CPLError(CE_Failure, CPLE_IllegalArg) naming the function and
 * the argument. The kernel's `nodata` argument, if any, is already folded
 * into geo by the caller (pvrt_nbhd_input_nodata). */
pvrt_nbhd *pvrt_nbhd_new(const char *name, CSLConstList args,
                         const pvrt_nbhd_geo *geo);
void pvrt_nbhd_free(pvrt_nbhd *k);

/* The function's own `nodata` argument: returns 1 with *value when given,
 * 0 when absent, -1 after a CPLError when it does not parse. */
int pvrt_nbhd_input_nodata(const char *name, CSLConstList args, double *value);

/* Pixels needed on every side of an output pixel (1 for terrain). */
int pvrt_nbhd_radius(const pvrt_nbhd *k);

/* Computes out_w x out_h results into `out` (packed doubles, row-major).
 *
 * `in` holds in_w x in_h input values (packed doubles, row-major): the
 * output window extended by the radius on each side where the raster
 * extends, clamped where it ends. Output pixel (i, j) is centred on input
 * pixel (ox + i, oy + j). A neighbour that falls outside `in` is outside
 * the raster: the function's edge rule applies there. So the driver always
 * passes the whole halo where the raster has one, and results do not
 * depend on how a read is split into tiles.
 *
 * Returns 0, or -1 after a CPLError. Reentrant. */
int pvrt_nbhd_compute(const pvrt_nbhd *k, const double *in, int in_w, int in_h,
                      int ox, int oy, double *out, int out_w, int out_h);

/* Non-zero if the function computes on its input as float (pvrt_terrain:
 * gdaldem reads the DEM as float) and so also takes it as float through
 * pvrt_nbhd_compute_float. A raster read straight into float gives the
 * same values as read into double and converted by GDALCopyWords (what
 * pvrt_nbhd_compute does) whenever its type converts to double exactly
 * (any type but 64-bit integers), without the double buffer. */
int pvrt_nbhd_takes_float(const pvrt_nbhd *k);

/* pvrt_nbhd_compute on float input; the same contract and results. Fails
 * with a CPLError for a function that does not take float input. */
int pvrt_nbhd_compute_float(const pvrt_nbhd *k, const float *in, int in_w,
                            int in_h, int ox, int oy, double *out, int out_w,
                            int out_h);

#ifdef __cplusplus
}
#endif

#endif
