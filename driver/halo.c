/* halo.c: see halo.h.
 *
 * - The input VRT of band b is b reduced to its one source, with
 *   pvrt__capture (an identity copy) for function, Float64 for band and
 *   transfer type: read in Float64, it returns the values GDAL's derived
 *   band would hand a pixel function, exactly. A ComplexSource's <NODATA>
 *   is taken out of it (the source's NoData then reaches the kernel as a
 *   value, as gdaldem sees it) and becomes the kernel's input NoData
 *   unless the function's `nodata` argument says otherwise; otherwise the
 *   source raster's own NoData is.
 * - Full-resolution reads are split into tiles like any read (read.c's
 *   rules); each tile reads its window grown by the radius, clamped to
 *   the raster, so the kernel sees the raster's edges where they are and
 *   whole neighbourhoods everywhere else: no tile seam can show. A plain
 *   source is read straight from its raster, as Float32 for a kernel that
 *   computes in float (pvrt_nbhd_takes_float) when that gives the same
 *   values (float_read_exact).
 * - Reduced-resolution reads read the grown window once, at the buffer's
 *   resolution with the caller's resampling (GDAL picks the source's
 *   overviews), the halo counted in buffer pixels and the pixel size
 *   scaled; then the kernel runs in row stripes. The result depends on
 *   neither the thread count nor the tiling.
 * - Mask reads compute the band, then GDAL's own NoData mask over it (a MEM
 *   band on the values). */
#include "halo.h"

#include "ahead.h"
#include "errcap.h"
#include "neighbourhood.h"
#include "pool.h"
#include "tiles.h"
#include "vrtxml.h"

#include <cpl_conv.h>
#include <cpl_string.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct halo_band {
    int state; /* 0: not built, 1: ready, -1: failed (built again to report) */
    char *function;
    char **args;       /* NAME=VALUE, as GDAL hands them */
    pvrt_nbhd_geo geo; /* at full resolution */
    pvrt_nbhd *kernel; /* at full resolution */
    int radius;
    pvrt_clones *input; /* slot 0: the owner thread, w + 1: worker w */
    /* A plain 1:1 source is read straight from its raster at full
     * resolution (the input VRT would return the same values, at a
     * quarter more CPU): its clones and band, else NULL. */
    pvrt_clones *direct;
    int direct_band;
    int width, height;
    /* Per slot: working buffers kept from tile to tile (a fresh large
     * allocation per tile cost page faults). */
    int nslots;
    double **scratch;
    size_t *scratch_doubles;
} halo_band;

struct pvrt_halo {
    int text_state; /* 0: not loaded, 1: loaded, -1: not readable */
    pvrt_vrt_text text;
    int nbands;
    halo_band *bands; /* nbands + 1, by band number */
};

int pvrt_halo_band(const pvrt_dataset *ds, int band)
{
    return ds->bands != NULL && band >= 1 && band <= ds->nbands &&
           ds->bands[band - 1].halo;
}

static void band_clear(halo_band *hb)
{
    CPLFree(hb->function);
    CSLDestroy(hb->args);
    pvrt_nbhd_free(hb->kernel);
    pvrt_clones_free(hb->input);
    pvrt_clones_free(hb->direct);
    for (int i = 0; hb->scratch && i < hb->nslots; i++)
        VSIFree(hb->scratch[i]);
    CPLFree(hb->scratch);
    CPLFree(hb->scratch_doubles);
    memset(hb, 0, sizeof *hb);
}

/* Slot `slot`'s working buffer of at least n doubles, or NULL. Only that
 * slot's thread calls it. */
static double *scratch_get(const halo_band *hb, int slot, size_t n)
{
    if (slot < 0 || slot >= hb->nslots)
        return NULL;
    if (hb->scratch_doubles[slot] < n) {
        VSIFree(hb->scratch[slot]);
        hb->scratch[slot] = (double *)VSI_MALLOC2_VERBOSE(n, sizeof(double));
        hb->scratch_doubles[slot] = hb->scratch[slot] ? n : 0;
    }
    return hb->scratch[slot];
}

