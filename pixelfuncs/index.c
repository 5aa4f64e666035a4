/* index.c: pvrt_index, named spectral indices (NDVI, EVI, NBR, ...).
 *
 * `bands` names the role of each source in order (blue, green, red,
 * rededge, nir, swir1, swir2); an index reads the roles it needs, after
 * turning digital numbers into reflectance (dn * scale + offset, per band
 * or for all). Formulas are the published ones, cited at each entry of the
 * table below; their constants can be overridden by name. A missing input
 * (NaN or the nodata value), a zero denominator or an undefined result
 * (NaN) gives nodata. Rows are converted once in, computed in double, and
 * written once out. Reentrant: no mutable static state. */
#include "pf_private.h"

#include <float.h>
#include <math.h>
#include <string.h>

const char pvrt__index_meta[] =
    "<PixelFunctionArgumentsList>"
    "<Argument name='index' type='string' description='NDVI, NDWI, MNDWI, "
    "NDBI, NBR, NDMI, EVI, EVI2, SAVI, MSAVI, GNDVI or NDRE'/>"
    "<Argument name='bands' type='string' description='role of each source "
    "in order: blue, green, red, rededge, nir, swir1, swir2'/>"
    "<Argument name='scale' type='string' default='1' "
    "description='reflectance = dn * scale + offset: one value or one per "
    "source'/>"
    "<Argument name='offset' type='string' default='0' "
    "description='one value or one per source'/>"
    "<Argument name='G' type='double' description='gain (EVI, EVI2)'/>"
    "<Argument name='C1' type='double' description='EVI red coefficient'/>"
    "<Argument name='C2' type='double' description='EVI blue coefficient'/>"
    "<Argument name='C' type='double' description='EVI2 red coefficient'/>"
    "<Argument name='L' type='double' description='canopy background "
    "adjustment (EVI, EVI2, SAVI)'/>"
    "<Argument name='nodata' type='double' description='missing input "
    "value, written where there is no result'/>" PVRT_BUILTIN_NODATA_ARG
    "</PixelFunctionArgumentsList>";

static const char fn[] = "pvrt_index";

typedef enum {
    R_BLUE,
    R_GREEN,
    R_RED,
    R_REDEDGE,
    R_NIR,
    R_SWIR1,
    R_SWIR2,
    R_COUNT
} role;

static const char *const role_names[R_COUNT] = {
    "blue", "green", "red", "rededge", "nir", "swir1", "swir2"};

#define MAX_ROLES 3
#define MAX_CONSTS 4

/* The formula of one pixel: r holds the reflectances of the index's roles
 * in table order, c its constants; NaN means no result. */
typedef double (*index_formula)(const double *r, const double *c);

typedef struct {
    const char *name;
    int nroles;
    role roles[MAX_ROLES];
    int nconsts;
    const char *const_names[MAX_CONSTS];
    double const_defaults[MAX_CONSTS];
    index_formula formula;
} index_def;

/* (a - b) / (a + b); a zero denominator has no result. */
static double norm_diff(double a, double b)
{
    const double den = a + b;
    if (den == 0.0)
        return NAN;
    return (a - b) / den;
}

static double f_nd(const double *r, const double *c)
{
    (void)c;
    return norm_diff(r[0], r[1]);
}

/* EVI = G * (nir - red) / (nir + C1 * red - C2 * blue + L) */
static double f_evi(const double *r, const double *c)
{
    const double den = r[0] + c[1] * r[1] - c[2] * r[2] + c[3];
    if (den == 0.0)
        return NAN;
    return c[0] * (r[0] - r[1]) / den;
}

/* EVI2 = G * (nir - red) / (nir + C * red + L) */
static double f_evi2(const double *r, const double *c)
{
    const double den = r[0] + c[1] * r[1] + c[2];
    if (den == 0.0)
        return NAN;
    return c[0] * (r[0] - r[1]) / den;
}

/* SAVI = (1 + L) * (nir - red) / (nir + red + L) */
static double f_savi(const double *r, const double *c)
{
    const double den = r[0] + r[1] + c[0];
    if (den == 0.0)
        return NAN;
    return (1.0 + c[0]) * (r[0] - r[1]) / den;
}

/* MSAVI = (2 nir + 1 - sqrt((2 nir + 1)^2 - 8 (nir - red))) / 2; a
 * negative discriminant has no result. */
static double f_msavi(const double *r, const double *c)
{
    (void)c;
    const double a = 2.0 * r[0] + 1.0;
    const double disc = a * a - 8.0 * (r[0] - r[1]);
    if (disc < 0.0)
        return NAN;
    return (a - sqrt(disc)) / 2.0;
}

