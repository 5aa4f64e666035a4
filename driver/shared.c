/* shared.c: see shared.h.
 *
 * The registry is a list of entries under one lock; an entry is found by
 * its key (the capture VRT's text and open options) in the process that
 * made it, while the stamps of its source file and the side files are
 * those taken when it was made. An entry whose files changed is retired:
 * taken off the list, it lives on for the datasets that hold it. A handle
 * is used under its entry's lock only, by whichever thread holds it (GDAL
 * allows a dataset to move between threads, never two at once); GDAL's VRT
 * driver keys the sources it opens in its source pool by the VRT that
 * opened them, so the handle's source handles are its own. */
#include "shared.h"

#include "clones.h"
#include "reopen.h"

#include <cpl_conv.h>
#include <cpl_string.h>

#include <pthread.h>
#include <string.h>
#include <unistd.h>

struct pvrt_shared {
    char *key; /* the capture VRT's text, then its open options */
    pid_t pid;
    pvrt_file_stamp stamps[1 + PVRT_NSIDE]; /* source, then side files */
    int refs;                               /* registry_lock */
    int listed;                             /* registry_lock: on the list */
    pthread_mutex_t lock;                   /* held while the handle is used */
    pvrt_clones *clone;       /* one slot: the handle, opened on first use */
    GDALDatasetH handle;      /* (lock) NULL: not open yet */
    struct pvrt_shared *next; /* registry_lock */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pvrt_shared *registry;
static int open_count; /* registry_lock */

/* Forks: the registry's lock is taken around fork(), so the child's is
 * free; a child's datasets never use the entries its parent made (their
 * locks may be held by threads the child does not have) and never free
 * them. */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void before_fork(void)
{
    pthread_mutex_lock(&registry_lock);
}
static void after_fork(void)
{
    pthread_mutex_unlock(&registry_lock);
}
static void register_atfork(void)
{
    pthread_atfork(before_fork, after_fork, after_fork);
}

static void stamp_all(const char *source, pvrt_file_stamp *st)
{
    pvrt_file_stamp_of(source, &st[0]);
    for (int k = 0; k < PVRT_NSIDE; k++)
        pvrt_file_stamp_of(CPLSPrintf("%s%s", source, pvrt_side_suffixes[k]),
                           &st[1 + k]);
}

static int stamps_equal(const pvrt_file_stamp *a, const pvrt_file_stamp *b)
{
    for (int k = 0; k < 1 + PVRT_NSIDE; k++)
        if (!pvrt_file_stamps_equal(&a[k], &b[k]))
            return 0;
    return 1;
}

static void unlink_entry(struct pvrt_shared *s)
{
    for (struct pvrt_shared **p = &registry; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    s->next = NULL;
    s->listed = 0;
}

pvrt_shared *pvrt_shared_get(const char *xml, CSLConstList open_options,
                             const char *source)
{
    if (source == NULL || !pvrt_local_file(source) ||
        pvrt_ends_with_vrt(source))
        return NULL;
    pvrt_file_stamp now[1 + PVRT_NSIDE];
    stamp_all(source, now);
    if (now[0].size < 0)
        return NULL;
    char *key = CPLStrdup(xml);
    for (CSLConstList o = open_options; o && *o; o++) {
        char *longer = CPLStrdup(CPLSPrintf("%s\n%s", key, *o));
        CPLFree(key);
        key = longer;
    }
    const pid_t pid = getpid();
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&registry_lock);
    struct pvrt_shared *s = registry;
    while (s != NULL && !(s->pid == pid && strcmp(s->key, key) == 0))
        s = s->next;
    if (s != NULL && !stamps_equal(s->stamps, now)) {
        CPLDebug("PVRT", "shared handle of %s retired: the file changed",
                 source);
        unlink_entry(s);
        s = NULL;
    }
    if (s != NULL) {
        s->refs++;
        pthread_mutex_unlock(&registry_lock);
        CPLFree(key);
        return s;
    }
    const char *const vrt_only[] = {"VRT", NULL};
    s = (struct pvrt_shared *)VSI_CALLOC_VERBOSE(1, sizeof *s);
    if (s != NULL &&
        (s->clone = pvrt_clones_new(xml, vrt_only, open_options, 1)) == NULL) {
        VSIFree(s);
        s = NULL;
    }
    if (s != NULL) {
        s->key = key;
        key = NULL;
        s->pid = pid;
        memcpy(s->stamps, now, sizeof now);
        s->refs = 1;
        pthread_mutex_init(&s->lock, NULL);
        s->listed = 1;
        s->next = registry;
        registry = s;
    }
    pthread_mutex_unlock(&registry_lock);
    CPLFree(key);
    return s;
}

void pvrt_shared_release(pvrt_shared *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&registry_lock);
    const int last = --s->refs == 0;
    if (last && s->listed)
        unlink_entry(s);
    if (last && s->handle != NULL)
        open_count--;
    pthread_mutex_unlock(&registry_lock);
    if (!last || s->pid != getpid())
        return;
    /* No other reference: nobody holds its lock or can take it. */
    pvrt_clones_free(s->clone);
    pthread_mutex_destroy(&s->lock);
    CPLFree(s->key);
    VSIFree(s);
}

int pvrt_shared_here(const pvrt_shared *s)
{
    return s->pid == getpid();
}

int pvrt_shared_trylock(pvrt_shared *s, int wait)
{
    if (wait)
        return pthread_mutex_lock(&s->lock) == 0;
    return pthread_mutex_trylock(&s->lock) == 0;
}

void pvrt_shared_unlock(pvrt_shared *s)
{
    pthread_mutex_unlock(&s->lock);
}

GDALDatasetH pvrt_shared_handle(pvrt_shared *s)
{
    if (s->handle == NULL && (s->handle = pvrt_clones_get(s->clone, 0))) {
        pthread_mutex_lock(&registry_lock);
        open_count++;
        pthread_mutex_unlock(&registry_lock);
    }
    return s->handle;
}

int pvrt_shared_open_count(void)
{
    pthread_mutex_lock(&registry_lock);
    const int n = open_count;
    pthread_mutex_unlock(&registry_lock);
    return n;
}
