/* open.c: Identify and Open for the PVRT driver (limits a dataset needs are
 * raised by host.c, called from configure()).
 *
 * Identify runs for every file every GDAL program opens: it looks only at
 * the name and the header bytes GDAL already read. Open opens the primary
 * handle with GDAL's own VRT driver (any driver for PVRT:<path>), inspects
 * the VRT (vrtinfo.c), and declines quietly what is not ours (Python pixel
 * functions, VRTs without derived bands in the default mode, broken VRTs
 * reached implicitly: GDAL's VRT driver then reports them itself). Options
 * that are ours but wrong fail the open with a CPLError. */
#define _GNU_SOURCE
#include "dataset.h"

#include "ahead.h"

#include "gather.h"
#include "halo.h"
#include "host.h"
#include "pool.h"
#include "read.h"
#include "reopen.h"
#include "tilecache.h"

#include <cpl_conv.h>
#include <cpl_multiproc.h>
#include <cpl_string.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum { CLAIM_DERIVED, CLAIM_ALL, CLAIM_NONE };

#define PREFIX "PVRT:"
#define DEFAULT_TILE_MEMORY_MB 64
#define DEFAULT_MIN_TILE_PIXELS 65536
/* Computed pixels kept for sequential readers and masks (CACHE_MB). */
#define DEFAULT_CACHE_MB 128
#define MAX_OPEN_STACK 16
/* grid_from_file reads no more of a VRT file */
#define MAX_VRT_TEXT_BYTES (16 * 1024 * 1024)

/* Names this thread is opening through PVRT right now: a VRT that reaches
 * itself while opening is left to GDAL's VRT driver at the second level, so
 * the recursion stays linear and GDAL's own guard stops it. */
static _Thread_local const char *tls_opening[MAX_OPEN_STACK];
static _Thread_local int tls_nopening;

static int claim_mode(void)
{
    const char *v = CPLGetConfigOption("PVRT_CLAIM", "DERIVED");
    if (EQUAL(v, "ALL") || EQUAL(v, "YES"))
        return CLAIM_ALL;
    if (EQUAL(v, "NONE") || EQUAL(v, "NO") || EQUAL(v, "OFF"))
        return CLAIM_NONE;
    return CLAIM_DERIVED;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return s;
}

static int looks_like_vrt(const char *path)
{
    const size_t n = strlen(path);
    return STARTS_WITH(skip_space(path), "<VRTDataset") ||
           (n > 4 && EQUAL(path + n - 4, ".vrt"));
}

int pvrt_identify(const char *filename, const char *header, int header_len,
                  int update)
{
    if (STARTS_WITH_CI(filename, PREFIX))
        return 1;
    if (update)
        return 0;
    const int mode = claim_mode();
    if (mode == CLAIM_NONE)
        return 0;
    const char *text = NULL;
    if (STARTS_WITH(skip_space(filename), "<VRTDataset"))
        text = filename;
    else if (header && header_len > 20 && strstr(header, "<VRTDataset"))
        text = header;
    if (text == NULL)
        return 0;
    if (mode == CLAIM_ALL || strstr(text, "VRTDerivedRasterBand"))
        return 1;
    return text == header ? 2 : 0;
}

/* ALL_CPUS means the CPUs this process may use (affinity, cgroup quota). */
static int parse_threads(const char *text, int *out)
{
    if (EQUAL(text, "ALL_CPUS")) {
        *out = pvrt_host_cpus();
        return 0;
    }
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 1 || v > 100000)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_int_option(const char *name, const char *text, int lo,
                            int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || v < lo) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "PVRT: %s must be an integer >= %d, got '%s'", name, lo, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* An option from the open options, else from a config option. */
static const char *option(CSLConstList oo, const char *name, const char *config)
{
    const char *v = CSLFetchNameValue(oo, name);
    return v ? v : CPLGetConfigOption(config, NULL);
}

/* The thread count for datasets with network sources: 4 x the CPUs this
 * process may use, at least 16, at most 64. */
static int io_threads(void)
{
    const int t = 4 * pvrt_host_cpus();
    return t < 16 ? 16 : t > 64 ? 64 : t;
}

/* A VRT whose sources are remote VRTs (GDAL 3.6 writes an NDVI as a div
 * over a diff VRT and a sum VRT) has them read one after the other by
 * pvrt_vrtinfo_inspect, two round trips each: fetch them at once first,
 * with the threads the user allows (NUM_THREADS, else the I/O default). */
