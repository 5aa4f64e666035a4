/* reclass.c: pvrt_reclass, values and intervals to classes.
 *
 * The `mapping` argument has the syntax of GDAL 3.11's `reclassify` pixel
 * function and `gdal raster reclassify`, so a VRT moves between the two:
 * entries FROM=TO separated by ';', FROM a value, an interval ([a,b],
 * [a,b), (a,b], (a,b), bounds may be -inf/inf), NO_DATA, NAN or DEFAULT;
 * TO a value, NO_DATA or PASS_THROUGH. The mapping is parsed once per call
 * into intervals sorted by lower bound (open bounds are moved to the next
 * double inward, as GDAL does, so every interval is closed) and looked up
 * by binary search; Byte, UInt16 and Int16 sources go through a lookup
 * table filled lazily, one search per distinct value. A value without a
 * mapping is an error naming it. Reentrant: no mutable static state. */
#include "pf_private.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char pvrt__reclass_meta[] =
    "<PixelFunctionArgumentsList>"
    "<Argument name='mapping' type='string' description='FROM=TO;... as in "
    "GDAL reclassify: FROM a value, [a,b), (a,b], NO_DATA, NAN or DEFAULT; "
    "TO a value, NO_DATA or PASS_THROUGH'/>"
    "<Argument name='nodata' type='double' "
    "description='the NO_DATA value of the mapping'/>" PVRT_BUILTIN_NODATA_ARG
    "</PixelFunctionArgumentsList>";

static const char fn[] = "pvrt_reclass";

typedef enum { TO_VALUE, TO_PASS_THROUGH } to_kind;

typedef struct {
    double lo, hi; /* closed bounds, lo <= hi */
    to_kind kind;
    double value; /* for TO_VALUE */
} interval_map;

typedef struct {
    interval_map *maps; /* sorted by lo, disjoint */
    int nmaps;
    int has_nan, has_default;
    interval_map nan_map, default_map; /* lo, hi unused */
} reclass_table;

/* ---- Parsing ---------------------------------------------------------- */

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

/* Matches keyword `kw` (any case) at s, not followed by an identifier
 * character; returns the end, or NULL. */
static const char *match_keyword(const char *s, const char *kw)
{
    const size_t len = strlen(kw);
    if (!EQUALN(s, kw, len))
        return NULL;
    const char c = s[len];
    if (isalnum((unsigned char)c) || c == '_')
        return NULL;
    return s + len;
}

/* A number at s (strtod syntax, including inf and -inf); returns its end or
 * NULL when there is none. */
static const char *parse_number(const char *s, double *out)
{
    char *end = NULL;
    const double v = strtod(s, &end);
    if (end == s)
        return NULL;
    *out = v;
    return end;
}

/* Quotes the entry being parsed in error messages: up to its ';'. */
static int entry_len(const char *entry)
{
    const char *semi = strchr(entry, ';');
    return semi ? (int)(semi - entry) : (int)strlen(entry);
}

static int bad_entry(const char *entry, const char *what)
{
    CPLError(CE_Failure, CPLE_IllegalArg,
             "%s: argument 'mapping': entry '%.*s': %s", fn, entry_len(entry),
             entry, what);
    return -1;
}

/* Whether v is exactly representable in `type` (TO values must be, as in
 * GDAL's reclassify). */
static int fits_type(double v, GDALDataType type)
{
    if (isnan(v) || isinf(v))
        return GDALDataTypeIsFloating(type);
    switch (type) {
        case GDT_Float64:
        case GDT_CFloat64:
            return 1;
        case GDT_Float32:
        case GDT_CFloat32:
            return fabs(v) <= FLT_MAX && (double)(float)v == v;
        default:
            break;
    }
    if (v != floor(v))
        return 0;
    switch (type) {
        case GDT_Byte:
            return v >= 0 && v <= 255;
        case GDT_UInt16:
            return v >= 0 && v <= 65535;
        case GDT_Int16:
        case GDT_CInt16:
            return v >= -32768 && v <= 32767;
        case GDT_UInt32:
            return v >= 0 && v <= 4294967295.0;
        case GDT_Int32:
        case GDT_CInt32:
            return v >= -2147483648.0 && v <= 2147483647.0;
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 7, 0)
        case GDT_Int8:
            return v >= -128 && v <= 127;
#endif
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 5, 0)
        case GDT_UInt64:
            return v >= 0 && v < 18446744073709551616.0;
