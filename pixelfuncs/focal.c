/* focal.c: pvrt_focal, one statistic of the window around each pixel of a
 * single source (focal mean, median, majority, ...; with min and max of a
 * 0/1 mask, dilation and erosion).
 *
 * neighbourhood.c dispatches here: pvrt__focal_new parses the arguments
 * once into an immutable state (the window's offsets, and for the median,
 * majority, minority and variety a comparator network), shared read-only
 * by every worker; the driver
 * (driver/halo.c) calls pvrt__focal_compute on each tile's input extended
 * by the radius. A neighbour outside the input buffer is outside the
 * raster.
 *
 * Work goes a row at a time. Sums, counts, minima and maxima are built
 * offset after offset (row-major: dy, then dx) over the whole output row,
 * so each pixel's sum is accumulated in that fixed order and the inner
 * loops run over contiguous memory (SSE2 where there is SSE2). Median,
 * majority, minority and variety gather each pixel's valid values (same
 * order) and select or sort them; but where a window of up to NET_MAX
 * values is whole and fully valid (the common case), a network of
 * comparators sorts it (for the median, selects the middle value), run on
 * a batch of neighbouring pixels at a time with branch-free minimum and
 * maximum (AVX when the CPU has it). Reentrant: the only writable memory
 * is the scratch each call allocates. */
#include "nbhd_private.h"
#include "pf_private.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
/* x86 with GCC or clang: an AVX version of the comparator network, chosen
 * at run time. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define FOCAL_X86 1
#include <immintrin.h>
#endif

#define FN "pvrt_focal"
#define FOCAL_MAX_RADIUS 50

/* Pixels a comparator network runs on at once. A constant trip count lets the
 * compiler vectorise the comparator loop. */
#define NET_BATCH 32
/* Largest window (number of values) that gets a network. */
#define NET_MAX 49

typedef enum {
    OP_MEAN,
    OP_SUM,
    OP_MIN,
    OP_MAX,
    OP_MEDIAN,
    OP_RANGE,
    OP_STD,
    OP_COUNT,
    OP_MAJORITY,
    OP_MINORITY,
    OP_VARIETY
} focal_op;

static const struct {
    const char *name;
    focal_op op;
} op_names[] = {
    {"mean", OP_MEAN},         {"sum", OP_SUM},
    {"min", OP_MIN},           {"max", OP_MAX},
    {"median", OP_MEDIAN},     {"range", OP_RANGE},
    {"std", OP_STD},           {"count", OP_COUNT},
    {"majority", OP_MAJORITY}, {"minority", OP_MINORITY},
    {"variety", OP_VARIETY},
};

#define OP_NAME_COUNT (sizeof(op_names) / sizeof(op_names[0]))
#define OP_LIST                                                                \
    "mean, sum, min, max, median, range, std, count, majority, minority, "     \
    "variety"

/* Our arguments, and the builtin ones GDAL adds to a pixel function's
 * arguments when its metadata asks for them (ours asks for none; ignored
 * if they ever come). */
static const char *const known_args[] = {"op", "radius", "shape", "edges",
                                         "nodata"};
static const char *const gdal_builtin_args[] = {
    "NoData", "scale", "offset",       "xoff",
    "yoff",   "crs",   "geotransform", "source_names"};

typedef struct {
    uint16_t lo, hi; /* min goes to wire lo, max to wire hi */
} comparator;

typedef struct focal {
    focal_op op;
    int radius;
    int shrink; /* edges=shrink */
    /* The missing value besides NaN; NaN when there is none, so that
     * `v != nodata_in` holds for every v. */
    double nodata_in;
    double fill; /* output where no valid input remains */
    int n;       /* offsets in the window */
    int *dy, *dx;
    /* For median, majority, minority and variety of windows whose n values
     * are all valid: net_len comparators that sort them (for the median,
     * only as far as the middle value), the i-th smallest ending on wire
     * net_order[i]. NULL when n > NET_MAX or for other ops. */
    comparator *net;
    int net_len;
    int *net_order;
    int avx; /* the CPU has AVX: run_network_avx */
} focal;

/* ---- Arguments --------------------------------------------------------- */

