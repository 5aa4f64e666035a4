/* reopen.c: see reopen.h. */
#define _GNU_SOURCE /* st_mtim */
#include "reopen.h"

#include "ahead.h"
#include "gather.h"
#include "host.h"
#include "tilecache.h"
#include "vrtinfo.h"

#include <cpl_conv.h>
#include <cpl_minixml.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include <errno.h> /* program_invocation_short_name */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

/* Datasets kept at most, all VRTs together. */
#define REOPEN_MAX_KEPT 8

/* What a file was when the dataset was first opened. */
typedef struct file_stamp {
    char *path;
    pvrt_file_stamp st;
} file_stamp;

struct pvrt_reopen_info {
    char *key;
    char *xml; /* the VRT's serialised state */
    file_stamp *files;
    int nfiles;
    pid_t pid;
};

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
/* Keys opened lately (kept_lock): a dataset is kept only when its key was
 * opened before, so that a program that opens a VRT once keeps nothing
 * open after it closed it. */
#define REOPEN_RECENT 16
static char *recent[REOPEN_RECENT];
static int recent_next;
/* Kept datasets, in the order they were kept (kept_lock). */
static pvrt_dataset *kept_list[REOPEN_MAX_KEPT];
static int nkept;

/* The options and host facts that set a dataset up (open.c, host.c) or
 * change what the VRT driver opens. */
static const char *const key_config[] = {
    "PVRT_NUM_THREADS",    "PVRT_TILE_SIZE",
    "PVRT_TILE_MEMORY_MB", "PVRT_MIN_TILE_PIXELS",
    "PVRT_CACHE_MB",       "PVRT_READ_AHEAD",
    "PVRT_WINDOW_GATHER",  "PVRT_CLAIM",
    "GDAL_NUM_THREADS",    "GDAL_MAX_DATASET_POOL_SIZE",
    "VRT_SHARED_SOURCE",   "GDAL_VRT_ENABLE_PYTHON"};

int pvrt_ends_with_vrt(const char *path)
{
    const size_t n = strlen(path);
    return n >= 4 && EQUAL(path + n - 4, ".vrt");
}

int pvrt_local_file(const char *path)
{
    return path[0] != '\0' && path[0] != '<' && !STARTS_WITH(path, "/vsi") &&
           !pvrt_path_is_network(path);
}

/* Appends text to *s (a CPLMalloc'ed string or NULL). */
static void append(char **s, const char *text)
{
    const size_t n = *s ? strlen(*s) : 0, m = strlen(text);
    *s = (char *)CPLRealloc(*s, n + m + 1);
    memcpy(*s + n, text, m + 1);
}

/* GDAL's command-line programs (gdalinfo, gdal_translate, ogr2ogr,
 * nearblack, ...) list the datasets still open when they end: a kept
 * dataset holds its sources open in GDAL's source pool, which they would
 * list. They open a VRT once or twice, nothing to gain. */
static int gdal_program(void)
{
    const char *name = program_invocation_short_name;
    return name != NULL &&
           (STARTS_WITH(name, "gdal") || STARTS_WITH(name, "ogr") ||
            STARTS_WITH(name, "gnm") || strcmp(name, "nearblack") == 0);
}

char *pvrt_reopen_key(const char *path, int explicit_prefix,
                      CSLConstList open_options)
{
    if (!pvrt_local_file(path) || !pvrt_ends_with_vrt(path) || gdal_program())
        return NULL;
    char *key = NULL;
    append(&key, CPLSPrintf("%s\nprefix %d cpus %d\n", path, explicit_prefix,
                            pvrt_host_cpus()));
    for (CSLConstList o = open_options; o && *o; o++) {
        append(&key, "oo ");
        append(&key, *o);
        append(&key, "\n");
    }
    for (size_t i = 0; i < sizeof key_config / sizeof *key_config; i++) {
        const char *v = CPLGetConfigOption(key_config[i], NULL);
        append(&key, key_config[i]);
        append(&key, v ? "=" : " unset");
        append(&key, v ? v : "");
        append(&key, "\n");
    }
    return key;
}

int pvrt_file_stamp_of(const char *path, pvrt_file_stamp *f)
{
    VSIStatBufL st;
    memset(f, 0, sizeof *f);
    f->size = -1;
    if (VSIStatL(path, &st) != 0)
        return -1;
    f->size = (GIntBig)st.st_size;
    f->mtime_s = (long long)st.st_mtim.tv_sec;
    f->mtime_ns = (long long)st.st_mtim.tv_nsec;
    f->ino = (unsigned long long)st.st_ino;
    f->dev = (unsigned long long)st.st_dev;
    return 0;
}

