/* vrtxml.c: see vrtxml.h. */
/* lstat, strcasestr */
#define _GNU_SOURCE
#include "vrtxml.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include <string.h>
#include <sys/stat.h>

/* Largest VRT text read. */
#define VRT_MAX_BYTES (16 * 1024 * 1024)

int pvrt__vrt_is_source(const char *name)
{
    return EQUAL(name, "SimpleSource") || EQUAL(name, "ComplexSource") ||
           EQUAL(name, "AveragedSource") || EQUAL(name, "KernelFilteredSource")
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 8, 0)
           || EQUAL(name, "NoDataFromMaskSource")
#endif
        ;
}

int pvrt__vrt_ends_with_source(const char *name)
{
    const size_t n = strlen(name);
    return n >= 6 && EQUAL(name + n - 6, "Source");
}

/* GDAL numbers bands in order. */
CPLXMLNode *pvrt__vrt_band(const pvrt_vrt_text *t, int band)
{
    CPLXMLNode *root = CPLGetXMLNode(t->tree, "=VRTDataset");
    if (root == NULL)
        return NULL;
    int i = 0;
    for (CPLXMLNode *c = root->psChild; c; c = c->psNext)
        if (c->eType == CXT_Element && EQUAL(c->pszValue, "VRTRasterBand") &&
            ++i == band)
            return c;
    return NULL;
}

/* The text the primary was opened from, and the folder its relative source
 * paths are resolved against, as VRTDataset::Open resolves them. */
int pvrt__vrt_text_load(GDALDatasetH primary, pvrt_vrt_text *g)
{
    memset(g, 0, sizeof *g);
    GDALDriverH drv = GDALGetDatasetDriver(primary);
    if (drv == NULL || !EQUAL(GDALGetDriverShortName(drv), "VRT"))
        return -1;
    const char *desc = GDALGetDescription(primary);
    char *text = NULL;
    if (STARTS_WITH_CI(desc, "<VRTDataset")) {
        text = CPLStrdup(desc);
        g->root_path = CPLStrdup("");
    } else {
        VSIStatBuf st;
        if (lstat(desc, &st) == 0 && S_ISLNK(st.st_mode))
            return -1; /* GDAL resolves links for the folder: not done here */
        GByte *bytes = NULL;
        if (!VSIIngestFile(NULL, desc, &bytes, NULL, VRT_MAX_BYTES))
            return -1;
        text = (char *)bytes;
        g->root_path = CPLStrdup(CPLGetPath(desc));
    }
    g->tree = CPLParseXMLString(text);
    g->relative = strcasestr(text, "relativeToVRT") != NULL;
    CPLFree(text);
    if (g->tree == NULL)
        return -1;
    CPLXMLNode *root = CPLGetXMLNode(g->tree, "=VRTDataset");
    if (root == NULL || CPLGetXMLNode(root, "VRTPansharpenedDataset"))
        return -1;
    return 0;
}

void pvrt__vrt_text_clear(pvrt_vrt_text *t)
{
    if (t->tree)
        CPLDestroyXMLNode(t->tree);
    CPLFree(t->root_path);
    memset(t, 0, sizeof *t);
}

/* A copy of one element alone (CPLCloneXMLTree copies the siblings too). */
CPLXMLNode *pvrt__vrt_clone_one(CPLXMLNode *n)
{
    CPLXMLNode *next = n->psNext;
    n->psNext = NULL;
    CPLXMLNode *c = CPLCloneXMLTree(n);
    n->psNext = next;
    return c;
}

/* Removes the children of n that `drop` selects (source index counted over
 * source elements). keep_source: the one source kept (-1: none). */
void pvrt__vrt_prune_band(CPLXMLNode *n, int keep_source)
{
    static const char *const dropped[] = {
        "Overview",   "MaskBand",     "SourceTransferType",
        "Histograms", "ColorTable",   "GDALRasterAttributeTable",
        "Metadata",   "BufferRadius", NULL};
    CPLXMLNode **link = &n->psChild;
    int source = 0;
    while (*link) {
        CPLXMLNode *c = *link;
        int drop = 0;
        if (c->eType == CXT_Element) {
            if (pvrt__vrt_is_source(c->pszValue))
                drop = source++ != keep_source;
            for (int i = 0; !drop && dropped[i]; i++)
                drop = EQUAL(c->pszValue, dropped[i]);
        }
        if (drop) {
            *link = c->psNext;
            c->psNext = NULL;
            CPLDestroyXMLNode(c);
        } else {
            link = &c->psNext;
        }
    }
}