static int check_names(CSLConstList args)
{
    for (; args && *args; args++) {
        const char *eq = strchr(*args, '=');
        if (eq == NULL) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument '%s' has no value (NAME=VALUE)", FN, *args);
            return -1;
        }
        const size_t len = (size_t)(eq - *args);
        int known = 0;
        for (size_t i = 0; i < sizeof(known_args) / sizeof(*known_args); i++)
            known |= strlen(known_args[i]) == len &&
                     EQUALN(*args, known_args[i], len);
        for (size_t i = 0;
             i < sizeof(gdal_builtin_args) / sizeof(*gdal_builtin_args); i++)
            known |= strlen(gdal_builtin_args[i]) == len &&
                     strncmp(*args, gdal_builtin_args[i], len) == 0;
        if (!known) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: unknown argument '%.*s' (arguments: op, radius, "
                     "shape, edges, nodata)",
                     FN, (int)len, *args);
            return -1;
        }
    }
    return 0;
}

static int parse_op(CSLConstList args, focal_op *op)
{
    const char *text = CSLFetchNameValue(args, "op");
    if (text == NULL) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'op' is required: one of " OP_LIST, FN);
        return -1;
    }
    for (size_t i = 0; i < OP_NAME_COUNT; i++) {
        if (EQUAL(text, op_names[i].name)) {
            *op = op_names[i].op;
            return 0;
        }
    }
    CPLError(CE_Failure, CPLE_IllegalArg,
             "%s: argument 'op' must be one of " OP_LIST "; got '%s'", FN,
             text);
    return -1;
}

/* A keyword argument: *out = 0 for `first` (also the default), 1 for
 * `second`. Returns 0, or -1 after a CPLError. */
static int parse_choice(CSLConstList args, const char *name, const char *first,
                        const char *second, int *out)
{
    const char *text = CSLFetchNameValue(args, name);
    *out = 0;
    if (text == NULL || EQUAL(text, first))
        return 0;
    if (EQUAL(text, second)) {
        *out = 1;
        return 0;
    }
    CPLError(CE_Failure, CPLE_IllegalArg,
             "%s: argument '%s' must be '%s' or '%s', got '%s'", FN, name,
             first, second, text);
    return -1;
}

/* ---- Sorting and selection networks ----------------------------------
 * Batcher's odd-even merge sort for the next power of two N >= n, with the
 * wires n..N-1 holding +infinity. A comparator against such a wire either
 * does nothing or moves the value across, which is followed by renaming
 * wires instead of comparing. For the median, every comparator that cannot
 * reach the middle output is then dropped. For n = 9, 25, 49: 24, 113,
 * 319 comparators for the median, 28, 140, 394 for a whole sort (checked
 * with the 0-1 principle, exhaustively up to n = 25). */

static comparator *build_network(int n, int median_only, int *len, int *order)
{
    int size = 1;
    while (size < n)
        size <<= 1;
    int *phys = (int *)CPLMalloc(sizeof(int) * (size_t)size);
    char *inf = (char *)CPLMalloc((size_t)size);
    for (int w = 0; w < size; w++) {
        phys[w] = w;
        inf[w] = w >= n;
    }
    /* Comparators on physical wires (the inputs 0..n-1), in order. */
    size_t cap = 64, count = 0;
    comparator *all = (comparator *)CPLMalloc(sizeof(comparator) * cap);
    for (int p = 1; p < size; p <<= 1) {
        for (int k = p; k >= 1; k >>= 1) {
            for (int j = k % p; j + k < size; j += 2 * k) {
                for (int i = 0; i < k && i + j + k < size; i++) {
                    const int a = i + j, b = i + j + k;
                    if ((a / (2 * p)) != (b / (2 * p)))
                        continue;
                    if (inf[b])
                        continue; /* min(x, inf) stays, inf stays */
                    if (inf[a]) { /* the finite value moves down */
                        const int t = phys[a];
                        phys[a] = phys[b];
                        phys[b] = t;
                        inf[a] = 0;
                        inf[b] = 1;
                        continue;
                    }
                    if (count == cap) {
                        cap *= 2;
                        all = (comparator *)CPLRealloc(all, sizeof(comparator) *
                                                                cap);
                    }
                    all[count].lo = (uint16_t)phys[a];
                    all[count].hi = (uint16_t)phys[b];
                    count++;
                }
            }
        }
    }
    /* The i-th smallest value ends on physical wire order[i]. */
    for (int i = 0; i < n; i++)
        order[i] = phys[i];
    if (median_only) {
        /* Keep what the middle output depends on, walking backwards. */
        char *needed = (char *)CPLCalloc(1, (size_t)n);
        needed[order[n / 2]] = 1;
        size_t kept = count;
        for (size_t c = count; c-- > 0;) {
            if (needed[all[c].lo] || needed[all[c].hi]) {
                needed[all[c].lo] = needed[all[c].hi] = 1;
                all[--kept] = all[c];
            }
        }
        memmove(all, all + kept, sizeof(comparator) * (count - kept));
        count -= kept;
        CPLFree(needed);
    }
    *len = (int)count;
    CPLFree(inf);
    CPLFree(phys);
    return all;
}

