/* gather.c: see gather.h.
 *
 * GDAL's VRTDerivedRasterBand::IRasterIO fills one packed buffer per source,
 * at buffer resolution, in the transfer type, each by the source's own
 * RasterIO with the request's window, floating-point window and
 * resampling; then it calls the pixel function once over them. Both steps
 * are done here by GDAL itself:
 *
 * - Gather: source k is read through a "capture VRT": the VRT's own text
 *   reduced to this band with source k alone, the same NoData, band type
 *   and raster size, SourceTransferType set to the transfer type and the
 *   pixel function replaced by pvrt__capture (an identity copy). Read in
 *   the transfer type, it returns the very buffer GDAL would have filled:
 *   the same source, window and extra arguments, and the same
 *   initialisation (0 or NoData; on 3.13 none for a SimpleSource covering
 *   the raster), since that depends on the band and that source alone. The
 *   capture VRT has a first, empty band so GDAL builds no implicit
 *   overviews for it (a one-source VRT would get them, and a downsampled
 *   read would take another path). The N reads run at once on the pool,
 *   each worker through its own handle of each capture VRT (kept per
 *   dataset).
 * - Apply: the gathered buffers are exposed as MEM datasets (no copy),
 *   SimpleSources read 1:1 by an "apply VRT" carrying the band's own pixel
 *   function, arguments, NoData, scale and offset, with the same
 *   SourceTransferType; its row stripes are read in parallel straight into
 *   the caller's buffer. Pixel functions are per pixel (a pixel's position
 *   reaches them only through the builtin xoff and yoff, below), so the
 *   stripes are the whole call's rows.
 *
 * Direct capture: GDAL's derived band hands each source a buffer of its
 * own (cleared to 0 or NoData), which pvrt__capture then copies; GDAL's
 * plain sourced band hands its source the buffer it was given. So each
 * capture VRT also holds source k as its band 3, a sourced band of the
 * transfer type with the band's NoData (pvrt__vrt_direct_band), read in
 * that type straight into the gathered buffer: one buffer fewer to clear,
 * fault and copy per source. On 3.6, 3.10 and 3.13 VRTSourcedRasterBand's
 * IRasterIO then calls the source's RasterIO with the derived band's
 * arguments (the band type is the transfer type; the extra argument
 * differs in its progress callback only), after setting the buffer to 0
 * or NoData as the derived band sets its own, except: when it falls back
 * to GDALRasterBand::IRasterIO (resampled with another method than
 * nearest: on 3.6 when NoData is set, on 3.10 and 3.13 depending on the
 * sources, their NoData and overviews; on 3.13 also with nearest when a
 * source has a non-nearest `resampling` of its own), and when it skips
 * that initialisation (a SimpleSource over the whole raster). So the direct
 * band serves only nearest and 1:1 reads, is not made when a source has a
 * `resampling` or the transfer type is a 64-bit integer (its NoData is then
 * kept as an integer), nor kept when GDAL's band differs from what it should be
 * (type, NoData, overviews); and a SimpleSource's buffer is set first as the
 * derived band sets its own, in case GDAL's source did not write every pixel.
 *
 * Which handle reads a source: always the same one. The dataset's sources,
 * band after band, are dealt over the slots in turn (source k of a band
 * whose bands before it have n sources: slot (n + k) mod the dataset's
 * threads), and job j reads the sources of one slot one after the other.
 * The handle's block cache then holds the source blocks earlier reads
 * decoded (random windows, a tile server's tiles, QGIS panning or zooming
 * over what it drew), so no block is decoded twice, as on GDAL's one VRT
 * handle (on the handle of whichever worker ran it, a source block would
 * be decoded once per thread). Bands read together spread their sources
 * over the slots. The buffers of the
 * last read and its apply VRT are kept for the next read of the same shape
 * (their memory is one tile's at most): the apply VRT is then the same text,
 * and its MEM sources, read 1:1, copy straight from the buffers (MEM's
 * RasterIO, no block cache), so a kept handle reads what the buffers hold now.
 * Such reads are gathered only when the handles they keep open fit GDAL's
 * source pool beside the clones': a pool that closes them costs more than
 * reading on the primary.
 *
 * What differs between versions (GDAL 3.11 and 3.12 are not handled: no
 * sources of theirs were checked, so gathering declines there, as on 3.14
 * and later):
 *
 * - Transfer type without SourceTransferType: 3.6 to 3.10 use the caller's
 *   buffer type. 3.13 uses the union (GDALDataTypeUnion, folded in source
 *   order from GDT_Unknown) of every source band's type, then of the band's
 *   own type; Float64's union with the band's type when a source is not a
 *   simple source or its band does not open. The source bands' types are
 *   GDAL's own: the "vrt_sources" metadata of a VRT holding the band's
 *   sources, once a 1x1 read has opened them (SourceProperties), probed
 *   once per band; a source whose band did not open declines the band (its
 *   reads fail anyway).
 * - Output initialisation: 3.6 to 3.10 set the buffer to 0 or NoData
 *   first; with 0 and packed pixels as one memset of nBufXSize * nBufYSize
 *   pixels from the start, whatever the line spacing, which with wider
 *   lines clears bytes that are not the band's pixels: a GDAL bug PVRT
 *   does not reproduce (docs/driver.md, "Differences"), as its split and
 *   whole reads do not. The apply VRT would do the same per stripe, so
 *   with wider lines the stripes go to a packed buffer whose pixels are
 *   then copied, and nothing else is written. 3.13 sets only the pixels,
 *   line by line, and
 *   skips it when every source is a SimpleSource of a whole source band
 *   onto the whole raster; the pixel function then writes those same
 *   pixels, so whether it happens (in the whole call, or in a stripe of
 *   the apply VRT, which has it unless its sources are at its origin) does
 *   not show, and the stripes go straight to the caller's buffer.
 * - Builtin arguments (3.13): NoData, scale and offset are the band's (the
 *   apply band keeps them); source_names the sources' `name` attributes,
 *   "Bn" for unnamed ones (the apply VRT's sources carry the same names, in
 *   the same order); geotransform and crs the dataset's (the apply VRT
 *   carries the VRT's own <GeoTransform> and <SRS>: crs then points to an
 *   SRS parsed from the same element); xoff and yoff the
 *   request's integer window offset, the same for every row of the call.
 *   The apply VRT is therefore as large as the request's offset plus the
 *   buffer, its sources placed at that offset, and stripe [y0, y1) is read
 *   at (xoff, yoff + y0): a function placing pixel (i, j) at (xoff + i,
 *   yoff + j), as GDAL's `expression` does for _CENTER_X_/_CENTER_Y_, sees
 *   the same position as in the whole call (also where GDAL halves the
 *   stripe for memory, SplitRasterIO, which passes each half its offset).
 * - 3.13 halves a derived read for memory only when the buffer equals the
 *   window; such reads (a floating-point window read 1:1) are declined, so
 *   the original is never split. Spacings over INT_MAX are declined (3.13
 *   refuses or rewrites them).
 * - The GDALRasterIOExtraArg fields 3.13 passes on to the sources
 *   (bUseOnlyThisScale, bOperateInBufType) are passed as the caller gave
 *   them.
 *
 * Whatever cannot be shown to be that computation is declined: other GDAL
 * versions, GDAL_FORCE_CACHING (GDAL then computes the band through its
 * blocks and resamples the result), Python functions,
 * SkipNonContributingSources, bands with
 * overviews (the shim reads those through the overview GDAL picks), one
 * source or more than GATHER_MAX_SOURCES, a source file another source of
 * the VRT reads too (GDAL decodes its blocks once for both), source kinds
 * not known here,
 * hidden NoData, VRTs not read from their own text (or whose relative
 * sources resolve elsewhere), buffers under MIN_TILE_PIXELS, and buffers
 * over the memory budget. A failed read is declined too, before or after
 * the stripes wrote: the primary then does the whole read and reports what
 * GDAL reports. On 3.6 to 3.10 its first step sets every pixel of the
 * buffer (0 or NoData) unless pixels are spaced apart and the band has no
 * NoData; on 3.13 unless GDAL skips the initialisation (see above): only
 * then may a failed read leave pixels of failed stripes where GDAL would
 * not. */