void pvrt_halo_free(struct pvrt_halo *h)
{
    if (h == NULL)
        return;
    for (int b = 0; h->bands && b <= h->nbands; b++)
        band_clear(&h->bands[b]);
    CPLFree(h->bands);
    pvrt__vrt_text_clear(&h->text);
    CPLFree(h);
}

/* ---- Building a band's state ------------------------------------------ */

/* The <PixelFunctionArguments> attributes as NAME=VALUE strings. */
static char **band_args(CPLXMLNode *band)
{
    char **args = NULL;
    CPLXMLNode *a = CPLGetXMLNode(band, "PixelFunctionArguments");
    for (CPLXMLNode *c = a ? a->psChild : NULL; c; c = c->psNext)
        if (c->eType == CXT_Attribute && c->psChild)
            args = CSLSetNameValue(args, c->pszValue, c->psChild->pszValue);
    return args;
}

/* The path of the raster a source element names, as the VRT driver
 * resolves it (CPLFree it), or NULL. */
static char *source_path(const pvrt_vrt_text *t, CPLXMLNode *src)
{
    const char *name = CPLGetXMLValue(src, "SourceFilename", NULL);
    if (name == NULL)
        return NULL;
    const int relative =
        CPLTestBool(CPLGetXMLValue(src, "SourceFilename.relativeToVRT", "NO"));
    return CPLStrdup(relative && *t->root_path
                         ? CPLFormFilename(t->root_path, name, NULL)
                         : name);
}

/* Whether a 1:1 read of the source element's raster returns what the VRT
 * hands the function: a SimpleSource, or a ComplexSource that changes no
 * value, whose rectangles are absent or the whole raster, over a raster
 * the VRT's size. */
static int source_is_plain(CPLXMLNode *src, int w, int h, GDALDatasetH raster,
                           int nband)
{
    if (!EQUAL(src->pszValue, "SimpleSource") &&
        !EQUAL(src->pszValue, "ComplexSource"))
        return 0;
    for (CPLXMLNode *c = src->psChild; c; c = c->psNext) {
        if (c->eType != CXT_Element)
            continue;
        if (!EQUAL(c->pszValue, "SourceFilename") &&
            !EQUAL(c->pszValue, "SourceBand") &&
            !EQUAL(c->pszValue, "SourceProperties") &&
            !EQUAL(c->pszValue, "SrcRect") && !EQUAL(c->pszValue, "DstRect"))
            return 0; /* NODATA, scaling, LUT, masks, ...: not plain */
    }
    for (int r = 0; r < 2; r++) {
        CPLXMLNode *rect = CPLGetXMLNode(src, r ? "DstRect" : "SrcRect");
        if (rect != NULL && (CPLAtof(CPLGetXMLValue(rect, "xOff", "0")) != 0 ||
                             CPLAtof(CPLGetXMLValue(rect, "yOff", "0")) != 0 ||
                             CPLAtof(CPLGetXMLValue(rect, "xSize", "0")) != w ||
                             CPLAtof(CPLGetXMLValue(rect, "ySize", "0")) != h))
            return 0;
    }
    return raster != NULL && GDALGetRasterXSize(raster) == w &&
           GDALGetRasterYSize(raster) == h &&
           GDALGetRasterBand(raster, nband) != NULL;
}

/* What the source element's raster says: its NoData (returns 1 when it has
 * one), its data type (GDT_Unknown when it cannot be opened), and whether
 * it can be read directly (source_is_plain). */