void pvrt__focal_free(void *state)
{
    focal *f = (focal *)state;
    if (f == NULL)
        return;
    CPLFree(f->dy);
    CPLFree(f->dx);
    CPLFree(f->net);
    CPLFree(f->net_order);
    CPLFree(f);
}

void *pvrt__focal_new(CSLConstList args, const pvrt_nbhd_geo *geo, int *radius)
{
    *radius = 0;
    focal_op op;
    int r, circle, shrink;
    double unused;
    if (check_names(args) < 0 || parse_op(args, &op) < 0 ||
        pvrt__arg_int(args, FN, "radius", 1, 1, FOCAL_MAX_RADIUS, &r) < 0 ||
        parse_choice(args, "shape", "square", "circle", &circle) < 0 ||
        parse_choice(args, "edges", "nodata", "shrink", &shrink) < 0 ||
        pvrt__arg_double(args, FN, "nodata", 0.0, &unused) < 0)
        return NULL;

    focal *f = (focal *)CPLCalloc(1, sizeof(focal));
    f->op = op;
    f->radius = r;
    f->shrink = shrink;
    f->nodata_in = geo->has_src_nodata ? geo->src_nodata : NAN;
    /* A Float32 raster's pixels are compared with its NoData as a Float32,
     * as GDAL's NoData masks compare them: NoData 0.1 is the pixels holding
     * 0.1f, not the double 0.1 that no Float32 pixel equals. */
    if (geo->src_type == GDT_Float32 && isfinite(f->nodata_in) &&
        fabs(f->nodata_in) <= FLT_MAX)
        f->nodata_in = (float)f->nodata_in;
    f->fill = geo->has_nodata ? geo->nodata : NAN;
    const size_t side = 2 * (size_t)r + 1;
    f->dy = (int *)CPLMalloc(sizeof(int) * side * side);
    f->dx = (int *)CPLMalloc(sizeof(int) * side * side);
    for (int dy = -r; dy <= r; dy++) {
        for (int dx = -r; dx <= r; dx++) {
            if (circle && dx * dx + dy * dy > r * r)
                continue;
            f->dy[f->n] = dy;
            f->dx[f->n] = dx;
            f->n++;
        }
    }
    if ((op == OP_MEDIAN || op == OP_MAJORITY || op == OP_MINORITY ||
         op == OP_VARIETY) &&
        f->n <= NET_MAX) {
        f->net_order = (int *)CPLMalloc(sizeof(int) * (size_t)f->n);
        f->net =
            build_network(f->n, op == OP_MEDIAN, &f->net_len, f->net_order);
    }
#ifdef FOCAL_X86
    f->avx = __builtin_cpu_supports("avx");
#endif
    *radius = r;
    return f;
}

/* ---- Computing --------------------------------------------------------- */

/* Scratch of one compute call. */
typedef struct {
    double *acc, *acc2; /* sums, or min and max; then the squares */
    double *cnt;        /* valid inputs per pixel */
    double *vals;       /* one pixel's valid values */
    ptrdiff_t *off;     /* offsets as distances in the input buffer */
    double *wires;      /* NET_BATCH values per network wire */
    /* For the network (update_missing): missing inputs per input
     * column over the window's rows, for the rows around input row
     * missing_cy (-1: not yet counted); their running sum along the row.
     * Unsigned: the sums wrap, their differences are exact. */
    unsigned *col_missing, *prefix;
    int missing_cy;
} scratch;