#include "gather.h"

#include "ahead.h"
#include "bigmem.h"
#include "errcap.h"
#include "pool.h"
#include "shared.h"
#include "vrtxml.h"

#include <cpl_conv.h>
#include <cpl_minixml.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The VRTDerivedRasterBand this file reproduces: 3.6 to 3.10's, or 3.13's. */
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 6, 0) &&                       \
    GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 11, 0)
#define GATHER_SUPPORTED 1
#define GATHER_313 0
#elif GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0) &&                    \
    GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 14, 0)
#define GATHER_SUPPORTED 1
#define GATHER_313 1
#else
#define GATHER_SUPPORTED 0
#define GATHER_313 0
#endif

#define GATHER_MAX_SOURCES 64
/* Largest buffer per source of one stripe of the apply step (see gather). */
#define STRIPE_BYTES (64 * 1024)

/* The capture VRTs of one band read in one transfer type. */
typedef struct gather_capture {
    int band;
    GDALDataType transfer;
    int ok; /* 0: declined for good */
    int nsources;
    int first_slot;        /* source k is read through slot first_slot + k (mod
                              the dataset's threads): the dataset's sources, band
                              after band, dealt over the slots in turn */
    pvrt_clones **clones;  /* per source, read through capture_slot's */
    int direct;            /* band 3 of the capture VRTs serves nearest and
                              1:1 reads (see "Direct capture") */
    unsigned char *simple; /* per source: a SimpleSource (direct reads of
                              it start from a buffer set as GDAL's derived
                              band sets its own) */
    int has_nodata;        /* the band's NoData: its capture bands' must be
                              the same; direct reads start from it */
    double nodata;
    int shared_state;     /* 1: `shared` ready, -1: cannot be, 0: unknown */
    pvrt_shared **shared; /* per source, the process's shared handle of its
                             capture VRT (shared.h), for windows read while
                             other callers share the cores */
} gather_capture;

/* The buffers of the last read and the apply VRT over them, kept for the
 * next read of the same shape (see the top of this file). */
typedef struct gather_scratch {
    int band;
    GDALDataType transfer;
    int x0, y0, w, h;
    int nsources;
    GByte **bufs;       /* per source: packed w x h of `transfer` */
    pvrt_clones *apply; /* NULL: none yet */
} gather_scratch;

/* What two band reads share when a reader reads one view band after band
 * (QGIS's RGB layers, a tile server's bands): everything but the band and
 * the buffer's spacing, the extra argument's flags included. */
typedef struct gather_shape {
    pvrt_read_shape read;
    int only_this_scale, in_buf_type;
} gather_shape;

struct pvrt_gather {
    int state;               /* 1: usable, -1: nothing to gather */
    gather_scratch *scratch; /* per band (1-based) */
    pvrt_vrt_text text;
    /* Bands read band after band (see "Bands read together" below). */
    gather_shape shape; /* of the last band read; valid when shape_valid */
    int shape_valid;
    int *seen; /* per band: its place among the bands read at
                  `shape` (1, 2, ...), 0: not read there */
    int nseen;
    int *walk;     /* per band: its place among the bands read at the
                      shape before, 0: not read there */
    int walk_len;  /* bands read at the shape before; < 2: no walk */
    GByte **ready; /* per band: its pixels at `shape`, computed with an
                      earlier band's, packed in the shape's buffer
                      type; NULL: none */
    int64_t ready_bytes;
    /* The memory of kept bands passed (a new shape), for the next gather's
     * kept bands of that size: a view panned gets the pages the last one
     * touched, not fresh ones (a page fault per 4 KiB). At most nbands,
     * each of spare_size bytes. */
    GByte **spare;
    int nspare;
    size_t spare_size;
    int64_t memory_reused; /* kept bands in an earlier read's memory */
    int *band_ok; /* per band: 0 unknown, 1 usable, 2 usable only with other
                     bands (one source), -1 declined */
    GDALDataType *band_transfer; /* per usable band: its transfer type;
                                    GDT_Unknown: the buffer type's */
    int nbands;
    gather_capture **caps; /* each made once and kept: a read holds
                              pointers to several */
    int ncaps;
};

/* ---- The VRT's own text ---------------------------------------------- */

/* Open options of a VRT made from the VRT's text: its relative sources
 * resolve where the VRT's do, and GDAL 3.10+ reads them on this thread
 * alone. CSLDestroy the result. */
static char **derived_open_options(const struct pvrt_gather *g)
{
    char **oo = CSLSetNameValue(NULL, "ROOT_PATH", g->text.root_path);
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 10, 0)
    oo = CSLSetNameValue(oo, "NUM_THREADS", "1");
#endif
    return oo;
}

#if GATHER_313
/* GDAL 3.13's transfer type of band b when it has no SourceTransferType
 * (see the top of this file), or GDT_Unknown when it cannot be told. The
 * probe is the capture VRT of source 0 with the band's other sources added
 * in order (pvrt__capture copies source 0 alone). */
static GDALDataType default_transfer(const pvrt_dataset *ds,
                                     struct pvrt_gather *g, int b)
{
    CPLXMLNode *orig = pvrt__vrt_band(&g->text, b);
    CPLXMLNode *band = pvrt__vrt_capture_band(&g->text, b, 0, GDT_Float64);
    int k = 0;
    for (CPLXMLNode *c = orig->psChild; c; c = c->psNext)
        if (c->eType == CXT_Element && pvrt__vrt_is_source(c->pszValue) &&
            k++ > 0)
            CPLAddXMLChild(band, pvrt__vrt_clone_one(c));
    char *xml = pvrt__vrt_capture_dataset(&g->text, band, NULL);
    char **oo = derived_open_options(g);
    const char *const vrt_only[] = {"VRT", NULL};
    const GDALDataType own =
        GDALGetRasterDataType(GDALGetRasterBand(ds->primary, b));
    GDALDataType t = GDT_Unknown;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH h = GDALOpenEx(xml, GDAL_OF_RASTER, vrt_only,
                                (const char *const *)oo, NULL);
    GDALRasterBandH probe = h ? GDALGetRasterBand(h, 2) : NULL;
    double value = 0;
    /* The read opens every source (3.13 asks each for its band first). */
    if (probe != NULL &&
        (!g->text.relative || pvrt__vrt_files_within(h, ds->primary)) &&
        GDALRasterIO(probe, GF_Read, 0, 0, 1, 1, &value, 1, 1, GDT_Float64, 0,
                     0) == CE_None) {
        /* GDAL's own sources, in order: each kind known here is a simple
         * source, and one whose band opened lists that band's type. */
        CSLConstList list = (CSLConstList)GDALGetMetadata(probe, "vrt_sources");
        GDALDataType all = GDT_Unknown;
        int n = 0, ok = 1;
        for (; ok && list != NULL && list[n] != NULL; n++) {
            char *key = NULL;
            const char *text = CPLParseNameValue(list[n], &key);
            CPLXMLNode *x = text ? CPLParseXMLString(text) : NULL;
            const GDALDataType st = x ? GDALGetDataTypeByName(CPLGetXMLValue(
                                            x, "SourceProperties.DataType", ""))
                                      : GDT_Unknown;
            ok = key != NULL && EQUAL(key, CPLSPrintf("source_%d", n)) &&
                 x != NULL && x->eType == CXT_Element &&
                 pvrt__vrt_is_source(x->pszValue) && st != GDT_Unknown;
            all = GDALDataTypeUnion(all, st);
            CPLFree(key);
            if (x)
                CPLDestroyXMLNode(x);
        }
        if (ok && n == k)
            t = all != GDT_Unknown ? GDALDataTypeUnion(all, own)
                                   : GDALDataTypeUnion(GDT_Float64, own);
    }
    if (h)
        GDALClose(h);
    CPLPopErrorHandler();
    CSLDestroy(oo);
    CPLFree(xml);
    CPLDebug("PVRT", "gather: band %d of %s, default transfer type %s", b,
             GDALGetDescription(ds->primary),
             t == GDT_Unknown ? "unknown" : GDALGetDataTypeName(t));
    return t;
}
#endif