static int source_raster_info(const pvrt_vrt_text *t, CPLXMLNode *src, int w,
                              int h, double *value, GDALDataType *type,
                              int *plain)
{
    *type = GDT_Unknown;
    *plain = 0;
    char *path = source_path(t, src);
    if (path == NULL)
        return 0;
    const int nband = atoi(CPLGetXMLValue(src, "SourceBand", "1"));
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH ds =
        GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    int has = 0;
    if (ds != NULL) {
        GDALRasterBandH b = GDALGetRasterBand(ds, nband);
        if (b != NULL) {
            *value = GDALGetRasterNoDataValue(b, &has);
            *type = GDALGetRasterDataType(b);
        }
        *plain = source_is_plain(src, w, h, ds, nband);
        GDALClose(ds);
    }
    CPLPopErrorHandler();
    CPLErrorReset();
    CPLFree(path);
    return has;
}

/* The input VRT of band b (see the top of this file). Sets *nodata from a
 * ComplexSource's <NODATA> it removes. */
static char *input_xml(const pvrt_vrt_text *t, int b, int *has_nodata,
                       double *nodata)
{
    CPLXMLNode *band = pvrt__vrt_capture_band(t, b, 0, GDT_Float64);
    for (CPLXMLNode *c = band->psChild; c; c = c->psNext) {
        if (c->eType != CXT_Element || !pvrt__vrt_is_source(c->pszValue))
            continue;
        CPLXMLNode *nd = CPLGetXMLNode(c, "NODATA");
        if (nd != NULL) {
            *has_nodata = 1;
            *nodata = CPLAtof(CPLGetXMLValue(c, "NODATA", "0"));
            CPLRemoveXMLChild(c, nd);
            CPLDestroyXMLNode(nd);
        }
    }
    CPLSetXMLValue(band, "#dataType", "Float64");
    return pvrt__vrt_capture_dataset(t, band, NULL);
}

/* Builds band b's state. Returns 0, or -1 after a CPLError. */
static int band_build(pvrt_dataset *ds, struct pvrt_halo *h, int b)
{
    halo_band *hb = &h->bands[b];
    const char *desc = GDALGetDescription(ds->primary);
    if (h->text_state == 0)
        h->text_state =
            pvrt__vrt_text_load(ds->primary, &h->text) == 0 ? 1 : -1;
    CPLXMLNode *node = h->text_state == 1 ? pvrt__vrt_band(&h->text, b) : NULL;
    if (node == NULL) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "PVRT: band %d of %s uses a neighbourhood function, which "
                 "PVRT computes from the VRT's own text; that text could not "
                 "be read",
                 b, desc);
        return -1;
    }
    hb->function =
        CPLStrdup(CPLGetXMLValue(node, "PixelFunctionType", "(none)"));
    int nsources = 0;
    CPLXMLNode *src = NULL;
    for (CPLXMLNode *c = node->psChild; c; c = c->psNext)
        if (c->eType == CXT_Element &&
            pvrt__vrt_ends_with_source(c->pszValue)) {
            nsources++;
            src = c;
        }
    if (nsources != 1 || !pvrt__vrt_is_source(src->pszValue)) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "%s: band %d of %s needs exactly one SimpleSource or "
                 "ComplexSource, it has %d source element(s)",
                 hb->function, b, desc, nsources);
        return -1;
    }
    if (!EQUAL(CPLGetXMLValue(node, "PixelFunctionLanguage", "C"), "C")) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "%s: band %d of %s: PixelFunctionLanguage must be C",
                 hb->function, b, desc);
        return -1;
    }
    hb->args = band_args(node);

    /* Geometry and NoData. */
    GDALRasterBandH band = GDALGetRasterBand(ds->primary, b);
    hb->width = GDALGetRasterBandXSize(band);
    hb->height = GDALGetRasterBandYSize(band);
    double gt[6] = {0, 1, 0, 0, 0, 1};
    if (GDALGetGeoTransform(ds->primary, gt) != CE_None) {
        gt[1] = 1;
        gt[5] = 1;
        CPLErrorReset();
    }
    hb->geo.pixel_w = gt[1];
    hb->geo.pixel_h = gt[5];
    hb->geo.nodata = GDALGetRasterNoDataValue(band, &hb->geo.has_nodata);
    int complex_nd = 0;
    double complex_value = 0;
    char *xml = input_xml(&h->text, b, &complex_nd, &complex_value);
    double v = 0;
    const int given = pvrt_nbhd_input_nodata(hb->function, hb->args, &v);
    if (given < 0) {
        CPLFree(xml);
        return -1;
    }
    double raster_nd = 0;
    int plain = 0;
    const int raster_has_nd =
        source_raster_info(&h->text, src, hb->width, hb->height, &raster_nd,
                           &hb->geo.src_type, &plain);
    /* A ComplexSource that transforms values hands the kernel values that
     * are no longer the raster's type. */
    static const char *const transforms[] = {"ScaleOffset", "ScaleRatio", "LUT",
                                             "Exponent", NULL};
    for (int i = 0; transforms[i]; i++)
        if (CPLGetXMLNode(src, transforms[i]) != NULL)
            hb->geo.src_type = GDT_Unknown;
    if (given) {
        hb->geo.has_src_nodata = 1;
        hb->geo.src_nodata = v;
    } else if (complex_nd) {
        hb->geo.has_src_nodata = 1;
        hb->geo.src_nodata = complex_value;
    } else {
        hb->geo.has_src_nodata = raster_has_nd;
        hb->geo.src_nodata = raster_nd;
    }

    hb->kernel = pvrt_nbhd_new(hb->function, hb->args, &hb->geo);
    if (hb->kernel == NULL) {
        CPLFree(xml);
        return -1;
    }
    hb->radius = pvrt_nbhd_radius(hb->kernel);
    const char *br = CPLGetXMLValue(node, "BufferRadius", NULL);
    if (br != NULL && atoi(br) != hb->radius) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "%s: band %d of %s: <BufferRadius> is %s, but the function "
                 "reads %d pixel(s) around each pixel: remove it or set it "
                 "to %d",
                 hb->function, b, desc, br, hb->radius, hb->radius);
        CPLFree(xml);
        return -1;
    }

    char **oo = CSLSetNameValue(NULL, "ROOT_PATH", h->text.root_path);
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 10, 0)
    oo = CSLSetNameValue(oo, "NUM_THREADS", "1");
