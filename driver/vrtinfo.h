/* vrtinfo.h: what the driver needs to know about a VRT, read from its XML.
 *
 * Open-time only, on the opening thread. Decides whether the VRT is ours
 * (derived bands, no Python), whether a read's result can depend on where a
 * tile starts (then reads are not split), where the sources' block grid
 * lies, how much working memory a pixel needs, and whether any source is on
 * the network. Nested VRT sources (files and inline XML) are inspected too,
 * to a bounded depth. */
#ifndef PVRT_VRTINFO_H
#define PVRT_VRTINFO_H

#include <gdal.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pvrt_band_info {
    int derived;       /* a VRTDerivedRasterBand */
    int nsources;      /* sources a derived band reads per request */
    int transfer_size; /* bytes per source pixel; 0: the buffer type's */
    int halo;          /* a neighbourhood function (halo.c computes it) */
} pvrt_band_info;

/* A remote source of the VRT, or of a VRT nested in it, and where it lands
 * in the VRT (a nested VRT's sources: the nested VRT's own footprint). */
typedef struct pvrt_remote_source {
    char *path;
    double x, y, w, h; /* its DstRect; w < 0: it may cover the raster */
    int warmed;        /* opened once already (see read.c) */
} pvrt_remote_source;

typedef struct pvrt_vrtinfo {
    int has_derived;      /* at least one VRTDerivedRasterBand */
    int has_python;       /* a Python pixel function, here or nested */
    int tile_safe;        /* any window's result is independent of the split */
    int unsafe_not_whole; /* unsafe for a reason other than sources scaled
                             whole onto the whole raster (GDAL's implicit
                             overviews have that shape) */
    int network;          /* a source path is remote */
    int grid_x, grid_y, grid_off_x, grid_off_y; /* 0: unknown */
    int grid_shared;  /* every source of the VRT's own bands maps 1:1 and
                         has its blocks on that grid (SourceProperties) */
    char *probe_path; /* first source when its block size is unknown */
    int probe_band;
    int probe_off_x, probe_off_y;
    int nbands;
    pvrt_band_info *bands;
    pvrt_remote_source *remote; /* distinct remote sources, nremote */
    int nremote;
} pvrt_vrtinfo;

/* Inspects serialized VRT XML; `vrt_path` is the VRT's file name ("" for
 * inline XML), for sources relative to it. Returns 0, or -1 when the XML
 * does not parse (nothing reported). */
int pvrt_vrtinfo_inspect(const char *xml, const char *vrt_path,
                         pvrt_vrtinfo *info);
void pvrt_vrtinfo_clear(pvrt_vrtinfo *info);

/* The same without reading nested VRTs: what the VRT's own XML says (its
 * sources, remote ones and nested VRT files included, and their grid).
 * Safety and Python flags then cover this level only. */
int pvrt_vrtinfo_inspect_flat(const char *xml, const char *vrt_path,
                              pvrt_vrtinfo *info);

/* Frees a remote-source array. Accepts NULL. */
void pvrt_remote_sources_free(pvrt_remote_source *r, int n);

/* Non-zero if the path reads over the network (/vsicurl/, http://, ...). */
int pvrt_path_is_network(const char *path);

#ifdef __cplusplus
}
#endif

#endif