static void prefetch_nested(const char *xml, const char *path, CSLConstList oo)
{
    pvrt_vrtinfo flat;
    if (pvrt_vrtinfo_inspect_flat(xml, path, &flat) != 0)
        return;
    char **vrts = NULL;
    for (int i = 0; i < flat.nremote; i++)
        if (looks_like_vrt(flat.remote[i].path))
            vrts = CSLAddString(vrts, flat.remote[i].path);
    pvrt_vrtinfo_clear(&flat);
    if (vrts == NULL)
        return;
    const char *t = option(oo, "NUM_THREADS", "PVRT_NUM_THREADS");
    int threads = io_threads();
    if (t && parse_threads(t, &threads) != 0)
        threads = 1; /* the bad value is reported by configure() */
    pvrt_prefetch_files(vrts, threads);
    CSLDestroy(vrts);
}

/* A YES/NO option, YES by default: 0, or -1 after a CPLError naming it. */
static int bool_option(CSLConstList oo, const char *name, const char *config,
                       int *value)
{
    const char *v = option(oo, name, config);
    *value = 1;
    if (v == NULL || EQUAL(v, "YES") || EQUAL(v, "ON") || EQUAL(v, "TRUE"))
        return 0;
    if (EQUAL(v, "NO") || EQUAL(v, "OFF") || EQUAL(v, "FALSE")) {
        *value = 0;
        return 0;
    }
    CPLError(CE_Failure, CPLE_IllegalArg,
             "PVRT: %s must be YES or NO, got '%s'", name, v);
    return -1;
}

static int configure(pvrt_dataset *ds, CSLConstList oo, int network,
                     int total_sources)
{
    /* Threads: NUM_THREADS, PVRT_NUM_THREADS, else all cores (or an
     * I/O-sized count when sources are remote: they wait, not compute). */
    const char *t = option(oo, "NUM_THREADS", "PVRT_NUM_THREADS");
    int threads;
    ds->threads_explicit = t != NULL;
    if (t) {
        if (parse_threads(t, &threads) != 0) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "PVRT: NUM_THREADS must be an integer >= 1 or ALL_CPUS, "
                     "got '%s'",
                     t);
            return -1;
        }
    } else if (network) {
        threads = io_threads();
    } else {
        threads = pvrt_host_cpus();
    }
    if (threads > PVRT_MAX_WORKERS + 1)
        threads = PVRT_MAX_WORKERS + 1;

    /* Every thread's clone opens every source through GDAL's source pool
     * and holds a file descriptor per source: make room where the process
     * allows (host.c), then cap threads so the pool does not thrash and
     * descriptors do not run out. */
    const int per_thread = total_sources > 0 ? total_sources : 1;
    pvrt_host_reserve(GDALGetDescription(ds->primary), threads, per_thread);
    const int pool =
        atoi(CPLGetConfigOption("GDAL_MAX_DATASET_POOL_SIZE", "100"));
    struct rlimit rl;
    const long fds =
        getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
            ? (long)rl.rlim_cur
            : 1024;
    int cap = pool / per_thread;
    const long fd_cap = (fds - 64) / per_thread;
    if (fd_cap < cap)
        cap = (int)fd_cap;
    if (cap < 1)
        cap = 1;
    if (threads > cap) {
        CPLDebug("PVRT",
                 "%s: %d threads capped to %d (%d sources per thread; "
                 "GDAL_MAX_DATASET_POOL_SIZE=%d, %ld file descriptors)",
                 GDALGetDescription(ds->primary), threads, cap, per_thread,
                 pool, fds);
        threads = cap;
    }
    ds->threads = threads;

    const char *ts = option(oo, "TILE_SIZE", "PVRT_TILE_SIZE");
    if (ts && !EQUAL(ts, "AUTO")) {
        int w = 0, h = 0;
        char extra;
        if (sscanf(ts, "%dx%d%c", &w, &h, &extra) != 2 || w < 1 || h < 1) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "PVRT: TILE_SIZE must be AUTO or WIDTHxHEIGHT (e.g. "
                     "256x256), got '%s'",
                     ts);
            return -1;
        }
        ds->force_w = w;
        ds->force_h = h;
    }
    int64_t mb = DEFAULT_TILE_MEMORY_MB;
    const char *m = option(oo, "TILE_MEMORY_MB", "PVRT_TILE_MEMORY_MB");
    if (m && parse_int_option("TILE_MEMORY_MB", m, 1, &mb) != 0)
        return -1;
    ds->tile_budget = mb * 1024 * 1024;
    ds->min_tile_pixels = DEFAULT_MIN_TILE_PIXELS;
    const char *mp = option(oo, "MIN_TILE_PIXELS", "PVRT_MIN_TILE_PIXELS");
    if (mp &&
        parse_int_option("MIN_TILE_PIXELS", mp, 1, &ds->min_tile_pixels) != 0)
        return -1;
    int64_t cache_mb = DEFAULT_CACHE_MB;
    const char *cm = option(oo, "CACHE_MB", "PVRT_CACHE_MB");
    if (cm && parse_int_option("CACHE_MB", cm, 0, &cache_mb) != 0)
        return -1;
    ds->cache_cap = cache_mb * 1024 * 1024;
    if (bool_option(oo, "READ_AHEAD", "PVRT_READ_AHEAD", &ds->read_ahead) !=
            0 ||
        bool_option(oo, "WINDOW_GATHER", "PVRT_WINDOW_GATHER",
                    &ds->window_gather) != 0 ||
        bool_option(oo, "REUSE", "PVRT_REUSE", &ds->reuse) != 0)
        return -1;
    return 0;
}