static const index_def indices[] = {
    /* Rouse et al. 1974, "Monitoring vegetation systems in the Great Plains
     * with ERTS". */
    {"NDVI", 2, {R_NIR, R_RED}, 0, {0}, {0}, f_nd},
    /* McFeeters 1996, Int. J. Remote Sensing 17(7). */
    {"NDWI", 2, {R_GREEN, R_NIR}, 0, {0}, {0}, f_nd},
    /* Xu 2006, Int. J. Remote Sensing 27(14). */
    {"MNDWI", 2, {R_GREEN, R_SWIR1}, 0, {0}, {0}, f_nd},
    /* Zha, Gao & Ni 2003, Int. J. Remote Sensing 24(3). */
    {"NDBI", 2, {R_SWIR1, R_NIR}, 0, {0}, {0}, f_nd},
    /* Key & Benson 2006, FIREMON (USDA RMRS-GTR-164-CD). */
    {"NBR", 2, {R_NIR, R_SWIR2}, 0, {0}, {0}, f_nd},
    /* Gao 1996 (Remote Sens. Environ. 58); as NDMI, Wilson & Sader 2002. */
    {"NDMI", 2, {R_NIR, R_SWIR1}, 0, {0}, {0}, f_nd},
    /* Huete et al. 2002, Remote Sens. Environ. 83: G 2.5, C1 6, C2 7.5,
     * L 1. */
    {"EVI",
     3,
     {R_NIR, R_RED, R_BLUE},
     4,
     {"G", "C1", "C2", "L"},
     {2.5, 6.0, 7.5, 1.0},
     f_evi},
    /* Jiang et al. 2008, Remote Sens. Environ. 112: G 2.5, C 2.4, L 1. */
    {"EVI2", 2, {R_NIR, R_RED}, 3, {"G", "C", "L"}, {2.5, 2.4, 1.0}, f_evi2},
    /* Huete 1988, Remote Sens. Environ. 25: L 0.5. */
    {"SAVI", 2, {R_NIR, R_RED}, 1, {"L"}, {0.5}, f_savi},
    /* Qi et al. 1994, Remote Sens. Environ. 48 (the closed form, MSAVI2). */
    {"MSAVI", 2, {R_NIR, R_RED}, 0, {0}, {0}, f_msavi},
    /* Gitelson, Kaufman & Merzlyak 1996, Remote Sens. Environ. 58. */
    {"GNDVI", 2, {R_NIR, R_GREEN}, 0, {0}, {0}, f_nd},
    /* Barnes et al. 2000, Proc. 5th Int. Conf. Precision Agriculture. */
    {"NDRE", 2, {R_NIR, R_REDEDGE}, 0, {0}, {0}, f_nd},
};

#define INDEX_COUNT (sizeof(indices) / sizeof(indices[0]))

/* Every constant name some index takes. */
static const char *const all_consts[] = {"G", "C1", "C2", "C", "L"};

static void roles_text(const index_def *d, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < d->nroles; i++) {
        if (i)
            CPLStrlcat(buf, ",", size);
        CPLStrlcat(buf, role_names[d->roles[i]], size);
    }
}

static const index_def *parse_index(CSLConstList args)
{
    const char *text = CSLFetchNameValue(args, "index");
    if (text != NULL)
        for (size_t i = 0; i < INDEX_COUNT; i++)
            if (EQUAL(text, indices[i].name))
                return &indices[i];
    CPLError(CE_Failure, CPLE_IllegalArg,
             "%s: argument 'index' %s '%s'%s: expected one of NDVI, NDWI, "
             "MNDWI, NDBI, NBR, NDMI, EVI, EVI2, SAVI, MSAVI, GNDVI, NDRE",
             fn, text ? "is" : "is missing", text ? text : "",
             text ? ", unknown" : "");
    return NULL;
}

/* Maps each role the index needs to its source: src_of[i] for d->roles[i].
 * Returns 0, or -1 after a CPLError. */
static int parse_bands(CSLConstList args, const index_def *d, int nsources,
                       int *src_of)
{
    char needed[64];
    roles_text(d, needed, sizeof(needed));
    const char *text = CSLFetchNameValue(args, "bands");
    if (text == NULL) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'bands' is required: the role of each source "
                 "in order; index %s needs the roles %s (e.g. bands=\"%s\")",
                 fn, d->name, needed, needed);
        return -1;
    }
    char **items = CSLTokenizeString2(
        text, ",",
        CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES | CSLT_ALLOWEMPTYTOKENS);
    const int count = CSLCount(items);
    int source_of_role[R_COUNT];
    for (int r = 0; r < R_COUNT; r++)
        source_of_role[r] = -1;
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        int r = 0;
        while (r < R_COUNT && !EQUAL(items[i], role_names[r]))
            r++;
        if (r == R_COUNT) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument 'bands': item %d ('%s') is not a role: "
                     "expected blue, green, red, rededge, nir, swir1 or "
                     "swir2",
                     fn, i + 1, items[i]);
            rc = -1;
        } else if (source_of_role[r] >= 0) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument 'bands': role '%s' is given twice", fn,
                     role_names[r]);
            rc = -1;
        } else {
            source_of_role[r] = i;
        }
    }
    CSLDestroy(items);
    if (rc < 0)
        return -1;
    if (count != nsources) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'bands' names %d role(s) but the band has %d "
                 "source(s): one role per source, in order",
                 fn, count, nsources);
        return -1;
    }
    for (int i = 0; i < d->nroles; i++) {
        src_of[i] = source_of_role[d->roles[i]];
        if (src_of[i] < 0) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument 'bands' (\"%s\") lacks role '%s': index %s "
                     "needs the roles %s",
                     fn, text, role_names[d->roles[i]], d->name, needed);
            return -1;
        }
    }
    return 0;
}

