/* expr_func.c: pvrt_expr, the band-math pixel function, and its cache.
 *
 * Reads the arguments (expr, names, nodata, propagate_nodata), fetches the
 * compiled program from a process-wide cache keyed by expression text,
 * source count and names (compiling on a miss, outside the lock), then runs
 * it a block at a time: the used sources are converted to double block-wise
 * into the program's registers, the VM computes, nodata rules apply, and
 * each finished row goes out through one pvrt__row_write (GDALCopyWords
 * conversion). The engine itself is in expr/ and knows nothing of GDAL;
 * this file turns its errors into CPLErrors with the expression and a caret
 * under the column.
 *
 * Threads: any number of reads at once. The cache is the only shared state;
 * it is guarded by cache_mutex and programs are immutable, shared by
 * reference count. pvrt__expr_cleanup empties it at driver unload. */
#include "pf_private.h"

#include "expr/expr.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char fn_name[] = "pvrt_expr";

const char pvrt__expr_meta[] =
    "<PixelFunctionArgumentsList>"
    "<Argument name='expr' type='string' description='the expression, e.g. "
    "(B2 - B1) / (B2 + B1)'/>"
    "<Argument name='names' type='string' description='comma-separated "
    "names for the sources, in order'/>"
    "<Argument name='nodata' type='double' description='nodata value of "
    "sources and result'/>"
    "<Argument name='propagate_nodata' type='string' default='yes' "
    "description='yes: a pixel where a source the expression names is "
    "nodata gives nodata'/>" PVRT_BUILTIN_NODATA_ARG
    "</PixelFunctionArgumentsList>";

/* ---- Cache ------------------------------------------------------------- */

#define CACHE_CAPACITY 64

typedef struct cache_entry {
    struct cache_entry *next; /* (guarded by cache_mutex) */
    uint64_t hash;
    int nsources;
    char *text;               /* expression, NUL-terminated */
    char *names;              /* names= argument, or NULL */
    pvrt__expr_program *prog; /* immutable once cached */
    int refs; /* users + 1 while in the list (guarded by cache_mutex) */
} cache_entry;

/* Never hold cache_mutex while compiling or calling GDAL. */
static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache_head; /* most recently used first (guarded) */
static int cache_count;         /* (guarded by cache_mutex) */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t key_hash(const char *text, int nsources, const char *names)
{
    uint64_t h = 14695981039346656037ULL;
    h = fnv1a(h, text, strlen(text) + 1);
    h = fnv1a(h, &nsources, sizeof(nsources));
    if (names)
        h = fnv1a(h, names, strlen(names) + 1);
    return h;
}

static int key_equal(const cache_entry *e, uint64_t hash, const char *text,
                     int nsources, const char *names)
{
    return e->hash == hash && e->nsources == nsources &&
           strcmp(e->text, text) == 0 &&
           (e->names == NULL ? names == NULL
                             : names != NULL && strcmp(e->names, names) == 0);
}

static char *dup_string(const char *s)
{
    const size_t len = strlen(s) + 1;
    char *copy = (char *)malloc(len);
    if (copy)
        memcpy(copy, s, len);
    return copy;
}

static void entry_free(cache_entry *e)
{
    if (e == NULL)
        return;
    pvrt__expr_program_free(e->prog);
    free(e->text);
    free(e->names);
    free(e);
}

/* Finds the entry and takes a reference; moves it to the front. Called with
 * cache_mutex held. */
static cache_entry *find_locked(uint64_t hash, const char *text, int nsources,
                                const char *names)
{
    cache_entry **link = &cache_head;
    for (cache_entry *e = cache_head; e; link = &e->next, e = e->next) {
        if (!key_equal(e, hash, text, nsources, names))
            continue;
        *link = e->next;
        e->next = cache_head;
        cache_head = e;
        e->refs++;
        return e;
    }
    return NULL;
}

static void release(cache_entry *e)
{
    pthread_mutex_lock(&cache_mutex);
    const int refs = --e->refs;
    pthread_mutex_unlock(&cache_mutex);
    if (refs == 0)
        entry_free(e);
}