/* What one output row reads. */
typedef struct {
    const focal *f;
    const double *in;
    int in_w, in_h;
    int ox; /* input column of output pixel 0 */
    int cy; /* input row of this output row */
} row_ctx;

static int is_valid(double v, double nodata_in)
{
    return (v == v) & (v != nodata_in);
}

/* For offset k: the output pixels [*a, *b) within [lo, hi) whose neighbour
 * lies in the buffer, and the input row with the column shift such that
 * row[shift + i] is pixel i's neighbour. Returns 0 when there are none. */
static int span(const row_ctx *c, int k, int lo, int hi, const double **row,
                int *shift, int *a, int *b)
{
    const int y = c->cy + c->f->dy[k];
    if (y < 0 || y >= c->in_h)
        return 0;
    *shift = c->ox + c->f->dx[k];
    *a = lo > -*shift ? lo : -*shift;
    *b = hi < c->in_w - *shift ? hi : c->in_w - *shift;
    *row = c->in + (size_t)y * (size_t)c->in_w;
    return *a < *b;
}

/* One offset's contribution to the output pixels 0..n-1, src[i] being
 * pixel i's neighbour. Counts are doubles (exact far beyond any window) so
 * that two pixels go through one SSE2 instruction; the scalar tail
 * computes exactly the same thing. A missing value adds +0 to a sum, which
 * leaves it as it was (a sum that starts at +0 is never -0). */
#ifdef __SSE2__
static __m128d valid2(__m128d v, __m128d nd)
{
    return _mm_and_pd(_mm_cmpord_pd(v, v), _mm_cmpneq_pd(v, nd));
}
#endif

static void add_count(const double *src, int n, double nd, double *cnt)
{
    int i = 0;
#ifdef __SSE2__
    const __m128d ndv = _mm_set1_pd(nd), one = _mm_set1_pd(1.0);
    for (; i + 2 <= n; i += 2) {
        const __m128d ok = valid2(_mm_loadu_pd(src + i), ndv);
        _mm_storeu_pd(cnt + i,
                      _mm_add_pd(_mm_loadu_pd(cnt + i), _mm_and_pd(ok, one)));
    }
#endif
    for (; i < n; i++)
        cnt[i] += is_valid(src[i], nd) ? 1.0 : 0.0;
}

static void add_sum(const double *src, int n, double nd, double *acc,
                    double *cnt)
{
    int i = 0;
#ifdef __SSE2__
    const __m128d ndv = _mm_set1_pd(nd), one = _mm_set1_pd(1.0);
    for (; i + 2 <= n; i += 2) {
        const __m128d v = _mm_loadu_pd(src + i);
        const __m128d ok = valid2(v, ndv);
        _mm_storeu_pd(acc + i,
                      _mm_add_pd(_mm_loadu_pd(acc + i), _mm_and_pd(ok, v)));
        _mm_storeu_pd(cnt + i,
                      _mm_add_pd(_mm_loadu_pd(cnt + i), _mm_and_pd(ok, one)));
    }
#endif
    for (; i < n; i++) {
        const int ok = is_valid(src[i], nd);
        acc[i] += ok ? src[i] : 0.0;
        cnt[i] += ok ? 1.0 : 0.0;
    }
}

static void add_square(const double *src, int n, double nd, const double *mean,
                       double *ss)
{
    int i = 0;
#ifdef __SSE2__
    const __m128d ndv = _mm_set1_pd(nd);
    for (; i + 2 <= n; i += 2) {
        const __m128d v = _mm_loadu_pd(src + i);
        const __m128d d = _mm_sub_pd(v, _mm_loadu_pd(mean + i));
        const __m128d sq = _mm_and_pd(valid2(v, ndv), _mm_mul_pd(d, d));
        _mm_storeu_pd(ss + i, _mm_add_pd(_mm_loadu_pd(ss + i), sq));
    }
#endif
    for (; i < n; i++) {
        const double d = src[i] - mean[i];
        ss[i] += is_valid(src[i], nd) ? d * d : 0.0;
    }
}

/* Strict comparisons: of equal values the first in offset order stays
 * (which matters only for -0 and +0). */
