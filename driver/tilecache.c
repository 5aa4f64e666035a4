/* tilecache.c: see tilecache.h. A handful of entries (the cap over a few
 * MB each), so lookups scan an array. */
#include "tilecache.h"

#include "bigmem.h"

#include <cpl_conv.h>

#include <string.h>

typedef struct entry {
    pvrt_band_path path;
    GDALDataType type;
    int x, y, w, h;
    void *data;
    pvrt_rect *tiles; /* NULL: data is one packed rectangle */
    int ntiles;
    int64_t bytes;
    uint64_t used; /* last use, for LRU */
} entry;

struct pvrt_tilecache {
    int64_t cap, bytes;
    uint64_t clock;
    entry *e;
    int n, alloc;
};

pvrt_tilecache *pvrt_tilecache_new(int64_t cap_bytes)
{
    pvrt_tilecache *c = (pvrt_tilecache *)VSI_CALLOC_VERBOSE(1, sizeof *c);
    if (c)
        c->cap = cap_bytes;
    return c;
}

void pvrt_tilecache_free(pvrt_tilecache *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->n; i++) {
        pvrt_big_free(c->e[i].data);
        VSIFree(c->e[i].tiles);
    }
    VSIFree(c->e);
    VSIFree(c);
}

static int same_path(const pvrt_band_path *a, const pvrt_band_path *b)
{
    return a->band == b->band && a->overview == b->overview &&
           a->mask == b->mask;
}

static entry *lookup(pvrt_tilecache *c, const pvrt_band_path *p, GDALDataType t,
                     int x, int y, int w, int h)
{
    if (c == NULL)
        return NULL;
    for (int i = 0; i < c->n; i++) {
        entry *e = &c->e[i];
        if (e->type == t && same_path(&e->path, p) && x >= e->x && y >= e->y &&
            x + w <= e->x + e->w && y + h <= e->y + e->h) {
            e->used = ++c->clock;
            return e;
        }
    }
    return NULL;
}

int pvrt_tilecache_find(pvrt_tilecache *c, const pvrt_band_path *p,
                        GDALDataType t, int x, int y, int w, int h, int *rx,
                        int *ry, int *rw, int *rh)
{
    const entry *e = lookup(c, p, t, x, y, w, h);
    if (e == NULL)
        return 0;
    *rx = e->x;
    *ry = e->y;
    *rw = e->w;
    *rh = e->h;
    return 1;
}

int pvrt_tilecache_overlap(pvrt_tilecache *c, const pvrt_band_path *p,
                           GDALDataType t, int x, int y, int w, int h, int *rx,
                           int *ry, int *rw, int *rh)
{
    int64_t best = 0;
    for (int i = 0; c && i < c->n; i++) {
        const entry *e = &c->e[i];
        if (e->type != t || !same_path(&e->path, p))
            continue;
        const int x0 = x > e->x ? x : e->x, y0 = y > e->y ? y : e->y;
        const int x1 = x + w < e->x + e->w ? x + w : e->x + e->w;
        const int y1 = y + h < e->y + e->h ? y + h : e->y + e->h;
        if (x1 <= x0 || y1 <= y0 || (int64_t)(x1 - x0) * (y1 - y0) <= best)
            continue;
        best = (int64_t)(x1 - x0) * (y1 - y0);
        *rx = x0;
        *ry = y0;
        *rw = x1 - x0;
        *rh = y1 - y0;
    }
    return best > 0;
}

int pvrt_tilecache_read(pvrt_tilecache *c, const pvrt_band_path *p,
                        GDALDataType t, int x, int y, int w, int h, void *buf,
                        GSpacing ps, GSpacing ls)
{
    const entry *e = lookup(c, p, t, x, y, w, h);
    if (e == NULL)
        return 0;
    const int size = GDALGetDataTypeSizeBytes(t);
    const pvrt_rect whole = {0, 0, e->w, e->h};
    const pvrt_rect *tiles = e->tiles ? e->tiles : &whole;
    const int ntiles = e->tiles ? e->ntiles : 1;
    const GByte *tile = (const GByte *)e->data;
    /* Each tile's part of the window, row by row. */
    for (int k = 0; k < ntiles; k++) {
        const int tx = e->x + tiles[k].x, ty = e->y + tiles[k].y;
        const int tw = tiles[k].w, th = tiles[k].h;
        const int x0 = x > tx ? x : tx, y0 = y > ty ? y : ty;
        const int x1 = x + w < tx + tw ? x + w : tx + tw;
        const int y1 = y + h < ty + th ? y + h : ty + th;
        for (int r = y0; r < y1 && x0 < x1; r++) {
            const GByte *src =
                tile + ((size_t)(r - ty) * tw + (size_t)(x0 - tx)) * size;
            GByte *dst = (GByte *)buf + (r - y) * ls + (x0 - x) * ps;
            if (ps == size)
                memcpy(dst, src, (size_t)(x1 - x0) * size);
            else
                GDALCopyWords(src, t, size, dst, t, (int)ps, x1 - x0);
        }
        tile += (size_t)tw * th * size;
    }
    return 1;
}

