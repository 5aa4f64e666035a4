/* gather.c: see gather.h.
 *
 * GDAL's VRTDerivedRasterBand::IRasterIO (3.6 to 3.10) fills one packed
 * buffer per source, at buffer resolution, in the transfer type (the
 * band's SourceTransferType, else the caller's buffer type), initialised to
 * the band's NoData or 0, each by the source's own RasterIO with the
 * request's window, floating-point window and resampling; then it calls the
 * pixel function once over them. Both steps are done here by GDAL itself:
 *
 * - Gather: source k is read through a "capture VRT": the VRT's own text
 *   reduced to this band with source k alone, the same NoData and band
 *   type, SourceTransferType set to the transfer type and the pixel
 *   function replaced by pvrt__capture (an identity copy). Read in the
 *   transfer type, it returns the very buffer GDAL would have filled. The
 *   capture VRT has a first, empty band so GDAL builds no implicit overviews
 *   for it (a one-source VRT would get them, and a downsampled read would
 *   take another path). The N reads run at once on the pool, each worker
 *   through its own handle of each capture VRT (kept per dataset).
 * - Apply: the gathered buffers are exposed as MEM datasets (no copy),
 *   sources 1:1 of an "apply VRT" of the buffer's size carrying
 *   the band's own pixel function, arguments, NoData, scale and offset, with
 *   the same SourceTransferType. Pixel functions are per pixel (GDAL 3.6 to
 *   3.10 pass them no position), so its row stripes, read in parallel
 *   straight into the caller's buffer, are the whole call's rows.
 *
 * Whatever cannot be shown to be that computation is declined: other GDAL
 * versions, Python functions, SkipNonContributingSources, bands with
 * overviews (the shim reads those through the overview GDAL picks), one
 * source or more than GATHER_MAX_SOURCES, source kinds not known here,
 * hidden NoData, VRTs not read from their own text (or whose relative
 * sources resolve elsewhere), buffers under MIN_TILE_PIXELS, and buffers
 * over the memory budget. A failed read is declined too, before or after
 * the stripes wrote: the primary then does the whole read and reports what
 * GDAL reports. Its first step sets every pixel of the buffer (0 or NoData)
 * unless pixels are spaced apart and the band has no NoData: only then may
 * a failed read leave pixels of failed stripes where GDAL would not. */
#include "gather.h"

#include "errcap.h"
#include "pool.h"
#include "vrtxml.h"

#include <cpl_conv.h>
#include <cpl_minixml.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include <string.h>

#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 6, 0) &&                       \
    GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 11, 0)
#define GATHER_SUPPORTED 1
#else
#define GATHER_SUPPORTED 0
#endif

#define GATHER_MAX_SOURCES 64

/* The capture VRTs of one band read in one transfer type. */
typedef struct gather_capture {
    int band;
    GDALDataType transfer;
    int ok; /* 0: declined for good */
    int nsources;
    pvrt_clones **clones; /* per source; slot worker + 1 */
} gather_capture;

struct pvrt_gather {
    int state; /* 1: usable, -1: nothing to gather */
    pvrt_vrt_text text;
    int *band_ok; /* per band: 0 unknown, 1 usable, -1 declined */
    int nbands;
    gather_capture *caps;
    int ncaps;
};

/* ---- The VRT's own text ---------------------------------------------- */

/* Whether band b can be gathered, from its XML; 1 yes, -1 no. */
static int inspect_band(const pvrt_dataset *ds, struct pvrt_gather *g, int b)
{
    CPLXMLNode *n = pvrt__vrt_band(&g->text, b);
    if (n == NULL ||
        !EQUAL(CPLGetXMLValue(n, "subClass", ""), "VRTDerivedRasterBand") ||
        !EQUAL(CPLGetXMLValue(n, "PixelFunctionLanguage", "C"), "C") ||
        CPLGetXMLNode(n, "BufferRadius") != NULL ||
        CPLTestBool(CPLGetXMLValue(n, "HideNoDataValue", "NO")) ||
        CPLTestBool(CPLGetXMLValue(n, "SkipNonContributingSources", "NO")))
        return -1;
    int nsources = 0;
    for (CPLXMLNode *c = n->psChild; c; c = c->psNext) {
        if (c->eType != CXT_Element)
            continue;
        if (pvrt__vrt_is_source(c->pszValue))
            nsources++;
        else if (pvrt__vrt_ends_with_source(c->pszValue))
            return -1; /* a source kind not known here */
    }
    if (nsources < 2 || nsources > GATHER_MAX_SOURCES ||
        ds->bands[b - 1].nsources != nsources)
        return -1;
    return 1;
}