/* A <VRTDataset> of w x h holding the given band elements (taken). */
char *pvrt__vrt_dataset_xml(int w, int h, CPLXMLNode *band1, CPLXMLNode *band2,
                            CPLXMLNode *band3)
{
    CPLXMLNode *root = CPLCreateXMLNode(NULL, CXT_Element, "VRTDataset");
    CPLSetXMLValue(root, "#rasterXSize", CPLSPrintf("%d", w));
    CPLSetXMLValue(root, "#rasterYSize", CPLSPrintf("%d", h));
    CPLAddXMLChild(root, band1);
    if (band2)
        CPLAddXMLChild(root, band2);
    if (band3)
        CPLAddXMLChild(root, band3);
    char *xml = CPLSerializeXMLTree(root);
    CPLDestroyXMLNode(root);
    return xml;
}

/* Removes n's child (element or attribute) called `name`, if any. */
static void drop_child(CPLXMLNode *n, const char *name)
{
    CPLXMLNode *c = CPLGetXMLNode(n, name);
    if (c) {
        CPLRemoveXMLChild(n, c);
        CPLDestroyXMLNode(c);
    }
}

CPLXMLNode *pvrt__vrt_capture_band(const pvrt_vrt_text *g, int b, int k,
                                   GDALDataType t)
{
    CPLXMLNode *band = pvrt__vrt_clone_one(pvrt__vrt_band(g, b));
    pvrt__vrt_prune_band(band, k);
    CPLSetXMLValue(band, "#band", "2");
    CPLSetXMLValue(band, "PixelFunctionType", "pvrt__capture");
    drop_child(band, "PixelFunctionArguments");
    CPLSetXMLValue(band, "SourceTransferType", GDALGetDataTypeName(t));
    return band;
}

CPLXMLNode *pvrt__vrt_direct_band(const pvrt_vrt_text *g, int b, int k,
                                  GDALDataType t)
{
    static const char *const derived_only[] = {"subClass",
                                               "PixelFunctionType",
                                               "PixelFunctionLanguage",
                                               "PixelFunctionArguments",
                                               "PixelFunctionCode",
                                               "SkipNonContributingSources",
                                               NULL};
    CPLXMLNode *band = pvrt__vrt_clone_one(pvrt__vrt_band(g, b));
    pvrt__vrt_prune_band(band, k);
    for (int i = 0; derived_only[i]; i++)
        drop_child(band, derived_only[i]);
    CPLSetXMLValue(band, "#band", "3");
    CPLSetXMLValue(band, "#dataType", GDALGetDataTypeName(t));
    return band;
}

char *pvrt__vrt_capture_dataset(const pvrt_vrt_text *g, CPLXMLNode *band,
                                CPLXMLNode *direct)
{
    CPLXMLNode *root = CPLGetXMLNode(g->tree, "=VRTDataset");
    /* An empty first band: GDAL builds implicit overviews only when every
     * band has one source. */
    CPLXMLNode *empty = CPLCreateXMLNode(NULL, CXT_Element, "VRTRasterBand");
    CPLSetXMLValue(empty, "#dataType", "Byte");
    CPLSetXMLValue(empty, "#band", "1");
    return pvrt__vrt_dataset_xml(atoi(CPLGetXMLValue(root, "rasterXSize", "0")),
                                 atoi(CPLGetXMLValue(root, "rasterYSize", "0")),
                                 empty, band, direct);
}

int pvrt__vrt_files_within(GDALDatasetH sub, GDALDatasetH primary)
{
    char **mine = GDALGetFileList(sub);
    char **all = GDALGetFileList(primary);
    int ok = 1;
    for (char **f = mine; ok && f && *f; f++)
        ok = CSLFindString(all, *f) >= 0;
    CSLDestroy(mine);
    CSLDestroy(all);
    return ok;
}