#endif
        default:
            /* Int64 (GDAL 3.5+). */
            return v >= -9223372036854775808.0 && v < 9223372036854775808.0;
    }
}

static int cmp_lo(const void *a, const void *b)
{
    const double x = ((const interval_map *)a)->lo;
    const double y = ((const interval_map *)b)->lo;
    return x < y ? -1 : x > y ? 1 : 0;
}

static void table_free(reclass_table *t)
{
    CPLFree(t->maps);
    t->maps = NULL;
}

/* Describes a closed interval as entered, for messages. */
static void describe(const interval_map *m, char *buf, size_t size)
{
    if (m->lo == m->hi)
        CPLsnprintf(buf, size, "%.17g", m->lo);
    else
        CPLsnprintf(buf, size, "[%.17g, %.17g]", m->lo, m->hi);
}

/* Parses `text` into t (t->maps CPLMalloc'ed). Returns 0, or -1 after a
 * CPLError naming the entry and what was expected. */
static int table_parse(const char *text, int has_nodata, double nodata,
                       GDALDataType out_type, reclass_table *t)
{
    memset(t, 0, sizeof(*t));
    int cap = 0;
    const char *s = text;
    for (;;) {
        s = skip_space(s);
        if (*s == '\0')
            break;
        if (*s == ';') { /* an empty entry */
            s++;
            continue;
        }
        const char *entry = s;
        enum { FROM_RANGE, FROM_NAN, FROM_DEFAULT } from = FROM_RANGE;
        interval_map m = {0, 0, TO_VALUE, 0};
        const char *e;

        /* FROM */
        if ((e = match_keyword(s, "DEFAULT")) != NULL) {
            from = FROM_DEFAULT;
            s = e;
        } else if ((e = match_keyword(s, "NO_DATA")) != NULL) {
            if (!has_nodata)
                return bad_entry(entry, "NO_DATA needs a nodata value "
                                        "(argument 'nodata'), none is set");
            if (isnan(nodata)) {
                from = FROM_NAN;
            } else {
                m.lo = m.hi = nodata;
            }
            s = e;
        } else if ((e = match_keyword(s, "NAN")) != NULL) {
            from = FROM_NAN;
            s = e;
        } else if (*s == '[' || *s == '(') {
            const int lo_closed = *s == '[';
            e = parse_number(skip_space(s + 1), &m.lo);
            if (e == NULL)
                return bad_entry(entry, "expected a number after '[' or '('");
            e = skip_space(e);
            if (*e != ',')
                return bad_entry(entry, "expected ',' between the bounds");
            e = parse_number(skip_space(e + 1), &m.hi);
            if (e == NULL)
                return bad_entry(entry, "expected a number after ','");
            e = skip_space(e);
            if (*e != ']' && *e != ')')
                return bad_entry(entry, "expected ']' or ')' after the upper "
                                        "bound");
            const int hi_closed = *e == ']';
            s = e + 1;
            if (isnan(m.lo) || isnan(m.hi))
                return bad_entry(entry, "NaN is not a valid interval bound");
            if (m.lo > m.hi)
                return bad_entry(entry, "the lower bound is greater than the "
                                        "upper bound");
            if (!lo_closed)
                m.lo = nextafter(m.lo, INFINITY);
            if (!hi_closed)
                m.hi = nextafter(m.hi, -INFINITY);
            if (m.lo > m.hi)
                return bad_entry(entry, "the interval contains no value");
        } else {
            e = parse_number(s, &m.lo);
            if (e == NULL)
                return bad_entry(entry, "expected a value, an interval such "
                                        "as [1,5), NO_DATA, NAN or DEFAULT "
                                        "before '='");
            if (isnan(m.lo))
                from = FROM_NAN;
            m.hi = m.lo;
            s = e;
        }

        s = skip_space(s);
        if (*s != '=')
            return bad_entry(entry, "expected '=' after the value or "
                                    "interval");
        s = skip_space(s + 1);

        /* TO */
        if ((e = match_keyword(s, "NO_DATA")) != NULL) {
            if (!has_nodata)
                return bad_entry(entry, "NO_DATA needs a nodata value "
                                        "(argument 'nodata'), none is set");
            m.value = nodata;
            s = e;
        } else if ((e = match_keyword(s, "PASS_THROUGH")) != NULL) {
            m.kind = TO_PASS_THROUGH;
            s = e;
        } else {
            e = parse_number(s, &m.value);
            if (e == NULL)
                return bad_entry(entry, "expected a number, NO_DATA or "
                                        "PASS_THROUGH after '='");
            if (!fits_type(m.value, out_type)) {
                char msg[160];
                CPLsnprintf(msg, sizeof(msg),
                            "the value %.17g cannot be represented as %s",
                            m.value, GDALGetDataTypeName(out_type));
                return bad_entry(entry, msg);
            }
            s = e;
        }
        s = skip_space(s);
        if (*s != ';' && *s != '\0')
            return bad_entry(entry, "expected ';' or the end after the "
                                    "output value");

        if (from == FROM_DEFAULT) {
            if (t->has_default)
                return bad_entry(entry, "DEFAULT is mapped twice");
            t->has_default = 1;
            t->default_map = m;
        } else if (from == FROM_NAN) {
            if (t->has_nan)
                return bad_entry(entry, "NaN is mapped twice");
            t->has_nan = 1;
            t->nan_map = m;
        } else {
            if (t->nmaps == cap) {
                cap = cap ? 2 * cap : 8;
                t->maps = (interval_map *)CPLRealloc(
                    t->maps, sizeof(interval_map) * (size_t)cap);
            }
            t->maps[t->nmaps++] = m;
        }
    }
    if (t->nmaps == 0 && !t->has_nan && !t->has_default) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'mapping' has no entries: expected FROM=TO "
                 "entries separated by ';'",
                 fn);
        return -1;
    }
    if (t->nmaps > 1)
        qsort(t->maps, (size_t)t->nmaps, sizeof(interval_map), cmp_lo);
    for (int i = 1; i < t->nmaps; i++) {
        if (t->maps[i].lo <= t->maps[i - 1].hi) {
            char a[80], b[80];
            describe(&t->maps[i - 1], a, sizeof(a));
            describe(&t->maps[i], b, sizeof(b));
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument 'mapping': %s overlaps %s (both contain "
                     "%.17g)",
                     fn, a, b, t->maps[i].lo);
            return -1;
        }
    }
    return 0;
}