/* Writes `text` into buf for display: bytes that would not print as one
 * column become '?' (non-ASCII) or ' ' (tabs, newlines). */
static void printable(char *buf, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)text[i];
        buf[i] = c >= 0x20 && c < 0x7f ? (char)c : c < 0x20 ? ' ' : '?';
    }
    buf[len] = '\0';
}

/* CPLError for a compile error: message, column, the text and a caret. */
static void report(const char *text, const pvrt__expr_error *err)
{
    if (err->column <= 0) {
        CPLError(CE_Failure, CPLE_IllegalArg, "%s: %s", fn_name, err->message);
        return;
    }
    /* Show at most 72 bytes around the column. */
    const size_t len = strlen(text);
    const size_t col = (size_t)err->column - 1;
    size_t start = col > 36 ? col - 36 : 0;
    if (start > len)
        start = len;
    size_t shown = len - start > 72 ? 72 : len - start;
    char line[80], caret[80];
    printable(line, text + start, shown);
    size_t pad = col - start;
    if (pad > 72)
        pad = 72;
    memset(caret, ' ', pad);
    caret[pad] = '^';
    caret[pad + 1] = '\0';
    CPLError(CE_Failure, CPLE_IllegalArg,
             "%s: %s at column %d\n  %s%s%s\n  %s%s", fn_name, err->message,
             err->column, start > 0 ? "..." : "", line,
             start + shown < len ? "..." : "", start > 0 ? "   " : "", caret);
}

/* The cached program for this key, compiled on a miss. Returns an entry
 * holding a reference (release it), or NULL after a CPLError. */
static cache_entry *acquire(const char *text, int nsources, const char *names)
{
    const uint64_t hash = key_hash(text, nsources, names);
    pthread_mutex_lock(&cache_mutex);
    cache_entry *e = find_locked(hash, text, nsources, names);
    pthread_mutex_unlock(&cache_mutex);
    if (e)
        return e;

    pvrt__expr_error err;
    pvrt__expr_program *prog =
        pvrt__expr_compile(text, strlen(text), nsources, names, 0, &err);
    if (prog == NULL) {
        report(text, &err);
        return NULL;
    }
    e = (cache_entry *)calloc(1, sizeof(cache_entry));
    if (e)
        e->text = dup_string(text);
    if (e && names)
        e->names = dup_string(names);
    if (e == NULL || e->text == NULL || (names && e->names == NULL)) {
        pvrt__expr_program_free(prog);
        entry_free(e);
        CPLError(CE_Failure, CPLE_OutOfMemory, "%s: out of memory", fn_name);
        return NULL;
    }
    e->hash = hash;
    e->nsources = nsources;
    e->prog = prog;

    cache_entry *evicted = NULL;
    pthread_mutex_lock(&cache_mutex);
    cache_entry *other = find_locked(hash, text, nsources, names);
    if (other == NULL) {
        e->refs = 2; /* the list and this caller */
        e->next = cache_head;
        cache_head = e;
        if (++cache_count > CACHE_CAPACITY) {
            cache_entry **link = &cache_head;
            while ((*link)->next)
                link = &(*link)->next;
            evicted = *link;
            *link = NULL;
            cache_count--;
            if (--evicted->refs > 0)
                evicted = NULL; /* its last user frees it */
        }
    }
    pthread_mutex_unlock(&cache_mutex);
    entry_free(evicted);
    if (other) { /* another thread compiled it meanwhile */
        entry_free(e);
        return other;
    }
    return e;
}

void pvrt__expr_cleanup(void)
{
    pthread_mutex_lock(&cache_mutex);
    cache_entry *list = cache_head;
    cache_head = NULL;
    cache_count = 0;
    cache_entry *dead = NULL;
    while (list) {
        cache_entry *e = list;
        list = e->next;
        if (--e->refs == 0) {
            e->next = dead;
            dead = e;
        }
    }
    pthread_mutex_unlock(&cache_mutex);
    while (dead) {
        cache_entry *e = dead;
        dead = e->next;
        entry_free(e);
    }
}

/* ---- The pixel function ------------------------------------------------ */

