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

/* What a file is: size (-1: absent), modification time, inode. */
typedef struct pvrt_file_stamp {
    GIntBig size;
    long long mtime_s, mtime_ns;
    unsigned long long ino, dev;
} pvrt_file_stamp;

/* Stamps the file as it is now: 0, or -1 when it is absent (stamped so). */
int pvrt_file_stamp_of(const char *path, pvrt_file_stamp *f);
int pvrt_file_stamps_equal(const pvrt_file_stamp *a, const pvrt_file_stamp *b);

/* Files beside a file that GDAL reads when it opens it, absent or not:
 * overviews, auxiliary metadata, masks (suffixes to its name). */
#define PVRT_NSIDE 3
extern const char *const pvrt_side_suffixes[PVRT_NSIDE];

/* A file of the local file system (not /vsi..., not the network). */
int pvrt_local_file(const char *path);
/* Whether the name ends with .vrt (any case). */
int pvrt_ends_with_vrt(const char *path);

/* Frees what pvrt_reopen_note recorded (ds->reopen). Accepts NULL. */
void pvrt_reopen_info_free(struct pvrt_reopen_info *r);

#ifdef __cplusplus
}
#endif

#endif