static void add_minmax(const double *src, int n, double nd, double *mn,
                       double *mx, double *cnt)
{
    int i = 0;
#ifdef __SSE2__
    const __m128d ndv = _mm_set1_pd(nd), one = _mm_set1_pd(1.0);
    for (; i + 2 <= n; i += 2) {
        const __m128d v = _mm_loadu_pd(src + i);
        const __m128d ok = valid2(v, ndv);
        const __m128d m0 = _mm_loadu_pd(mn + i), x0 = _mm_loadu_pd(mx + i);
        const __m128d lt = _mm_and_pd(ok, _mm_cmplt_pd(v, m0));
        const __m128d gt = _mm_and_pd(ok, _mm_cmpgt_pd(v, x0));
        _mm_storeu_pd(mn + i,
                      _mm_or_pd(_mm_and_pd(lt, v), _mm_andnot_pd(lt, m0)));
        _mm_storeu_pd(mx + i,
                      _mm_or_pd(_mm_and_pd(gt, v), _mm_andnot_pd(gt, x0)));
        _mm_storeu_pd(cnt + i,
                      _mm_add_pd(_mm_loadu_pd(cnt + i), _mm_and_pd(ok, one)));
    }
#endif
    for (; i < n; i++) {
        const double v = src[i];
        const int ok = is_valid(v, nd);
        mn[i] = ok && v < mn[i] ? v : mn[i];
        mx[i] = ok && v > mx[i] ? v : mx[i];
        cnt[i] += ok ? 1.0 : 0.0;
    }
}

typedef enum { PASS_COUNT, PASS_SUM, PASS_SQUARE, PASS_MINMAX } pass_kind;

/* One pass over the window's offsets, in order, for the output pixels
 * [lo, hi) of the row: PASS_COUNT counts valid inputs into cnt; PASS_SUM
 * sums them into p and counts; PASS_SQUARE sums the squared deviations from
 * q (the means) into p; PASS_MINMAX takes the minimum into p, the maximum
 * into q, and counts. */
static void pass(const row_ctx *c, pass_kind kind, int lo, int hi, double *p,
                 double *q, double *cnt)
{
    const double nd = c->f->nodata_in;
    for (int i = lo; i < hi; i++) {
        if (kind != PASS_SQUARE)
            cnt[i] = 0.0;
        if (kind == PASS_SUM || kind == PASS_SQUARE)
            p[i] = 0.0;
        if (kind == PASS_MINMAX) {
            p[i] = INFINITY;
            q[i] = -INFINITY;
        }
    }
    for (int k = 0; k < c->f->n; k++) {
        const double *row;
        int s, a, b;
        if (!span(c, k, lo, hi, &row, &s, &a, &b))
            continue;
        const double *src = row + s + a;
        switch (kind) {
            case PASS_COUNT:
                add_count(src, b - a, nd, cnt + a);
                break;
            case PASS_SUM:
                add_sum(src, b - a, nd, p + a, cnt + a);
                break;
            case PASS_SQUARE:
                add_square(src, b - a, nd, q + a, p + a);
                break;
            case PASS_MINMAX:
                add_minmax(src, b - a, nd, p + a, q + a, cnt + a);
                break;
        }
    }
}

/* Majority, minority or variety of k >= 1 sorted values: the i-th is
 * v[order[i] * stride] (v[i] without order). Runs of equal values; the
 * first run of the best length holds the smallest such value; a run of
 * zeros is -0 if it holds one (sorts may place -0 and +0 either way). */
static double runs_of(focal_op op, const double *v, const int *order,
                      size_t stride, int k)
{
#define AT(i) (order ? v[(size_t)order[i] * stride] : v[i])
    double best = AT(0);
    int best_len = op == OP_MINORITY ? k + 1 : 0, runs = 0;
    for (int i = 0; i < k;) {
        const double x = AT(i);
        int neg = signbit(x) != 0, j = i + 1;
        while (j < k && AT(j) == x) {
            neg |= signbit(AT(j)) != 0;
            j++;
        }
        runs++;
        if (op == OP_MAJORITY ? j - i > best_len : j - i < best_len) {
            best_len = j - i;
            best = x == 0 ? (neg ? -0.0 : 0.0) : x;
        }
        i = j;
    }
#undef AT
    return op == OP_VARIETY ? (double)runs : best;
}