/* ---- Lookup ----------------------------------------------------------- */

/* The class of v in *out; returns 0, or -1 (no CPLError) when unmapped. */
static int table_lookup(const reclass_table *t, double v, double *out)
{
    const interval_map *m = NULL;
    if (isnan(v)) {
        if (t->has_nan)
            m = &t->nan_map;
    } else {
        /* The last interval whose lower bound is <= v. */
        int lo = 0, hi = t->nmaps - 1, found = -1;
        while (lo <= hi) {
            const int mid = lo + (hi - lo) / 2;
            if (t->maps[mid].lo <= v) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (found >= 0 && v <= t->maps[found].hi)
            m = &t->maps[found];
    }
    if (m == NULL && t->has_default)
        m = &t->default_map;
    if (m == NULL)
        return -1;
    *out = m->kind == TO_PASS_THROUGH ? v : m->value;
    return 0;
}

static void unmapped(double v)
{
    CPLError(CE_Failure, CPLE_AppDefined,
             "%s: value %.17g has no mapping in argument 'mapping' (add an "
             "entry for it, or DEFAULT=...)",
             fn, v);
}

/* Integer sources up to 16 bits: a table over all values of the type,
 * filled on first sight of each value. Returns 0 or -1 after a CPLError. */
static int classify_small(const reclass_table *t, const void *src,
                          GDALDataType src_type, void *out,
                          GDALDataType out_type, int width, int height,
                          int pixel_space, int line_space, double *row)
{
    const int size = src_type == GDT_Byte ? 256 : 65536;
    const int bias = src_type == GDT_Int16 ? 32768 : 0;
    GByte *known = (GByte *)VSI_CALLOC_VERBOSE(1, (size_t)size);
    double *lut = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), size);
    if (!known || !lut) {
        VSIFree(known);
        VSIFree(lut);
        return -1;
    }
    int rc = 0;
    for (int y = 0; y < height && rc == 0; y++) {
        const size_t base = (size_t)y * (size_t)width;
        for (int x = 0; x < width; x++) {
            int code;
            if (src_type == GDT_Byte)
                code = ((const GByte *)src)[base + x];
            else if (src_type == GDT_UInt16)
                code = ((const GUInt16 *)src)[base + x];
            else
                code = ((const GInt16 *)src)[base + x] + bias;
            if (!known[code]) {
                const double v = (double)(code - bias);
                if (table_lookup(t, v, &lut[code]) < 0) {
                    unmapped(v);
                    rc = -1;
                    break;
                }
                known[code] = 1;
            }
            row[x] = lut[code];
        }
        if (rc == 0)
            pvrt__row_write(row, out, out_type, pixel_space, line_space, width,
                            y);
    }
    VSIFree(known);
    VSIFree(lut);
    return rc;
}