#endif
    const char *const vrt_only[] = {"VRT", NULL};
    hb->input = pvrt_clones_new(xml, vrt_only, oo, ds->threads);
    CSLDestroy(oo);
    CPLFree(xml);
    GDALDatasetH in = hb->input ? pvrt_clones_get(hb->input, 0) : NULL;
    if (in == NULL)
        return -1;
    if (h->text.relative && !pvrt__vrt_files_within(in, ds->primary)) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "%s: band %d of %s: its source did not resolve where the "
                 "VRT's did (a relative path through a link?)",
                 hb->function, b, desc);
        return -1;
    }
    if (plain) {
        char *path = source_path(&h->text, src);
        hb->direct = pvrt_clones_new(path, NULL, NULL, ds->threads);
        hb->direct_band = atoi(CPLGetXMLValue(src, "SourceBand", "1"));
        CPLFree(path);
        if (hb->direct == NULL)
            return -1;
    }
    hb->nslots = ds->threads;
    hb->scratch = (double **)CPLCalloc(hb->nslots, sizeof(double *));
    hb->scratch_doubles = (size_t *)CPLCalloc(hb->nslots, sizeof(size_t));
    CPLDebug("PVRT", "halo: band %d of %s, %s, radius %d, source read %s", b,
             desc, hb->function, hb->radius,
             hb->direct ? "directly" : "through the input VRT");
    return 0;
}