/* Block sizes probed before, by path, band, file size and modification
 * time: a tile server opens the same VRT for every request, and opening
 * its first source again each time cost more than the read (a changed
 * file is probed again). Process-wide, guarded by probe_lock; no GDAL call
 * is made while holding it. */
static int probe_blocks_open(const char *path, int band, int *bx, int *by);

#define PROBE_SLOTS 16
static struct probe_entry {
    char *path;
    int band;
    GIntBig size, mtime;
    int bx, by;
} probe_cache[PROBE_SLOTS]; /* (guarded by probe_lock) */
static int probe_next;      /* (guarded by probe_lock) */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

static int probe_cached(const char *path, int band, GIntBig size, GIntBig mtime,
                        int *bx, int *by)
{
    int found = 0;
    pthread_mutex_lock(&probe_lock);
    for (int i = 0; i < PROBE_SLOTS && !found; i++) {
        const struct probe_entry *e = &probe_cache[i];
        if (e->path && e->band == band && e->size == size &&
            e->mtime == mtime && strcmp(e->path, path) == 0) {
            *bx = e->bx;
            *by = e->by;
            found = 1;
        }
    }
    pthread_mutex_unlock(&probe_lock);
    return found;
}

static void probe_remember(const char *path, int band, GIntBig size,
                           GIntBig mtime, int bx, int by)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return;
    pthread_mutex_lock(&probe_lock);
    struct probe_entry *e = &probe_cache[probe_next];
    probe_next = (probe_next + 1) % PROBE_SLOTS;
    char *old = e->path;
    e->path = copy;
    e->band = band;
    e->size = size;
    e->mtime = mtime;
    e->bx = bx;
    e->by = by;
    pthread_mutex_unlock(&probe_lock);
    free(old);
}

/* The block size of band `band` of `path`, opened briefly and quietly
 * (or remembered from an earlier probe of the unchanged file). */
static int probe_blocks(const char *path, int band, int *bx, int *by)
{
    VSIStatBufL st;
    const int local = !pvrt_path_is_network(path) && VSIStatL(path, &st) == 0;
    if (local && probe_cached(path, band, (GIntBig)st.st_size,
                              (GIntBig)st.st_mtime, bx, by))
        return 1;
    const int ok = probe_blocks_open(path, band, bx, by);
    if (ok && local)
        probe_remember(path, band, (GIntBig)st.st_size, (GIntBig)st.st_mtime,
                       *bx, *by);
    return ok;
}

/* The block size of band `band` of `path`, opened briefly and quietly. */
static int probe_blocks_open(const char *path, int band, int *bx, int *by)
{
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH h =
        GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    int ok = 0;
    if (h) {
        GDALRasterBandH b = GDALGetRasterBand(h, band);
        if (b) {
            GDALGetBlockSize(b, bx, by);
            ok = *bx > 0 && *by > 0;
        }
        GDALClose(h);
    }
    CPLPopErrorHandler();
    CPLErrorReset();
    return ok;
}