/* The statistic of k >= 1 valid values (may reorder them). */
static double reduce_values(focal_op op, double *v, int k)
{
    if (op == OP_MEDIAN) {
        double a, b;
        pvrt__select_pair(v, k, k % 2 == 1 ? k / 2 : k / 2 - 1, &a, &b);
        return k % 2 == 1 ? a : pvrt__midpoint(a, b);
    }
    pvrt__sort(v, k);
    return runs_of(op, v, NULL, 1, k);
}

/* Output pixel i by gathering its valid values. */
static double gather_pixel(const row_ctx *c, const scratch *s, int i)
{
    const focal *f = c->f;
    const int cx = c->ox + i;
    int k = 0;
    if (cx - f->radius >= 0 && cx + f->radius < c->in_w &&
        c->cy - f->radius >= 0 && c->cy + f->radius < c->in_h) {
        const double *centre = c->in + (size_t)c->cy * (size_t)c->in_w + cx;
        for (int o = 0; o < f->n; o++) {
            const double v = centre[s->off[o]];
            s->vals[k] = v;
            k += is_valid(v, f->nodata_in);
        }
    } else {
        for (int o = 0; o < f->n; o++) {
            const int x = cx + f->dx[o], y = c->cy + f->dy[o];
            if (x < 0 || x >= c->in_w || y < 0 || y >= c->in_h)
                continue;
            const double v = c->in[(size_t)y * (size_t)c->in_w + x];
            s->vals[k] = v;
            k += is_valid(v, f->nodata_in);
        }
    }
    if (k == 0)
        return f->op == OP_VARIETY ? 0.0 : f->fill;
    return reduce_values(f->op, s->vals, k);
}

/* The comparators over NET_BATCH pixels at a time. */
static void run_network(const comparator *net, int len, double *wires)
{
    for (int q = 0; q < len; q++) {
        double *restrict a = wires + (size_t)net[q].lo * NET_BATCH;
        double *restrict b = wires + (size_t)net[q].hi * NET_BATCH;
#ifdef __SSE2__
        /* minpd and maxpd: what GCC does not make of the loop below. Of
         * equal values min(x, y) gives y and max(y, x) gives x, so the two
         * outputs are the inputs swapped and a -0 is never lost. */
        for (int t = 0; t < NET_BATCH; t += 2) {
            const __m128d x = _mm_loadu_pd(a + t), y = _mm_loadu_pd(b + t);
            _mm_storeu_pd(a + t, _mm_min_pd(x, y));
            _mm_storeu_pd(b + t, _mm_max_pd(y, x));
        }
#else
        for (int t = 0; t < NET_BATCH; t++) {
            const double x = a[t], y = b[t];
            const double lo = x < y ? x : y, hi = x < y ? y : x;
            a[t] = lo;
            b[t] = hi;
        }
#endif
    }
}

#ifdef FOCAL_X86
/* The same, four pixels an instruction, on CPUs that have AVX. */
__attribute__((target("avx"))) static void
run_network_avx(const comparator *net, int len, double *wires)
{
    for (int q = 0; q < len; q++) {
        double *a = wires + (size_t)net[q].lo * NET_BATCH;
        double *b = wires + (size_t)net[q].hi * NET_BATCH;
        for (int t = 0; t < NET_BATCH; t += 4) {
            const __m256d x = _mm256_loadu_pd(a + t);
            const __m256d y = _mm256_loadu_pd(b + t);
            _mm256_storeu_pd(a + t, _mm256_min_pd(x, y));
            _mm256_storeu_pd(b + t, _mm256_max_pd(y, x));
        }
    }
}
#endif

/* Missing inputs in the columns of the rows cy - r .. cy + r (the
 * network's test for fully valid windows): slid down a row at a time, then
 * summed along the row, so a pixel's square window costs two lookups. */
