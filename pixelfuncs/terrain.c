/* terrain.c: pvrt_terrain (stub: being written). */
#include "nbhd_private.h"

#include <cpl_error.h>

void *pvrt__terrain_new(CSLConstList args, const pvrt_nbhd_geo *geo,
                        int *radius) {
  (void)args;
  (void)geo;
  *radius = 0;
  CPLError(CE_Failure, CPLE_NotSupported, "pvrt_terrain: not implemented yet");
  return NULL;
}

void pvrt__terrain_free(void *state) { (void)state; }

int pvrt__terrain_compute(const void *state, const double *in, int in_w,
                          int in_h, int ox, int oy, double *out, int out_w,
                          int out_h) {
  (void)state, (void)in, (void)in_w, (void)in_h, (void)ox, (void)oy;
  (void)out, (void)out_w, (void)out_h;
  return -1;
}
