/* vrtinfo.c: see vrtinfo.h.
 *
 * Tile safety. GDAL maps a request window to each source window in floating
 * point and resamples when the scale is not 1, so a source whose SrcRect and
 * DstRect differ in size, or sit at fractional offsets, could give different
 * pixels for a tile than for the whole window (GDAL #13464). Sources without
 * rectangles map 1:1 (GDAL's -1 defaults give scale 1, offset 0). Only
 * Simple and Complex sources, raw bands and warped VRTs (computed block by
 * block) are known safe; anything else keeps its reads whole. */
#include "vrtinfo.h"

#include "neighbourhood.h"

#include <cpl_conv.h>
#include <cpl_minixml.h>
#include <cpl_string.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 8

static const char *const network_prefixes[] = {
    "/vsicurl",  "/vsis3",      "/vsigs",   "/vsiaz",  "/vsiadls", "/vsioss",
    "/vsiswift", "/vsiwebhdfs", "/vsihdfs", "http://", "https://", "ftp://"};

int pvrt_path_is_network(const char *path)
{
    for (size_t i = 0; i < sizeof network_prefixes / sizeof *network_prefixes;
         i++)
        if (strstr(path, network_prefixes[i]) != NULL)
            return 1;
    return 0;
}

static int ends_with_ci(const char *s, const char *suffix)
{
    const size_t n = strlen(s), m = strlen(suffix);
    return n >= m && EQUAL(s + n - m, suffix);
}

static int is_integral(double v)
{
    return floor(v) == v;
}

/* A source maps 1:1 at integer offsets (see the file comment). Sets the
 * grid origin offset (dst - src) when it does. */
static int source_rects_safe(CPLXMLNode *src, int *dx, int *dy)
{
    CPLXMLNode *s = CPLGetXMLNode(src, "SrcRect");
    CPLXMLNode *d = CPLGetXMLNode(src, "DstRect");
    *dx = *dy = 0;
    if (s == NULL && d == NULL)
        return 1;
    if (s == NULL || d == NULL)
        return 0;
    const double sx = CPLAtof(CPLGetXMLValue(s, "xOff", "0"));
    const double sy = CPLAtof(CPLGetXMLValue(s, "yOff", "0"));
    const double sw = CPLAtof(CPLGetXMLValue(s, "xSize", "-1"));
    const double sh = CPLAtof(CPLGetXMLValue(s, "ySize", "-1"));
    const double tx = CPLAtof(CPLGetXMLValue(d, "xOff", "0"));
    const double ty = CPLAtof(CPLGetXMLValue(d, "yOff", "0"));
    const double tw = CPLAtof(CPLGetXMLValue(d, "xSize", "-1"));
    const double th = CPLAtof(CPLGetXMLValue(d, "ySize", "-1"));
    if (!(sw == tw && sh == th) || !is_integral(sx) || !is_integral(sy) ||
        !is_integral(tx) || !is_integral(ty) || fabs(tx - sx) > 1e9 ||
        fabs(ty - sy) > 1e9)
        return 0;
    *dx = (int)(tx - sx);
    *dy = (int)(ty - sy);
    return 1;
}

/* Whole source onto the whole raster, scaled: both rectangles at offset 0.
 * This is the shape of GDAL's implicit overviews (BuildVirtualOverviews
 * scales the DstRect of a band's single source); reads of them resolve to
 * the source's own overview. */
static int source_whole_scaled(CPLXMLNode *src)
{
    CPLXMLNode *s = CPLGetXMLNode(src, "SrcRect");
    CPLXMLNode *d = CPLGetXMLNode(src, "DstRect");
    return s && d && CPLAtof(CPLGetXMLValue(s, "xOff", "1")) == 0 &&
           CPLAtof(CPLGetXMLValue(s, "yOff", "1")) == 0 &&
           CPLAtof(CPLGetXMLValue(d, "xOff", "1")) == 0 &&
           CPLAtof(CPLGetXMLValue(d, "yOff", "1")) == 0;
}

static void mark_unsafe(pvrt_vrtinfo *info)
{
    info->tile_safe = 0;
    info->unsafe_not_whole = 1;
}

