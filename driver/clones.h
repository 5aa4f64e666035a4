/* clones.h: one dataset's private clones, one per pool worker.
 *
 * A GDAL dataset handle must never be used by two threads at once, and VRT
 * sources are opened lazily per thread, so every worker reads through its
 * own clone of the dataset, opened by that worker on first use (never with
 * GDAL_OF_SHARED) and closed with the parent. Slot k belongs to worker k:
 * only worker k touches it while the parent is open, so slots need no lock.
 * pvrt_clones_free runs on the closing thread once no read is in flight. */
#ifndef PVRT_CLONES_H
#define PVRT_CLONES_H

#include <gdal.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pvrt_clones pvrt_clones;

/* `path` is what GDALOpenEx gets; `allowed` the allowed-driver list (NULL:
 * any), `open_options` the clone's open options (copied). `slots` is the
 * number of workers that may ask. Returns NULL after a CPLError. */
pvrt_clones *pvrt_clones_new(const char *path, const char *const *allowed,
                             CSLConstList open_options, int slots);
void pvrt_clones_free(pvrt_clones *c); /* accepts NULL */

/* The clone of worker `worker`, opened now if it is not yet. Returns NULL
 * after a CPLError (the open's own error, or one naming the path). */
GDALDatasetH pvrt_clones_get(pvrt_clones *c, int worker);

/* How many clones are open (for tests). Call only while no read runs. */
int pvrt_clones_open_count(const pvrt_clones *c);

#ifdef __cplusplus
}
#endif

#endif