/* GDAL 3.6 writes a source's <SourceProperties> (its block size) into the
 * xml:VRT it serialises only once the source is open, so a freshly opened
 * VRT never shows them; the file itself often has them (gdalbuildvrt writes
 * them). Probing a remote source costs two round trips before the first
 * read; reading the VRT's text again costs none (a local file, or bytes
 * /vsicurl/ has cached). The grid only shapes tiles: whether reads split
 * was decided from the xml:VRT. Returns 1 with the grid, and whether every
 * source's blocks lie on it, set in *info. */
static int grid_from_file(const char *path, pvrt_vrtinfo *info)
{
    if (path[0] == '<')
        return 0;
    GByte *text = NULL;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    const int read_ok =
        VSIIngestFile(NULL, path, &text, NULL, MAX_VRT_TEXT_BYTES) != 0;
    CPLPopErrorHandler();
    CPLErrorReset();
    if (!read_ok)
        return 0;
    pvrt_vrtinfo file_info;
    int found = 0;
    if (pvrt_vrtinfo_inspect_flat((const char *)text, path, &file_info) == 0 &&
        file_info.grid_x > 0) {
        info->grid_x = file_info.grid_x;
        info->grid_y = file_info.grid_y;
        info->grid_off_x = file_info.grid_off_x;
        info->grid_off_y = file_info.grid_off_y;
        info->grid_shared = file_info.grid_shared;
        found = 1;
    }
    pvrt_vrtinfo_clear(&file_info);
    VSIFree(text);
    return found;
}

static int is_our_option(const char *kv)
{
    static const char *const ours[] = {
        "NUM_THREADS=", "TILE_SIZE=",  "TILE_MEMORY_MB=", "MIN_TILE_PIXELS=",
        "CACHE_MB=",    "READ_AHEAD=", "WINDOW_GATHER=",  "REUSE="};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++)
        if (STARTS_WITH_CI(kv, ours[i]))
            return 1;
    return 0;
}

static int opening_now(const char *path)
{
    for (int i = 0; i < tls_nopening; i++)
        if (strcmp(tls_opening[i], path) == 0)
            return 1;
    return 0;
}

/* Opens the primary handle, errors captured; replays them only if asked. */
static GDALDatasetH open_primary(const char *path, const char *const *allowed,
                                 CSLConstList oo, int report)
{
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    if (tls_nopening < MAX_OPEN_STACK)
        tls_opening[tls_nopening] = path;
    tls_nopening++;
    /* Out of GDAL's list of open datasets: the application's dataset is
     * ours, and one kept for reuse is closed by us, not by GDAL. */
    GDALDatasetH h =
        GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_INTERNAL,
                   allowed, (const char *const *)oo, NULL);
    tls_nopening--;
    CPLPopErrorHandler();
    if (h == NULL && report) {
        if (CPLGetLastErrorType() >= CE_Failure) {
            char *msg = CPLStrdup(CPLGetLastErrorMsg());
            CPLError(CE_Failure, CPLGetLastErrorNo(), "%s", msg);
            CPLFree(msg);
        } else
            CPLError(CE_Failure, CPLE_OpenFailed,
                     "PVRT: %s is not a raster GDAL can open", path);
    } else if (h == NULL) {
        CPLErrorReset();
    }
    return h;
}

/* Whether this open comes from the application, not from GDAL's source
 * pool (GDALProxyPoolDataset) opening a source of a VRT, or from a read of
 * ours. The pool closes what it opened under its own lock when it needs the
 * slot; it opens with CPL_ALLOW_VSISTDIN=NO set on the thread (3.6 to
 * 3.13, gdalproxypool.cpp), which is how its opens are told apart. A wrong
 * guess that way only costs the background read-ahead (ahead.c). */
static int opened_by_application(void)
{
    const char *v = CPLGetThreadLocalConfigOption("CPL_ALLOW_VSISTDIN", NULL);
    return pvrt_read_depth() == 0 && !pvrt_pool_in_worker() &&
           !(v != NULL && !CPLTestBool(v));
}