/* The apply VRT: band b's function over the gathered buffers of w x h in
 * type t, as MEM datasets on them (read 1:1 in their own type: a copy). */
static char *apply_xml(struct pvrt_gather *g, int b, GDALDataType t, int w,
                       int h, int nsources, GByte *const *bufs)
{
    CPLXMLNode *band = pvrt__vrt_clone_one(pvrt__vrt_band(&g->text, b));
    pvrt__vrt_prune_band(band, -1);
    CPLSetXMLValue(band, "#band", "1");
    CPLSetXMLValue(band, "SourceTransferType", GDALGetDataTypeName(t));
    for (int k = 0; k < nsources; k++) {
        char ptr[64] = {0}; /* CPLPrintPointer does not terminate it */
        CPLPrintPointer(ptr, bufs[k], sizeof ptr - 1);
        CPLXMLNode *s = CPLCreateXMLNode(band, CXT_Element, "SimpleSource");
        CPLXMLNode *f = CPLCreateXMLElementAndValue(
            s, "SourceFilename",
            CPLSPrintf("MEM:::DATAPOINTER=%s,PIXELS=%d,LINES=%d,BANDS=1,"
                       "DATATYPE=%s",
                       ptr, w, h, GDALGetDataTypeName(t)));
        CPLSetXMLValue(f, "#relativeToVRT", "0");
        /* Not shared with other VRTs: GDAL's source pool closes it when
         * the apply VRT closes, before the buffer is freed. */
        CPLSetXMLValue(f, "#shared", "0");
        CPLCreateXMLElementAndValue(s, "SourceBand", "1");
        for (int r = 0; r < 2; r++) {
            CPLXMLNode *rect =
                CPLCreateXMLNode(s, CXT_Element, r ? "DstRect" : "SrcRect");
            CPLSetXMLValue(rect, "#xOff", "0");
            CPLSetXMLValue(rect, "#yOff", "0");
            CPLSetXMLValue(rect, "#xSize", CPLSPrintf("%d", w));
            CPLSetXMLValue(rect, "#ySize", CPLSPrintf("%d", h));
        }
    }
    return pvrt__vrt_dataset_xml(w, h, band, NULL);
}

/* ---- Capture sets ------------------------------------------------------- */

static void capture_clear(gather_capture *c)
{
    for (int k = 0; c->clones && k < c->nsources; k++)
        pvrt_clones_free(c->clones[k]);
    CPLFree(c->clones);
    c->clones = NULL;
}

/* Opens the caller's handles of a new capture set and checks them; the
 * workers open theirs on first use. Returns 0, or -1 (nothing reported). */
static int capture_build(pvrt_dataset *ds, struct pvrt_gather *g,
                         gather_capture *c)
{
    GDALRasterBandH orig = GDALGetRasterBand(ds->primary, c->band);
    int has_nd = 0;
    const double nd = GDALGetRasterNoDataValue(orig, &has_nd);
    char **oo = CSLSetNameValue(NULL, "ROOT_PATH", g->text.root_path);
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 10, 0)
    oo = CSLSetNameValue(oo, "NUM_THREADS", "1");
#endif
    const char *const vrt_only[] = {"VRT", NULL};
    c->clones = (pvrt_clones **)CPLCalloc(c->nsources, sizeof(pvrt_clones *));
    int ok = 1;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    for (int k = 0; ok && k < c->nsources; k++) {
        char *xml = pvrt__vrt_capture_dataset(
            &g->text,
            pvrt__vrt_capture_band(&g->text, c->band, k, c->transfer));
        c->clones[k] = pvrt_clones_new(xml, vrt_only, oo, ds->threads);
        CPLFree(xml);
        GDALDatasetH h = c->clones[k] ? pvrt_clones_get(c->clones[k], 0) : NULL;
        GDALRasterBandH band = h ? GDALGetRasterBand(h, 2) : NULL;
        int cap_has_nd = 0;
        const double cap_nd =
            band ? GDALGetRasterNoDataValue(band, &cap_has_nd) : 0;
        ok = band != NULL && GDALGetOverviewCount(band) == 0 &&
             cap_has_nd == has_nd &&
             (!has_nd || memcmp(&nd, &cap_nd, sizeof nd) == 0) &&
             (!g->text.relative || pvrt__vrt_files_within(h, ds->primary));
    }
    CPLPopErrorHandler();
    CSLDestroy(oo);
    if (!ok)
        capture_clear(c);
    return ok ? 0 : -1;
}