/* Whether band b can be gathered, from its XML; 1 yes, -1 no. Sets its
 * transfer type. */
/* The file a source element names, resolved as the VRT driver resolves a
 * relative name (against the VRT's folder). CPLFree it. */
static char *source_file(const pvrt_vrt_text *t, const CPLXMLNode *src)
{
    const char *name = CPLGetXMLValue(src, "SourceFilename", "");
    if (atoi(CPLGetXMLValue(src, "SourceFilename.relativeToVRT", "0")) &&
        t->root_path != NULL && CPLIsFilenameRelative(name))
        return CPLStrdup(CPLFormFilename(t->root_path, name, NULL));
    return CPLStrdup(name);
}

/* Whether a file band b reads is read by another of its sources or by a
 * source of another band. GDAL's VRT opens a file once for all of them and
 * decodes each block once (every band of it, for a pixel-interleaved
 * file); a gather reads each source of band b through handles of its own
 * and would decode those blocks again. Measured before such bands were
 * declined: 200 random windows of sum(band 1, band 2) of one
 * pixel-interleaved DEFLATE GeoTIFF ran at 0.84x-0.94x GDAL's VRT driver;
 * three derived bands over bands of two such files, read band after band
 * (QGIS's RGB), at 0.70x-0.74x downsampled and 0.67x-0.69x in 256x256
 * windows. Read as GDAL reads them instead. */
static int shares_a_file(const struct pvrt_gather *g, int b)
{
    char **mine = NULL;
    int shared = 0;
    const CPLXMLNode *n = pvrt__vrt_band(&g->text, b);
    for (const CPLXMLNode *c = n->psChild; c && !shared; c = c->psNext)
        if (c->eType == CXT_Element && pvrt__vrt_is_source(c->pszValue)) {
            char *f = source_file(&g->text, c);
            shared = CSLFindStringCaseSensitive(mine, f) >= 0;
            mine = CSLAddString(mine, f);
            CPLFree(f);
        }
    for (int o = 1; o <= g->nbands && !shared; o++) {
        const CPLXMLNode *other = o == b ? NULL : pvrt__vrt_band(&g->text, o);
        for (const CPLXMLNode *c = other ? other->psChild : NULL; c && !shared;
             c = c->psNext)
            if (c->eType == CXT_Element && pvrt__vrt_is_source(c->pszValue)) {
                char *f = source_file(&g->text, c);
                shared = CSLFindStringCaseSensitive(mine, f) >= 0;
                CPLFree(f);
            }
    }
    CSLDestroy(mine);
    return shared;
}

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
    if (nsources < 1 || nsources > GATHER_MAX_SOURCES ||
        ds->bands[b - 1].nsources != nsources || shares_a_file(g, b))
        return -1;
    /* The transfer type. GDAL reads an unknown name as none. */
    const char *stt = CPLGetXMLValue(n, "SourceTransferType", NULL);
    GDALDataType t = stt ? GDALGetDataTypeByName(stt) : GDT_Unknown;
#if GATHER_313
    if (t == GDT_Unknown && (t = default_transfer(ds, g, b)) == GDT_Unknown)
        return -1;
#endif
    g->band_transfer[b] = t;
    /* One source: its read is one job; the band gains only with others. */
    return nsources > 1 ? 1 : 2;
}

/* The apply VRT: band b's function over the gathered buffers of w x h in
 * type t, as MEM datasets on them (read 1:1 in their own type: a copy)
 * placed at (x0, y0) of a VRT of x0 + w by y0 + h. On 3.13 that VRT has
 * the VRT's own GeoTransform and SRS, and its sources the band's sources'
 * names, so that the builtin arguments are the original call's. */
static char *apply_xml(struct pvrt_gather *g, int b, GDALDataType t, int x0,
                       int y0, int w, int h, int nsources, GByte *const *bufs)
{
    CPLXMLNode *orig = pvrt__vrt_band(&g->text, b);
    CPLXMLNode *band = pvrt__vrt_clone_one(orig);
    pvrt__vrt_prune_band(band, -1);
    CPLSetXMLValue(band, "#band", "1");
    CPLSetXMLValue(band, "SourceTransferType", GDALGetDataTypeName(t));
#if GATHER_313
    const CPLXMLNode *named = orig->psChild; /* next original source */
#endif
    for (int k = 0; k < nsources; k++) {
        char ptr[64] = {0}; /* CPLPrintPointer does not terminate it */
        CPLPrintPointer(ptr, bufs[k], sizeof ptr - 1);
        CPLXMLNode *s = CPLCreateXMLNode(band, CXT_Element, "SimpleSource");
#if GATHER_313
        while (named && !(named->eType == CXT_Element &&
                          pvrt__vrt_is_source(named->pszValue)))
            named = named->psNext;
        const char *name = named ? CPLGetXMLValue(named, "name", NULL) : NULL;
        if (name != NULL)
            CPLSetXMLValue(s, "#name", name);
        named = named ? named->psNext : NULL;
#endif
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
            CPLSetXMLValue(rect, "#xOff", CPLSPrintf("%d", r ? x0 : 0));
            CPLSetXMLValue(rect, "#yOff", CPLSPrintf("%d", r ? y0 : 0));
            CPLSetXMLValue(rect, "#xSize", CPLSPrintf("%d", w));
            CPLSetXMLValue(rect, "#ySize", CPLSPrintf("%d", h));
        }
    }
    CPLXMLNode *root = CPLCreateXMLNode(NULL, CXT_Element, "VRTDataset");
    CPLSetXMLValue(root, "#rasterXSize", CPLSPrintf("%d", x0 + w));
    CPLSetXMLValue(root, "#rasterYSize", CPLSPrintf("%d", y0 + h));
#if GATHER_313
    static const char *const kept[] = {"SRS", "GeoTransform"};
    CPLXMLNode *vrt = CPLGetXMLNode(g->text.tree, "=VRTDataset");
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        CPLXMLNode *n = CPLGetXMLNode(vrt, kept[i]);
        if (n != NULL)
            CPLAddXMLChild(root, pvrt__vrt_clone_one(n));
    }
#endif
    CPLAddXMLChild(root, band);
    char *xml = CPLSerializeXMLTree(root);
    CPLDestroyXMLNode(root);
    return xml;
}

/* ---- Capture sets ------------------------------------------------------- */

/* The first source element from n on (n itself when it is one), or NULL. */
static const CPLXMLNode *source_from(const CPLXMLNode *n)
{
    while (n && !(n->eType == CXT_Element && pvrt__vrt_is_source(n->pszValue)))
        n = n->psNext;
    return n;
}

static void capture_clear(gather_capture *c)
{
    CPLFree(c->simple);
    c->simple = NULL;
    c->direct = 0;
    for (int k = 0; c->clones && k < c->nsources; k++)
        pvrt_clones_free(c->clones[k]);
    CPLFree(c->clones);
    c->clones = NULL;
    for (int k = 0; c->shared && k < c->nsources; k++)
        pvrt_shared_release(c->shared[k]);
    CPLFree(c->shared);
    c->shared = NULL;
    c->shared_state = 0;
}

/* The slot whose handle reads source k of capture set c. */
static int capture_slot(const pvrt_dataset *ds, const gather_capture *c, int k)
{
    return (c->first_slot + k) % ds->threads;
}

/* The capture VRT of source k of capture set c (see the top of this
 * file), with its direct band when c->direct. CPLFree it. */
static char *capture_xml(const struct pvrt_gather *g, const gather_capture *c,
                         int k)
{
    return pvrt__vrt_capture_dataset(
        &g->text, pvrt__vrt_capture_band(&g->text, c->band, k, c->transfer),
        c->direct ? pvrt__vrt_direct_band(&g->text, c->band, k, c->transfer)
                  : NULL);
}

/* Whether capture set c may have direct bands (see "Direct capture"):
 * no source with a resampling of its own, a transfer type whose NoData is
 * a double; notes which sources are SimpleSources. */