static void update_missing(const row_ctx *c, scratch *s)
{
    const focal *f = c->f;
    const int r = f->radius, w = c->in_w;
    const double nd = f->nodata_in;
    if (s->missing_cy >= 0 && s->missing_cy == c->cy - 1) {
        const double *gone = c->in + (size_t)(c->cy - 1 - r) * (size_t)w;
        const double *come = c->in + (size_t)(c->cy + r) * (size_t)w;
        for (int x = 0; x < w; x++)
            s->col_missing[x] += (unsigned)!is_valid(come[x], nd) -
                                 (unsigned)!is_valid(gone[x], nd);
    } else {
        for (int x = 0; x < w; x++)
            s->col_missing[x] = 0;
        for (int y = c->cy - r; y <= c->cy + r; y++) {
            const double *row = c->in + (size_t)y * (size_t)w;
            for (int x = 0; x < w; x++)
                s->col_missing[x] += (unsigned)!is_valid(row[x], nd);
        }
    }
    s->missing_cy = c->cy;
    s->prefix[0] = 0;
    for (int x = 0; x < w; x++)
        s->prefix[x + 1] = s->prefix[x] + s->col_missing[x];
}

/* The output pixels [i0, i0 + len), len <= NET_BATCH, whose windows lie
 * inside the buffer, through the network; unused lanes repeat the last
 * pixel. A pixel with a missing input in its square (the window's bounding
 * square, for a circle) is computed by gathering instead. */
static void network_batch(const row_ctx *c, const scratch *s, int i0, int len,
                          double *out)
{
    const focal *f = c->f;
    const int r = f->radius;
    const double *centre =
        c->in + (size_t)c->cy * (size_t)c->in_w + (size_t)(c->ox + i0);
    for (int o = 0; o < f->n; o++) {
        const double *src = centre + s->off[o];
        double *w = s->wires + (size_t)o * NET_BATCH;
        memcpy(w, src, sizeof(double) * (size_t)len);
        for (int t = len; t < NET_BATCH; t++)
            w[t] = src[len - 1];
    }
#ifdef FOCAL_X86
    if (f->avx)
        run_network_avx(f->net, f->net_len, s->wires);
    else
#endif
        run_network(f->net, f->net_len, s->wires);
    const double *med = s->wires + (size_t)f->net_order[f->n / 2] * NET_BATCH;
    const unsigned *p = s->prefix + c->ox + i0 - r;
    for (int t = 0; t < len; t++) {
        if (p[t + 2 * r + 1] != p[t])
            out[i0 + t] = gather_pixel(c, s, i0 + t);
        else if (f->op == OP_MEDIAN)
            out[i0 + t] = med[t];
        else
            out[i0 + t] =
                runs_of(f->op, s->wires + t, f->net_order, NET_BATCH, f->n);
    }
}

static void network_row(const row_ctx *c, scratch *s, int lo, int hi,
                        double *out)
{
    const focal *f = c->f;
    const int r = f->radius;
    /* [a, b): the pixels whose window lies inside the buffer. */
    int a = lo, b = lo;
    if (f->net != NULL && c->cy - r >= 0 && c->cy + r < c->in_h) {
        a = r - c->ox > lo ? r - c->ox : lo;
        b = c->in_w - r - c->ox < hi ? c->in_w - r - c->ox : hi;
        if (b < a)
            a = b = lo;
    }
    if (a < b)
        update_missing(c, s);
    for (int i = lo; i < a; i++)
        out[i] = gather_pixel(c, s, i);
    for (int i = a; i < b; i += NET_BATCH)
        network_batch(c, s, i, b - i < NET_BATCH ? b - i : NET_BATCH, out);
    for (int i = b; i < hi; i++)
        out[i] = gather_pixel(c, s, i);
}

static void compute_row(const row_ctx *c, scratch *s, int lo, int hi,
                        double *out)
{
    const focal *f = c->f;
    double *acc = s->acc, *acc2 = s->acc2, *cnt = s->cnt;
    switch (f->op) {
        case OP_MEDIAN:
        case OP_MAJORITY:
        case OP_MINORITY:
        case OP_VARIETY:
            network_row(c, s, lo, hi, out);
            return;
        case OP_COUNT:
            pass(c, PASS_COUNT, lo, hi, NULL, NULL, cnt);
            for (int i = lo; i < hi; i++)
                out[i] = cnt[i];
            return;
        case OP_MIN:
        case OP_MAX:
        case OP_RANGE:
            pass(c, PASS_MINMAX, lo, hi, acc, acc2, cnt);
            for (int i = lo; i < hi; i++)
                out[i] = cnt[i] == 0       ? f->fill
                         : f->op == OP_MIN ? acc[i]
                         : f->op == OP_MAX ? acc2[i]
                                           : acc2[i] - acc[i];
            return;
        case OP_SUM:
        case OP_MEAN:
        case OP_STD:
            pass(c, PASS_SUM, lo, hi, acc, NULL, cnt);
            for (int i = lo; i < hi; i++)
                acc[i] =
                    f->op == OP_SUM || cnt[i] == 0 ? acc[i] : acc[i] / cnt[i];
            if (f->op == OP_STD) {
                /* Population standard deviation, in two passes. */
                pass(c, PASS_SQUARE, lo, hi, acc2, acc, cnt);
                for (int i = lo; i < hi; i++)
                    acc[i] = cnt[i] == 0 ? 0.0 : sqrt(acc2[i] / cnt[i]);
            }
            for (int i = lo; i < hi; i++)
                out[i] = cnt[i] == 0 ? f->fill : acc[i];
            return;
    }
}