int pvrt_file_stamps_equal(const pvrt_file_stamp *a, const pvrt_file_stamp *b)
{
    return a->size == b->size && a->mtime_s == b->mtime_s &&
           a->mtime_ns == b->mtime_ns && a->ino == b->ino && a->dev == b->dev;
}

/* Whether the files are what they were at the first open. */
static int files_unchanged(const struct pvrt_reopen_info *r)
{
    for (int i = 0; i < r->nfiles; i++) {
        pvrt_file_stamp now;
        pvrt_file_stamp_of(r->files[i].path, &now);
        if (!pvrt_file_stamps_equal(&now, &r->files[i].st))
            return 0;
    }
    return 1;
}

void pvrt_reopen_info_free(struct pvrt_reopen_info *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < r->nfiles; i++)
        CPLFree(r->files[i].path);
    CPLFree(r->files);
    CPLFree(r->xml);
    CPLFree(r->key);
    CPLFree(r);
}

/* Removes the <SourceProperties> elements under n: GDAL adds them once a
 * read opened the sources. */
static void drop_source_properties(CPLXMLNode *n)
{
    for (CPLXMLNode *c = n->psChild, *prev = NULL; c != NULL;) {
        CPLXMLNode *next = c->psNext;
        if (c->eType == CXT_Element && EQUAL(c->pszValue, "SourceProperties")) {
            if (prev)
                prev->psNext = next;
            else
                n->psChild = next;
            c->psNext = NULL;
            CPLDestroyXMLNode(c);
        } else {
            drop_source_properties(c);
            prev = c;
        }
        c = next;
    }
}

/* The VRT's serialised state (what a user changed in it shows there), or
 * NULL. CPLFree it. */
static char *vrt_state(GDALDatasetH primary)
{
    char **xml = GDALGetMetadata(primary, "xml:VRT");
    CPLXMLNode *tree = xml && xml[0] ? CPLParseXMLString(xml[0]) : NULL;
    if (tree == NULL)
        return NULL;
    drop_source_properties(tree);
    char *out = CPLSerializeXMLTree(tree);
    CPLDestroyXMLNode(tree);
    return out;
}

/* Whether key was opened lately; remembers it. */
static int opened_before(const char *key)
{
    int found = 0;
    pthread_mutex_lock(&kept_lock);
    for (int i = 0; i < REOPEN_RECENT && !found; i++)
        found = recent[i] != NULL && strcmp(recent[i], key) == 0;
    if (!found) {
        CPLFree(recent[recent_next]);
        recent[recent_next] = CPLStrdup(key);
        recent_next = (recent_next + 1) % REOPEN_RECENT;
    }
    pthread_mutex_unlock(&kept_lock);
    return found;
}

/* Files beside f that GDAL reads when it opens f, absent or not: overviews,
 * auxiliary metadata, masks. */
const char *const pvrt_side_suffixes[PVRT_NSIDE] = {".ovr", ".aux.xml", ".msk"};

void pvrt_reopen_note(pvrt_dataset *ds, char *key)
{
    /* A key opened for the first time is never kept: nothing to record. */
    if (!opened_before(key)) {
        CPLFree(key);
        ds->reopen = NULL;
        return;
    }
    struct pvrt_reopen_info *r = (struct pvrt_reopen_info *)CPLCalloc(
        1, sizeof(struct pvrt_reopen_info));
    r->key = key;
    r->pid = getpid();
    r->xml = vrt_state(ds->primary);
    char **files = GDALGetFileList(ds->primary);
    int ok = r->xml != NULL && files != NULL && !ds->network;
    const int n = CSLCount(files);
    r->files = (file_stamp *)CPLCalloc((size_t)n * (PVRT_NSIDE + 1) + 1,
                                       sizeof(file_stamp));
    for (int i = 0; ok && i < n; i++) {
        /* The VRT first, then its sources: local files, no nested VRT (its
         * own sources would change unseen). A side file listed (it existed)
         * is stamped like the others. */
        ok = pvrt_local_file(files[i]) &&
             (i == 0) == pvrt_ends_with_vrt(files[i]) &&
             pvrt_file_stamp_of(files[i], &r->files[r->nfiles].st) == 0;
        r->files[r->nfiles++].path = CPLStrdup(files[i]);
        for (int k = 0; ok && k < PVRT_NSIDE; k++) {
            const char *side =
                CPLSPrintf("%s%s", files[i], pvrt_side_suffixes[k]);
            if (CSLFindString(files, side) >= 0)
                continue;
            pvrt_file_stamp_of(side, &r->files[r->nfiles].st);
            r->files[r->nfiles++].path = CPLStrdup(side);
        }
    }
    CSLDestroy(files);
    if (!ok) {
        pvrt_reopen_info_free(r);
        r = NULL;
    }
    ds->reopen = r;
}