pvrt_dataset *pvrt_dataset_open(const char *filename, CSLConstList open_options,
                                int update, int *declined)
{
    *declined = 1;
    const int explicit_prefix = STARTS_WITH_CI(filename, PREFIX);
    const char *path = explicit_prefix ? filename + strlen(PREFIX) : filename;
    if (update) {
        if (!explicit_prefix)
            return NULL;
        *declined = 0;
        CPLError(CE_Failure, CPLE_NotSupported,
                 "PVRT: datasets are read-only; open %s without the PVRT: "
                 "prefix to update it",
                 path);
        return NULL;
    }
    if (*path == '\0' || STARTS_WITH_CI(path, PREFIX)) {
        if (!explicit_prefix)
            return NULL;
        *declined = 0;
        CPLError(CE_Failure, CPLE_OpenFailed,
                 "PVRT: '%s' names no dataset after the PVRT: prefix",
                 filename);
        return NULL;
    }
    if (opening_now(path))
        return NULL;
    /* A dataset the application closed may serve this open (reopen.h);
     * otherwise the key is noted with the new dataset. */
    const char *reuse = option(open_options, "REUSE", "PVRT_REUSE");
    char *key = opened_by_application() && (reuse == NULL || CPLTestBool(reuse))
                    ? pvrt_reopen_key(path, explicit_prefix, open_options)
                    : NULL;
    if (key != NULL) {
        pvrt_dataset *kept = pvrt_reopen_take(key);
        if (kept != NULL) {
            CPLFree(key);
            *declined = 0;
            return kept;
        }
    }

    /* Open options meant for the inner dataset pass through; ours stay.
     * Clones of VRTs on GDAL >= 3.10 must not thread themselves. */
    char **inner_oo = NULL;
    for (CSLConstList o = open_options; o && *o; o++)
        if (!is_our_option(*o))
            inner_oo = CSLAddString(inner_oo, *o);
    const int vrt = looks_like_vrt(path);
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 10, 0)
    if (vrt)
        inner_oo = CSLSetNameValue(inner_oo, "NUM_THREADS", "1");
