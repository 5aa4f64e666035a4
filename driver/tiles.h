/* tiles.h: the tile planner, which splits one request into tiles.
 *
 * Pure arithmetic, no GDAL calls, callable from any thread. A tile that cuts
 * a source block in two makes two clones decode that block, so tiles are
 * rectangles of whole blocks of the alignment grid (the sources' block
 * grid), in both directions: a swath one block row high is split by
 * columns. A request gets enough tiles to keep every thread busy (4 per
 * thread unless told), no tile smaller than a minimum worth scheduling, and
 * none over the memory budget.
 * Coordinates are in request pixels, relative to the window origin. */
#ifndef PVRT_TILES_H
#define PVRT_TILES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pvrt_rect {
    int x, y, w, h;
} pvrt_rect;

typedef struct pvrt_tile_params {
    int win_x, win_y, win_w, win_h; /* the request window in raster pixels */
    int grid_x, grid_y;             /* alignment grid cell size (>= 1) */
    int grid_off_x, grid_off_y;     /* raster position of a grid corner */
    int64_t bytes_per_pixel;        /* working memory per request pixel */
    int64_t budget_bytes;           /* most working memory per tile */
    int64_t min_pixels;             /* smallest tile worth scheduling */
    int threads;                    /* threads that will compute */
    int per_thread;                 /* tiles wanted per thread (0: 4) */
    int one_row;                    /* tiles one grid cell high at most */
    int force_w, force_h;           /* > 0: fixed tile size (tests) */
} pvrt_tile_params;

/* Plans tiles covering the window exactly, in row-major order. Returns the
 * tile count (>= 1) and a malloc'ed array in *tiles (free it), or -1 when
 * memory runs out (nothing reported). */
int pvrt_tiles_plan(const pvrt_tile_params *p, pvrt_rect **tiles);

#ifdef __cplusplus
}
#endif

#endif