/* Band b's state, built on first use. NULL after a CPLError. */
static halo_band *band_get(pvrt_dataset *ds, int b)
{
    if (ds->halo == NULL) {
        struct pvrt_halo *h =
            (struct pvrt_halo *)CPLCalloc(1, sizeof(struct pvrt_halo));
        h->nbands = ds->nbands;
        h->bands = (halo_band *)CPLCalloc(h->nbands + 1, sizeof(halo_band));
        ds->halo = h;
    }
    halo_band *hb = &ds->halo->bands[b];
    if (hb->state == 1)
        return hb;
    band_clear(hb);
    if (band_build(ds, ds->halo, b) != 0) {
        band_clear(hb);
        hb->state = -1;
        return NULL;
    }
    hb->state = 1;
    return hb;
}

/* ---- Jobs --------------------------------------------------------------- */

typedef struct halo_job {
    pvrt_dataset *ds;
    const pvrt_request *rq;
    halo_band *hb;
    const pvrt_nbhd *kernel;
    const pvrt_rect *tiles; /* full resolution: tiles of the window */
    /* reduced resolution: the grown buffer, read once */
    const double *in;
    int in_w, in_h, grow_left, grow_top, nstripes;
    char **config;
    int depth;
    pvrt_errlog *log;
    GDALProgressFunc progress;
    void *progress_data;
} halo_job;

/* Writes out_w x out_h doubles to the request's buffer at (bx, by). */
static void write_out(const pvrt_request *rq, const double *out, int bx, int by,
                      int out_w, int out_h)
{
    GByte *dst = (GByte *)rq->buf + (GSpacing)bx * rq->pixel_space +
                 (GSpacing)by * rq->line_space;
    for (int r = 0; r < out_h; r++)
        GDALCopyWords(out + (size_t)r * out_w, GDT_Float64, sizeof(double),
                      dst + r * rq->line_space, rq->buf_type,
                      (int)rq->pixel_space, out_w);
}

/* Whether a band of type t read into float holds what it read into
 * double and converted by GDALCopyWords holds: its values are exact in
 * double, so either way rounds once, to the nearest float. */
static int float_read_exact(GDALDataType t)
{
    return t != GDT_Unknown && t != GDT_Int64 && t != GDT_UInt64 &&
           !GDALDataTypeIsComplex(t);
}

static int tile_job(void *ctx, int index, int worker)
{
    halo_job *job = (halo_job *)ctx;
    const pvrt_request *rq = job->rq;
    const halo_band *hb = job->hb;
    const pvrt_rect *t = &job->tiles[index];
    pvrt_job_scope js;
    pvrt_job_enter(&js, job->config, job->depth, job->log, index, worker);

    int ok = 0;
    const int R = hb->radius;
    const int tx = rq->x + t->x, ty = rq->y + t->y;
    const int x0 = tx - R > 0 ? tx - R : 0;
    const int y0 = ty - R > 0 ? ty - R : 0;
    const int x1 = tx + t->w + R < hb->width ? tx + t->w + R : hb->width;
    const int y1 = ty + t->h + R < hb->height ? ty + t->h + R : hb->height;
    const int iw = x1 - x0, ih = y1 - y0;
    const size_t nin = (size_t)iw * ih, nout = (size_t)t->w * t->h;
    double *in = scratch_get(hb, worker + 1, nin + nout);
    double *out = in ? in + nin : NULL;
    GDALRasterBandH band = NULL;
    if (hb->direct) {
        GDALDatasetH h = pvrt_clones_get(hb->direct, worker + 1);
        band = h ? GDALGetRasterBand(h, hb->direct_band) : NULL;
    } else {
        GDALDatasetH h = pvrt_clones_get(hb->input, worker + 1);
        band = h ? GDALGetRasterBand(h, 2) : NULL;
    }
    /* A kernel that computes in float takes a plain source read straight
     * into float (the same values, half the input's bytes). */
    const int as_float = hb->direct && band &&
                         pvrt_nbhd_takes_float(job->kernel) &&
                         float_read_exact(GDALGetRasterDataType(band));
    if (in && band &&
        GDALRasterIO(band, GF_Read, x0, y0, iw, ih, in, iw, ih,
                     as_float ? GDT_Float32 : GDT_Float64, 0, 0) == CE_None &&
        (as_float
             ? pvrt_nbhd_compute_float(job->kernel, (const float *)in, iw, ih,
                                       tx - x0, ty - y0, out, t->w, t->h)
             : pvrt_nbhd_compute(job->kernel, in, iw, ih, tx - x0, ty - y0, out,
                                 t->w, t->h)) == 0) {
        write_out(rq, out, t->x, t->y, t->w, t->h);
        ok = 1;
    }
    pvrt_job_leave(&js, worker);
    return ok ? 0 : -1;
}