static int direct_possible(const struct pvrt_gather *g, gather_capture *c)
{
    if (c->transfer == GDT_Int64 || c->transfer == GDT_UInt64)
        return 0;
    c->simple = (unsigned char *)CPLCalloc(c->nsources, 1);
    int k = 0;
    const CPLXMLNode *band = pvrt__vrt_band(&g->text, c->band);
    for (const CPLXMLNode *n = source_from(band->psChild); n && k < c->nsources;
         n = source_from(n->psNext)) {
        if (CPLGetXMLValue(n, "resampling", NULL) != NULL)
            return 0;
        c->simple[k++] = EQUAL(n->pszValue, "SimpleSource");
    }
    return k == c->nsources;
}

/* Whether band n of capture handle h is there as GDAL should have made it:
 * without overviews (a downsampled read would take another path), with
 * the band's NoData, bit for bit. */
static int capture_band_ok(GDALDatasetH h, int n, const gather_capture *c)
{
    GDALRasterBandH band = h ? GDALGetRasterBand(h, n) : NULL;
    int has_nd = 0;
    const double nd = band ? GDALGetRasterNoDataValue(band, &has_nd) : 0;
    return band != NULL && GDALGetOverviewCount(band) == 0 &&
           has_nd == c->has_nodata &&
           (!has_nd || memcmp(&nd, &c->nodata, sizeof nd) == 0);
}

/* Opens one handle of each source of a new capture set and checks them;
 * the others open on first use. Returns 0, or -1 (nothing reported). */
static int capture_build(pvrt_dataset *ds, struct pvrt_gather *g,
                         gather_capture *c)
{
    GDALRasterBandH orig = GDALGetRasterBand(ds->primary, c->band);
    c->nodata = GDALGetRasterNoDataValue(orig, &c->has_nodata);
    c->direct = direct_possible(g, c);
    char **oo = derived_open_options(g);
    const char *const vrt_only[] = {"VRT", NULL};
    c->clones = (pvrt_clones **)CPLCalloc(c->nsources, sizeof(pvrt_clones *));
    int ok = 1;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    for (int k = 0; ok && k < c->nsources; k++) {
        char *xml = capture_xml(g, c, k);
        c->clones[k] = pvrt_clones_new(xml, vrt_only, oo, ds->threads);
        CPLFree(xml);
        /* The slot that reads source k (capture_job). */
        GDALDatasetH h =
            c->clones[k] ? pvrt_clones_get(c->clones[k], capture_slot(ds, c, k))
                         : NULL;
        ok = capture_band_ok(h, 2, c) &&
             (!g->text.relative || pvrt__vrt_files_within(h, ds->primary));
        /* The direct band: also of the transfer type. */
        if (ok && c->direct &&
            !(capture_band_ok(h, 3, c) &&
              GDALGetRasterDataType(GDALGetRasterBand(h, 3)) == c->transfer)) {
            /* Band 2 alone, then. */
            c->direct = 0;
            for (int i = 0; i <= k; i++)
                pvrt_clones_free(c->clones[i]);
            memset(c->clones, 0, sizeof(pvrt_clones *) * c->nsources);
            k = -1;
        }
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
        if (g->caps[i]->band == b && g->caps[i]->transfer == t)
            return g->caps[i]->ok ? g->caps[i] : NULL;
    g->caps = (gather_capture **)CPLRealloc(
        g->caps, (g->ncaps + 1) * sizeof(gather_capture *));
    gather_capture *c = (gather_capture *)CPLCalloc(1, sizeof(gather_capture));
    g->caps[g->ncaps++] = c;
    c->band = b;
    c->transfer = t;
    c->nsources = ds->bands[b - 1].nsources;
    int64_t before = 0;
    for (int i = 0; i < b - 1; i++)
        before += ds->bands[i].nsources;
    c->first_slot = (int)(before % ds->threads);
    c->ok = capture_build(ds, g, c) == 0;
    CPLDebug("PVRT", "gather: band %d of %s, transfer type %s: %s", b,
             GDALGetDescription(ds->primary), GDALGetDataTypeName(t),
             c->ok ? "capture VRTs ready" : "declined");
    return c->ok ? c : NULL;
}

/* The process's shared handles of capture set c (shared.h), taken on
 * first use: 0, or -1 when a source cannot be shared (a file not local, a
 * VRT) or they were made by the process this one forked from. */
static int capture_shared(struct pvrt_gather *g, gather_capture *c)
{
    if (c->shared_state == 0) {
        char **oo = derived_open_options(g);
        c->shared = (pvrt_shared **)CPLCalloc(c->nsources, sizeof *c->shared);
        int k = 0;
        const CPLXMLNode *band = pvrt__vrt_band(&g->text, c->band);
        for (const CPLXMLNode *n = source_from(band->psChild);
             n && k < c->nsources; n = source_from(n->psNext)) {
            char *file = source_file(&g->text, n);
            char *xml = capture_xml(g, c, k);
            c->shared[k] = pvrt_shared_get(xml, oo, file);
            CPLFree(xml);
            CPLFree(file);
            if (c->shared[k++] == NULL)
                break;
        }
        CSLDestroy(oo);
        c->shared_state = k == c->nsources && c->shared[k - 1] ? 1 : -1;
        if (c->shared_state < 0) {
            for (k = 0; k < c->nsources; k++)
                pvrt_shared_release(c->shared[k]);
            CPLFree(c->shared);
            c->shared = NULL;
        }
    }
    return c->shared_state == 1 && pvrt_shared_here(c->shared[0]) ? 0 : -1;
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
            g->band_transfer =
                (GDALDataType *)CPLCalloc(g->nbands + 1, sizeof(GDALDataType));
            g->scratch = (gather_scratch *)CPLCalloc(g->nbands + 1,
                                                     sizeof(gather_scratch));
            g->seen = (int *)CPLCalloc(g->nbands + 1, sizeof(int));
            g->walk = (int *)CPLCalloc(g->nbands + 1, sizeof(int));
            g->ready = (GByte **)CPLCalloc(g->nbands + 1, sizeof(GByte *));
            g->spare = (GByte **)CPLCalloc(g->nbands + 1, sizeof(GByte *));
            g->state = 1;
        }
    }
    return ds->gather->state == 1 ? ds->gather : NULL;
}

/* ---- The kept buffers ---------------------------------------------------- */

static void out_of_memory(size_t bytes)
{
    CPLError(CE_Failure, CPLE_OutOfMemory, "PVRT: cannot allocate %zu bytes",
             bytes);
}

static void scratch_clear(gather_scratch *s)
{
    pvrt_clones_free(s->apply);
    for (int k = 0; s->bufs && k < s->nsources; k++)
        pvrt_big_free(s->bufs[k]);
    CPLFree(s->bufs);
    memset(s, 0, sizeof *s);
}

/* The buffers for band b's read of w x h in type t placed at (x0, y0) of
 * the apply VRT: the kept ones when they have that shape (with their apply
 * VRT), else new ones (apply NULL). NULL when out of memory. */
static gather_scratch *scratch_get(struct pvrt_gather *g, int b, GDALDataType t,
                                   int x0, int y0, int w, int h, int nsources)
{
    gather_scratch *s = &g->scratch[b];
    if (s->bufs != NULL && s->band == b && s->transfer == t && s->x0 == x0 &&
        s->y0 == y0 && s->w == w && s->h == h && s->nsources == nsources)
        return s;
    scratch_clear(s);
    s->band = b;
    s->transfer = t;
    s->x0 = x0;
    s->y0 = y0;
    s->w = w;
    s->h = h;
    s->nsources = nsources;
    s->bufs = (GByte **)CPLCalloc(nsources, sizeof(GByte *));
    const size_t plane = (size_t)w * h * GDALGetDataTypeSizeBytes(t);
    for (int k = 0; k < nsources; k++)
        if ((s->bufs[k] = (GByte *)pvrt_big_alloc(plane)) == NULL) {
            out_of_memory(plane);
            scratch_clear(s);
            return NULL;
        }
    return s;
}

/* ---- Jobs --------------------------------------------------------------- */

/* One band of a gathered read: its sources' buffers and apply VRT, and
 * where its pixels go. */
typedef struct gather_part {
    int band;
    gather_capture *cap;
    GDALDataType transfer;
    int tsize;
    gather_scratch *sc; /* its buffers and apply VRT */
    GByte *out;         /* apply output: the caller's buffer or `own` */
    GSpacing ps, ls;
    GByte *own; /* packed buf_w x buf_h of the buffer type: a band kept for
                   its read, or the caller's band before it is written out */
} gather_part;