#endif
    const char *const vrt_only[] = {"VRT", NULL};
    const char *const *allowed = vrt ? vrt_only : NULL;

    GDALDatasetH primary =
        open_primary(path, allowed, inner_oo, explicit_prefix);
    if (primary == NULL) {
        CSLDestroy(inner_oo);
        CPLFree(key);
        *declined = !explicit_prefix;
        return NULL;
    }

    pvrt_vrtinfo info;
    memset(&info, 0, sizeof info);
    info.tile_safe = 1;
    GDALDriverH drv = GDALGetDatasetDriver(primary);
    const int is_vrt = drv && EQUAL(GDALGetDriverShortName(drv), "VRT");
    if (is_vrt) {
        char **xml = GDALGetMetadata(primary, "xml:VRT");
        if (xml != NULL && xml[0] != NULL)
            prefetch_nested(xml[0], path[0] == '<' ? "" : path, open_options);
        if (xml == NULL || xml[0] == NULL ||
            pvrt_vrtinfo_inspect(xml[0], path[0] == '<' ? "" : path, &info) !=
                0) {
            info.tile_safe = 0;
        }
    }
    int serial = 0;
    if (info.has_python) {
        if (!explicit_prefix) {
            pvrt_vrtinfo_clear(&info);
            GDALClose(primary);
            CSLDestroy(inner_oo);
            CPLFree(key);
            return NULL;
        }
        CPLDebug("PVRT",
                 "%s uses a Python pixel function: reads run serially "
                 "in the calling thread",
                 path);
        serial = 1;
    }
    if (!explicit_prefix && claim_mode() == CLAIM_DERIVED &&
        !info.has_derived) {
        pvrt_vrtinfo_clear(&info);
        GDALClose(primary);
        CSLDestroy(inner_oo);
        CPLFree(key);
        return NULL;
    }

    *declined = 0;
    pvrt_dataset *ds = (pvrt_dataset *)CPLCalloc(1, sizeof *ds);
    ds->primary = primary;
    /* The primary's bands read through their blocks (gather.c declines). */
    ds->force_cached =
        CPLTestBool(CPLGetConfigOption("GDAL_FORCE_CACHING", "NO"));
    ds->background_ok = opened_by_application();
    ds->tile_safe = info.tile_safe;
    /* GDAL 3.6's derived bands clear nBufXSize * nBufYSize * nPixelSpace
     * bytes from the buffer start whatever the line spacing, past the
     * window of a tile inside a wider buffer: derived tiles read packed. */
    ds->pack = info.has_derived;
    int total_sources = 0;
    for (int i = 0; i < info.nbands; i++)
        total_sources += info.bands[i].nsources;
    ds->network = info.network || pvrt_path_is_network(path);
    if (configure(ds, open_options, ds->network, total_sources) != 0) {
        pvrt_vrtinfo_clear(&info);
        CSLDestroy(inner_oo);
        pvrt_dataset_close(ds);
        CPLFree(key);
        return NULL;
    }
    if (serial)
        ds->threads = 1;

    /* Alignment grid: the sources' blocks where known, else probed from the
     * first source, else the dataset's own blocks. */
    if (info.grid_x == 0 && info.probe_path && ds->threads > 1 &&
        pvrt_path_is_network(info.probe_path))
        grid_from_file(path, &info);
    if (info.grid_x > 0) {
        ds->grid_x = info.grid_x;
        ds->grid_y = info.grid_y;
        ds->grid_off_x = info.grid_off_x;
        ds->grid_off_y = info.grid_off_y;
        ds->grid_shared = info.grid_shared;
    } else if (info.probe_path && ds->threads > 1 &&
               probe_blocks(info.probe_path, info.probe_band, &ds->grid_x,
                            &ds->grid_y)) {
        ds->grid_off_x = info.probe_off_x;
        ds->grid_off_y = info.probe_off_y;
        /* Whether the other sources share the first one's blocks (only
         * walks computed ahead use it: read.c): the file's
         * SourceProperties say, when they agree with the probe. */
        pvrt_vrtinfo file_grid;
        memset(&file_grid, 0, sizeof file_grid);
        if (ds->tile_safe && ds->read_ahead &&
            grid_from_file(path, &file_grid) &&
            file_grid.grid_x == ds->grid_x && file_grid.grid_y == ds->grid_y &&
            file_grid.grid_off_x == ds->grid_off_x &&
            file_grid.grid_off_y == ds->grid_off_y)
            ds->grid_shared = file_grid.grid_shared;
    } else if (GDALGetRasterCount(primary) > 0) {
        GDALGetBlockSize(GDALGetRasterBand(primary, 1), &ds->grid_x,
                         &ds->grid_y);
    }
    if (ds->grid_x < 1)
        ds->grid_x = 1;
    if (ds->grid_y < 1)
        ds->grid_y = 1;

    ds->nbands = info.nbands;
    ds->bands = info.bands;
    info.bands = NULL;
    if (ds->threads > 1) {
        ds->remote = info.remote;
        ds->nremote = info.nremote;
        info.remote = NULL;
        info.nremote = 0;
    }
    pvrt_vrtinfo_clear(&info);

    ds->clones = pvrt_clones_new(path, allowed, inner_oo, ds->threads - 1);
    CSLDestroy(inner_oo);
    if (ds->clones == NULL) {
        pvrt_dataset_close(ds);
        CPLFree(key);
        return NULL;
    }
    CPLDebug("PVRT", "%s: %d threads, tiles %s, grid %dx%d%s", path,
             ds->threads,
             ds->tile_safe ? "split" : "whole (window-dependent sources)",
             ds->grid_x, ds->grid_y,
             ds->grid_shared ? " (every source's blocks)" : "");
    if (key != NULL && ds->background_ok && ds->reuse)
        pvrt_reopen_note(ds, key);
    else
        CPLFree(key);
    return ds;
}

void pvrt_dataset_release(pvrt_dataset *ds)
{
    if (ds != NULL && !pvrt_reopen_park(ds))
        pvrt_dataset_close(ds);
}

void pvrt_dataset_close(pvrt_dataset *ds)
{
    if (ds == NULL)
        return;
    pvrt__background_stop(ds);
    pvrt_gather_free(ds->gather);
    pvrt_halo_free(ds->halo);
    pvrt_tilecache_free(ds->cache);
    pvrt__kept_clear(ds);
    pvrt_clones_free(ds->clones);
    if (ds->primary)
        GDALClose(ds->primary);
    CPLFree(ds->bands);
    CPLFree(ds->passed);
    pvrt_remote_sources_free(ds->remote, ds->nremote);
    pvrt_reopen_info_free(ds->reopen);
    CPLFree(ds);
}
