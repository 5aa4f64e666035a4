/* reduce.c: pvrt_reduce, one statistic per pixel across all of a band's
 * sources (median and percentile composites, counts, priority mosaics).
 *
 * One row loop drives every op: a chunk of each source row is converted to
 * doubles once (pvrt__row_read), the valid inputs of each pixel are
 * gathered in source order (NaN, the `skip` values and the `nodata` value
 * are missing), and one small function reduces them; the output row leaves
 * through one pvrt__row_write. Memory is bounded per call by the chunk
 * width times the number of sources, whatever the request size. Median and
 * percentile use selection (select.c), mode a sort of the valid values.
 * Reentrant: no mutable static state; any thread may call. */
#include "pf_private.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Pixels converted per source at a time: bounds the scratch buffer to
 * REDUCE_CHUNK * nsources doubles. */
#define REDUCE_CHUNK 256

const char pvrt__reduce_meta[] =
    "<PixelFunctionArgumentsList>"
    "<Argument name='op' type='string' description='mean, median, min, max, "
    "sum, count, std, var, percentile, range, mode, first, last, argmin, "
    "argmax'/>"
    "<Argument name='q' type='double' description='percentile in [0, 100] "
    "(op=percentile)'/>"
    "<Argument name='min_count' type='integer' default='1' "
    "description='fewest valid inputs for a result'/>"
    "<Argument name='skip' type='string' "
    "description='comma-separated values treated as missing'/>"
    "<Argument name='nodata' type='double' "
    "description='value treated as missing and written where no "
    "result'/>" PVRT_BUILTIN_NODATA_ARG "</PixelFunctionArgumentsList>";

typedef enum {
    OP_MEAN,
    OP_MEDIAN,
    OP_MIN,
    OP_MAX,
    OP_SUM,
    OP_COUNT,
    OP_STD,
    OP_VAR,
    OP_PERCENTILE,
    OP_RANGE,
    OP_MODE,
    OP_FIRST,
    OP_LAST,
    OP_ARGMIN,
    OP_ARGMAX
} reduce_op;

static const struct {
    const char *name;
    reduce_op op;
} op_names[] = {
    {"mean", OP_MEAN},   {"median", OP_MEDIAN}, {"min", OP_MIN},
    {"max", OP_MAX},     {"sum", OP_SUM},       {"count", OP_COUNT},
    {"std", OP_STD},     {"var", OP_VAR},       {"percentile", OP_PERCENTILE},
    {"range", OP_RANGE}, {"mode", OP_MODE},     {"first", OP_FIRST},
    {"last", OP_LAST},   {"argmin", OP_ARGMIN}, {"argmax", OP_ARGMAX},
};

#define OP_COUNT_NAMES (sizeof(op_names) / sizeof(op_names[0]))

typedef struct {
    reduce_op op;
    double quantile; /* q / 100, for OP_PERCENTILE */
    int min_count;
    int has_nodata;
    double nodata_in;   /* the nodata value as it reads in the source type */
    const double *skip; /* skip values as they read in the source type */
    int nskip;
    double fill; /* output where fewer than min_count inputs are valid */
} reduce_params;

/* A value given in an argument, as it reads back from a source of `type`:
 * a Float32 source holds (float)v, so compare against that. Integer types
 * hold only integers in range; other values never match, which comparing
 * the double as it is gives. */
static double as_source_value(double v, GDALDataType type)
{
    if (type == GDT_Float32 && isfinite(v) && fabs(v) <= FLT_MAX)
        return (double)(float)v;
    return v;
}

/* Without branches on the data: holes come at random places, and a
 * mispredicted branch per hole costs more than the comparisons. */
static int is_missing(const reduce_params *p, double v)
{
    int missing = (v != v) | (p->has_nodata & (v == p->nodata_in));
    for (int i = 0; i < p->nskip; i++)
        missing |= v == p->skip[i];
    return missing;
}

/* numpy's linear interpolation (numpy.lib.function_base._lerp): from the
 * lower side below t = 0.5, from the upper side above, so the result is
 * exact at both ends. Equal ends give that value (numpy would give NaN
 * for two infinities: inf - inf). */