typedef struct gather_job {
    const pvrt_dataset *ds;
    const pvrt_request *rq;
    gather_part *parts;
    int nparts;
    int *slots; /* capture job j reads the parts' sources of slot slots[j]
                   through it */
    /* Shared handles (shared_job): source i of the read, counted over the
     * parts, is source src_k[i] of part src_part[i]; taken[i] (atomic): a
     * job has read it or is reading it. */
    int nsrc;
    int *src_part, *src_k, *taken;
    int *direct; /* (atomic) sources read through their direct band */
    GDALRasterIOExtraArg extra;
    int x0, y0;    /* the buffers' place in the apply VRTs */
    int nstripes;  /* per part */
    char **config; /* the caller's thread-local config options */
    int depth;     /* the caller's nesting depth (read.h) */
    pvrt_errlog *log;
} gather_job;

static void job_enter(pvrt_job_scope *js, const gather_job *job, int index,
                      int worker)
{
    pvrt_job_enter(js, job->config, job->depth, job->log, index, worker);
}

/* Reads source k of part p into its buffer through capture handle h:
 * through its direct band when the read is 1:1 or nearest (see "Direct
 * capture"), a SimpleSource's buffer first set as GDAL's derived band sets
 * its own. */
static CPLErr capture_one(const gather_job *job, const gather_part *p, int k,
                          GDALDatasetH h)
{
    const pvrt_request *rq = job->rq;
    const gather_capture *c = p->cap;
    const int direct =
        c->direct && (job->extra.eResampleAlg == GRIORA_NearestNeighbour ||
                      (rq->w == rq->buf_w && rq->h == rq->buf_h));
    GDALRasterBandH band = h ? GDALGetRasterBand(h, direct ? 3 : 2) : NULL;
    if (band == NULL)
        return CE_Failure;
    GByte *buf = p->sc->bufs[k];
    const size_t pixels = (size_t)rq->buf_w * rq->buf_h;
    if (direct && c->simple[k] && (!c->has_nodata || c->nodata == 0))
        memset(buf, 0, pixels * p->tsize);
    else if (direct && c->simple[k])
        GDALCopyWords64(&c->nodata, GDT_Float64, 0, buf, p->transfer, p->tsize,
                        (GPtrDiff_t)pixels);
    GDALRasterIOExtraArg extra = job->extra;
    const CPLErr err = GDALRasterIOEx(
        band, GF_Read, rq->x, rq->y, rq->w, rq->h, buf, rq->buf_w, rq->buf_h,
        p->transfer, p->tsize, (GSpacing)p->tsize * rq->buf_w, &extra);
    if (direct)
        __atomic_add_fetch(job->direct, 1, __ATOMIC_RELAXED);
    return err;
}

static int capture_job(void *ctx, int index, int worker)
{
    gather_job *job = (gather_job *)ctx;
    pvrt_job_scope js;
    job_enter(&js, job, index, worker);
    CPLErr err = CE_None;
    const int slot = job->slots[index];
    for (int p = 0; err == CE_None && p < job->nparts; p++)
        for (int k = 0; err == CE_None && k < job->parts[p].cap->nsources; k++)
            if (capture_slot(job->ds, job->parts[p].cap, k) == slot)
                err = capture_one(
                    job, &job->parts[p], k,
                    pvrt_clones_get(job->parts[p].cap->clones[k], slot));
    pvrt_job_leave(&js, worker);
    return err == CE_None ? 0 : -1;
}

/* Takes a source of the read no job has taken whose shared handle is
 * free, else waits for the first one not taken; returns its index with
 * its lock held, or -1 when every source is taken. Holding one lock at a
 * time, callers reading the same sources never deadlock. */
static int shared_take(gather_job *job)
{
    for (;;) {
        int first = -1;
        for (int i = 0; i < job->nsrc; i++) {
            if (__atomic_load_n(&job->taken[i], __ATOMIC_ACQUIRE))
                continue;
            if (first < 0)
                first = i;
            pvrt_shared *sh =
                job->parts[job->src_part[i]].cap->shared[job->src_k[i]];
            if (!pvrt_shared_trylock(sh, 0))
                continue;
            if (!__atomic_exchange_n(&job->taken[i], 1, __ATOMIC_ACQ_REL))
                return i;
            pvrt_shared_unlock(sh); /* another job of this read took it */
        }
        if (first < 0)
            return -1;
        /* Every source left is being read by another caller: wait for the
         * first. */
        pvrt_shared *sh =
            job->parts[job->src_part[first]].cap->shared[job->src_k[first]];
        pvrt_shared_trylock(sh, 1);
        if (!__atomic_exchange_n(&job->taken[first], 1, __ATOMIC_ACQ_REL))
            return first;
        pvrt_shared_unlock(sh);
    }
}

/* Reads sources of the read through the process's shared handles until
 * every one is taken. */
static int shared_job(void *ctx, int index, int worker)
{
    gather_job *job = (gather_job *)ctx;
    pvrt_job_scope js;
    job_enter(&js, job, index, worker);
    CPLErr err = CE_None;
    int i;
    while (err == CE_None && (i = shared_take(job)) >= 0) {
        const gather_part *p = &job->parts[job->src_part[i]];
        pvrt_shared *sh = p->cap->shared[job->src_k[i]];
        err = capture_one(job, p, job->src_k[i], pvrt_shared_handle(sh));
        pvrt_shared_unlock(sh);
    }
    pvrt_job_leave(&js, worker);
    return err == CE_None ? 0 : -1;
}

static int apply_job(void *ctx, int index, int worker)
{
    gather_job *job = (gather_job *)ctx;
    const pvrt_request *rq = job->rq;
    const gather_part *p = &job->parts[index / job->nstripes];
    const int stripe = index % job->nstripes;
    pvrt_job_scope js;
    job_enter(&js, job, index, worker);
    /* The apply VRT's sources are MEM datasets on our buffers (GDAL 3.10+
     * opens those only when asked to); nothing else opens in this job. */
    const char *was =
        CPLGetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", NULL);
    char *saved_mem = was ? CPLStrdup(was) : NULL;
    CPLSetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", "YES");
    const int y0 = (int)((int64_t)rq->buf_h * stripe / job->nstripes);
    const int y1 = (int)((int64_t)rq->buf_h * (stripe + 1) / job->nstripes);
    CPLErr err = CE_Failure;
    GDALDatasetH h = pvrt_clones_get(p->sc->apply, worker + 1);
    GDALRasterBandH band = h ? GDALGetRasterBand(h, 1) : NULL;
    if (band)
        err = GDALRasterIOEx(band, GF_Read, job->x0, job->y0 + y0, rq->buf_w,
                             y1 - y0, p->out + y0 * p->ls, rq->buf_w, y1 - y0,
                             rq->buf_type, p->ps, p->ls, NULL);
    CPLSetThreadLocalConfigOption("GDAL_MEM_ENABLE_OPEN", saved_mem);
    CPLFree(saved_mem);
    pvrt_job_leave(&js, worker);
    return err == CE_None ? 0 : -1;
}

/* Runs njobs of fn; 0 when all succeeded (their messages replayed), -1 when
 * one failed (messages dropped). */
static int run_jobs(int threads, gather_job *job, int njobs, pvrt_job_fn fn)
{
    job->log = pvrt_errlog_new();
    if (job->log == NULL)
        return -1;
    const pvrt_batch_spec spec = pvrt_batch_of(fn, job, njobs, threads);
    const int rc = pvrt_batch_run(&spec);
    if (rc == PVRT_BATCH_OK)
        pvrt_errlog_replay(job->log);
    pvrt_errlog_free(job->log);
    job->log = NULL;
    return rc == PVRT_BATCH_OK ? 0 : -1;
}

/* Writes packed pixels (buf_w x buf_h of the buffer type) into rq's
 * buffer at its spacing, and nothing else (see the top of this file). */
