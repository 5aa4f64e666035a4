/* neighbourhood.c: see neighbourhood.h. Dispatch to the families, and the
 * entry points GDAL's registry holds for them, which only refuse: GDAL's
 * VRT driver would call them without a halo. */
#include "neighbourhood.h"

#include "nbhd_private.h"
#include "pf_private.h"

#include <cpl_conv.h>

#include <string.h>

typedef struct nbhd_family {
    const char *name;
    void *(*make)(CSLConstList, const pvrt_nbhd_geo *, int *);
    void (*destroy)(void *);
    int (*compute)(const void *, const double *, int, int, int, int, double *,
                   int, int);
    /* On float input, or NULL: the family computes in double. */
    int (*compute_float)(const void *, const float *, int, int, int, int,
                         double *, int, int);
} nbhd_family;

static const nbhd_family families[] = {
    {"pvrt_terrain", pvrt__terrain_new, pvrt__terrain_free,
     pvrt__terrain_compute, pvrt__terrain_compute_float},
    {"pvrt_focal", pvrt__focal_new, pvrt__focal_free, pvrt__focal_compute,
     NULL},
};

#define FAMILY_COUNT (sizeof(families) / sizeof(families[0]))

struct pvrt_nbhd {
    const nbhd_family *family;
    void *state;
    int radius;
};

static const nbhd_family *family_find(const char *name)
{
    for (size_t i = 0; name && i < FAMILY_COUNT; i++)
        if (EQUAL(families[i].name, name))
            return &families[i];
    return NULL;
}

int pvrt_nbhd_is_function(const char *name)
{
    return family_find(name) != NULL;
}

pvrt_nbhd *pvrt_nbhd_new(const char *name, CSLConstList args,
                         const pvrt_nbhd_geo *geo)
{
    const nbhd_family *f = family_find(name);
    if (f == NULL) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "PVRT: %s is not a neighbourhood function", name);
        return NULL;
    }
    int radius = 0;
    void *state = f->make(args, geo, &radius);
    if (state == NULL)
        return NULL;
    pvrt_nbhd *k = (pvrt_nbhd *)CPLCalloc(1, sizeof(pvrt_nbhd));
    k->family = f;
    k->state = state;
    k->radius = radius;
    return k;
}

void pvrt_nbhd_free(pvrt_nbhd *k)
{
    if (k == NULL)
        return;
    k->family->destroy(k->state);
    CPLFree(k);
}

int pvrt_nbhd_input_nodata(const char *name, CSLConstList args, double *value)
{
    const int rc = pvrt__arg_double(args, name, "nodata", 0, value);
    return rc < 0 ? -1 : rc == 0;
}

int pvrt_nbhd_radius(const pvrt_nbhd *k)
{
    return k->radius;
}

int pvrt_nbhd_compute(const pvrt_nbhd *k, const double *in, int in_w, int in_h,
                      int ox, int oy, double *out, int out_w, int out_h)
{
    return k->family->compute(k->state, in, in_w, in_h, ox, oy, out, out_w,
                              out_h);
}

int pvrt_nbhd_takes_float(const pvrt_nbhd *k)
{
    return k->family->compute_float != NULL;
}

int pvrt_nbhd_compute_float(const pvrt_nbhd *k, const float *in, int in_w,
                            int in_h, int ox, int oy, double *out, int out_w,
                            int out_h)
{
    if (k->family->compute_float == NULL) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "PVRT: %s does not take float input", k->family->name);
        return -1;
    }
    return k->family->compute_float(k->state, in, in_w, in_h, ox, oy, out,
                                    out_w, out_h);
}

/* What GDAL's VRT driver gets when it reads such a band itself. */
static CPLErr refuse(const char *name)
{
    CPLError(CE_Failure, CPLE_NotSupported,
             "%s needs the PVRT driver: it computes each pixel from its "
             "neighbours, which GDAL's VRT driver does not read for C pixel "
             "functions. Open the VRT with the PVRT plugin installed "
             "(gdal_PVRT.so, PVRT_CLAIM not NONE), or as PVRT:<path>",
             name);
    return CE_Failure;
}

const char pvrt__terrain_meta[] = "";
const char pvrt__focal_meta[] = "";

CPLErr pvrt__terrain_refuse(PVRT_PIXELFUNC_ARGS)
{
    (void)sources, (void)nsources, (void)out, (void)width, (void)height;
    (void)src_type, (void)out_type, (void)pixel_space, (void)line_space;
    (void)args;
    return refuse("pvrt_terrain");
}

CPLErr pvrt__focal_refuse(PVRT_PIXELFUNC_ARGS)
{
    (void)sources, (void)nsources, (void)out, (void)width, (void)height;
    (void)src_type, (void)out_type, (void)pixel_space, (void)line_space;
    (void)args;
    return refuse("pvrt_focal");
}
