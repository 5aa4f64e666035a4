/* table.c: the one table of pvrt pixel functions, and their registration.
 *
 * Each family file defines its entry point and its
 * <PixelFunctionArgumentsList> metadata next to it; this table lists them
 * all, and pvrt_pixelfuncs_register hands each to GDAL. GDAL registers its
 * own functions after plugins and replaces same-named ones, hence the
 * pvrt_ prefix on every name. */
#include "pixelfuncs.h"

#include "pf_private.h"

#include <string.h>

typedef struct {
    const char *name;
    GDALDerivedPixelFuncWithArgs fn;
    const char *metadata;
} pixelfunc_entry;

static const pixelfunc_entry pixelfunc_table[] = {
    {"pvrt_busy", pvrt__busy, pvrt__busy_meta},
    {"pvrt_reduce", pvrt__reduce, pvrt__reduce_meta},
    {"pvrt_reclass", pvrt__reclass, pvrt__reclass_meta},
    {"pvrt_index", pvrt__index, pvrt__index_meta},
    {"pvrt_expr", pvrt__expr, pvrt__expr_meta},
    {"pvrt__capture", pvrt__capture, pvrt__capture_meta},
    {"pvrt_terrain", pvrt__terrain_refuse, pvrt__terrain_meta},
    {"pvrt_focal", pvrt__focal_refuse, pvrt__focal_meta},
    /* pvrt-table-end: families add their rows above this line */
};

#define PIXELFUNC_COUNT (sizeof(pixelfunc_table) / sizeof(pixelfunc_table[0]))

int pvrt_pixelfuncs_register(void)
{
    for (size_t i = 0; i < PIXELFUNC_COUNT; i++) {
        const pixelfunc_entry *e = &pixelfunc_table[i];
        if (GDALAddDerivedBandPixelFuncWithArgs(e->name, e->fn, e->metadata) !=
            CE_None) {
            CPLError(CE_Failure, CPLE_AppDefined,
                     "PVRT: could not register pixel function %s", e->name);
            return -1;
        }
    }
    return 0;
}

void pvrt_pixelfuncs_cleanup(void)
{
    pvrt__expr_cleanup();
    /* pvrt-cleanup-end: families that cache add their cleanup calls above */
}

GDALDerivedPixelFuncWithArgs pvrt_pixelfunc_find(const char *name,
                                                 const char **metadata)
{
    for (size_t i = 0; i < PIXELFUNC_COUNT; i++) {
        if (strcmp(pixelfunc_table[i].name, name) == 0) {
            if (metadata)
                *metadata = pixelfunc_table[i].metadata;
            return pixelfunc_table[i].fn;
        }
    }
    if (metadata)
        *metadata = NULL;
    return NULL;
}