static void write_out(const pvrt_request *rq, const GByte *packed)
{
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    const GSpacing packed_line = (GSpacing)size * rq->buf_w;
    for (int r = 0; r < rq->buf_h; r++) {
        GByte *dst = (GByte *)rq->buf + r * rq->line_space;
        const GByte *src = packed + r * packed_line;
        if (rq->pixel_space == size)
            memcpy(dst, src, (size_t)packed_line);
        else
            GDALCopyWords(src, rq->buf_type, size, dst, rq->buf_type,
                          (int)rq->pixel_space, rq->buf_w);
    }
}

/* ---- Bands read together -------------------------------------------------
 * QGIS reads an RGB layer band after band, each band with the same window,
 * buffer and resampling, and so do tile servers and GDAL's dataset-level
 * reads of derived bands (GDALDataset::BandBasedRasterIO). Gathered alone,
 * a band has only its own sources to spread over the pool (one, for a band
 * that scales one band of a scene: then nothing runs beside it). Once a
 * reader is seen reading bands after one another at one request shape,
 * the read of a band also computes the bands that followed it at the shape
 * before (the first time, the derived bands not read yet at this one), all
 * their sources at once, and keeps them, packed in the buffer type, for
 * their reads. Each band is computed exactly as when gathered alone (its
 * capture VRTs, buffers and apply VRT) and its pixels copied out as the
 * apply VRT computed them, so its bytes do not depend on what was computed
 * with it. A reader that stops walking bands wastes one shape's bands once:
 * the bands read at a shape are the walk of the next. Kept bands take at
 * most half the cache (CACHE_MB; 0: none kept, none computed together) and
 * go at the next shape. */

static void shape_of(const pvrt_request *rq, gather_shape *s)
{
    pvrt__read_shape(rq, &s->read);
    const GDALRasterIOExtraArg *e = rq->extra;
    s->only_this_scale = s->in_buf_type = 0;
#if RASTERIO_EXTRA_ARG_CURRENT_VERSION >= 2
    if (e && e->nVersion >= 2)
        s->only_this_scale = e->bUseOnlyThisScale;
#endif
#if RASTERIO_EXTRA_ARG_CURRENT_VERSION >= 3
    if (e && e->nVersion >= 3)
        s->in_buf_type = e->bOperateInBufType;
#endif
    (void)e;
}

static int same_shape(const gather_shape *a, const gather_shape *b)
{
    return pvrt__same_shape(&a->read, &b->read) &&
           a->only_this_scale == b->only_this_scale &&
           a->in_buf_type == b->in_buf_type;
}

static void spares_clear(struct pvrt_gather *g)
{
    for (int i = 0; i < g->nspare; i++)
        pvrt_big_free(g->spare[i]);
    g->nspare = 0;
}

/* Keeps p, `size` bytes no longer used, as a spare (or frees it). */
static void spare_put(struct pvrt_gather *g, GByte *p, size_t size)
{
    if (p == NULL)
        return;
    if (size != g->spare_size) {
        spares_clear(g);
        g->spare_size = size;
    }
    if (g->spare != NULL && g->nspare < g->nbands)
        g->spare[g->nspare++] = p;
    else
        pvrt_big_free(p);
}

/* `size` bytes: a spare's when one has that size, else new ones (spares of
 * another size are freed: a read's kept bands all have one size). NULL
 * when out of memory (reported). */
static GByte *spare_take(struct pvrt_gather *g, size_t size)
{
    if (g->nspare > 0 && size == g->spare_size) {
        g->memory_reused++;
        return g->spare[--g->nspare];
    }
    spares_clear(g);
    GByte *p = (GByte *)pvrt_big_alloc(size);
    if (p == NULL)
        out_of_memory(size);
    return p;
}

/* Drops the kept bands; `keep`: their memory stays as spares. Each is a
 * packed buffer of the shape's. */
static void ready_clear(struct pvrt_gather *g, int keep)
{
    const pvrt_read_shape *r = &g->shape.read;
    const size_t size =
        (size_t)r->buf_w * r->buf_h *
        (g->shape_valid ? GDALGetDataTypeSizeBytes(r->type) : 0);
    for (int b = 1; b <= g->nbands; b++) {
        if (keep)
            spare_put(g, g->ready[b], size);
        else
            pvrt_big_free(g->ready[b]);
        g->ready[b] = NULL;
    }
    g->ready_bytes = 0;
}

/* Notes a read of band b: a new shape makes the bands read at the last one
 * the walk (when more than one) and drops the bands kept for it. */
static void note_read(struct pvrt_gather *g, int b, const pvrt_request *rq)
{
    gather_shape s;
    shape_of(rq, &s);
    if (!g->shape_valid || !same_shape(&s, &g->shape)) {
        const int walked = g->nseen >= 2;
        for (int i = 1; i <= g->nbands; i++) {
            g->walk[i] = walked ? g->seen[i] : 0;
            g->seen[i] = 0;
        }
        g->walk_len = walked ? g->nseen : 0;
        g->nseen = 0;
        ready_clear(g, 1);
        g->shape = s;
        g->shape_valid = 1;
    }
    if (g->seen[b] == 0)
        g->seen[b] = ++g->nseen;
}

/* The bands to compute with band b's read, in the order they will be read,
 * into out (room for nbands): those that followed b at the shape before;
 * with no walk known, once b is not the first band read at its shape, the
 * derived bands not read there yet. Returns how many. */
static int companions(const pvrt_dataset *ds, const struct pvrt_gather *g,
                      int b, int *out)
{
    int n = 0;
    if (g->walk_len >= 2 && g->walk[b] > 0) {
        for (int place = g->walk[b] + 1; place <= g->walk_len; place++)
            for (int c = 1; c <= g->nbands; c++)
                if (g->walk[c] == place && !g->seen[c])
                    out[n++] = c;
    } else if (g->walk_len < 2 && g->nseen >= 2) {
        for (int c = 1; c <= g->nbands; c++)
            if (c != b && !g->seen[c] && ds->bands[c - 1].derived)
                out[n++] = c;
    }
    return n;
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
    /* GDAL hands the spacings to the pixel function as int (3.13 refuses
     * wider lines, or drops the line spacing of one row). */
    if (rq->pixel_space > INT_MAX || rq->line_space > INT_MAX)
        return 0;
    /* With GDAL_FORCE_CACHING, GDAL reads a derived band through its
     * blocks: the function at full resolution, then resampled; a gather
     * resamples the sources first (other pixels, for a resampling that
     * averages and a function that is not linear). Set when the primary
     * opened, or now (the handles a gather opens would have it). */
    if (ds->force_cached ||
        CPLTestBool(CPLGetConfigOption("GDAL_FORCE_CACHING", "NO")))
        return 0;
#if GATHER_313
    /* 3.13 halves a derived read for memory only when its buffer is its
     * window; the apply VRT spans the request's offset and the buffer. */
    if ((rq->buf_w == rq->w && rq->buf_h == rq->h) ||
        rq->x > INT_MAX - rq->buf_w || rq->y > INT_MAX - rq->buf_h)
        return 0;
#endif
    return 1;
}

/* Whether band b of ds can be gathered (its XML, inspected once): alone,
 * or `with_others` too when it has one source. */