/* Constants: defaults, overridden by name; a constant the index does not
 * take is an error. */
static int parse_consts(CSLConstList args, const index_def *d, double *c)
{
    for (size_t k = 0; k < sizeof(all_consts) / sizeof(all_consts[0]); k++) {
        const char *name = all_consts[k];
        int i = 0;
        while (i < d->nconsts && strcmp(d->const_names[i], name) != 0)
            i++;
        if (i == d->nconsts) {
            if (CSLFetchNameValue(args, name) != NULL) {
                CPLError(CE_Failure, CPLE_IllegalArg,
                         "%s: argument '%s' does not apply to index %s "
                         "(constants: EVI takes G, C1, C2, L; EVI2 G, C, L; "
                         "SAVI L; the others none)",
                         fn, name, d->name);
                return -1;
            }
            continue;
        }
        if (pvrt__arg_double(args, fn, name, d->const_defaults[i], &c[i]) < 0)
            return -1;
        if (!isfinite(c[i])) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument '%s' must be a finite number, got '%s'", fn,
                     name, CSLFetchNameValue(args, name));
            return -1;
        }
    }
    return 0;
}

/* `scale` or `offset`: one value for every source or one per source.
 * Fills per[nsources]. Returns 0, or -1 after a CPLError. */
static int parse_per_source(CSLConstList args, const char *name, double dflt,
                            int nsources, double *per)
{
    double *list = NULL;
    int n = 0;
    if (pvrt__arg_double_list(args, fn, name, &list, &n) < 0)
        return -1;
    if (n != 0 && n != 1 && n != nsources) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument '%s' has %d values: expected one, or one per "
                 "source (%d)",
                 fn, name, n, nsources);
        CPLFree(list);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (!isfinite(list[i])) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument '%s': item %d must be a finite number", fn,
                     name, i + 1);
            CPLFree(list);
            return -1;
        }
    }
    for (int s = 0; s < nsources; s++)
        per[s] = n == 0 ? dflt : n == 1 ? list[0] : list[s];
    CPLFree(list);
    return 0;
}

CPLErr pvrt__index(void **sources, int nsources, void *out, int width,
                   int height, GDALDataType src_type, GDALDataType out_type,
                   int pixel_space, int line_space, CSLConstList args)
{
    if (nsources < 1) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: needs one source per band role, the band has none", fn);
        return CE_Failure;
    }
    if (pvrt__require_real(fn, src_type) < 0)
        return CE_Failure;
    const index_def *d = parse_index(args);
    if (d == NULL)
        return CE_Failure;
    int src_of[MAX_ROLES];
    double c[MAX_CONSTS] = {0};
    if (parse_bands(args, d, nsources, src_of) < 0 ||
        parse_consts(args, d, c) < 0)
        return CE_Failure;
    int has_nodata;
    double nodata;
    if (pvrt__arg_nodata(args, fn, &has_nodata, &nodata) < 0)
        return CE_Failure;
    /* The nodata value as a Float32 source holds it. */
    double nodata_in = nodata;
    if (src_type == GDT_Float32 && isfinite(nodata) && fabs(nodata) <= FLT_MAX)
        nodata_in = (double)(float)nodata;
    const double fill = has_nodata                         ? nodata
                        : GDALDataTypeIsFloating(out_type) ? NAN
                                                           : 0.0;

    double *scale = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), nsources);
    double *offset = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), nsources);
    double *rows =
        (double *)VSI_MALLOC3_VERBOSE(sizeof(double), width, d->nroles + 1);
    CPLErr err = CE_Failure;
    if (!scale || !offset || !rows ||
        parse_per_source(args, "scale", 1.0, nsources, scale) < 0 ||
        parse_per_source(args, "offset", 0.0, nsources, offset) < 0)
        goto done;

    double *outrow = rows + (size_t)d->nroles * width;
    for (int y = 0; y < height; y++) {
        for (int i = 0; i < d->nroles; i++)
            pvrt__row_read(sources[src_of[i]], src_type, width, y,
                           rows + (size_t)i * width);
        for (int x = 0; x < width; x++) {
            double r[MAX_ROLES];
            int missing = 0;
            for (int i = 0; i < d->nroles; i++) {
                const double dn = rows[(size_t)i * width + x];
                if (isnan(dn) || (has_nodata && dn == nodata_in))
                    missing = 1;
                r[i] = dn * scale[src_of[i]] + offset[src_of[i]];
            }
            double v = missing ? NAN : d->formula(r, c);
            outrow[x] = isnan(v) ? fill : v;
        }
        pvrt__row_write(outrow, out, out_type, pixel_space, line_space, width,
                        y);
    }
    err = CE_None;
done:
    VSIFree(scale);
    VSIFree(offset);
    VSIFree(rows);
    return err;
}
