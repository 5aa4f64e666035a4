/* dataset.h: the C side of one open PVRT dataset, shared by open.c (which
 * builds it) and read.c (which serves reads from it).
 *
 * A dataset holds the primary handle (GDAL's VRT driver, or any driver for
 * PVRT:<path>), which answers everything that is not pixel reading and
 * serves inline reads on the caller's thread, and the clone set the pool's
 * workers read through. One PVRT handle is used by one thread at a time
 * (GDAL's rule); its reads fan out to the pool. */
#ifndef PVRT_DATASET_H
#define PVRT_DATASET_H

#include <gdal.h>

#include <stdint.h>

#include "clones.h"
#include "tiles.h"
#include "vrtinfo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The last band-level read small enough to run whole (ahead.c): a reader
 * whose next window touches it is walking the raster. */
typedef struct pvrt_last_read {
    int valid;
    int band, overview, mask; /* band path */
    GDALDataType type;        /* buffer type */
    int x, y, w, h;           /* window */
} pvrt_last_read;

/* A reader of GDAL's sampled blocks (ahead.c): the band path and buffer
 * type it reads, GDAL's sampling rate and the index (raster order) of the
 * block expected next: `rate` after block 0, then the first block not
 * computed yet; 0: none. GDAL 3.13 reads each sampled block's NoData mask
 * before the block: two readers, one of the band, one of its mask. */
typedef struct pvrt_sampled {
    int band, overview, mask; /* band path; band 0: slot unused */
    GDALDataType type;        /* buffer type */
    int rate;
    int64_t next;
    unsigned stamp; /* last use (the oldest slot is taken) */
} pvrt_sampled;

#define PVRT_SAMPLED_READERS 2

typedef struct pvrt_sampled_readers {
    pvrt_sampled reader[PVRT_SAMPLED_READERS];
    unsigned clock; /* the last stamp given */
} pvrt_sampled_readers;

/* What a band-level read computes, whatever its band and buffer spacing:
 * its window, buffer size and type, resampling and floating-point window
 * (pvrt__read_shape in ahead.h). */
typedef struct pvrt_read_shape {
    GDALDataType type;            /* buffer type */
    int x, y, w, h, buf_w, buf_h; /* window and buffer size */
    GDALRIOResampleAlg resample;
    int float_window;
    double fx, fy, fw, fh; /* 0 without a floating-point window */
} pvrt_read_shape;

/* The pixels of the last large band read, kept for the read of its NoData
 * mask that usually follows (ahead.c). */
typedef struct pvrt_kept_read {
    int band; /* 0: none kept */
    pvrt_read_shape shape;
    void *data;       /* packed buf_w x buf_h of type */
    size_t allocated; /* bytes at data, reused by the next read kept */
} pvrt_kept_read;

/* The region ahead of a sequential reader being computed in the
 * background (ahead.c): its split read, its pixels, what it covers. */
typedef struct pvrt_background {
    struct pvrt_split *split; /* NULL: none running */
    void *data;               /* its tiles one after another (tiles) */
    pvrt_rect *tiles;         /* a copy of the split's tiles */
    int ntiles;
    int band, overview, mask; /* band path */
    GDALDataType type;
    int x, y, w, h;
    int dir;   /* the reader's direction */
    int large; /* the predicted next large read (pvrt__large_done) */
    /* The region its reader was in (sequential readers): passed once the
     * reader joins this one, its memory then holds the region after. */
    int from_x, from_y, from_w, from_h;
} pvrt_background;

/* The last large read (split into tiles) of the application's reader, for
 * the prediction of the next one (ahead.c). */
typedef struct pvrt_large_read {
    pvrt_last_read read; /* the read: band path, buffer type, window */
    int row_x, row_w;    /* the first read of its row of reads */
    double start, end;   /* when it was read (monotonic seconds) */
    int joined;          /* the read in progress met a region computed
                            for it (read.c takes its tiles) */
} pvrt_large_read;