/* The source's file name resolved against the VRT's folder. CPLFree it. */
static char *source_path(CPLXMLNode *src, const char *vrt_path)
{
    CPLXMLNode *fn = CPLGetXMLNode(src, "SourceFilename");
    const char *name = CPLGetXMLValue(src, "SourceFilename", "");
    if (fn == NULL || *name == '\0')
        return NULL;
    const int relative =
        atoi(CPLGetXMLValue(fn, "relativeToVRT", "0")) != 0 ||
        EQUAL(CPLGetXMLValue(fn, "relativeToVRT", "0"), "true");
    if (relative && vrt_path && *vrt_path && name[0] != '<' &&
        CPLIsFilenameRelative(name))
        return CPLStrdup(CPLFormFilename(CPLGetPath(vrt_path), name, NULL));
    return CPLStrdup(name);
}

typedef struct {
    pvrt_vrtinfo *info;
    int depth;
    /* Below depth 0: the DstRect of the top-level source being descended
     * (NULL: the whole raster), the footprint of everything inside it. */
    CPLXMLNode *outer_dst;
    int flat; /* do not descend into nested VRTs */
    /* The block grid of the VRT's own sources (note_grid): the first
     * source's block size and origin; `mixed` once one differs or is
     * unknown. */
    int gx, gy, gox, goy, mixed;
} walk;

static int mod(int v, int m)
{
    return ((v % m) + m) % m;
}

/* A source's block size from its SourceProperties; 0 when not stated. */
static void source_blocks(CPLXMLNode *src, int *bx, int *by)
{
    CPLXMLNode *props = CPLGetXMLNode(src, "SourceProperties");
    *bx = atoi(CPLGetXMLValue(props, "BlockXSize", "0"));
    *by = atoi(CPLGetXMLValue(props, "BlockYSize", "0"));
}

/* Notes the block grid of a top-level source that maps 1:1 at offset
 * (dx, dy): its SourceProperties block size, its blocks' origin in the
 * raster. */
static void note_grid(walk *w, CPLXMLNode *src, int dx, int dy)
{
    int bx, by;
    source_blocks(src, &bx, &by);
    if (bx <= 0 || by <= 0)
        w->mixed = 1;
    else if (w->gx == 0) {
        w->gx = bx;
        w->gy = by;
        w->gox = mod(dx, bx);
        w->goy = mod(dy, by);
    } else if (bx != w->gx || by != w->gy || mod(dx, bx) != w->gox ||
               mod(dy, by) != w->goy)
        w->mixed = 1;
}

/* Records a remote source once per path; a path met twice covers the union
 * of its rectangles (or the raster, when one is unknown). */
static void add_remote(pvrt_vrtinfo *info, const char *path, CPLXMLNode *dst)
{
    double x = 0, y = 0, w = -1, h = -1;
    if (dst) {
        x = CPLAtof(CPLGetXMLValue(dst, "xOff", "0"));
        y = CPLAtof(CPLGetXMLValue(dst, "yOff", "0"));
        w = CPLAtof(CPLGetXMLValue(dst, "xSize", "-1"));
        h = CPLAtof(CPLGetXMLValue(dst, "ySize", "-1"));
    }
    for (int i = 0; i < info->nremote; i++) {
        pvrt_remote_source *r = &info->remote[i];
        if (strcmp(r->path, path) != 0)
            continue;
        if (r->w < 0 || w < 0 || h < 0) {
            r->w = r->h = -1;
        } else {
            const double x1 = fmax(r->x + r->w, x + w);
            const double y1 = fmax(r->y + r->h, y + h);
            r->x = fmin(r->x, x);
            r->y = fmin(r->y, y);
            r->w = x1 - r->x;
            r->h = y1 - r->y;
        }
        return;
    }
    info->remote = (pvrt_remote_source *)CPLRealloc(
        info->remote, sizeof(pvrt_remote_source) * (size_t)(info->nremote + 1));
    pvrt_remote_source *r = &info->remote[info->nremote++];
    r->path = CPLStrdup(path);
    r->x = x;
    r->y = y;
    r->w = h < 0 ? -1 : w;
    r->h = h;
    r->warmed = 0;
}

static void inspect_tree(walk *w, CPLXMLNode *root, const char *vrt_path,
                         int top);

