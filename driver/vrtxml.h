/* vrtxml.h: a VRT's own text, and the small VRTs the driver derives from
 * it to let GDAL read one piece of a derived band: the "capture VRT" of one
 * source (gather.c, halo.c). GDAL does the reading; these only write XML.
 * Open/read-time, on the thread that owns the PVRT handle. */
#ifndef PVRT_VRTXML_H
#define PVRT_VRTXML_H

#include <cpl_minixml.h>
#include <gdal.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pvrt_vrt_text {
    CPLXMLNode *tree; /* the VRT's text, parsed */
    char *root_path;  /* where its relative sources are */
    int relative;     /* some source path is relative to the VRT */
} pvrt_vrt_text;

/* The text the VRT driver's handle `primary` was opened from, and the
 * folder its relative sources resolve against (as VRTDataset::Open does).
 * Returns 0, or -1 with nothing reported (not a VRT read from its own text,
 * a symbolic link, unparsable). Clear t either way. */
int pvrt__vrt_text_load(GDALDatasetH primary, pvrt_vrt_text *t);
void pvrt__vrt_text_clear(pvrt_vrt_text *t);

/* The band's <VRTRasterBand> element, or NULL. */
CPLXMLNode *pvrt__vrt_band(const pvrt_vrt_text *t, int band);

/* Source elements GDAL 3.6-3.13 know (SimpleSource, ComplexSource, ...). */
int pvrt__vrt_is_source(const char *name);
/* Any element named ...Source (a source kind, known or not). */
int pvrt__vrt_ends_with_source(const char *name);

/* A copy of one element alone, without its siblings. */
CPLXMLNode *pvrt__vrt_clone_one(CPLXMLNode *n);

/* Removes from a band element its overviews, mask, transfer type,
 * statistics, colours, metadata, buffer radius, and every source but the
 * keep_source-th
 * (-1: all). */
void pvrt__vrt_prune_band(CPLXMLNode *band, int keep_source);

/* A <VRTDataset> of w x h holding the given band elements (taken;
 * band2 and band3 may be NULL). CPLFree the result. */
char *pvrt__vrt_dataset_xml(int w, int h, CPLXMLNode *band1, CPLXMLNode *band2,
                            CPLXMLNode *band3);

/* The capture VRT of source k of band b, in two steps (halo.c edits the
 * band between them). pvrt__vrt_capture_band: the band element (number 2)
 * reduced to source k, with pvrt__capture (an identity copy) for function
 * and SourceTransferType `type`, so that read in that type it returns the
 * buffer GDAL's derived band fills for its pixel function.
 * pvrt__vrt_capture_dataset: the VRT holding it (taken) after an empty
 * first band (GDAL then builds no implicit overviews); CPLFree it. */
CPLXMLNode *pvrt__vrt_capture_band(const pvrt_vrt_text *t, int b, int k,
                                   GDALDataType type);
char *pvrt__vrt_capture_dataset(const pvrt_vrt_text *t, CPLXMLNode *band,
                                CPLXMLNode *direct);

/* Band b reduced to source k as a plain sourced band (number 3) of type
 * `type`, with the band's NoData: read in that type, GDAL's sourced band
 * hands its source the buffer itself, where the derived band hands it a
 * buffer of its own (gather.c, "Direct capture"). For the third argument
 * of pvrt__vrt_capture_dataset (NULL: none). */
CPLXMLNode *pvrt__vrt_direct_band(const pvrt_vrt_text *t, int b, int k,
                                  GDALDataType type);

/* Whether every file `sub` lists is one `primary` lists too: a derived VRT
 * resolved its sources where the primary did. */
int pvrt__vrt_files_within(GDALDatasetH sub, GDALDatasetH primary);

#ifdef __cplusplus
}
#endif

#endif