CPLErr pvrt__reclass(void **sources, int nsources, void *out, int width,
                     int height, GDALDataType src_type, GDALDataType out_type,
                     int pixel_space, int line_space, CSLConstList args)
{
    if (nsources != 1) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: needs exactly one source, the band has %d", fn, nsources);
        return CE_Failure;
    }
    if (pvrt__require_real(fn, src_type) < 0)
        return CE_Failure;
    const char *mapping = CSLFetchNameValue(args, "mapping");
    if (mapping == NULL) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'mapping' is required: FROM=TO entries "
                 "separated by ';' (e.g. mapping=\"[0,10)=1;[10,20]=2;"
                 "DEFAULT=0\")",
                 fn);
        return CE_Failure;
    }
    int has_nodata;
    double nodata;
    if (pvrt__arg_nodata(args, fn, &has_nodata, &nodata) < 0)
        return CE_Failure;
    reclass_table t;
    if (table_parse(mapping, has_nodata, nodata, out_type, &t) < 0) {
        table_free(&t);
        return CE_Failure;
    }

    double *row = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), width);
    if (row == NULL) {
        table_free(&t);
        return CE_Failure;
    }
    int rc = 0;
    if (src_type == GDT_Byte || src_type == GDT_UInt16 ||
        src_type == GDT_Int16) {
        rc = classify_small(&t, sources[0], src_type, out, out_type, width,
                            height, pixel_space, line_space, row);
    } else {
        for (int y = 0; y < height && rc == 0; y++) {
            pvrt__row_read(sources[0], src_type, width, y, row);
            for (int x = 0; x < width; x++) {
                const double v = row[x];
                if (table_lookup(&t, v, &row[x]) < 0) {
                    unmapped(v);
                    rc = -1;
                    break;
                }
            }
            if (rc == 0)
                pvrt__row_write(row, out, out_type, pixel_space, line_space,
                                width, y);
        }
    }
    VSIFree(row);
    table_free(&t);
    return rc == 0 ? CE_None : CE_Failure;
}