static struct pvrt_gather *band_gatherable(pvrt_dataset *ds, int b,
                                           int with_others)
{
    struct pvrt_gather *g = state_get(ds);
    if (g == NULL || b > g->nbands)
        return NULL;
    if (g->band_ok[b] == 0)
        g->band_ok[b] = inspect_band(ds, g, b);
    return g->band_ok[b] == 1 || (with_others && g->band_ok[b] == 2) ? g : NULL;
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

/* Whether the handles a full-resolution gather keeps open fit GDAL's
 * source pool beside the clones' and the primary's, so that none of them
 * is closed and reopened with a cold cache (which would cost more than
 * reading on the primary): each source of the bands read once through its
 * slot, and each of the threads' apply VRTs' buffers. */
static int windows_fit_source_pool(const pvrt_dataset *ds, int threads,
                                   int64_t nsources)
{
    int64_t total = 0;
    for (int i = 0; i < ds->nbands; i++)
        total += ds->bands[i].nsources;
    const int64_t pool =
        atoi(CPLGetConfigOption("GDAL_MAX_DATASET_POOL_SIZE", "100"));
    return (threads + 1) * total + (threads + 1) * nsources <= pool;
}

/* How a full-resolution window is read: on the primary (not the first
 * window a dataset reads: a tile server opens the VRT for each tile, and
 * handles opened for one window cost more than they give), gathered
 * through the dataset's own handles, or, once other callers have shared
 * the cores with this dataset's reads (a tile server's or a thread pool's
 * threads, each reading windows through its own dataset), through the
 * process's shared handles: each caller's own handles would decode the
 * blocks its windows touch again, and moving between handles would decode
 * them twice, so its windows stay there from then on (and so do its
 * downsampled reads on one thread). */
enum { ON_PRIMARY, GATHERED, SHARED };

static int windows_mode(pvrt_dataset *ds, int threads)
{
    if (threads < ds->threads)
        ds->windows_shared = 1;
    const int first = !ds->windows_seen;
    ds->windows_seen = 1;
    if (!ds->window_gather || first)
        return ON_PRIMARY;
    return ds->windows_shared ? SHARED : GATHERED;
}

static int gather(pvrt_dataset *ds, const pvrt_request *rq, int threads,
                  const int *with, int nwith, int shared);

int pvrt_gather_read(pvrt_dataset *ds, const pvrt_request *rq, int threads,
                     CPLErr *err)
{
    if (!request_ok(ds, rq))
        return 0;
    const int b = rq->path->band;
    /* The state is made only for a read gathered (it costs a tile server's
     * one window per open a serialisation of the VRT). */
    struct pvrt_gather *g =
        ds->gather && ds->gather->state == 1 ? ds->gather : NULL;
    if (g != NULL) {
        note_read(g, b, rq);
        if (g->ready[b] != NULL) {
            write_out(rq, g->ready[b]);
            __atomic_add_fetch(&ds->together_hits, 1, __ATOMIC_RELAXED);
            *err = CE_None;
            return 1;
        }
    }
    /* windows_mode first: it notes a read with fewer threads. */
    int mode = pvrt__is_resampled(rq) ? GATHERED : windows_mode(ds, threads);
    if (mode == GATHERED && threads < 2)
        mode = ds->windows_shared ? SHARED : ON_PRIMARY;
    if (mode == ON_PRIMARY)
        return 0;
    if (g == NULL) {
        if ((g = state_get(ds)) == NULL)
            return 0;
        note_read(g, b, rq);
    }
    int *with = (int *)CPLMalloc(sizeof(int) * (g->nbands + 1));
    const int nwith =
        ds->cache_cap > 0 && mode != SHARED ? companions(ds, g, b, with) : 0;
    error_state saved;
    error_save(&saved);
    const int done = gather(ds, rq, threads, with, nwith, mode == SHARED);
    CPLFree(with);
    if (!done)
        return error_restore(&saved);
    __atomic_add_fetch(mode == SHARED ? &ds->shared_reads : &ds->gathered_reads,
                       1, __ATOMIC_RELAXED);
    CPLFree(saved.msg);
    *err = CE_None;
    return 1;
}

/* Chooses the parts of band b's read: b, then the bands `with` that fit
 * the memory (the working buffers within the threads' tile budgets, the
 * kept bands within half the cache) and, for full-resolution windows,
 * GDAL's source pool. Returns how many, 0 when b itself cannot be read. */
static int plan_parts(pvrt_dataset *ds, struct pvrt_gather *g,
                      const pvrt_request *rq, int threads, const int *with,
                      int nwith, gather_part *parts)
{
    const int64_t out_plane =
        (int64_t)rq->buf_w * rq->buf_h * GDALGetDataTypeSizeBytes(rq->buf_type);
    const int pinned = !pvrt__is_resampled(rq);
    /* A band of one source gains only beside others: computed with them,
     * or alone in a dataset with other derived bands, whose reads of it
     * with them then find its blocks decoded on its capture handle (on the
     * primary, a panned RGB of one-source bands decoded 426 blocks against
     * the VRT driver's 378). */
    int beside = nwith > 0;
    for (int c = 1; !beside && c <= ds->nbands; c++)
        beside = c != rq->path->band && ds->bands[c - 1].derived;
    int64_t work = 0, kept = 0, handles = 0;
    int n = 0;
    for (int i = -1; i < nwith; i++) {
        const int band = i < 0 ? rq->path->band : with[i];
        GDALRasterBandH orig = GDALGetRasterBand(ds->primary, band);
        if (orig == NULL || GDALGetOverviewCount(orig) > 0 ||
            band_gatherable(ds, band, beside) == NULL) {
            if (i < 0)
                return 0;
            continue;
        }
        /* The transfer type GDAL uses, and the memory the buffers take. */
        const GDALDataType t = g->band_transfer[band] != GDT_Unknown
                                   ? g->band_transfer[band]
                                   : rq->buf_type;
        const int tsize = GDALGetDataTypeSizeBytes(t);
        const int nsources = ds->bands[band - 1].nsources;
        const int64_t mine = (int64_t)rq->buf_w * rq->buf_h * tsize * nsources +
                             (i < 0 ? 0 : out_plane);
        if (work + mine > (int64_t)threads * ds->tile_budget ||
            (i >= 0 && g->ready_bytes + kept + out_plane > ds->cache_cap / 2) ||
            (pinned &&
             !windows_fit_source_pool(ds, threads, handles + nsources))) {
            if (i < 0)
                return 0;
            break; /* the bands after it would be read before it */
        }
        gather_capture *cap = capture_get(ds, g, band, t);
        if (cap == NULL) {
            if (i < 0)
                return 0;
            continue;
        }
        memset(&parts[n], 0, sizeof parts[n]);
        parts[n].band = band;
        parts[n].cap = cap;
        parts[n].transfer = t;
        parts[n].tsize = tsize;
        n++;
        work += mine;
        kept += i < 0 ? 0 : out_plane;
        handles += nsources;
    }
    return n;
}

/* The read itself, of band rq->path->band and of the bands `with` kept for
 * their reads: 1 done, 0 declined (messages dropped, nothing kept). */
static int gather(pvrt_dataset *ds, const pvrt_request *rq, int threads,
                  const int *with, int nwith, int shared)
{
    struct pvrt_gather *g = ds->gather;
    gather_part *parts =
        (gather_part *)CPLCalloc(nwith + 1, sizeof(gather_part));
    int nparts = plan_parts(ds, g, rq, threads, with, nwith, parts);
    for (int p = 0; shared && p < nparts; p++)
        if (capture_shared(g, parts[p].cap) != 0)
            nparts = 0;
    if (nparts == 0) { /* declined before any work: the kept buffers stay */
        CPLFree(parts);
        return 0;
    }

    gather_job job;
    memset(&job, 0, sizeof job);
    job.ds = ds;
    job.rq = rq;
    job.parts = parts;
    job.nparts = nparts;
    int direct = 0;
    job.direct = &direct;
    INIT_RASTERIO_EXTRA_ARG(job.extra);
    if (rq->extra) {
        job.extra.eResampleAlg = rq->extra->eResampleAlg;
        job.extra.bFloatingPointWindowValidity =
            rq->extra->bFloatingPointWindowValidity;
        job.extra.dfXOff = rq->extra->dfXOff;
        job.extra.dfYOff = rq->extra->dfYOff;
        job.extra.dfXSize = rq->extra->dfXSize;
        job.extra.dfYSize = rq->extra->dfYSize;
        /* As GDALCopyRasterIOExtraArg copies them: 3.13's sources heed
         * both. */
#if RASTERIO_EXTRA_ARG_CURRENT_VERSION >= 2
        if (rq->extra->nVersion >= 2)
            job.extra.bUseOnlyThisScale = rq->extra->bUseOnlyThisScale;
#endif
#if RASTERIO_EXTRA_ARG_CURRENT_VERSION >= 3
        if (rq->extra->nVersion >= 3)
            job.extra.bOperateInBufType = rq->extra->bOperateInBufType;
#endif
    }
    /* Where the buffers lie in the apply VRTs: at the request's offset on
     * 3.13, which passes it to builtin xoff/yoff. */
    job.x0 = GATHER_313 ? rq->x : 0;
    job.y0 = GATHER_313 ? rq->y : 0;
    int ok = 1;
    int64_t scratch_bytes = 0;
    int nsources = 0;
    for (int p = 0; ok && p < nparts; p++) {
        const int n = parts[p].cap->nsources;
        parts[p].sc = scratch_get(g, parts[p].band, parts[p].transfer, job.x0,
                                  job.y0, rq->buf_w, rq->buf_h, n);
        ok = parts[p].sc != NULL;
        scratch_bytes += (int64_t)rq->buf_w * rq->buf_h * parts[p].tsize * n;
        nsources += n;
    }
    job.config = CPLGetThreadLocalConfigOptions();
    job.depth = pvrt_read_depth();

    /* Gather, each source through its slot's handle (see the top of this
     * file): one job per slot the parts' sources use; or through the
     * process's shared handles, each job reading whichever source is free
     * next. */
    if (shared) {
        job.src_part = (int *)CPLCalloc(nsources, sizeof(int));
        job.src_k = (int *)CPLCalloc(nsources, sizeof(int));
        job.taken = (int *)CPLCalloc(nsources, sizeof(int));
        for (int p = 0; p < nparts; p++)
            for (int k = 0; k < parts[p].cap->nsources; k++) {
                job.src_part[job.nsrc] = p;
                job.src_k[job.nsrc++] = k;
            }
        ok = ok &&
             run_jobs(threads, &job, threads < job.nsrc ? threads : job.nsrc,
                      shared_job) == 0;
        CPLFree(job.src_part);
        CPLFree(job.src_k);
        CPLFree(job.taken);
    } else {
        int *used = (int *)CPLCalloc(ds->threads, sizeof(int));
        job.slots = (int *)CPLCalloc(ds->threads, sizeof(int));
        int nslots = 0;
        for (int p = 0; p < nparts; p++)
            for (int k = 0; k < parts[p].cap->nsources; k++)
                used[capture_slot(ds, parts[p].cap, k)] = 1;
        for (int i = 0; i < ds->threads; i++)
            if (used[i])
                job.slots[nslots++] = i;
        CPLFree(used);
        ok = ok && run_jobs(threads, &job, nslots, capture_job) == 0;
    }

    /* Apply, the read's band straight into the caller's buffer unless
     * GDAL's derived band would clear bytes between its lines (up to 3.10:
     * nBufXSize * nBufYSize * nPixelSpace bytes from the start of a stripe,
     * whatever the line spacing). Then packed, and its pixels written out
     * like the bands kept. */
    const int size = GDALGetDataTypeSizeBytes(rq->buf_type);
    const GSpacing packed_line = (GSpacing)size * rq->buf_w;
    const int repack =
        !GATHER_313 && rq->pixel_space == size && rq->line_space != packed_line;
    for (int p = 0; ok && p < nparts; p++) {
        gather_part *part = &parts[p];
        if (part->sc->apply == NULL) {
            char *xml = apply_xml(g, part->band, part->transfer, job.x0, job.y0,
                                  rq->buf_w, rq->buf_h, part->cap->nsources,
                                  part->sc->bufs);
            const char *const vrt_only[] = {"VRT", NULL};
            part->sc->apply = pvrt_clones_new(xml, vrt_only, NULL, ds->threads);
            CPLFree(xml);
            ok = part->sc->apply != NULL;
        }
        if (ok && (p > 0 || repack)) {
            part->own = spare_take(g, (size_t)packed_line * rq->buf_h);
            ok = part->own != NULL;
        }
        part->out = part->own ? part->own : (GByte *)rq->buf;
        part->ps = part->own ? size : rq->pixel_space;
        part->ls = part->own ? packed_line : rq->line_space;
    }
    if (ok) {
        /* GDAL's derived band allocates and clears a buffer per source
         * for each call: stripes whose buffers are at most STRIPE_BYTES
         * stay in the allocator's free memory instead of fresh pages that
         * the allocator gives back after each call (measured: the pages'
         * faults and clearing took a third of a window read). At least
         * two stripes per thread. */
        int tsize = 1;
        for (int p = 0; p < nparts; p++)
            tsize = parts[p].tsize > tsize ? parts[p].tsize : tsize;
        const int64_t line = (int64_t)rq->buf_w * tsize;
        const int64_t rows = line < STRIPE_BYTES ? STRIPE_BYTES / line : 1;
        job.nstripes = (int)((rq->buf_h + rows - 1) / rows);
        if (threads > 1 && rq->buf_h >= 2 * threads &&
            job.nstripes < 2 * threads)
            job.nstripes = 2 * threads;
        ok = run_jobs(threads, &job, nparts * job.nstripes, apply_job) == 0;
    }
    if (ok && repack)
        write_out(rq, parts[0].own);
    for (int p = 1; ok && p < nparts; p++) {
        g->ready[parts[p].band] = parts[p].own;
        g->ready_bytes += (int64_t)packed_line * rq->buf_h;
        parts[p].own = NULL;
    }
    __atomic_add_fetch(&ds->together_bands, ok ? nparts - 1 : 0,
                       __ATOMIC_RELAXED);
    __atomic_add_fetch(&ds->direct_captures, ok ? direct : 0, __ATOMIC_RELAXED);

    /* The buffers are kept for the next read when they fit one tile's
     * memory; other bands' go. */
    int *in_read = (int *)CPLCalloc(g->nbands + 1, sizeof(int));
    for (int p = 0; p < nparts; p++) {
        in_read[parts[p].band] = 1;
        spare_put(g, parts[p].own, (size_t)packed_line * rq->buf_h);
    }
    for (int b = 1; b <= g->nbands; b++)
        if (!in_read[b] || !ok || scratch_bytes > ds->tile_budget)
            scratch_clear(&g->scratch[b]);
    CPLFree(in_read);
    CSLDestroy(job.config);
    CPLFree(job.slots);
    CPLFree(parts);
    if (!ok)
        return 0;
    CPLDebug("PVRT",
             "gather: band %d of %s, %d,%d %dx%d -> %dx%d, %d sources%s, "
             "%d stripes, %d more bands",
             rq->path->band, GDALGetDescription(ds->primary), rq->x, rq->y,
             rq->w, rq->h, rq->buf_w, rq->buf_h, nsources,
             shared ? " (shared handles)" : "", job.nstripes, nparts - 1);
    return 1;
}

/* Clears every band's kept buffers. */
static void scratch_clear_all(struct pvrt_gather *g)
{
    for (int b = 0; g->scratch && b <= g->nbands; b++)
        scratch_clear(&g->scratch[b]);
}

void pvrt_gather_trim(struct pvrt_gather *g)
{
    if (g == NULL || g->state != 1)
        return;
    scratch_clear_all(g);
    ready_clear(g, 0);
    spares_clear(g);
    g->shape_valid = 0;
    g->nseen = g->walk_len = 0;
    for (int b = 0; b <= g->nbands; b++)
        g->seen[b] = g->walk[b] = 0;
}

int pvrt_gather_handles_open(const struct pvrt_gather *g)
{
    int n = 0;
    for (int i = 0; g != NULL && i < g->ncaps; i++)
        for (int k = 0; g->caps[i]->clones && k < g->caps[i]->nsources; k++)
            n += pvrt_clones_open_count(g->caps[i]->clones[k]);
    return n;
}

int64_t pvrt_gather_memory_reused(const struct pvrt_gather *g)
{
    return g != NULL && g->state == 1 ? g->memory_reused : 0;
}

void pvrt_gather_free(struct pvrt_gather *g)
{
    if (g == NULL)
        return;
    if (g->state == 1) {
        ready_clear(g, 0);
        spares_clear(g);
    }
    scratch_clear_all(g);
    CPLFree(g->scratch);
    CPLFree(g->spare);
    CPLFree(g->seen);
    CPLFree(g->walk);
    CPLFree(g->ready);
    for (int i = 0; i < g->ncaps; i++) {
        capture_clear(g->caps[i]);
        CPLFree(g->caps[i]);
    }
    CPLFree(g->caps);
    CPLFree(g->band_ok);
    CPLFree(g->band_transfer);
    pvrt__vrt_text_clear(&g->text);
    CPLFree(g);
}
