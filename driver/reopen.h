/* reopen.h: datasets the application closed, kept for its next open of the
 * same unchanged VRT.
 *
 * A tile server opens the VRT for every tile it serves and closes it after:
 * each open would open the VRT, its sources and its handles again and
 * decode again every source block the tile needs. A closed dataset is kept
 * instead (at most 8, the one closed longest ago goes first), with the
 * blocks its handles decoded, and the next open with the same key (path,
 * open options, the options and CPU count that set the dataset up) takes
 * it when nothing changed: the VRT and every source file have the size,
 * modification time and inode they had when the dataset was first opened,
 * the side files GDAL looks for (.ovr, .aux.xml, .msk) exist or not as
 * then, and the VRT's state (its serialised XML) is what it was then. Only
 * local VRT files whose sources are local non-VRT files, opened by the
 * application (not by GDAL's source pool) at least twice, in the same
 * process (not across a fork), outside GDAL's command-line utilities, are
 * kept; what the dataset computed for its last user (cached tiles, kept
 * reads, read-ahead) is dropped when it is kept. docs/driver.md has the
 * rules. */
#ifndef PVRT_REOPEN_H
#define PVRT_REOPEN_H

#include <gdal.h>

#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The key of an open of `path` (named with the PVRT: prefix or not) with
 * these open options, or NULL when such a dataset is never kept. CPLFree
 * it. */
char *pvrt_reopen_key(const char *path, int explicit_prefix,
                      CSLConstList open_options);

/* A kept dataset with this key whose files and state are unchanged (taken
 * out of the kept ones), or NULL. */
pvrt_dataset *pvrt_reopen_take(const char *key);

/* Called at the end of a fresh open with the open's key (taken over):
 * records what a later reuse must find unchanged. The dataset is never kept
 * when that cannot be recorded, nor when the key is opened for the first
 * time. */
void pvrt_reopen_note(pvrt_dataset *ds, char *key);

/* The application closed ds: kept (returns 1) when it may serve a later
 * open, else 0 and the caller closes it. */
int pvrt_reopen_park(pvrt_dataset *ds);

/* The driver unloads: the kept datasets are given up, never closed nor
 * used again (GDALDestroyDriverManager destroyed GDAL's source pool, which
 * their sources point at, before it unloads drivers). Returns how many. */
int pvrt_reopen_unload(void);

/* Frees what pvrt_reopen_note recorded (ds->reopen). Accepts NULL. */
void pvrt_reopen_info_free(struct pvrt_reopen_info *r);

#ifdef __cplusplus
}
#endif

#endif
