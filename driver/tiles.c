/* tiles.c: see tiles.h.
 *
 * The window is cut along grid lines into a lattice of cells; a tile is a
 * rectangle of cells. Starting from one tile covering everything, the
 * larger side (in cells) is halved while the tile breaks the memory budget,
 * or while there are fewer tiles than wanted per thread and a half tile
 * still holds min_pixels. */
#include "tiles.h"

#include <stdlib.h>

/* Grid lines crossing [start, start+len): positions of cell starts,
 * relative to start, written to cuts (cuts[0] = 0, cuts[n] = len). */
static int grid_cuts(int start, int len, int cell, int off, int *cuts)
{
    int n = 0;
    cuts[n++] = 0;
    /* first grid line strictly after start */
    long long rel = ((long long)start - off) % cell;
    if (rel < 0)
        rel += cell;
    long long pos = (long long)start - rel + cell;
    for (; pos < (long long)start + len; pos += cell)
        cuts[n++] = (int)(pos - start);
    cuts[n] = len;
    return n; /* number of cells */
}

static long long ceil_div(long long a, long long b)
{
    return (a + b - 1) / b;
}

int pvrt_tiles_plan(const pvrt_tile_params *p, pvrt_rect **tiles)
{
    *tiles = NULL;
    if (p->force_w > 0 && p->force_h > 0) {
        const long long nx = ceil_div(p->win_w, p->force_w);
        const long long ny = ceil_div(p->win_h, p->force_h);
        pvrt_rect *t =
            (pvrt_rect *)malloc(sizeof(pvrt_rect) * (size_t)(nx * ny));
        if (t == NULL)
            return -1;
        int k = 0;
        for (long long j = 0; j < ny; j++)
            for (long long i = 0; i < nx; i++) {
                pvrt_rect *r = &t[k++];
                r->x = (int)(i * p->force_w);
                r->y = (int)(j * p->force_h);
                r->w =
                    p->win_w - r->x < p->force_w ? p->win_w - r->x : p->force_w;
                r->h =
                    p->win_h - r->y < p->force_h ? p->win_h - r->y : p->force_h;
            }
        *tiles = t;
        return k;
    }

    const int gx = p->grid_x > 0 ? p->grid_x : 1;
    const int gy = p->grid_y > 0 ? p->grid_y : 1;
    int *xcuts = (int *)malloc(sizeof(int) * ((size_t)p->win_w / gx + 3));
    int *ycuts = (int *)malloc(sizeof(int) * ((size_t)p->win_h / gy + 3));
    if (xcuts == NULL || ycuts == NULL) {
        free(xcuts);
        free(ycuts);
        return -1;
    }
    const int ncx = grid_cuts(p->win_x, p->win_w, gx, p->grid_off_x, xcuts);
    const int ncy = grid_cuts(p->win_y, p->win_h, gy, p->grid_off_y, ycuts);

    /* Tile size in cells. */
    long long tcx = ncx, tcy = p->one_row ? 1 : ncy;
    const long long want = (long long)(p->per_thread > 0 ? p->per_thread : 4) *
                           (p->threads > 0 ? p->threads : 1);
    const long long bpp = p->bytes_per_pixel > 0 ? p->bytes_per_pixel : 1;
    for (;;) {
        const long long px = (long long)gx * tcx * (long long)gy * tcy;
        const long long count = ceil_div(ncx, tcx) * ceil_div(ncy, tcy);
        const int over_budget =
            p->budget_bytes > 0 && px * bpp > p->budget_bytes;
        const int too_few = count < want && px / 2 >= p->min_pixels;
        if (!(over_budget || too_few) || (tcx == 1 && tcy == 1))
            break;
        /* Halve the side with more pixels (whole cells). */
        if ((tcx > 1 && (long long)gx * tcx >= (long long)gy * tcy) || tcy == 1)
            tcx = ceil_div(tcx, 2);
        else
            tcy = ceil_div(tcy, 2);
    }

    const long long ntx = ceil_div(ncx, tcx), nty = ceil_div(ncy, tcy);
    pvrt_rect *t = (pvrt_rect *)malloc(sizeof(pvrt_rect) * (size_t)(ntx * nty));
    if (t == NULL) {
        free(xcuts);
        free(ycuts);
        return -1;
    }
    int k = 0;
    for (long long j = 0; j < nty; j++) {
        const long long c0 = j * tcy, c1 = c0 + tcy < ncy ? c0 + tcy : ncy;
        for (long long i = 0; i < ntx; i++) {
            const long long r0 = i * tcx, r1 = r0 + tcx < ncx ? r0 + tcx : ncx;
            pvrt_rect *r = &t[k++];
            r->x = xcuts[r0];
            r->w = xcuts[r1] - xcuts[r0];
            r->y = ycuts[c0];
            r->h = ycuts[c1] - ycuts[c0];
        }
    }
    free(xcuts);
    free(ycuts);
    *tiles = t;
    return k;
}
