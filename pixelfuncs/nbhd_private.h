/* nbhd_private.h: what neighbourhood.c dispatches to in each family file
 * (terrain.c, focal.c). Same contracts as neighbourhood.h; each family
 * keeps its parsed arguments in its own opaque state. */
#ifndef PVRT_NBHD_PRIVATE_H
#define PVRT_NBHD_PRIVATE_H

#include "neighbourhood.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the family's parsed state and sets *radius, or NULL after a
 * CPLError naming the function and the argument. */
void *pvrt__terrain_new(CSLConstList args, const pvrt_nbhd_geo *geo,
                        int *radius);
void pvrt__terrain_free(void *state);
int pvrt__terrain_compute(const void *state, const double *in, int in_w,
                          int in_h, int ox, int oy, double *out, int out_w,
                          int out_h);
/* The same on float input (pvrt_nbhd_compute_float). */
int pvrt__terrain_compute_float(const void *state, const float *in, int in_w,
                                int in_h, int ox, int oy, double *out,
                                int out_w, int out_h);

void *pvrt__focal_new(CSLConstList args, const pvrt_nbhd_geo *geo, int *radius);
void pvrt__focal_free(void *state);
int pvrt__focal_compute(const void *state, const double *in, int in_w, int in_h,
                        int ox, int oy, double *out, int out_w, int out_h);

#ifdef __cplusplus
}
#endif

#endif
