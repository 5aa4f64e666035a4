/* shared.h: handles of gather.c's capture VRTs shared by every dataset of
 * the process that reads the same source the same way.
 *
 * Two callers with their own handles of one VRT (a thread pool over
 * windows, a tile server's threads) each decode every source block their
 * windows touch: a block decoded through one handle is cached for that
 * handle alone. A dataset whose windows are read while other callers share
 * the cores reads them through these handles instead, each handle under its
 * own lock, so a block is decoded once for all of them (gather.c). A
 * handle is found by its capture VRT's text and open options, only in the
 * process that opened it, and only while the source file and the files
 * GDAL reads beside it (.ovr, .aux.xml, .msk) are what they were when it was
 * made: a dataset that asks after a change gets a new handle. */
#ifndef PVRT_SHARED_H
#define PVRT_SHARED_H

#include <gdal.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pvrt_shared pvrt_shared;

/* A reference to the shared handle of capture VRT `xml` (opened with the
 * VRT driver and `open_options`), whose one source reads the local file
 * `source`. NULL when it cannot be shared: `source` is not a local file or
 * is itself a VRT (its own sources could change unseen), or cannot be
 * stamped. Nothing is reported. */
pvrt_shared *pvrt_shared_get(const char *xml, CSLConstList open_options,
                             const char *source);

/* Drops a reference; the last closes the handle. Accepts NULL. The caller
 * must not hold its lock. */
void pvrt_shared_release(pvrt_shared *s);

/* Whether this process made it: a forked child's datasets never use what
 * their parent made. */
int pvrt_shared_here(const pvrt_shared *s);

/* Takes the handle's lock: waits for it when `wait`, otherwise returns 0
 * at once when another thread holds it. Returns 1 when taken. */
int pvrt_shared_trylock(pvrt_shared *s, int wait);
void pvrt_shared_unlock(pvrt_shared *s);

/* The handle (lock held), opened now if it is not yet. NULL after a
 * CPLError (the open's own, or pvrt_clones_get's). */
GDALDatasetH pvrt_shared_handle(pvrt_shared *s);

/* Shared handles open in the process (for tests). */
int pvrt_shared_open_count(void);

#ifdef __cplusplus
}
#endif

#endif