static double lerp(double a, double b, double t)
{
    if (t == 0.0 || a == b)
        return a;
    const double diff = b - a;
    if (t >= 0.5)
        return b - diff * (1.0 - t);
    return a + diff * t;
}

/* The statistic of k >= 1 valid values `v` (source order; may be
 * reordered), coming from the 0-based sources `idx`. */
static double reduce_values(const reduce_params *p, double *v, const int *idx,
                            int k)
{
    switch (p->op) {
        case OP_COUNT:
            return (double)k;
        case OP_FIRST:
            return v[0];
        case OP_LAST:
            return v[k - 1];
        case OP_SUM:
        case OP_MEAN:
        case OP_VAR:
        case OP_STD: {
            /* Summation in source order; variance in two passes. */
            double sum = 0.0;
            for (int i = 0; i < k; i++)
                sum += v[i];
            if (p->op == OP_SUM)
                return sum;
            const double mean = sum / k;
            if (p->op == OP_MEAN)
                return mean;
            double ss = 0.0;
            for (int i = 0; i < k; i++) {
                const double d = v[i] - mean;
                ss += d * d;
            }
            const double var = ss / k;
            return p->op == OP_VAR ? var : sqrt(var);
        }
        case OP_MIN:
        case OP_MAX:
        case OP_RANGE:
        case OP_ARGMIN:
        case OP_ARGMAX: {
            /* Strict comparisons: among equal values the first source wins. */
            int imin = 0, imax = 0;
            for (int i = 1; i < k; i++) {
                if (v[i] < v[imin])
                    imin = i;
                if (v[i] > v[imax])
                    imax = i;
            }
            switch (p->op) {
                case OP_MIN:
                    return v[imin];
                case OP_MAX:
                    return v[imax];
                case OP_ARGMIN:
                    return (double)(idx[imin] + 1);
                case OP_ARGMAX:
                    return (double)(idx[imax] + 1);
                default:
                    return v[imax] - v[imin];
            }
        }
        case OP_MEDIAN: {
            double a, b;
            pvrt__select_pair(v, k, k % 2 == 1 ? k / 2 : k / 2 - 1, &a, &b);
            return k % 2 == 1 ? a : pvrt__midpoint(a, b);
        }
        case OP_PERCENTILE: {
            /* numpy's default 'linear' method: virtual index (n - 1) * q. */
            const double vi = (double)(k - 1) * p->quantile;
            if (vi >= (double)(k - 1))
                return pvrt__max(v, k);
            const double lo = floor(vi);
            double a, b;
            pvrt__select_pair(v, k, (int)lo, &a, &b);
            return lerp(a, b, vi - lo);
        }
        case OP_MODE: {
            /* Sorted, the longest run wins; the first such run holds the
             * smallest value. */
            pvrt__sort(v, k);
            double best = v[0];
            int best_len = 0;
            for (int i = 0; i < k;) {
                int j = i + 1;
                while (j < k && v[j] == v[i])
                    j++;
                if (j - i > best_len) {
                    best_len = j - i;
                    best = v[i];
                }
                i = j;
            }
            return best;
        }
    }
    return NAN; /* not reached: every op is handled above */
}

static int parse_op(CSLConstList args, const char *fn, reduce_op *op)
{
    const char *text = CSLFetchNameValue(args, "op");
    if (text == NULL) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'op' is required: one of mean, median, min, "
                 "max, sum, count, std, var, percentile, range, mode, first, "
                 "last, argmin, argmax",
                 fn);
        return -1;
    }
    for (size_t i = 0; i < OP_COUNT_NAMES; i++) {
        if (EQUAL(text, op_names[i].name)) {
            *op = op_names[i].op;
            return 0;
        }
    }
    CPLError(CE_Failure, CPLE_IllegalArg,
             "%s: argument 'op' must be one of mean, median, min, max, sum, "
             "count, std, var, percentile, range, mode, first, last, argmin, "
             "argmax; got '%s'",
             fn, text);
    return -1;
}

/* Parses and checks every argument; p->skip is CPLMalloc'ed (CPLFree it).
 * Returns 0, or -1 after a CPLError. */