/* The capture set of band b in transfer type t, made on first use; NULL
 * when declined. */
static gather_capture *capture_get(pvrt_dataset *ds, struct pvrt_gather *g,
                                   int b, GDALDataType t)
{
    for (int i = 0; i < g->ncaps; i++)
        if (g->caps[i].band == b && g->caps[i].transfer == t)
            return g->caps[i].ok ? &g->caps[i] : NULL;
    g->caps = (gather_capture *)CPLRealloc(g->caps, (g->ncaps + 1) *
                                                        sizeof(gather_capture));
    gather_capture *c = &g->caps[g->ncaps++];
    memset(c, 0, sizeof *c);
    c->band = b;
    c->transfer = t;
    c->nsources = ds->bands[b - 1].nsources;
    c->ok = capture_build(ds, g, c) == 0;
    CPLDebug("PVRT", "gather: band %d of %s, transfer type %s: %s", b,
             GDALGetDescription(ds->primary), GDALGetDataTypeName(t),
             c->ok ? "capture VRTs ready" : "declined");
    return c->ok ? c : NULL;
}

/* The dataset's gather state, made on first use; NULL when none. */
static struct pvrt_gather *state_get(pvrt_dataset *ds)
{
    if (ds->gather == NULL) {
        struct pvrt_gather *g =
            (struct pvrt_gather *)CPLCalloc(1, sizeof(struct pvrt_gather));
        ds->gather = g;
        g->state = -1;
        if (ds->bands != NULL &&
            pvrt__vrt_text_load(ds->primary, &g->text) == 0) {
            g->nbands = ds->nbands;
            g->band_ok = (int *)CPLCalloc(g->nbands + 1, sizeof(int));
            g->state = 1;
        }
    }
    return ds->gather->state == 1 ? ds->gather : NULL;
}

/* ---- Jobs --------------------------------------------------------------- */

typedef struct gather_job {
    const pvrt_request *rq;
    gather_capture *cap;
    GDALDataType transfer;
    int tsize;
    GByte **bufs; /* per source: packed buf_w x buf_h of `transfer` */
    GDALRasterIOExtraArg extra;
    pvrt_clones *apply;
    int nstripes;
    GByte *out; /* apply output: the caller's buffer or a packed one */
    GSpacing ps, ls;
    char **config; /* the caller's thread-local config options */
    int depth;     /* the caller's nesting depth (read.h) */
    pvrt_errlog *log;
} gather_job;

static void job_enter(pvrt_job_scope *js, const gather_job *job, int index,
                      int worker)
{
    pvrt_job_enter(js, job->config, job->depth, job->log, index, worker);
}

static int capture_job(void *ctx, int index, int worker)
{
    gather_job *job = (gather_job *)ctx;
    const pvrt_request *rq = job->rq;
    pvrt_job_scope js;
    job_enter(&js, job, index, worker);
    CPLErr err = CE_Failure;
    GDALDatasetH h = pvrt_clones_get(job->cap->clones[index], worker + 1);
    GDALRasterBandH band = h ? GDALGetRasterBand(h, 2) : NULL;
    if (band) {
        GDALRasterIOExtraArg extra = job->extra;
        err = GDALRasterIOEx(band, GF_Read, rq->x, rq->y, rq->w, rq->h,
                             job->bufs[index], rq->buf_w, rq->buf_h,
                             job->transfer, job->tsize,
                             (GSpacing)job->tsize * rq->buf_w, &extra);
    }
    pvrt_job_leave(&js, worker);
    return err == CE_None ? 0 : -1;
}