static int stripe_job(void *ctx, int index, int worker)
{
    halo_job *job = (halo_job *)ctx;
    const pvrt_request *rq = job->rq;
    pvrt_job_scope js;
    pvrt_job_enter(&js, job->config, job->depth, job->log, index, worker);
    const int R = job->hb->radius;
    const int r0 = (int)((int64_t)rq->buf_h * index / job->nstripes);
    const int r1 = (int)((int64_t)rq->buf_h * (index + 1) / job->nstripes);
    /* Input rows of the stripe: its own, grown by R within the buffer. */
    const int first = r0 + job->grow_top - R > 0 ? r0 + job->grow_top - R : 0;
    const int last =
        r1 + job->grow_top + R < job->in_h ? r1 + job->grow_top + R : job->in_h;
    int ok = 0;
    double *out =
        (double *)VSI_MALLOC3_VERBOSE(sizeof(double), rq->buf_w, r1 - r0);
    if (out && pvrt_nbhd_compute(
                   job->kernel, job->in + (size_t)first * job->in_w, job->in_w,
                   last - first, job->grow_left, r0 + job->grow_top - first,
                   out, rq->buf_w, r1 - r0) == 0) {
        write_out(rq, out, 0, r0, rq->buf_w, r1 - r0);
        ok = 1;
    }
    VSIFree(out);
    pvrt_job_leave(&js, worker);
    return ok ? 0 : -1;
}

static int job_progress(void *ctx, double fraction)
{
    halo_job *job = (halo_job *)ctx;
    return job->progress(fraction, "", job->progress_data);
}

/* Runs the job's batch; CE_None, or CE_Failure with its errors raised. */
static CPLErr run(halo_job *job, int njobs, pvrt_job_fn fn, int threads)
{
    job->config = CPLGetThreadLocalConfigOptions();
    job->depth = pvrt_read_depth();
    job->log = pvrt_errlog_new();
    if (job->log == NULL) {
        CSLDestroy(job->config);
        CPLError(CE_Failure, CPLE_OutOfMemory, "PVRT: out of memory");
        return CE_Failure;
    }
    pvrt_batch_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.njobs = njobs;
    spec.max_workers = threads - 1 < njobs - 1 ? threads - 1 : njobs - 1;
    if (pvrt_pool_in_worker())
        spec.max_workers = 0;
    spec.fn = fn;
    spec.ctx = job;
    spec.progress = job->progress ? job_progress : NULL;
    spec.progress_ctx = job;
    const CPLErr err = pvrt__run_batch(job->ds, &spec, job->log);
    CSLDestroy(job->config);
    return err;
}

/* ---- Reads -------------------------------------------------------------- */