/* A source that is itself a VRT: inspect it for safety, Python, network. */
static void inspect_nested(walk *w, const char *path)
{
    const char *p = STARTS_WITH_CI(path, "PVRT:") ? path + 5 : path;
    if (w->depth >= MAX_NESTING) {
        mark_unsafe(w->info);
        return;
    }
    CPLXMLNode *tree = NULL;
    if (STARTS_WITH(p, "<VRTDataset"))
        tree = CPLParseXMLString(p);
    else if (ends_with_ci(p, ".vrt")) {
        /* A small file (one request when remote): GDAL opens it anyway. */
        CPLPushErrorHandler(CPLQuietErrorHandler);
        tree = CPLParseXMLFile(p);
        CPLPopErrorHandler();
        CPLErrorReset();
    }
    if (tree == NULL)
        return; /* a missing file fails the read in GDAL and in PVRT alike */
    w->depth++;
    inspect_tree(w, tree, p[0] == '<' ? "" : p, 0);
    w->depth--;
    CPLDestroyXMLNode(tree);
}

static int is_source_element(const char *name)
{
    const size_t n = strlen(name);
    return n > 6 && strcmp(name + n - 6, "Source") == 0;
}

static void inspect_band(walk *w, CPLXMLNode *band, const char *vrt_path,
                         pvrt_band_info *bi)
{
    pvrt_vrtinfo *info = w->info;
    const char *sub = CPLGetXMLValue(band, "subClass", "");
    if (EQUAL(sub, "VRTDerivedRasterBand")) {
        info->has_derived = 1;
        if (EQUAL(CPLGetXMLValue(band, "PixelFunctionLanguage", "C"), "Python"))
            info->has_python = 1;
        if (bi) {
            bi->derived = 1;
            bi->halo = pvrt_nbhd_is_function(
                CPLGetXMLValue(band, "PixelFunctionType", NULL));
            const char *tt = CPLGetXMLValue(band, "SourceTransferType", NULL);
            bi->transfer_size =
                tt ? GDALGetDataTypeSizeBytes(GDALGetDataTypeByName(tt)) : 0;
        }
    } else if (EQUAL(sub, "VRTRawRasterBand")) {
        return;
    } else if (*sub && !EQUAL(sub, "VRTSourcedRasterBand")) {
        mark_unsafe(info);
    }
    /* GDAL >= 3.7 can drop sources that miss the request window, so a
     * derived band sees a different source list for a tile than for the
     * whole window. */
    if (CPLTestBool(CPLGetXMLValue(band, "SkipNonContributingSources", "NO")))
        mark_unsafe(info);
    for (CPLXMLNode *c = band->psChild; c; c = c->psNext) {
        if (c->eType != CXT_Element)
            continue;
        if (EQUAL(c->pszValue, "MaskBand")) {
            CPLXMLNode *mb = CPLGetXMLNode(c, "VRTRasterBand");
            if (mb)
                inspect_band(w, mb, vrt_path, NULL);
            continue;
        }
        if (!is_source_element(c->pszValue) ||
            EQUAL(c->pszValue, "SkipNonContributingSources"))
            continue;
        if (bi)
            bi->nsources++;
        int dx = 0, dy = 0;
        const int simple = EQUAL(c->pszValue, "SimpleSource") ||
                           EQUAL(c->pszValue, "ComplexSource");
        const int one_to_one = simple && source_rects_safe(c, &dx, &dy);
        if (w->depth == 0) {
            if (one_to_one)
                note_grid(w, c, dx, dy);
            else
                w->mixed = 1;
        }
        if (!simple)
            mark_unsafe(info);
        else if (!one_to_one) {
            info->tile_safe = 0;
            if (!source_whole_scaled(c))
                info->unsafe_not_whole = 1;
        }
        char *path = source_path(c, vrt_path);
        if (path == NULL)
            continue;
        if (pvrt_path_is_network(path)) {
            info->network = 1;
            /* A nested VRT's remote sources are recorded with the nested
             * VRT's footprint in the top-level raster: PVRT reads nested
             * VRTs inline in its workers, so only the top-level read can
             * open them in parallel beforehand. */
            if (path[0] != '<')
                add_remote(info, path,
                           w->depth == 0 ? CPLGetXMLNode(c, "DstRect")
                                         : w->outer_dst);
        }
        if (w->depth == 0 && info->grid_x == 0 && info->probe_path == NULL &&
            info->tile_safe) {
            int bx, by;
            source_blocks(c, &bx, &by);
            if (bx > 0 && by > 0) {
                info->grid_x = bx;
                info->grid_y = by;
                info->grid_off_x = dx;
                info->grid_off_y = dy;
            } else if (path[0] != '<') {
                info->probe_path = CPLStrdup(path);
                info->probe_band = atoi(CPLGetXMLValue(c, "SourceBand", "1"));
                info->probe_off_x = dx;
                info->probe_off_y = dy;
            }
        }
        if (path[0] == '<' || ends_with_ci(path, ".vrt")) {
            if (w->depth == 0)
                w->outer_dst = CPLGetXMLNode(c, "DstRect");
            if (!w->flat)
                inspect_nested(w, path);
        }
        CPLFree(path);
    }
}

