/* tilecache.h: one dataset's cache of computed pixels.
 *
 * An entry is a rectangle of one band (band path), computed in one buffer
 * type; it serves any later request of that band and type whose window it
 * holds, by copying. Its pixels are packed, either as one rectangle or as
 * the tiles it was computed in, one after another, each packed (a region
 * split on the pool: every tile is written where it stays, not copied).
 * Reads of a tile-safe dataset do not depend on how they are split
 * (vrtinfo.h), so a window copied out of an entry is the bytes the request
 * would have computed. Entries are evicted least recently used first
 * beyond the cap. Used only by the thread that owns the PVRT handle (GDAL's
 * rule: one thread at a time), so there is no lock. */
#ifndef PVRT_TILECACHE_H
#define PVRT_TILECACHE_H

#include <gdal.h>

#include <stdint.h>

#include "read.h"
#include "tiles.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pvrt_tilecache pvrt_tilecache;

/* A cache holding at most cap_bytes of pixels. Returns NULL when memory
 * runs out (nothing reported). */
pvrt_tilecache *pvrt_tilecache_new(int64_t cap_bytes);
void pvrt_tilecache_free(pvrt_tilecache *c); /* accepts NULL */

/* Copies window (x, y, w, h) of band p in type t into buf with the given
 * pixel and line spacing when one entry holds all of it. Returns 1 when it
 * did, 0 when no entry holds it. */
int pvrt_tilecache_read(pvrt_tilecache *c, const pvrt_band_path *p,
                        GDALDataType t, int x, int y, int w, int h, void *buf,
                        GSpacing ps, GSpacing ls);

/* Whether an entry of band p in type t holds window (x, y, w, h): 1 with
 * the entry's own rectangle in *rx.. *rh, else 0. */
int pvrt_tilecache_find(pvrt_tilecache *c, const pvrt_band_path *p,
                        GDALDataType t, int x, int y, int w, int h, int *rx,
                        int *ry, int *rw, int *rh);

/* The rectangle of band p in type t that an entry holds of window (x, y,
 * w, h), the largest there is, in *rx.. *rh. Returns 1 when there is one,
 * 0 when no entry holds any of it. */
int pvrt_tilecache_overlap(pvrt_tilecache *c, const pvrt_band_path *p,
                           GDALDataType t, int x, int y, int w, int h, int *rx,
                           int *ry, int *rw, int *rh);

/* Stores the pixels `data` of rectangle (x, y, w, h) of band p in type t,
 * evicting the least recently used entries beyond the cap: packed, when
 * `tiles` is NULL, else the ntiles tiles (relative to (x, y), covering it
 * exactly) one after another in that order, each packed. The cache takes
 * data (from pvrt_big_alloc, bigmem.h) and tiles (VSIMalloc'ed). Data larger
 * than the cap is freed at once. Returns 1 when stored, 0 when freed. */
int pvrt_tilecache_put(pvrt_tilecache *c, const pvrt_band_path *p,
                       GDALDataType t, int x, int y, int w, int h, void *data,
                       pvrt_rect *tiles, int ntiles);

/* Removes the entry of band p in type t whose rectangle is exactly (x, y,
 * w, h) and hands its pixels to the caller (pvrt_big_free them), their size in
 * *bytes. NULL when there is none. */
void *pvrt_tilecache_take(pvrt_tilecache *c, const pvrt_band_path *p,
                          GDALDataType t, int x, int y, int w, int h,
                          int64_t *bytes);

/* Frees the entries of band p in type t that lie within window (x, y, w,
 * h): a read that took them needs them no more. */
void pvrt_tilecache_drop_within(pvrt_tilecache *c, const pvrt_band_path *p,
                                GDALDataType t, int x, int y, int w, int h);

/* Evicts least recently used entries, never the most recently used one,
 * until `bytes` more fit within the cap. Returns 1 when they fit. */
int pvrt_tilecache_make_room(pvrt_tilecache *c, int64_t bytes);

/* Bytes held now, and entries (for tests and debug messages). */
int64_t pvrt_tilecache_bytes(const pvrt_tilecache *c);
int pvrt_tilecache_entries(const pvrt_tilecache *c);

#ifdef __cplusplus
}
#endif

#endif