static CPLErr read_full(pvrt_dataset *ds, const pvrt_request *rq, halo_band *hb,
                        int threads)
{
    pvrt_rect whole = {0, 0, rq->w, rq->h};
    pvrt_rect *tiles = NULL;
    int ntiles = 1;
    const int64_t pixels = (int64_t)rq->w * rq->h;
    /* input and output doubles (the input grown by the halo), and the
     * output */
    const int64_t bpp = 2 * (int64_t)sizeof(double) * 2 +
                        GDALGetDataTypeSizeBytes(rq->buf_type);
    const int split =
        threads > 1 && !pvrt_pool_in_worker() &&
        (pixels >= 2 * ds->min_tile_pixels * threads || ds->force_w > 0);
    /* Serial reads too are tiled within the tile budget: working memory
     * stays bounded whatever the request. */
    if (split || pixels * bpp > ds->tile_budget) {
        pvrt_tile_params p;
        pvrt__tile_params(ds, rq, split ? threads : 1, &p);
        p.bytes_per_pixel = bpp;
        ntiles = pvrt_tiles_plan(&p, &tiles);
        if (ntiles < 0) {
            CPLError(CE_Failure, CPLE_OutOfMemory, "PVRT: out of memory");
            return CE_Failure;
        }
    }
    __atomic_store_n(&ds->last_tiles, ntiles, __ATOMIC_RELAXED);
    if (ntiles > 1)
        __atomic_add_fetch(&ds->split_reads, 1, __ATOMIC_RELAXED);
    halo_job job;
    memset(&job, 0, sizeof job);
    job.ds = ds;
    job.rq = rq;
    job.hb = hb;
    job.kernel = hb->kernel;
    job.tiles = ntiles > 1 ? tiles : &whole;
    job.progress = rq->extra ? rq->extra->pfnProgress : NULL;
    job.progress_data = rq->extra ? rq->extra->pProgressData : NULL;
    const CPLErr err = run(&job, ntiles, tile_job, split ? threads : 1);
    free(tiles);
    return err;
}

/* Buffer pixels of size `ratio` that fit in `room` raster pixels, at most
 * r (a hair of tolerance for the division). */
static int grow_by(double room, double ratio, int r)
{
    const double n = floor(room / ratio + 1e-9);
    return n < 0 ? 0 : n > r ? r : (int)n;
}

static CPLErr read_reduced(pvrt_dataset *ds, const pvrt_request *rq,
                           halo_band *hb, int threads)
{
    const GDALRasterIOExtraArg *e = rq->extra;
    const int fwin = e && e->bFloatingPointWindowValidity;
    const double fx = fwin ? e->dfXOff : rq->x, fy = fwin ? e->dfYOff : rq->y;
    const double fw = fwin ? e->dfXSize : rq->w, fh = fwin ? e->dfYSize : rq->h;
    const double rx = fw / rq->buf_w, ry = fh / rq->buf_h;
    const int R = hb->radius;
    const int gl = grow_by(fx, rx, R), gt = grow_by(fy, ry, R);
    const int gr = grow_by(hb->width - (fx + fw), rx, R);
    const int gb = grow_by(hb->height - (fy + fh), ry, R);
    double ex = fx - gl * rx, ey = fy - gt * ry;
    double ew = fw + (gl + gr) * rx, eh = fh + (gt + gb) * ry;
    if (ex < 0)
        ex = 0;
    if (ey < 0)
        ey = 0;
    if (ex + ew > hb->width)
        ew = hb->width - ex;
    if (ey + eh > hb->height)
        eh = hb->height - ey;
    const int in_w = rq->buf_w + gl + gr, in_h = rq->buf_h + gt + gb;
    int ix = (int)floor(ex), iy = (int)floor(ey);
    int iw = (int)ceil(ex + ew) - ix, ih = (int)ceil(ey + eh) - iy;
    if (ix + iw > hb->width)
        iw = hb->width - ix;
    if (iy + ih > hb->height)
        ih = hb->height - iy;

    /* The kernel at this resolution. */
    pvrt_nbhd_geo geo = hb->geo;
    geo.pixel_w *= rx;
    geo.pixel_h *= ry;
    pvrt_nbhd *kernel = pvrt_nbhd_new(hb->function, hb->args, &geo);
    if (kernel == NULL)
        return CE_Failure;
    double *in = (double *)VSI_MALLOC3_VERBOSE(sizeof(double), in_w, in_h);
    GDALDatasetH h = pvrt_clones_get(hb->input, 0);
    GDALRasterBandH band = h ? GDALGetRasterBand(h, 2) : NULL;
    CPLErr err = CE_Failure;
    if (in && band) {
        GDALRasterIOExtraArg extra;
        INIT_RASTERIO_EXTRA_ARG(extra);
        extra.eResampleAlg = e ? e->eResampleAlg : GRIORA_NearestNeighbour;
        extra.bFloatingPointWindowValidity = TRUE;
        extra.dfXOff = ex;
        extra.dfYOff = ey;
        extra.dfXSize = ew;
        extra.dfYSize = eh;
        err = GDALRasterIOEx(band, GF_Read, ix, iy, iw, ih, in, in_w, in_h,
                             GDT_Float64, 0, 0, &extra);
    }
    if (err == CE_None) {
        halo_job job;
        memset(&job, 0, sizeof job);
        job.ds = ds;
        job.rq = rq;
        job.hb = hb;
        job.kernel = kernel;
        job.in = in;
        job.in_w = in_w;
        job.in_h = in_h;
        job.grow_left = gl;
        job.grow_top = gt;
        job.nstripes = rq->buf_h < 2 * threads ? 1 : 2 * threads;
        if (pvrt_pool_in_worker() || threads < 2)
            job.nstripes = 1;
        __atomic_store_n(&ds->last_tiles, job.nstripes, __ATOMIC_RELAXED);
        err = run(&job, job.nstripes, stripe_job, threads);
    }
    VSIFree(in);
    pvrt_nbhd_free(kernel);
    return err;
}