/* Drops the least recently used entry. */
static void evict_one(pvrt_tilecache *c)
{
    int oldest = 0;
    for (int i = 1; i < c->n; i++)
        if (c->e[i].used < c->e[oldest].used)
            oldest = i;
    c->bytes -= c->e[oldest].bytes;
    pvrt_big_free(c->e[oldest].data);
    VSIFree(c->e[oldest].tiles);
    c->e[oldest] = c->e[--c->n];
}

void *pvrt_tilecache_take(pvrt_tilecache *c, const pvrt_band_path *p,
                          GDALDataType t, int x, int y, int w, int h,
                          int64_t *bytes)
{
    for (int i = 0; c && i < c->n; i++) {
        const entry *e = &c->e[i];
        if (e->type == t && same_path(&e->path, p) && e->x == x && e->y == y &&
            e->w == w && e->h == h) {
            void *data = e->data;
            *bytes = e->bytes;
            VSIFree(e->tiles);
            c->bytes -= e->bytes;
            c->e[i] = c->e[--c->n];
            return data;
        }
    }
    return NULL;
}

void pvrt_tilecache_drop_within(pvrt_tilecache *c, const pvrt_band_path *p,
                                GDALDataType t, int x, int y, int w, int h)
{
    for (int i = 0; c && i < c->n;) {
        const entry *e = &c->e[i];
        if (e->type == t && same_path(&e->path, p) && e->x >= x && e->y >= y &&
            e->x + e->w <= x + w && e->y + e->h <= y + h) {
            c->bytes -= e->bytes;
            pvrt_big_free(e->data);
            VSIFree(e->tiles);
            c->e[i] = c->e[--c->n];
        } else
            i++;
    }
}

int pvrt_tilecache_make_room(pvrt_tilecache *c, int64_t bytes)
{
    if (c == NULL)
        return 0;
    for (;;) {
        if (c->bytes + bytes <= c->cap)
            return 1;
        if (c->n < 2)
            return 0;
        /* Never the most recently used entry: its reader is in it. */
        int newest = 0;
        for (int i = 1; i < c->n; i++)
            if (c->e[i].used > c->e[newest].used)
                newest = i;
        const entry keep = c->e[newest];
        c->e[newest] = c->e[--c->n];
        evict_one(c);
        c->e[c->n++] = keep;
    }
}

int pvrt_tilecache_put(pvrt_tilecache *c, const pvrt_band_path *p,
                       GDALDataType t, int x, int y, int w, int h, void *data,
                       pvrt_rect *tiles, int ntiles)
{
    const int64_t bytes = (int64_t)w * h * GDALGetDataTypeSizeBytes(t);
    if (c == NULL || bytes > c->cap) {
        pvrt_big_free(data);
        VSIFree(tiles);
        return 0;
    }
    while (c->n > 0 && c->bytes + bytes > c->cap)
        evict_one(c);
    if (c->n == c->alloc) {
        const int alloc = c->alloc ? 2 * c->alloc : 8;
        entry *e =
            (entry *)VSI_REALLOC_VERBOSE(c->e, (size_t)alloc * sizeof *e);
        if (e == NULL) {
            pvrt_big_free(data);
            VSIFree(tiles);
            return 0;
        }
        c->e = e;
        c->alloc = alloc;
    }
    entry *e = &c->e[c->n++];
    e->path = *p;
    e->type = t;
    e->x = x;
    e->y = y;
    e->w = w;
    e->h = h;
    e->data = data;
    e->tiles = tiles;
    e->ntiles = ntiles;
    e->bytes = bytes;
    e->used = ++c->clock;
    c->bytes += bytes;
    return 1;
}

int64_t pvrt_tilecache_bytes(const pvrt_tilecache *c)
{
    return c ? c->bytes : 0;
}

int pvrt_tilecache_entries(const pvrt_tilecache *c)
{
    return c ? c->n : 0;
}