static int parse_params(CSLConstList args, int nsources, GDALDataType src_type,
                        GDALDataType out_type, reduce_params *p)
{
    static const char fn[] = "pvrt_reduce";
    memset(p, 0, sizeof(*p));
    if (parse_op(args, fn, &p->op) < 0)
        return -1;

    double q = 0;
    const int has_q = pvrt__arg_double(args, fn, "q", 0.0, &q);
    if (has_q < 0)
        return -1;
    if (p->op == OP_PERCENTILE) {
        if (has_q == 1) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument 'q' is required with op=percentile: a "
                     "number in [0, 100]",
                     fn);
            return -1;
        }
        if (!(q >= 0.0 && q <= 100.0)) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument 'q' must be a number in [0, 100], got '%s'",
                     fn, CSLFetchNameValue(args, "q"));
            return -1;
        }
        p->quantile = q / 100.0;
    } else if (has_q == 0) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'q' applies only to op=percentile, not op=%s",
                 fn, CSLFetchNameValue(args, "op"));
        return -1;
    }

    if (pvrt__arg_int(args, fn, "min_count", 1, 1, nsources, &p->min_count) < 0)
        return -1;

    double nodata = 0;
    if (pvrt__arg_nodata(args, fn, &p->has_nodata, &nodata) < 0)
        return -1;
    p->nodata_in = as_source_value(nodata, src_type);

    double *skip = NULL;
    if (pvrt__arg_double_list(args, fn, "skip", &skip, &p->nskip) < 0)
        return -1;
    for (int i = 0; i < p->nskip; i++)
        skip[i] = as_source_value(skip[i], src_type);
    p->skip = skip;

    if (p->has_nodata)
        p->fill = nodata;
    else if (GDALDataTypeIsFloating(out_type))
        p->fill = NAN;
    else
        p->fill = 0.0;
    return 0;
}

CPLErr pvrt__reduce(void **sources, int nsources, void *out, int width,
                    int height, GDALDataType src_type, GDALDataType out_type,
                    int pixel_space, int line_space, CSLConstList args)
{
    static const char fn[] = "pvrt_reduce";
    if (nsources < 1) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: needs at least one source, the band has none", fn);
        return CE_Failure;
    }
    if (pvrt__require_real(fn, src_type) < 0)
        return CE_Failure;
    reduce_params p;
    if (parse_params(args, nsources, src_type, out_type, &p) < 0)
        return CE_Failure;

    const int src_size = GDALGetDataTypeSizeBytes(src_type);
    double *chunk =
        (double *)VSI_MALLOC3_VERBOSE(sizeof(double), REDUCE_CHUNK, nsources);
    double *vals = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), nsources);
    int *idx = (int *)VSI_MALLOC2_VERBOSE(sizeof(int), nsources);
    double *row = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), width);
    if (!chunk || !vals || !idx || !row) {
        VSIFree(chunk);
        VSIFree(vals);
        VSIFree(idx);
        VSIFree(row);
        CPLFree((void *)p.skip);
        return CE_Failure;
    }

    for (int y = 0; y < height; y++) {
        for (int x0 = 0; x0 < width; x0 += REDUCE_CHUNK) {
            const int n = width - x0 < REDUCE_CHUNK ? width - x0 : REDUCE_CHUNK;
            const size_t offset =
                ((size_t)y * (size_t)width + (size_t)x0) * (size_t)src_size;
            for (int s = 0; s < nsources; s++)
                pvrt__row_read((const GByte *)sources[s] + offset, src_type, n,
                               0, chunk + (size_t)s * REDUCE_CHUNK);
            for (int x = 0; x < n; x++) {
                int k = 0;
                for (int s = 0; s < nsources; s++) {
                    /* Stored always, kept when valid. */
                    const double v = chunk[(size_t)s * REDUCE_CHUNK + x];
                    vals[k] = v;
                    idx[k] = s;
                    k += !is_missing(&p, v);
                }
                double r;
                if (p.op == OP_COUNT)
                    r = (double)k; /* never nodata */
                else if (k < p.min_count)
                    r = p.fill;
                else
                    r = reduce_values(&p, vals, idx, k);
                row[x0 + x] = r;
            }
        }
        pvrt__row_write(row, out, out_type, pixel_space, line_space, width, y);
    }

    VSIFree(chunk);
    VSIFree(vals);
    VSIFree(idx);
    VSIFree(row);
    CPLFree((void *)p.skip);
    return CE_None;
}