static int parse_propagate(CSLConstList args, int *propagate)
{
    const char *v = CSLFetchNameValue(args, "propagate_nodata");
    *propagate = 1;
    if (v == NULL)
        return 0;
    if (EQUAL(v, "yes") || EQUAL(v, "true") || EQUAL(v, "on") || EQUAL(v, "1"))
        return 0;
    if (EQUAL(v, "no") || EQUAL(v, "false") || EQUAL(v, "off") ||
        EQUAL(v, "0")) {
        *propagate = 0;
        return 0;
    }
    CPLError(CE_Failure, CPLE_IllegalArg,
             "%s: argument 'propagate_nodata' must be yes or no, got '%s'",
             fn_name, v);
    return -1;
}

static int is_nodata(double v, double nodata)
{
    return nodata != nodata ? v != v : v == nodata;
}

CPLErr pvrt__expr(void **sources, int nsources, void *out, int width,
                  int height, GDALDataType src_type, GDALDataType out_type,
                  int pixel_space, int line_space, CSLConstList args)
{
    const char *text = CSLFetchNameValue(args, "expr");
    if (text == NULL) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: missing argument 'expr' (the expression to compute, "
                 "e.g. expr=\"(B2 - B1) / (B2 + B1)\")",
                 fn_name);
        return CE_Failure;
    }
    const char *names = CSLFetchNameValue(args, "names");
    int has_nodata, propagate;
    double nodata;
    if (pvrt__arg_nodata(args, fn_name, &has_nodata, &nodata) < 0 ||
        parse_propagate(args, &propagate) < 0)
        return CE_Failure;
    if (width <= 0 || height <= 0)
        return CE_None;

    cache_entry *entry = acquire(text, nsources, names);
    if (entry == NULL)
        return CE_Failure;
    const pvrt__expr_program *prog = entry->prog;

    const int block = PVRT_EXPR_BLOCK;
    double *regs = (double *)VSI_MALLOC3_VERBOSE(sizeof(double),
                                                 (size_t)prog->nregs, block);
    double *row = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), width);
    unsigned char *bad = (unsigned char *)VSI_MALLOC_VERBOSE(block);
    if ((regs == NULL && prog->nregs > 0) || row == NULL || bad == NULL) {
        VSIFree(regs);
        VSIFree(row);
        VSIFree(bad);
        release(entry);
        return CE_Failure;
    }
    pvrt__expr_vm_load_constants(prog, regs);
    const pvrt__expr_vm_ctx ctx = {has_nodata, nodata};
    const int check = has_nodata && propagate && prog->nused > 0;
    const int size = GDALGetDataTypeSizeBytes(src_type);

    for (int y = 0; y < height; y++) {
        for (int x0 = 0; x0 < width; x0 += block) {
            const int n = width - x0 < block ? width - x0 : block;
            const size_t offset =
                ((size_t)y * (size_t)width + (size_t)x0) * (size_t)size;
            for (int r = 0; r < prog->nused; r++)
                GDALCopyWords((const GByte *)sources[prog->used[r]] + offset,
                              src_type, size, regs + (size_t)r * block,
                              GDT_Float64, sizeof(double), n);
            if (check) {
                memset(bad, 0, (size_t)n);
                for (int r = 0; r < prog->nused; r++) {
                    const double *v = regs + (size_t)r * block;
                    for (int i = 0; i < n; i++)
                        bad[i] |= (unsigned char)is_nodata(v[i], nodata);
                }
            }
            pvrt__expr_vm_run(prog, regs, n, &ctx);
            const double *result = regs + (size_t)prog->result * block;
            double *dst = row + x0;
            if (!has_nodata) {
                memcpy(dst, result, sizeof(double) * (size_t)n);
            } else {
                for (int i = 0; i < n; i++)
                    dst[i] = (check && bad[i]) || result[i] != result[i]
                                 ? nodata
                                 : result[i];
            }
        }
        pvrt__row_write(row, out, out_type, pixel_space, line_space, width, y);
    }
    VSIFree(regs);
    VSIFree(row);
    VSIFree(bad);
    release(entry);
    return CE_None;
}
