/* clones.c: see clones.h. */
#include "clones.h"

#include <cpl_conv.h>
#include <cpl_string.h>

#include <stdlib.h>

struct pvrt_clones {
    char *path;
    char **allowed; /* NULL: any driver */
    char **open_options;
    int nslots;
    GDALDatasetH *slots; /* slot k: owned by worker k */
};

pvrt_clones *pvrt_clones_new(const char *path, const char *const *allowed,
                             CSLConstList open_options, int slots)
{
    pvrt_clones *c = (pvrt_clones *)VSI_CALLOC_VERBOSE(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->path = CPLStrdup(path);
    c->allowed = allowed ? CSLDuplicate((CSLConstList)allowed) : NULL;
    c->open_options = CSLDuplicate(open_options);
    c->nslots = slots > 0 ? slots : 0;
    if (c->nslots > 0) {
        c->slots = (GDALDatasetH *)VSI_CALLOC_VERBOSE((size_t)c->nslots,
                                                      sizeof(GDALDatasetH));
        if (c->slots == NULL) {
            pvrt_clones_free(c);
            return NULL;
        }
    }
    return c;
}

void pvrt_clones_free(pvrt_clones *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->nslots; i++)
        if (c->slots[i])
            GDALClose(c->slots[i]);
    VSIFree(c->slots);
    CSLDestroy(c->open_options);
    CSLDestroy(c->allowed);
    CPLFree(c->path);
    VSIFree(c);
}

GDALDatasetH pvrt_clones_get(pvrt_clones *c, int worker)
{
    if (worker < 0 || worker >= c->nslots) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "PVRT: worker %d has no clone slot (%d slots)", worker,
                 c->nslots);
        return NULL;
    }
    if (c->slots[worker] == NULL) {
        CPLErrorReset();
        c->slots[worker] =
            GDALOpenEx(c->path,
                       GDAL_OF_RASTER | GDAL_OF_READONLY |
                           GDAL_OF_VERBOSE_ERROR | GDAL_OF_INTERNAL,
                       (const char *const *)c->allowed,
                       (const char *const *)c->open_options, NULL);
        if (c->slots[worker] == NULL && CPLGetLastErrorType() < CE_Failure)
            CPLError(CE_Failure, CPLE_OpenFailed,
                     "PVRT: worker %d could not open its clone of %s", worker,
                     c->path);
    }
    return c->slots[worker];
}

int pvrt_clones_open_count(const pvrt_clones *c)
{
    int n = 0;
    for (int i = 0; i < c->nslots; i++)
        n += c->slots[i] != NULL;
    return n;
}