/* The rows of the output, each from its input row oy + j. */
static void compute_rows(const focal *f, scratch *s, const double *in, int in_w,
                         int in_h, int ox, int oy, double *out, int out_w,
                         int out_h)
{
    const int r = f->radius;
    row_ctx c = {f, in, in_w, in_h, ox, 0};
    for (int j = 0; j < out_h; j++) {
        double *row = out + (size_t)j * (size_t)out_w;
        c.cy = oy + j;
        /* edges=nodata: NoData wherever the window leaves the raster. */
        int lo = 0, hi = out_w;
        if (!f->shrink) {
            if (c.cy - r < 0 || c.cy + r >= in_h) {
                lo = hi = 0;
            } else {
                lo = r - ox > 0 ? r - ox : 0;
                hi = in_w - r - ox < out_w ? in_w - r - ox : out_w;
                if (hi < lo)
                    lo = hi = 0; /* no window fits across */
            }
            for (int i = 0; i < lo; i++)
                row[i] = f->fill;
            for (int i = hi; i < out_w; i++)
                row[i] = f->fill;
        }
        if (lo < hi)
            compute_row(&c, s, lo, hi, row);
    }
}

int pvrt__focal_compute(const void *state, const double *in, int in_w, int in_h,
                        int ox, int oy, double *out, int out_w, int out_h)
{
    const focal *f = (const focal *)state;
    if (out_w < 0 || out_h < 0 || ox < 0 || oy < 0 || out_w > in_w - ox ||
        out_h > in_h - oy) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "%s: output %dx%d at (%d, %d) is not inside the %dx%d input",
                 FN, out_w, out_h, ox, oy, in_w, in_h);
        return -1;
    }
    if (out_w == 0 || out_h == 0)
        return 0;

    scratch s;
    memset(&s, 0, sizeof(s));
    s.acc = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), (size_t)out_w);
    s.acc2 = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), (size_t)out_w);
    s.cnt = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), (size_t)out_w);
    s.vals = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), (size_t)f->n);
    s.off = (ptrdiff_t *)VSI_MALLOC2_VERBOSE(sizeof(ptrdiff_t), (size_t)f->n);
    s.missing_cy = -1;
    if (f->net) {
        s.wires = (double *)VSI_MALLOC3_VERBOSE(sizeof(double), (size_t)f->n,
                                                NET_BATCH);
        s.col_missing =
            (unsigned *)VSI_MALLOC2_VERBOSE(sizeof(unsigned), (size_t)in_w);
        s.prefix =
            (unsigned *)VSI_MALLOC2_VERBOSE(sizeof(unsigned), (size_t)in_w + 1);
    }
    int rc = -1;
    if (s.acc && s.acc2 && s.cnt && s.vals && s.off &&
        (!f->net || (s.wires && s.col_missing && s.prefix))) {
        for (int o = 0; o < f->n; o++)
            s.off[o] = (ptrdiff_t)f->dy[o] * in_w + f->dx[o];
        compute_rows(f, &s, in, in_w, in_h, ox, oy, out, out_w, out_h);
        rc = 0;
    }
    VSIFree(s.acc);
    VSIFree(s.acc2);
    VSIFree(s.cnt);
    VSIFree(s.vals);
    VSIFree(s.off);
    VSIFree(s.wires);
    VSIFree(s.col_missing);
    VSIFree(s.prefix);
    return rc;
}