pvrt_dataset *pvrt_reopen_take(const char *key)
{
    const pid_t pid = getpid();
    pvrt_dataset *ds = NULL;
    pthread_mutex_lock(&kept_lock);
    for (int i = nkept - 1; i >= 0 && ds == NULL; i--)
        if (kept_list[i]->reopen->pid == pid &&
            strcmp(kept_list[i]->reopen->key, key) == 0) {
            ds = kept_list[i];
            memmove(kept_list + i, kept_list + i + 1,
                    (size_t)(--nkept - i) * sizeof *kept_list);
        }
    pthread_mutex_unlock(&kept_lock);
    if (ds != NULL && !files_unchanged(ds->reopen)) {
        CPLDebug("PVRT", "%s changed since it was opened: not reused",
                 GDALGetDescription(ds->primary));
        pvrt_dataset_close(ds);
        ds = NULL;
    }
    if (ds != NULL) {
        ds->reuses++;
        CPLDebug("PVRT", "%s: reusing a dataset closed before",
                 GDALGetDescription(ds->primary));
    }
    return ds;
}

/* Drops what the dataset computed or kept for its last user. How its
 * windows were read (windows_seen, windows_shared) stays: it says which
 * handles hold the blocks decoded so far. */
static void forget_last_user(pvrt_dataset *ds)
{
    pvrt__background_stop(ds);
    pvrt__kept_clear(ds);
    pvrt_tilecache_free(ds->cache);
    ds->cache = NULL;
    pvrt_gather_trim(ds->gather);
    memset(&ds->last_read, 0, sizeof ds->last_read);
    memset(&ds->large, 0, sizeof ds->large);
    memset(&ds->sampled, 0, sizeof ds->sampled);
    ds->last_tiles = 0;
    ds->last_pixels = 0;
    ds->last_threads = 0;
    ds->mask_hits = 0;
    ds->split_reads = 0;
    ds->striped_tiles = 0;
    ds->gathered_reads = 0;
    ds->shared_reads = 0;
    ds->together_bands = 0;
    ds->together_hits = 0;
    ds->direct_captures = 0;
    ds->ahead_regions = 0;
    ds->background_regions = 0;
    ds->cache_hits = 0;
    ds->sampled_blocks = 0;
    ds->large_ahead = 0;
    ds->large_tiles_hit = 0;
}

int pvrt_reopen_park(pvrt_dataset *ds)
{
    struct pvrt_reopen_info *r = ds->reopen;
    /* A dataset whose read failed may hold the failure (a source that did
     * not open is not opened again): not kept. */
    if (r == NULL || r->pid != getpid() || ds->read_failed)
        return 0;
    /* Not flushed (that would drop the sources' cached blocks): a VRT
     * whose state changed differs from its first open's and is closed,
     * which writes it back. */
    char *xml = vrt_state(ds->primary);
    const int same = xml != NULL && strcmp(xml, r->xml) == 0;
    CPLFree(xml);
    if (!same) {
        CPLDebug("PVRT", "%s: not kept for reuse (its state changed)",
                 GDALGetDescription(ds->primary));
        return 0;
    }
    /* Its files are checked when it is taken (pvrt_reopen_take). */
    forget_last_user(ds);
    pvrt_dataset *evicted = NULL;
    pthread_mutex_lock(&kept_lock);
    if (nkept == REOPEN_MAX_KEPT) { /* the one kept longest ago */
        evicted = kept_list[0];
        memmove(kept_list, kept_list + 1, (size_t)--nkept * sizeof *kept_list);
    }
    kept_list[nkept++] = ds;
    pthread_mutex_unlock(&kept_lock);
    pvrt_dataset_close(evicted);
    return 1;
}

/* Kept datasets given up at unload: never closed, never touched again,
 * still referenced (see pvrt_reopen_unload). */
static pvrt_dataset **forgotten;
static int nforgotten;

int pvrt_reopen_unload(void)
{
    pthread_mutex_lock(&kept_lock);
    const int n = nkept;
    forgotten = (pvrt_dataset **)CPLRealloc(
        forgotten, (size_t)(nforgotten + n + 1) * sizeof *forgotten);
    for (int i = 0; i < n; i++)
        forgotten[nforgotten++] = kept_list[i];
    nkept = 0;
    for (int i = 0; i < REOPEN_RECENT; i++) {
        CPLFree(recent[i]);
        recent[i] = NULL;
    }
    pthread_mutex_unlock(&kept_lock);
    return n;
}