typedef struct pvrt_dataset {
    GDALDatasetH primary;
    pvrt_clones *clones;     /* threads - 1 slots */
    int threads;             /* threads per read, the caller included */
    int threads_explicit;    /* NUM_THREADS was given: kept whatever other
                                callers do (read.c) */
    int network;             /* a source (or the VRT) is on a network path */
    int force_w, force_h;    /* TILE_SIZE, 0: automatic */
    int64_t tile_budget;     /* bytes of working memory per tile */
    int64_t min_tile_pixels; /* smallest tile worth scheduling */
    int tile_safe;           /* reads may be split into tiles */
    int pack;                /* tiles read into a packed buffer first */
    int grid_x, grid_y, grid_off_x, grid_off_y; /* alignment grid */
    int grid_shared; /* every source's blocks lie on that grid (vrtinfo.h):
                        a tile on its lines covers whole source blocks */
    unsigned char *passed;        /* per band, a byte per grid cell: a walk
                                     read its source blocks (read.c); made
                                     by the owner thread, then atomic */
    int passed_cols, passed_rows; /* its cells per band; -1: none made */
    int nbands;
    pvrt_band_info *bands;      /* per band, nbands entries (may be NULL) */
    pvrt_remote_source *remote; /* remote sources, each opened once, in
                                   parallel, before the first split read
                                   that meets it */
    int nremote;
    int last_tiles;               /* (atomic) tiles of the last read */
    int64_t last_pixels;          /* (atomic) window pixels of the last read */
    int last_threads;             /* (atomic) threads allowed for it */
    int64_t cache_cap;            /* CACHE_MB in bytes; 0: no cache */
    int read_ahead;               /* READ_AHEAD: sequential readers get
                                     the region ahead computed at once */
    int force_cached;             /* GDAL_FORCE_CACHING was on when the
                                     primary opened: its bands read
                                     through their blocks */
    int window_gather;            /* WINDOW_GATHER: full-resolution
                                     windows too small to split are
                                     gathered (gather.h) */
    int windows_seen;             /* (owner thread) gather.c was asked
                                     for a full-resolution window */
    int windows_shared;           /* (owner thread) other callers shared
                                     the cores: windows are read through
                                     the process's shared handles
                                     (gather.c, shared.h) */
    pvrt_last_read last_read;     /* (owner thread) */
    pvrt_sampled_readers sampled; /* (owner thread) */
    pvrt_kept_read kept;          /* (owner thread) */
    int background_ok;            /* regions ahead may be computed in the
                                     background: not opened by GDAL's source
                                     pool, which may close it under a lock
                                     the background's reads need */
    pvrt_background background;   /* (owner thread) */
    pvrt_large_read large;        /* (owner thread) */
    int64_t mask_hits;            /* (atomic) masks served from `kept` */
    int64_t split_reads;          /* (atomic) reads split into tiles */
    int64_t striped_tiles;        /* (atomic) tiles read in stripes */
    int64_t gathered_reads;       /* (atomic) reads gathered (gather.c) */
    int64_t shared_reads;         /* (atomic) reads gathered through the
                                     process's shared handles (gather.c,
                                     shared.h) */
    int64_t together_bands;       /* (atomic) bands computed with another
                                     band's gathered read (gather.c) */
    int64_t together_hits;        /* (atomic) reads served by them */
    int64_t direct_captures;      /* (atomic) sources of gathered reads
                                     read straight into their buffers
                                     (gather.c) */
    int64_t ahead_regions;        /* (atomic) regions computed ahead */
    int64_t background_regions;   /* (atomic) of which in the background */
    int64_t regions_reused;       /* (atomic) of which in the memory of a
                                     region its reader passed */
    int64_t large_ahead;          /* (atomic) large reads computed ahead */
    int64_t large_tiles_hit;      /* (atomic) tiles of large reads copied
                                     from the cache */
    int64_t cache_hits;           /* (atomic) reads served by the cache */
    int64_t sampled_blocks;       /* (atomic) GDAL's sampled blocks computed
                                     ahead (ahead.c) */
    int64_t source_drops;         /* (atomic) source bands whose blocks a
                                     tile computed ahead dropped (read.c) */
    struct pvrt_gather *gather;   /* downsampled derived reads (gather.c),
                                     made on first use; NULL: none yet */
    struct pvrt_tilecache *cache; /* computed tiles (tilecache.c), made on
                                     first use; NULL: none yet */
    struct pvrt_halo *halo;       /* neighbourhood bands (halo.c), made on
                                     first use; NULL: none yet */
    int reuse;                    /* REUSE: may be kept once closed */
    struct pvrt_reopen_info *reopen; /* what a reuse must find unchanged
                                        (reopen.c); NULL: never kept */
    int read_failed;                 /* (owner thread) a read failed */
    int64_t reuses;                  /* opens served after a close */
} pvrt_dataset;

/* Opens filename for reading if the driver should serve it. Returns NULL
 * with *declined = 1 when the file is not ours (quietly: another driver may
 * take it), or NULL with *declined = 0 after a CPLError when it is ours but
 * broken. */
pvrt_dataset *pvrt_dataset_open(const char *filename, CSLConstList open_options,
                                int update, int *declined);
/* Closes the clones, then the primary. Accepts NULL. No read may be in
 * flight. */
void pvrt_dataset_close(pvrt_dataset *ds);
/* The application closed the dataset: kept for a later open of the same
 * unchanged VRT (reopen.h), or closed. */
void pvrt_dataset_release(pvrt_dataset *ds);

/* Identify on what GDAL already read: 1 ours, 0 not ours, 2 maybe (a VRT
 * whose first bytes do not say; ingest more and ask again with more). */
int pvrt_identify(const char *filename, const char *header, int header_len,
                  int update);

#ifdef __cplusplus
}
#endif

#endif