/* The band's values for the mask's request, then GDAL's NoData mask of
 * them: a MEM band on the values with the band's type and NoData. */
static CPLErr read_mask(pvrt_dataset *ds, const pvrt_request *rq, halo_band *hb,
                        int threads)
{
    GDALRasterBandH parent = GDALGetRasterBand(ds->primary, rq->path->band);
    const GDALDataType t = GDALGetRasterDataType(parent);
    const int size = GDALGetDataTypeSizeBytes(t);
    int has_nodata = 0;
    const double nodata = GDALGetRasterNoDataValue(parent, &has_nodata);
    if (!has_nodata) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "PVRT: band %d of %s has no NoData value to mask",
                 rq->path->band, GDALGetDescription(ds->primary));
        return CE_Failure;
    }
    GByte *values = (GByte *)VSI_MALLOC3_VERBOSE(size, rq->buf_w, rq->buf_h);
    if (values == NULL)
        return CE_Failure;
    pvrt_band_path path = *rq->path;
    path.mask = 0;
    pvrt_request vrq = *rq;
    vrq.path = &path;
    vrq.buf = values;
    vrq.buf_type = t;
    vrq.pixel_space = size;
    vrq.line_space = (GSpacing)size * rq->buf_w;
    vrq.band_space = 0;
    CPLErr err = pvrt__is_resampled(&vrq) ? read_reduced(ds, &vrq, hb, threads)
                                          : read_full(ds, &vrq, hb, threads);
    if (err == CE_None &&
        !pvrt__nodata_mask(values, t, rq->buf_w, rq->buf_h, nodata, rq->buf,
                           rq->buf_type, rq->pixel_space, rq->line_space,
                           &err)) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "PVRT: could not compute the mask of band %d of %s",
                 rq->path->band, GDALGetDescription(ds->primary));
        err = CE_Failure;
    }
    VSIFree(values);
    return err;
}

CPLErr pvrt_halo_read(pvrt_dataset *ds, const pvrt_request *rq, int threads)
{
    halo_band *hb = band_get(ds, rq->path->band);
    if (hb == NULL)
        return CE_Failure;
    if (rq->path->mask)
        return read_mask(ds, rq, hb, threads);
    return pvrt__is_resampled(rq) ? read_reduced(ds, rq, hb, threads)
                                  : read_full(ds, rq, hb, threads);
}