static int apply_job(void *ctx, int index, int worker)
{
    gather_job *job = (gather_job *)ctx;
    const pvrt_request *rq = job->rq;
    pvrt_job_scope js;
    job_enter(&js, job, index, worker);
    /* The apply VRT's sources are MEM datasets on our buffers (GDAL 3.10+
     * opens those only when asked to); nothing else opens in this job. */
    const char *was =
        CPLGetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", NULL);
    char *saved_mem = was ? CPLStrdup(was) : NULL;
    CPLSetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", "YES");
    const int y0 = (int)((int64_t)rq->buf_h * index / job->nstripes);
    const int y1 = (int)((int64_t)rq->buf_h * (index + 1) / job->nstripes);
    CPLErr err = CE_Failure;
    GDALDatasetH h = pvrt_clones_get(job->apply, worker + 1);
    GDALRasterBandH band = h ? GDALGetRasterBand(h, 1) : NULL;
    if (band)
        err = GDALRasterIOEx(band, GF_Read, 0, y0, rq->buf_w, y1 - y0,
                             job->out + y0 * job->ls, rq->buf_w, y1 - y0,
                             rq->buf_type, job->ps, job->ls, NULL);
    CPLSetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", saved_mem);
    CPLFree(saved_mem);
    pvrt_job_leave(&js, worker);
    return err == CE_None ? 0 : -1;
}

/* Runs njobs of fn; 0 when all succeeded (their messages replayed), -1 when
 * one failed (messages dropped). */
static int run_jobs(pvrt_dataset *ds, gather_job *job, int njobs,
                    pvrt_job_fn fn)
{
    job->log = pvrt_errlog_new();
    if (job->log == NULL)
        return -1;
    pvrt_batch_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.njobs = njobs;
    spec.max_workers =
        ds->threads - 1 < njobs - 1 ? ds->threads - 1 : njobs - 1;
    spec.fn = fn;
    spec.ctx = job;
    const int rc = pvrt_batch_run(&spec);
    if (rc == PVRT_BATCH_OK)
        pvrt_errlog_replay(job->log);
    pvrt_errlog_free(job->log);
    job->log = NULL;
    return rc == PVRT_BATCH_OK ? 0 : -1;
}

/* ---- The read ------------------------------------------------------------ */

/* Whether the request is one this file serves, before any work. */
static int request_ok(const pvrt_dataset *ds, const pvrt_request *rq)
{
    if (!GATHER_SUPPORTED || rq->path == NULL || rq->path->overview >= 0 ||
        rq->path->mask || ds->bands == NULL || rq->path->band < 1 ||
        rq->path->band > ds->nbands || !ds->bands[rq->path->band - 1].derived)
        return 0;
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    if ((int64_t)rq->buf_w * rq->buf_h < ds->min_tile_pixels || size <= 0 ||
        rq->pixel_space < size || rq->line_space < rq->pixel_space * rq->buf_w)
        return 0;
    return 1;
}

/* This thread's last error, restored when the gather declines late. */
typedef struct error_state {
    CPLErr type;
    CPLErrorNum no;
    char *msg;
} error_state;

static void error_save(error_state *s)
{
    s->type = CPLGetLastErrorType();
    s->no = CPLGetLastErrorNo();
    s->msg = CPLStrdup(CPLGetLastErrorMsg());
}

static int error_restore(error_state *s)
{
    CPLErrorSetState(s->type, s->no, s->msg);
    CPLFree(s->msg);
    return 0;
}

static int gather(pvrt_dataset *ds, const pvrt_request *rq);

int pvrt_gather_read(pvrt_dataset *ds, const pvrt_request *rq, CPLErr *err)
{
    if (!request_ok(ds, rq))
        return 0;
    error_state saved;
    error_save(&saved);
    if (!gather(ds, rq))
        return error_restore(&saved);
    CPLFree(saved.msg);
    *err = CE_None;
    return 1;
}