static void inspect_tree(walk *w, CPLXMLNode *root, const char *vrt_path,
                         int top)
{
    CPLXMLNode *ds = CPLSearchXMLNode(root, "=VRTDataset");
    if (ds == NULL) {
        mark_unsafe(w->info);
        return;
    }
    const char *sub = CPLGetXMLValue(ds, "subClass", "");
    const int warped = EQUAL(sub, "VRTWarpedDataset");
    if (*sub && !warped)
        mark_unsafe(w->info);
    int nb = 0;
    for (CPLXMLNode *c = ds->psChild; c; c = c->psNext)
        if (c->eType == CXT_Element && EQUAL(c->pszValue, "VRTRasterBand"))
            nb++;
    if (top && nb > 0) {
        w->info->bands =
            (pvrt_band_info *)CPLCalloc((size_t)nb, sizeof(pvrt_band_info));
        w->info->nbands = nb;
    }
    int i = 0;
    for (CPLXMLNode *c = ds->psChild; c; c = c->psNext) {
        if (c->eType == CXT_Element && EQUAL(c->pszValue, "MaskBand")) {
            CPLXMLNode *mb = CPLGetXMLNode(c, "VRTRasterBand");
            if (mb)
                inspect_band(w, mb, vrt_path, NULL);
        }
        if (c->eType != CXT_Element || !EQUAL(c->pszValue, "VRTRasterBand"))
            continue;
        /* Warped bands are computed per block: safe whatever the sources. */
        if (!warped)
            inspect_band(w, c, vrt_path, top ? &w->info->bands[i] : NULL);
        i++;
    }
}

static int inspect(const char *xml, const char *vrt_path, pvrt_vrtinfo *info,
                   int flat)
{
    memset(info, 0, sizeof *info);
    info->tile_safe = 1;
    CPLXMLNode *tree = CPLParseXMLString(xml);
    if (tree == NULL)
        return -1;
    walk w = {info, 0, NULL, flat, 0, 0, 0, 0, 0};
    inspect_tree(&w, tree, vrt_path ? vrt_path : "", 1);
    CPLDestroyXMLNode(tree);
    info->grid_shared = !w.mixed && w.gx > 0 && info->grid_x == w.gx &&
                        info->grid_y == w.gy &&
                        mod(info->grid_off_x, w.gx) == w.gox &&
                        mod(info->grid_off_y, w.gy) == w.goy;
    return 0;
}

int pvrt_vrtinfo_inspect(const char *xml, const char *vrt_path,
                         pvrt_vrtinfo *info)
{
    return inspect(xml, vrt_path, info, 0);
}

int pvrt_vrtinfo_inspect_flat(const char *xml, const char *vrt_path,
                              pvrt_vrtinfo *info)
{
    return inspect(xml, vrt_path, info, 1);
}

void pvrt_vrtinfo_clear(pvrt_vrtinfo *info)
{
    if (info == NULL)
        return;
    CPLFree(info->probe_path);
    CPLFree(info->bands);
    pvrt_remote_sources_free(info->remote, info->nremote);
    memset(info, 0, sizeof *info);
}

void pvrt_remote_sources_free(pvrt_remote_source *r, int n)
{
    for (int i = 0; r && i < n; i++)
        CPLFree(r[i].path);
    CPLFree(r);
}