/* The read itself: 1 done, 0 declined (messages dropped). */
static int gather(pvrt_dataset *ds, const pvrt_request *rq)
{
    const int b = rq->path->band;
    GDALRasterBandH orig = GDALGetRasterBand(ds->primary, b);
    if (orig == NULL || GDALGetOverviewCount(orig) > 0)
        return 0;
    struct pvrt_gather *g = state_get(ds);
    if (g == NULL || b > g->nbands)
        return 0;
    if (g->band_ok[b] == 0)
        g->band_ok[b] = inspect_band(ds, g, b);
    if (g->band_ok[b] != 1)
        return 0;

    /* The transfer type GDAL uses, and the memory the buffers take. */
    const char *stt =
        CPLGetXMLValue(pvrt__vrt_band(&g->text, b), "SourceTransferType", NULL);
    const GDALDataType t = stt ? GDALGetDataTypeByName(stt) : rq->buf_type;
    if (t == GDT_Unknown)
        return 0;
    const int tsize = GDALGetDataTypeSizeBytes(t);
    const int nsources = ds->bands[b - 1].nsources;
    const int64_t plane = (int64_t)rq->buf_w * rq->buf_h * tsize;
    if (plane * nsources > (int64_t)ds->threads * ds->tile_budget)
        return 0;
    gather_capture *cap = capture_get(ds, g, b, t);
    if (cap == NULL)
        return 0;

    gather_job job;
    memset(&job, 0, sizeof job);
    job.rq = rq;
    job.cap = cap;
    job.transfer = t;
    job.tsize = tsize;
    INIT_RASTERIO_EXTRA_ARG(job.extra);
    if (rq->extra) {
        job.extra.eResampleAlg = rq->extra->eResampleAlg;
        job.extra.bFloatingPointWindowValidity =
            rq->extra->bFloatingPointWindowValidity;
        job.extra.dfXOff = rq->extra->dfXOff;
        job.extra.dfYOff = rq->extra->dfYOff;
        job.extra.dfXSize = rq->extra->dfXSize;
        job.extra.dfYSize = rq->extra->dfYSize;
    }
    job.bufs = (GByte **)CPLCalloc(nsources, sizeof(GByte *));
    int ok = 1;
    for (int k = 0; ok && k < nsources; k++)
        ok = (job.bufs[k] = (GByte *)VSI_MALLOC_VERBOSE((size_t)plane)) != NULL;
    job.config = CPLGetThreadLocalConfigOptions();
    job.depth = pvrt_read_depth();

    /* Gather. */
    ok = ok && run_jobs(ds, &job, nsources, capture_job) == 0;

    /* Apply, straight into the caller's buffer unless GDAL would clear
     * bytes between its lines (nBufXSize * nBufYSize * nPixelSpace bytes
     * from the start, whatever the line spacing): stripes would clear each
     * other's lines. Then packed, and copied after that clearing. */
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    const GSpacing packed_line = (GSpacing)size * rq->buf_w;
    const int repack = rq->pixel_space == size && rq->line_space != packed_line;
    GByte *packed = NULL;
    if (ok) {
        char *xml =
            apply_xml(g, b, t, rq->buf_w, rq->buf_h, nsources, job.bufs);
        const char *const vrt_only[] = {"VRT", NULL};
        job.apply = pvrt_clones_new(xml, vrt_only, NULL, ds->threads);
        CPLFree(xml);
        ok = job.apply != NULL;
    }
    if (ok && repack) {
        packed = (GByte *)VSI_MALLOC2_VERBOSE((size_t)packed_line, rq->buf_h);
        ok = packed != NULL;
    }
    if (ok) {
        job.out = repack ? packed : (GByte *)rq->buf;
        job.ps = rq->pixel_space;
        job.ls = repack ? packed_line : rq->line_space;
        job.nstripes = rq->buf_h < 2 * ds->threads ? 1 : 2 * ds->threads;
        ok = run_jobs(ds, &job, job.nstripes, apply_job) == 0;
    }
    if (ok && repack) {
        /* What GDAL's derived band does first, gaps included. */
        int has_nd = 0;
        const double nd = GDALGetRasterNoDataValue(
            GDALGetRasterBand(ds->primary, b), &has_nd);
        if (!has_nd || nd == 0)
            memset(rq->buf, 0, (size_t)packed_line * rq->buf_h);
        for (int r = 0; r < rq->buf_h; r++)
            memcpy((GByte *)rq->buf + r * rq->line_space,
                   packed + r * packed_line, (size_t)packed_line);
    }

    pvrt_clones_free(job.apply);
    VSIFree(packed);
    for (int k = 0; k < nsources; k++)
        VSIFree(job.bufs[k]);
    CPLFree(job.bufs);
    CSLDestroy(job.config);
    if (!ok)
        return 0;
    CPLDebug("PVRT",
             "gather: band %d of %s, %d,%d %dx%d -> %dx%d, %d sources, "
             "%d stripes",
             b, GDALGetDescription(ds->primary), rq->x, rq->y, rq->w, rq->h,
             rq->buf_w, rq->buf_h, nsources, job.nstripes);
    return 1;
}

void pvrt_gather_free(struct pvrt_gather *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < g->ncaps; i++)
        capture_clear(&g->caps[i]);
    CPLFree(g->caps);
    CPLFree(g->band_ok);
    pvrt__vrt_text_clear(&g->text);
    CPLFree(g);
}
