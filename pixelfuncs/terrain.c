/* terrain.c: pvrt_terrain, gdaldem's 3x3 terrain algorithms as a
 * neighbourhood kernel (hillshade, slope, aspect, TRI, TPI, roughness).
 *
 * The results are gdaldem's, bit for bit: the same window rules at the
 * raster's edges and around NoData (gdaldem -compute_edges included), the
 * same floating-point types and operation order in every formula, the same
 * float results. gdaldem reads a Byte, Int16 or UInt16 DEM as integers and
 * any other as float; the two paths compute the same values (an integer
 * DEM's sums are exact in float) but treat NoData differently, so the
 * kernel keeps both rules and works in float throughout. The arithmetic is
 * that of the GDAL it is built for: GDAL 3.6 to 3.10 (identical there) or
 * 3.13, which computes in float (TERRAIN_FLOAT_MATH, the *_f functions);
 * docs/pixelfuncs-terrain.md says where a result cannot match.
 *
 * neighbourhood.c dispatches here; pvrt__terrain_new parses the arguments
 * once and the state is then shared read-only by every worker, so
 * pvrt__terrain_compute (double input) and pvrt__terrain_compute_float
 * (the DEM read as float) are reentrant. Interior pixels away from NoData
 * take a fast path (the compute loop at the end of this file). */
#include "nbhd_private.h"

#include "pf_private.h"

#include <cpl_conv.h>
#include <cpl_string.h>

#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define TERRAIN_SSE2 1
#endif

/* C11's math.h has no M_PI; glibc's (and GDAL's) value. */
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static const char fn[] = "pvrt_terrain";

typedef enum { HILLSHADE, SLOPE, ASPECT, TRI, TPI, ROUGHNESS } terrain_op;
typedef enum { SHADE_PLAIN, SHADE_COMBINED, SHADE_MULTI, SHADE_IGOR } shade;

/* gdaldem's constants, as it spells them: double up to GDAL 3.12, float
 * from 3.13. */
static const double deg_to_rad = M_PI / 180.0;
static const double rad_to_deg = 180.0 / M_PI;
static const float f_deg_to_rad = (float)(M_PI / 180.0);
static const float f_rad_to_deg = (float)(180.0 / M_PI);
static const float f_pi = (float)M_PI;

/* The arithmetic of this build's GDAL: GDAL 3.13 moved gdaldem from double
 * to float (GDAL pull request 13457). 3.6 to 3.10 are identical;
 * 3.11 and 3.12 were not compared. */
#define TERRAIN_FLOAT_MATH (GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0))

typedef struct terrain {
    terrain_op op;
    int zevenbergen;   /* alg=ZevenbergenThorne (else Horn) */
    shade mode;        /* hillshade */
    int percent;       /* slope unit=percent */
    int trigonometric; /* aspect: angle from east counter-clockwise */
    int zero_for_flat; /* aspect: 0 where flat, else NoData */
    int wilson;        /* tri_alg=Wilson (else Riley) */
    int compute_edges; /* edges=compute */

    /* The DEM's NoData as gdaldem sees it: `integer` is its integer path
     * (Byte, Int16, UInt16 DEMs), exact comparisons; otherwise float, with
     * GDAL's ARE_REAL_EQUAL tolerance or NaN. */
    int integer;
    int has_nd, nd_nan;
    float nd;

    double out_nodata; /* written where gdaldem writes its NoData */

    /* Hillshade (GDALCreateHillshadeData and the multidirectional one). */
    double inv_ewres, inv_nsres;
    double sin_alt, az_rad, z_scaled, cos_az_cos_alt_z, sin_az_cos_alt_z;
    double square_z, sin_alt_254, cos_az_cos_alt_z_254, sin_az_cos_alt_z_254;
    int same_res; /* gt[1] == -gt[5]: gdaldem's simplified Horn formula */
    double square_z_inv_res2, cos_az_cos_alt_z_254_inv_res;
    double sin_az_cos_alt_z_254_inv_res;
    double sin_alt_127, cos_alt_z_127, cos225_cos_alt_z_127;

    /* Slope (GDALCreateSlopeData). */
    double ewres, nsres, scale;

    /* GDAL 3.13's gdaldem computes in float: its constants, as it derives
     * them (the scale folded into the inverse resolutions). */
    int float_math;
    /* GDAL 3.13 turns a south-up DEM north-up before aspect, TRI and TPI:
     * the window is mirrored north-south. */
    int mirror;
    float f_inv_ewres, f_inv_nsres, f_sin_alt, f_az_rad, f_z_factor;
    float f_cos_az_cos_alt_z, f_sin_az_cos_alt_z, f_square_z, f_sin_alt_254;
    float f_cos_az_cos_alt_z_254, f_sin_az_cos_alt_z_254;
    float f_square_z_inv_res2, f_cos_az_cos_alt_z_254_inv_res;
    float f_sin_az_cos_alt_z_254_inv_res;
    float f_sin_alt_127, f_cos_alt_z_127, f_cos225_cos_alt_z_127;
    float f_slope_inv_ewres, f_slope_inv_nsres;
} terrain;

/* ---- Arguments ---------------------------------------------------------- */

/* Bits of the ops an argument applies to. */
#define ON(op) (1u << (op))
#define ALL_OPS                                                                \
    (ON(HILLSHADE) | ON(SLOPE) | ON(ASPECT) | ON(TRI) | ON(TPI) | ON(ROUGHNESS))

static const struct {
    const char *name;
    unsigned ops;
} known_args[] = {
    {"op", ALL_OPS},
    {"edges", ALL_OPS},
    {"alg", ON(HILLSHADE) | ON(SLOPE) | ON(ASPECT)},
    {"z", ON(HILLSHADE)},
    {"scale", ON(HILLSHADE) | ON(SLOPE)},
    {"azimuth", ON(HILLSHADE)},
    {"altitude", ON(HILLSHADE)},
    {"mode", ON(HILLSHADE)},
    {"unit", ON(SLOPE)},
    {"trigonometric", ON(ASPECT)},
    {"zero_for_flat", ON(ASPECT)},
    {"tri_alg", ON(TRI)},
    /* The input NoData: the caller folds it into geo->src_nodata
     * (pvrt_nbhd_input_nodata). */
    {"nodata", ALL_OPS},
    /* What GDAL may add to a pixel function's arguments (builtins declared
     * in its metadata: NoData on 3.10+, xoff, yoff, geotransform,
     * source_names on 3.12+, crs on 3.13; offset on all). pvrt_terrain's
     * metadata declares none, so GDAL passes none; accepted for callers
     * that forward GDAL's list. `scale` is gdaldem's -s here, never GDAL's
     * builtin band scale. */
    {"xoff", ALL_OPS},
    {"yoff", ALL_OPS},
    {"geotransform", ALL_OPS},
    {"source_names", ALL_OPS},
    {"crs", ALL_OPS},
    {"offset", ALL_OPS},
};

#define KNOWN_COUNT (sizeof(known_args) / sizeof(known_args[0]))

static const char *const op_names[] = {"hillshade", "slope", "aspect",
                                       "tri",       "tpi",   "roughness"};

/* One of `choices` (any case) for argument `name`, or the default `dflt`
 * when absent. Returns the index, or -1 after a CPLError listing them. */
static int arg_choice(CSLConstList args, const char *name,
                      const char *const *choices, int n, int dflt)
{
    const char *text = CSLFetchNameValue(args, name);
    if (text == NULL)
        return dflt;
    for (int i = 0; i < n; i++)
        if (EQUAL(text, choices[i]))
            return i;
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        if (i > 0)
            strncat(list, i == n - 1 ? " or " : ", ",
                    sizeof(list) - strlen(list) - 1);
        strncat(list, *choices[i] ? choices[i] : "\"\"",
                sizeof(list) - strlen(list) - 1);
    }
    CPLError(CE_Failure, CPLE_IllegalArg,
             "%s: argument '%s' must be %s, got '%s'", fn, name, list, text);
    return -1;
}

/* yes/no (also true/false, on/off, 1/0, any case); `dflt` when absent.
 * Returns 0 or 1, or -1 after a CPLError. */
static int arg_bool(CSLConstList args, const char *name, int dflt)
{
    static const char *const words[] = {"no",  "yes", "false", "true",
                                        "off", "on",  "0",     "1"};
    const char *text = CSLFetchNameValue(args, name);
    if (text == NULL)
        return dflt;
    for (int i = 0; i < 8; i++)
        if (EQUAL(text, words[i]))
            return i % 2;
    CPLError(CE_Failure, CPLE_IllegalArg,
             "%s: argument '%s' must be yes or no, got '%s'", fn, name, text);
    return -1;
}

/* A finite number (positive if `positive`). Returns 0, or -1 after a
 * CPLError. */
static int arg_number(CSLConstList args, const char *name, double dflt,
                      int positive, double *out)
{
    if (pvrt__arg_double(args, fn, name, dflt, out) < 0)
        return -1;
    if (!isfinite(*out) || (positive && !(*out > 0))) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument '%s' must be a %snumber, got '%s'", fn, name,
                 positive ? "positive finite " : "finite ",
                 CSLFetchNameValue(args, name));
        return -1;
    }
    return 0;
}

/* Every argument is known and applies to `op`. Returns 0, or -1 after a
 * CPLError naming the first that does not. */
static int check_names(CSLConstList args, terrain_op op)
{
    for (; args && *args; args++) {
        const char *eq = strchr(*args, '=');
        const size_t len = eq ? (size_t)(eq - *args) : strlen(*args);
        size_t k = 0;
        while (k < KNOWN_COUNT && !(strlen(known_args[k].name) == len &&
                                    EQUALN(*args, known_args[k].name, len)))
            k++;
        if (k == KNOWN_COUNT) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: unknown argument '%.*s' (arguments: op, edges, alg, "
                     "z, scale, azimuth, altitude, mode, unit, trigonometric, "
                     "zero_for_flat, tri_alg, nodata)",
                     fn, (int)len, *args);
            return -1;
        }
        if (!(known_args[k].ops & ON(op))) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument '%s' does not apply to op=%s", fn,
                     known_args[k].name, op_names[op]);
            return -1;
        }
    }
    return 0;
}

/* gdaldem reads Byte, Int16 and UInt16 DEMs on its integer path, with
 * NoData rounded to the nearest integer (dropped when not within 0.01 of
 * one, or outside the type). */
static void set_input_nodata(terrain *t, const pvrt_nbhd_geo *geo,
                             GDALDataType src_type)
{
    t->integer =
        src_type == GDT_Byte || src_type == GDT_Int16 || src_type == GDT_UInt16;
    t->has_nd = geo->has_src_nodata;
    const double v = geo->src_nodata;
    if (t->integer) {
        const double lo = src_type == GDT_Int16 ? -32768 : 0;
        const double hi = src_type == GDT_Byte     ? 255
                          : src_type == GDT_UInt16 ? 65535
                                                   : 32767;
        if (t->has_nd && fabs(v - floor(v + 0.5)) < 1e-2 && v >= lo && v <= hi)
            t->nd = (float)floor(v + 0.5);
        else
            t->has_nd = 0;
        t->nd_nan = 0;
    } else {
        t->nd = t->has_nd ? (float)v : 0.0f;
        t->nd_nan = t->has_nd && isnan(v);
    }
}

/* 1 / d as IEEE division gives it (+-inf for +-0), without dividing by
 * zero (a trap in the sanitizer builds): for pixel sizes and scales so
 * small that their product or float rounding is 0. */
static double recip(double d)
{
    return d != 0 ? 1.0 / d : copysign(INFINITY, d);
}

static float recipf(float f)
{
    return f != 0 ? 1.0f / f : copysignf(INFINITY, f);
}

static void set_hillshade_constants(terrain *t, double alt, double az, double z,
                                    double scale, const pvrt_nbhd_geo *geo)
{
    t->inv_nsres = 1.0 / geo->pixel_h;
    t->inv_ewres = 1.0 / geo->pixel_w;
    t->sin_alt = sin(alt * deg_to_rad);
    t->az_rad = az * deg_to_rad;
    t->z_scaled = z / ((t->zevenbergen ? 2 : 8) * scale);
    const double cos_alt_z = cos(alt * deg_to_rad) * t->z_scaled;
    t->cos_az_cos_alt_z = cos(t->az_rad) * cos_alt_z;
    t->sin_az_cos_alt_z = sin(t->az_rad) * cos_alt_z;
    t->square_z = t->z_scaled * t->z_scaled;
    t->sin_alt_254 = 254.0 * t->sin_alt;
    t->cos_az_cos_alt_z_254 = 254.0 * t->cos_az_cos_alt_z;
    t->sin_az_cos_alt_z_254 = 254.0 * t->sin_az_cos_alt_z;
    t->same_res = geo->pixel_w == -geo->pixel_h;
    if (t->same_res) {
        t->square_z_inv_res2 = t->square_z * t->inv_ewres * t->inv_ewres;
        t->cos_az_cos_alt_z_254_inv_res =
            t->cos_az_cos_alt_z_254 * -t->inv_ewres;
        t->sin_az_cos_alt_z_254_inv_res =
            t->sin_az_cos_alt_z_254 * t->inv_ewres;
    }
    /* Multidirectional. */
    t->sin_alt_127 = 127.0 * sin(alt * deg_to_rad);
    t->cos_alt_z_127 = 127.0 * cos_alt_z;
    t->cos225_cos_alt_z_127 = 127.0 * cos(225 * deg_to_rad) * cos_alt_z;

    /* GDAL 3.13: the same in float, the scale in the resolutions. */
    t->f_inv_nsres = (float)recip(geo->pixel_h * scale);
    t->f_inv_ewres = (float)recip(geo->pixel_w * scale);
    t->f_sin_alt = sinf((float)alt * f_deg_to_rad);
    t->f_az_rad = (float)az * f_deg_to_rad;
    t->f_z_factor = (float)(z / (t->zevenbergen ? 2 : 8));
    const float f_cos_alt_z = cosf((float)alt * f_deg_to_rad) * t->f_z_factor;
    t->f_cos_az_cos_alt_z = cosf(t->f_az_rad) * f_cos_alt_z;
    t->f_sin_az_cos_alt_z = sinf(t->f_az_rad) * f_cos_alt_z;
    t->f_square_z = t->f_z_factor * t->f_z_factor;
    t->f_sin_alt_254 = 254.0f * t->f_sin_alt;
    t->f_cos_az_cos_alt_z_254 = 254.0f * t->f_cos_az_cos_alt_z;
    t->f_sin_az_cos_alt_z_254 = 254.0f * t->f_sin_az_cos_alt_z;
    if (t->same_res) {
        t->f_square_z_inv_res2 =
            t->f_square_z * t->f_inv_ewres * t->f_inv_ewres;
        t->f_cos_az_cos_alt_z_254_inv_res =
            t->f_cos_az_cos_alt_z_254 * -t->f_inv_ewres;
        t->f_sin_az_cos_alt_z_254_inv_res =
            t->f_sin_az_cos_alt_z_254 * t->f_inv_ewres;
    }
    t->f_sin_alt_127 = 127.0f * sinf((float)alt * f_deg_to_rad);
    t->f_cos_alt_z_127 = 127.0f * f_cos_alt_z;
    t->f_cos225_cos_alt_z_127 =
        127.0f * cosf(225.0f * f_deg_to_rad) * f_cos_alt_z;
    t->f_slope_inv_nsres = recipf((float)(geo->pixel_h * scale));
    t->f_slope_inv_ewres = recipf((float)(geo->pixel_w * scale));
}

void *pvrt__terrain_new(CSLConstList args, const pvrt_nbhd_geo *geo,
                        int *radius)
{
    *radius = 1;
    const char *op_text = CSLFetchNameValue(args, "op");
    if (op_text == NULL) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'op' is required: hillshade, slope, aspect, "
                 "tri, tpi or roughness",
                 fn);
        return NULL;
    }
    const int op = arg_choice(args, "op", op_names, 6, 0);
    if (op < 0 || check_names(args, (terrain_op)op) < 0)
        return NULL;

    terrain t;
    memset(&t, 0, sizeof(t));
    t.op = (terrain_op)op;

    static const char *const algs[] = {"Horn", "ZevenbergenThorne"};
    static const char *const edges[] = {"nodata", "compute"};
    static const char *const modes[] = {"", "combined", "multidirectional",
                                        "igor"};
    static const char *const units[] = {"degrees", "percent"};
    static const char *const tri_algs[] = {"Riley", "Wilson"};
    const int alg = arg_choice(args, "alg", algs, 2, 0);
    const int edge = arg_choice(args, "edges", edges, 2, 0);
    const int mode = arg_choice(args, "mode", modes, 4, 0);
    const int unit = arg_choice(args, "unit", units, 2, 0);
    const int tri_alg = arg_choice(args, "tri_alg", tri_algs, 2, 0);
    const int trig = arg_bool(args, "trigonometric", 0);
    const int zero_flat = arg_bool(args, "zero_for_flat", 0);
    if (alg < 0 || edge < 0 || mode < 0 || unit < 0 || tri_alg < 0 ||
        trig < 0 || zero_flat < 0)
        return NULL;
    t.zevenbergen = alg;
    t.compute_edges = edge;
    t.mode = (shade)mode;
    t.percent = unit;
    t.wilson = tri_alg;
    t.trigonometric = trig;
    t.zero_for_flat = zero_flat;

    double z, scale, azimuth, altitude;
    if (arg_number(args, "z", 1.0, 0, &z) < 0 ||
        arg_number(args, "scale", 1.0, 1, &scale) < 0 ||
        arg_number(args, "azimuth", 315.0, 0, &azimuth) < 0 ||
        arg_number(args, "altitude", 45.0, 0, &altitude) < 0)
        return NULL;
    if (t.mode == SHADE_MULTI && CSLFetchNameValue(args, "azimuth")) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'azimuth' does not apply to "
                 "mode=multidirectional (it lights from 225, 270, 315 and "
                 "360 degrees)",
                 fn);
        return NULL;
    }
    if (t.mode == SHADE_IGOR && CSLFetchNameValue(args, "altitude")) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument 'altitude' does not apply to mode=igor", fn);
        return NULL;
    }

    if (!(isfinite(geo->pixel_w) && isfinite(geo->pixel_h) &&
          geo->pixel_w != 0 && geo->pixel_h != 0)) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: the raster's pixel size (geotransform[1] and [5]) must "
                 "be finite and non-zero, got %g and %g",
                 fn, geo->pixel_w, geo->pixel_h);
        return NULL;
    }

    set_input_nodata(&t, geo, geo->src_type);

    /* gdaldem's output NoData: 0 for hillshade (and for aspect with
     * -zero_for_flat, where its output has none), -9999 otherwise. */
    if (geo->has_nodata)
        t.out_nodata = geo->nodata;
    else if (t.op == HILLSHADE || (t.op == ASPECT && t.zero_for_flat))
        t.out_nodata = 0;
    else
        t.out_nodata = -9999;

    set_hillshade_constants(&t, altitude, azimuth, z, scale, geo);
    t.ewres = geo->pixel_w;
    t.nsres = geo->pixel_h;
    t.scale = scale;
    t.float_math = TERRAIN_FLOAT_MATH;
    t.mirror = t.float_math && geo->pixel_h > 0 &&
               (t.op == ASPECT || t.op == TRI || t.op == TPI);

    terrain *state = (terrain *)VSIMalloc(sizeof(terrain));
    if (state == NULL) {
        CPLError(CE_Failure, CPLE_OutOfMemory, "%s: out of memory", fn);
        return NULL;
    }
    *state = t;
    return state;
}

void pvrt__terrain_free(void *state)
{
    VSIFree(state);
}

/* ---- gdaldem's arithmetic ------------------------------------------------
 * A window is float w[9], row by row from the north-west (w[4] the centre),
 * as gdaldem's afWin. Sums of window values are float sums, evaluated left
 * to right as written; what gdaldem computes in double is double here. */

/* a / sqrt(b) as gdaldem's ApproxADivByInvSqrtB: on SSE2, rsqrtss on b as
 * a float and one Newton-Raphson step in double. */
static double approx_div_sqrt(double a, double b)
{
#ifdef TERRAIN_SSE2
    const __m128d vb = _mm_set_sd(b);
    const __m128d half_b = _mm_mul_sd(vb, _mm_set1_pd(0.5));
    __m128d r =
        _mm_cvtss_sd(vb, _mm_rsqrt_ss(_mm_cvtsd_ss(_mm_setzero_ps(), vb)));
    r = _mm_mul_sd(
        r, _mm_sub_sd(_mm_set1_pd(1.5), _mm_mul_sd(half_b, _mm_mul_sd(r, r))));
    return a * _mm_cvtsd_f64(r);
#else
    return a / sqrt(b);
#endif
}

/* Horn's weighted sums of a window's column k (0 west, 2 east) and row k
 * (0 north, 2 south), added in float in gdaldem's order. */
static inline float horn_col(const float *w, int k)
{
    return w[k] + w[k + 3] + w[k + 3] + w[k + 6];
}

static inline float horn_row(const float *w, int k)
{
    return w[3 * k] + w[3 * k + 1] + w[3 * k + 1] + w[3 * k + 2];
}

/* Horn's gradient before the resolutions: west minus east, south minus
 * north (the float differences gdaldem scales). */
static inline float horn_x(const float *w)
{
    return horn_col(w, 0) - horn_col(w, 2);
}

static inline float horn_y(const float *w)
{
    return horn_row(w, 2) - horn_row(w, 0);
}

/* gdaldem's simplified Horn gradient for square pixels, accumulated in
 * the window's type, in its order. */
static inline void same_res_sums(const float *w, float *x, float *y)
{
    float acc_x = w[0] - w[8];
    const float six_minus_two = w[6] - w[2];
    float acc_y = acc_x;
    const float three_minus_five = w[3] - w[5];
    const float one_minus_seven = w[1] - w[7];
    acc_x += three_minus_five;
    acc_y += one_minus_seven;
    acc_x += three_minus_five;
    acc_y += one_minus_seven;
    acc_x += six_minus_two;
    acc_y -= six_minus_two;
    *x = acc_x;
    *y = acc_y;
}

/* gdaldem's gradient before the resolutions, in float: x positive towards
 * the west, y towards the south (Gradient<>::calc's differences). */
static inline void gradient_sums(const terrain *t, const float *w, float *x,
                                 float *y)
{
    if (t->zevenbergen) {
        *x = w[3] - w[5];
        *y = w[7] - w[1];
    } else {
        *x = horn_x(w);
        *y = horn_y(w);
    }
}

/* The differences gdaldem's aspect takes (and igor's): x positive towards
 * the east, y towards the south. */
static inline void aspect_sums(const terrain *t, const float *w, float *x,
                               float *y)
{
    if (t->zevenbergen) {
        *x = w[5] - w[3];
        *y = w[7] - w[1];
    } else {
        *x = horn_col(w, 2) - horn_col(w, 0);
        *y = horn_y(w);
    }
}

/* gdaldem's Gradient<>::calc: x positive towards the west, y with the sign
 * of the geotransform's pixel height. */
static void gradient(const terrain *t, const float *w, double *x, double *y)
{
    float gx, gy;
    gradient_sums(t, w, &gx, &gy);
    *x = gx * t->inv_ewres;
    *y = gy * t->inv_nsres;
}

static float hillshade_plain(const terrain *t, const float *w)
{
    double x, y;
    gradient(t, w, &x, &y);
    const double xx_plus_yy = x * x + y * y;
    const double c =
        approx_div_sqrt(t->sin_alt_254 - (y * t->cos_az_cos_alt_z_254 -
                                          x * t->sin_az_cos_alt_z_254),
                        1 + t->square_z * xx_plus_yy);
    return (float)(c <= 0.0 ? 1.0 : 1.0 + c);
}

/* Horn with square pixels: gdaldem folds the resolution into constants
 * and accumulates the gradient in the window's type. */
static float hillshade_same_res(const terrain *t, const float *w)
{
    float acc_x, acc_y;
    same_res_sums(w, &acc_x, &acc_y);
    const double x = acc_x, y = acc_y;
    const double xx_plus_yy = x * x + y * y;
    const double c =
        approx_div_sqrt(t->sin_alt_254 + (x * t->sin_az_cos_alt_z_254_inv_res +
                                          y * t->cos_az_cos_alt_z_254_inv_res),
                        1 + t->square_z_inv_res2 * xx_plus_yy);
    return (float)(c <= 0.0 ? 1.0 : 1.0 + c);
}

static float hillshade_combined(const terrain *t, const float *w)
{
    static const double inv_square_half_pi = 1.0 / ((M_PI * M_PI) / 4);
    double x, y;
    gradient(t, w, &x, &y);
    const double xx_plus_yy = x * x + y * y;
    const double slope = xx_plus_yy * t->square_z;
    double cang = acos(approx_div_sqrt(
        t->sin_alt - (y * t->cos_az_cos_alt_z - x * t->sin_az_cos_alt_z),
        1 + slope));
    cang = 1 - cang * atan(sqrt(slope)) * inv_square_half_pi;
    return cang <= 0.0 ? 1.0f : (float)(1.0 + (254.0 * cang));
}

static double normalize_angle(double angle, double normalizer)
{
    angle = fmod(angle, normalizer);
    if (angle < 0)
        angle = normalizer + angle;
    return angle;
}

static double angle_difference(double a1, double a2, double normalizer)
{
    double diff =
        normalize_angle(a1, normalizer) - normalize_angle(a2, normalizer);
    diff = fabs(diff);
    if (diff > normalizer / 2)
        diff = normalizer - diff;
    return diff;
}

static float hillshade_igor(const terrain *t, const float *w)
{
    double dx, dy;
    gradient(t, w, &dx, &dy);
    const double key = dx * dx + dy * dy;
    const double slope_deg = atan(sqrt(key) * t->z_scaled) * rad_to_deg;
    float ax, ay;
    aspect_sums(t, w, &ax, &ay);
    const double aspect = atan2(ay, -ax);
    const double slope_strength = slope_deg / 90;
    const double aspect_diff =
        angle_difference(aspect, M_PI * 3 / 2 - t->az_rad, M_PI * 2);
    const double aspect_strength = 1 - aspect_diff / M_PI;
    const double shadowness = 1.0 - slope_strength * aspect_strength;
    return (float)(255.0 * shadowness);
}

static float hillshade_multi(const terrain *t, const float *w)
{
    double x, y;
    gradient(t, w, &x, &y);
    const double xx = x * x;
    const double yy = y * y;
    const double xx_plus_yy = xx + yy;
    if (xx_plus_yy == 0.0)
        return (float)(1.0 + t->sin_alt_254);

    double v225 = t->sin_alt_127 + (x - y) * t->cos225_cos_alt_z_127;
    v225 = (v225 <= 0.0) ? 0.0 : v225;
    double v270 = t->sin_alt_127 - x * t->cos_alt_z_127;
    v270 = (v270 <= 0.0) ? 0.0 : v270;
    double v315 = t->sin_alt_127 + (x + y) * t->cos225_cos_alt_z_127;
    v315 = (v315 <= 0.0) ? 0.0 : v315;
    double v360 = t->sin_alt_127 - y * t->cos_alt_z_127;
    v360 = (v360 <= 0.0) ? 0.0 : v360;

    const double w225 = 0.5 * xx_plus_yy - x * y;
    const double w270 = xx;
    const double w315 = xx_plus_yy - w225;
    const double w360 = yy;
    const double c = approx_div_sqrt(
        (w225 * v225 + w270 * v270 + w315 * v315 + w360 * v360) / xx_plus_yy,
        1 + t->square_z * xx_plus_yy);
    return (float)(1.0 + c);
}

static float slope(const terrain *t, const float *w)
{
    float gx, gy;
    gradient_sums(t, w, &gx, &gy);
    const double dx = gx / t->ewres, dy = gy / t->nsres;
    const int denom = t->zevenbergen ? 2 : 8;
    const double key = dx * dx + dy * dy;
    if (!t->percent)
        return (float)(atan(sqrt(key) / (denom * t->scale)) * rad_to_deg);
    return (float)(100 * (sqrt(key) / (denom * t->scale)));
}

/* Sets *flat where gdaldem writes its output NoData for a flat window.
 * Both GDALs' arithmetic: they differ in the angle's type only. */
static float aspect(const terrain *t, const float *w, int *flat)
{
    float dx, dy;
    aspect_sums(t, w, &dx, &dy);
    float a = t->float_math ? atan2f(dy, -dx) * f_rad_to_deg
                            : (float)(atan2(dy, -dx) / deg_to_rad);
    if (dx == 0 && dy == 0) {
        *flat = 1;
        return 0.0f;
    }
    if (!t->trigonometric)
        a = a > 90.0f ? 450.0f - a : 90.0f - a;
    else if (a < 0)
        a += 360.0f;
    if (a == 360.0f)
        a = 0.0f;
    return a;
}

static float tri(const terrain *t, const float *w)
{
    if (t->wilson)
        return (fabsf(w[0] - w[4]) + fabsf(w[1] - w[4]) + fabsf(w[2] - w[4]) +
                fabsf(w[3] - w[4]) + fabsf(w[5] - w[4]) + fabsf(w[6] - w[4]) +
                fabsf(w[7] - w[4]) + fabsf(w[8] - w[4])) *
               0.125f;
    double sum = 0;
    for (int k = 0; k < 9; k++) {
        const double d = w[k] - w[4];
        if (k != 4)
            sum += d * d;
    }
    return (float)sqrt(sum);
}

static float tpi(const float *w)
{
    return w[4] -
           ((w[0] + w[1] + w[2] + w[3] + w[5] + w[6] + w[7] + w[8]) * 0.125f);
}

static float roughness(const float *w)
{
    float lo = w[0], hi = w[0];
    for (int k = 1; k < 9; k++) {
        if (w[k] > hi)
            hi = w[k];
        if (w[k] < lo)
            lo = w[k];
    }
    return hi - lo;
}

/* ---- GDAL 3.13's arithmetic: the same formulas in float ------------------ */

/* ApproxADivByInvSqrtB in float. GDAL 3.13 keeps its rsqrtss version
 * under a HAVE_SSE2 it no longer defines, so it divides by the square root
 * (only its four- or eight-pixel SIMD hillshade approximates). */
static float approx_div_sqrt_f(float a, float b)
{
    return a / sqrtf(b);
}

static void gradient_f(const terrain *t, const float *w, float *x, float *y)
{
    float gx, gy;
    gradient_sums(t, w, &gx, &gy);
    *x = gx * t->f_inv_ewres;
    *y = gy * t->f_inv_nsres;
}

static float hillshade_plain_f(const terrain *t, const float *w)
{
    float x, y;
    gradient_f(t, w, &x, &y);
    const float xx_plus_yy = x * x + y * y;
    const float c =
        approx_div_sqrt_f(t->f_sin_alt_254 - (y * t->f_cos_az_cos_alt_z_254 -
                                              x * t->f_sin_az_cos_alt_z_254),
                          1.0f + t->f_square_z * xx_plus_yy);
    return c <= 0.0f ? 1.0f : 1.0f + c;
}

static float hillshade_same_res_f(const terrain *t, const float *w)
{
    float acc_x, acc_y;
    same_res_sums(w, &acc_x, &acc_y);
    const float xx_plus_yy = acc_x * acc_x + acc_y * acc_y;
    const float c = approx_div_sqrt_f(
        t->f_sin_alt_254 + (acc_x * t->f_sin_az_cos_alt_z_254_inv_res +
                            acc_y * t->f_cos_az_cos_alt_z_254_inv_res),
        1.0f + t->f_square_z_inv_res2 * xx_plus_yy);
    return c <= 0.0f ? 1.0f : 1.0f + c;
}

static float hillshade_combined_f(const terrain *t, const float *w)
{
    static const float inv_square_half_pi = (float)(1.0 / ((M_PI * M_PI) / 4));
    float x, y;
    gradient_f(t, w, &x, &y);
    const float xx_plus_yy = x * x + y * y;
    const float slope = xx_plus_yy * t->f_square_z;
    float cang = acosf(approx_div_sqrt_f(
        t->f_sin_alt - (y * t->f_cos_az_cos_alt_z - x * t->f_sin_az_cos_alt_z),
        1.0f + slope));
    cang = 1.0f - cang * atanf(sqrtf(slope)) * inv_square_half_pi;
    return cang <= 0.0f ? 1.0f : 1.0f + 254.0f * cang;
}

static float normalize_angle_f(float angle, float normalizer)
{
    angle = fmodf(angle, normalizer);
    if (angle < 0)
        angle = normalizer + angle;
    return angle;
}

static float angle_difference_f(float a1, float a2, float normalizer)
{
    float diff =
        normalize_angle_f(a1, normalizer) - normalize_angle_f(a2, normalizer);
    diff = fabsf(diff);
    if (diff > normalizer * 0.5f)
        diff = normalizer - diff;
    return diff;
}

static float hillshade_igor_f(const terrain *t, const float *w)
{
    float dx, dy;
    gradient_f(t, w, &dx, &dy);
    const float key = dx * dx + dy * dy;
    const float slope_deg = atanf(sqrtf(key) * t->f_z_factor) * f_rad_to_deg;
    float ax, ay;
    aspect_sums(t, w, &ax, &ay);
    const float aspect = atan2f(ay, -ax);
    const float slope_strength = slope_deg * (1.0f / 90.0f);
    const float aspect_diff = angle_difference_f(
        aspect, f_pi * (3.0f / 2.0f) - t->f_az_rad, f_pi * 2.0f);
    const float aspect_strength = 1.0f - aspect_diff * (1.0f / f_pi);
    const float shadowness = 1.0f - slope_strength * aspect_strength;
    return 255.0f * shadowness;
}

static float hillshade_multi_f(const terrain *t, const float *w)
{
    float x, y;
    gradient_f(t, w, &x, &y);
    const float xx = x * x;
    const float yy = y * y;
    const float xx_plus_yy = xx + yy;
    if (xx_plus_yy == 0.0f)
        return 1.0f + t->f_sin_alt_254;

    float v225 = t->f_sin_alt_127 + (x - y) * t->f_cos225_cos_alt_z_127;
    v225 = (v225 <= 0.0f) ? 0.0f : v225;
    float v270 = t->f_sin_alt_127 - x * t->f_cos_alt_z_127;
    v270 = (v270 <= 0.0f) ? 0.0f : v270;
    float v315 = t->f_sin_alt_127 + (x + y) * t->f_cos225_cos_alt_z_127;
    v315 = (v315 <= 0.0f) ? 0.0f : v315;
    float v360 = t->f_sin_alt_127 - y * t->f_cos_alt_z_127;
    v360 = (v360 <= 0.0f) ? 0.0f : v360;

    const float w225 = 0.5f * xx_plus_yy - x * y;
    const float w270 = xx;
    const float w315 = xx_plus_yy - w225;
    const float w360 = yy;
    const float c = approx_div_sqrt_f(
        (w225 * v225 + w270 * v270 + w315 * v315 + w360 * v360) / xx_plus_yy,
        1.0f + t->f_square_z * xx_plus_yy);
    return 1.0f + c;
}

static float slope_f(const terrain *t, const float *w)
{
    float gx, gy;
    gradient_sums(t, w, &gx, &gy);
    const float dx = gx * t->f_slope_inv_ewres;
    const float dy = gy * t->f_slope_inv_nsres;
    const float key = dx * dx + dy * dy;
    const float k = t->zevenbergen ? 0.5f : 1.0f / 8.0f;
    if (!t->percent)
        return atanf(sqrtf(key) * k) * f_rad_to_deg;
    return (t->zevenbergen ? 100.0f / 2.0f : 100.0f / 8.0f) * sqrtf(key);
}

/* ---- Windows, edges and NoData ------------------------------------------ */

/* GDAL's ARE_REAL_EQUAL for floats (ulp 2), all in float. */
static int real_equal(float a, float b)
{
    return a == b || fabsf(a - b) < FLT_EPSILON * fabsf(a + b) * 2;
}

static int is_nodata(const terrain *t, float v)
{
    if (t->integer)
        return v == t->nd;
    return t->nd_nan ? isnan(v) : real_equal(v, t->nd);
}

/* gdaldem's INTERPOL: a neighbour beyond the edge extrapolated as 2a - b
 * from the two pixels inward, NoData if either is. On the integer path an
 * extrapolation that lands on NoData is moved to NoData + 1. */
static float extrapolate(const terrain *t, float a, float b)
{
    if (t->integer) {
        if (t->has_nd && (a == t->nd || b == t->nd))
            return t->nd;
        const float v = 2 * a - b;
        return t->has_nd && v == t->nd ? v + 1 : v;
    }
    if (t->has_nd && (real_equal(a, t->nd) || real_equal(b, t->nd)))
        return t->nd;
    const float v = 2 * a - b;
    /* GDAL 3.13 moves one that lands on NoData off it by 3 float ulps (still
     * within ARE_REAL_EQUAL of it, so it is then taken as NoData). */
    if (t->float_math && t->has_nd && real_equal(v, t->nd))
        return t->nd * (1 + 3 * FLT_EPSILON);
    return v;
}

/* The window of pixel (x, y) of a w x h raster with edges=compute, at the
 * raster's edge, as gdaldem builds it: the first and last rows extrapolate
 * vertically (a corner repeats its own column), the first and last columns
 * of other rows horizontally. rows[k] is raster row y - 1 + k (NULL
 * beyond the raster). */
static void edge_window(const terrain *t, const float *const *rows, int w,
                        int h, int x, int y, float *win)
{
    const int x0 = x == 0 ? x : x - 1;
    const int x2 = x == w - 1 ? x : x + 1;
    if (y == 0) {
        const float *r0 = rows[1], *r1 = rows[2];
        win[0] = extrapolate(t, r0[x0], r1[x0]);
        win[1] = extrapolate(t, r0[x], r1[x]);
        win[2] = extrapolate(t, r0[x2], r1[x2]);
        win[3] = r0[x0], win[4] = r0[x], win[5] = r0[x2];
        win[6] = r1[x0], win[7] = r1[x], win[8] = r1[x2];
    } else if (y == h - 1) {
        const float *r0 = rows[0], *r1 = rows[1];
        win[0] = r0[x0], win[1] = r0[x], win[2] = r0[x2];
        win[3] = r1[x0], win[4] = r1[x], win[5] = r1[x2];
        win[6] = extrapolate(t, r1[x0], r0[x0]);
        win[7] = extrapolate(t, r1[x], r0[x]);
        win[8] = extrapolate(t, r1[x2], r0[x2]);
    } else {
        for (int r = 0; r < 3; r++) {
            const float *row = rows[r];
            if (x == 0) {
                win[3 * r] = extrapolate(t, row[0], row[1]);
                win[3 * r + 1] = row[0];
                win[3 * r + 2] = row[1];
            } else {
                win[3 * r] = row[x - 1];
                win[3 * r + 1] = row[x];
                win[3 * r + 2] = extrapolate(t, row[x], row[x - 1]);
            }
        }
    }
    (void)h;
}

/* gdaldem's value for a flat window in aspect: its output NoData (0 with
 * -zero_for_flat, where it has none), then 360 -> 0. */
static double flat_aspect(const terrain *t)
{
    if (t->zero_for_flat)
        return 0.0;
    return (float)t->out_nodata == 360.0f ? 0.0 : t->out_nodata;
}

/* The result of a window whose edge and NoData rules are applied (it holds
 * no NoData): the op on it in this GDAL's arithmetic (double, or GDAL
 * 3.13's float), mirrored first where GDAL 3.13 would. */
static double window_value(const terrain *t, float *win)
{
    if (t->mirror) {
        float row[3];
        memcpy(row, win, sizeof row);
        memcpy(win, win + 6, sizeof row);
        memcpy(win + 6, row, sizeof row);
    }
    const int f = t->float_math;
    switch (t->op) {
        case HILLSHADE:
            switch (t->mode) {
                case SHADE_COMBINED:
                    return f ? hillshade_combined_f(t, win)
                             : hillshade_combined(t, win);
                case SHADE_MULTI:
                    return f ? hillshade_multi_f(t, win)
                             : hillshade_multi(t, win);
                case SHADE_IGOR:
                    return f ? hillshade_igor_f(t, win)
                             : hillshade_igor(t, win);
                case SHADE_PLAIN:
                    break;
            }
            if (t->same_res && !t->zevenbergen)
                return f ? hillshade_same_res_f(t, win)
                         : hillshade_same_res(t, win);
            return f ? hillshade_plain_f(t, win) : hillshade_plain(t, win);
        case SLOPE:
            return f ? slope_f(t, win) : slope(t, win);
        case ASPECT: {
            int flat = 0;
            const float a = aspect(t, win, &flat);
            return flat ? flat_aspect(t) : a;
        }
        case TRI:
            return tri(t, win);
        case TPI:
            return tpi(win);
        case ROUGHNESS:
            return roughness(win);
    }
    return t->out_nodata;
}

/* The result for pixel (x, y) of a w x h raster, any pixel, with every
 * rule: rows[k] is raster row y - 1 + k (NULL beyond the raster). */
static double pixel(const terrain *t, const float *const *rows, int w, int h,
                    int x, int y)
{
    float win[9];
    if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
        if (!t->compute_edges || w < 2 || h < 2)
            return t->out_nodata;
        edge_window(t, rows, w, h, x, y, win);
    } else {
        for (int r = 0; r < 3; r++)
            memcpy(win + 3 * r, rows[r] + (x - 1), 3 * sizeof(float));
    }

    /* gdaldem's ComputeVal: a NoData centre has no result; a NoData
     * neighbour has none either, or takes the centre's value with
     * -compute_edges. */
    if (t->has_nd) {
        if (is_nodata(t, win[4]))
            return t->out_nodata;
        for (int k = 0; k < 9; k++) {
            if (is_nodata(t, win[k])) {
                if (!t->compute_edges)
                    return t->out_nodata;
                win[k] = win[4];
            }
        }
    }
    return window_value(t, win);
}

/* ---- Runs of interior pixels without NoData -------------------------------
 * A run is n consecutive pixels from column x of an interior row whose
 * windows (columns x - 1 to x + n, rows r0, r1, r2) hold no NoData: the
 * op's formula straight on the rows. The hot cases (Horn hillshade and
 * slope) take four pixels at a time in SSE2, each lane with the scalar
 * formula's operations in its order (IEEE add, sub, mul, div and sqrt
 * round alike in either form; rsqrtps is rsqrtss lane by lane); the rest
 * of a run, and the other ops, go through window_value pixel by pixel. */

/* The window of interior pixel x from three rows. */
static inline void window_at(const float *r0, const float *r1, const float *r2,
                             int x, float *win)
{
    memcpy(win, r0 + x - 1, 3 * sizeof(float));
    memcpy(win + 3, r1 + x - 1, 3 * sizeof(float));
    memcpy(win + 6, r2 + x - 1, 3 * sizeof(float));
}

#ifdef TERRAIN_SSE2
/* The windows of four pixels from column c as lanes: w[k] holds window
 * place k of each. */
static inline void window4(const float *r0, const float *r1, const float *r2,
                           int c, __m128 *w)
{
    w[0] = _mm_loadu_ps(r0 + c - 1), w[1] = _mm_loadu_ps(r0 + c);
    w[2] = _mm_loadu_ps(r0 + c + 1), w[3] = _mm_loadu_ps(r1 + c - 1);
    w[4] = _mm_loadu_ps(r1 + c), w[5] = _mm_loadu_ps(r1 + c + 1);
    w[6] = _mm_loadu_ps(r2 + c - 1), w[7] = _mm_loadu_ps(r2 + c);
    w[8] = _mm_loadu_ps(r2 + c + 1);
}

/* horn_col(w, k) and horn_row(w, k) lane by lane. */
static inline __m128 horn_col4(const __m128 *w, int k)
{
    return _mm_add_ps(_mm_add_ps(_mm_add_ps(w[k], w[k + 3]), w[k + 3]),
                      w[k + 6]);
}

static inline __m128 horn_row4(const __m128 *w, int k)
{
    return _mm_add_ps(
        _mm_add_ps(_mm_add_ps(w[3 * k], w[3 * k + 1]), w[3 * k + 1]),
        w[3 * k + 2]);
}

/* horn_x and horn_y, four pixels from column c. */
static inline void horn_sums4(const float *r0, const float *r1, const float *r2,
                              int c, __m128 *gx, __m128 *gy)
{
    __m128 w[9];
    window4(r0, r1, r2, c, w);
    *gx = _mm_sub_ps(horn_col4(w, 0), horn_col4(w, 2));
    *gy = _mm_sub_ps(horn_row4(w, 2), horn_row4(w, 0));
}

/* same_res_sums, four pixels from column c. */
static inline void same_res_sums4(const float *r0, const float *r1,
                                  const float *r2, int c, __m128 *x, __m128 *y)
{
    __m128 w[9];
    window4(r0, r1, r2, c, w);
    __m128 acc_x = _mm_sub_ps(w[0], w[8]);
    const __m128 six_minus_two = _mm_sub_ps(w[6], w[2]);
    __m128 acc_y = acc_x;
    const __m128 three_minus_five = _mm_sub_ps(w[3], w[5]);
    const __m128 one_minus_seven = _mm_sub_ps(w[1], w[7]);
    acc_x = _mm_add_ps(acc_x, three_minus_five);
    acc_y = _mm_add_ps(acc_y, one_minus_seven);
    acc_x = _mm_add_ps(acc_x, three_minus_five);
    acc_y = _mm_add_ps(acc_y, one_minus_seven);
    acc_x = _mm_add_ps(acc_x, six_minus_two);
    *y = _mm_sub_ps(acc_y, six_minus_two);
    *x = acc_x;
}

/* Lanes 0-1 and 2-3 of a float vector as doubles. */
static inline __m128d lo_pd(__m128 v)
{
    return _mm_cvtps_pd(v);
}

static inline __m128d hi_pd(__m128 v)
{
    return _mm_cvtps_pd(_mm_movehl_ps(v, v));
}

/* x * x + y * y, lane by lane. */
static inline __m128d sum_sq_pd(__m128d x, __m128d y)
{
    return _mm_add_pd(_mm_mul_pd(x, x), _mm_mul_pd(y, y));
}

static inline __m128 sum_sq_ps(__m128 x, __m128 y)
{
    return _mm_add_ps(_mm_mul_ps(x, x), _mm_mul_ps(y, y));
}

/* approx_div_sqrt on 2 + 2 lanes. */
static inline void approx_div_sqrt4(__m128d a_lo, __m128d a_hi, __m128d b_lo,
                                    __m128d b_hi, __m128d *c_lo, __m128d *c_hi)
{
    const __m128 r =
        _mm_rsqrt_ps(_mm_movelh_ps(_mm_cvtpd_ps(b_lo), _mm_cvtpd_ps(b_hi)));
    const __m128d half = _mm_set1_pd(0.5), three_halves = _mm_set1_pd(1.5);
    __m128d r_lo = lo_pd(r), r_hi = hi_pd(r);
    r_lo = _mm_mul_pd(
        r_lo, _mm_sub_pd(three_halves, _mm_mul_pd(_mm_mul_pd(b_lo, half),
                                                  _mm_mul_pd(r_lo, r_lo))));
    r_hi = _mm_mul_pd(
        r_hi, _mm_sub_pd(three_halves, _mm_mul_pd(_mm_mul_pd(b_hi, half),
                                                  _mm_mul_pd(r_hi, r_hi))));
    *c_lo = _mm_mul_pd(a_lo, r_lo);
    *c_hi = _mm_mul_pd(a_hi, r_hi);
}

/* (float)(c <= 0 ? 1 : 1 + c), stored as two doubles. */
static inline void store_shade2(double *out, __m128d c)
{
    const __m128d one = _mm_set1_pd(1.0);
    const __m128d le = _mm_cmple_pd(c, _mm_setzero_pd());
    const __m128d v =
        _mm_or_pd(_mm_and_pd(le, one), _mm_andnot_pd(le, _mm_add_pd(one, c)));
    _mm_storeu_pd(out, _mm_cvtps_pd(_mm_cvtpd_ps(v)));
}

/* The last steps of hillshade_plain and hillshade_same_res for four
 * pixels: c = approx_div_sqrt(a, 1 + kz * (x * x + y * y)) from a, x and y
 * in lanes 0-1 and 2-3, then (float)(c <= 0 ? 1 : 1 + c). */
static inline void shade4(double *out, const __m128d *a, const __m128d *x,
                          const __m128d *y, __m128d kz)
{
    const __m128d one = _mm_set1_pd(1.0);
    const __m128d b_lo = _mm_add_pd(one, _mm_mul_pd(kz, sum_sq_pd(x[0], y[0])));
    const __m128d b_hi = _mm_add_pd(one, _mm_mul_pd(kz, sum_sq_pd(x[1], y[1])));
    __m128d c_lo, c_hi;
    approx_div_sqrt4(a[0], a[1], b_lo, b_hi, &c_lo, &c_hi);
    store_shade2(out, c_lo);
    store_shade2(out + 2, c_hi);
}

/* The same for hillshade_plain_f and hillshade_same_res_f: c = a /
 * sqrt(1 + kz * (x * x + y * y)), then c <= 0 ? 1 : 1 + c, in float. */
static inline void shade4_f(double *out, __m128 a, __m128 x, __m128 y,
                            __m128 kz)
{
    const __m128 one = _mm_set1_ps(1.0f);
    const __m128 c = _mm_div_ps(
        a, _mm_sqrt_ps(_mm_add_ps(one, _mm_mul_ps(kz, sum_sq_ps(x, y)))));
    const __m128 le = _mm_cmple_ps(c, _mm_setzero_ps());
    const __m128 v =
        _mm_or_ps(_mm_and_ps(le, one), _mm_andnot_ps(le, _mm_add_ps(one, c)));
    _mm_storeu_pd(out, lo_pd(v));
    _mm_storeu_pd(out + 2, hi_pd(v));
}

/* Each of the following takes the pixels of a run four at a time while
 * four remain and returns how many it took. */

/* hillshade_same_res (GDAL 3.6 to 3.12). */
static int hillshade_same_res4(const terrain *t, const float *r0,
                               const float *r1, const float *r2, int x, int n,
                               double *out)
{
    const __m128d sin_alt_254 = _mm_set1_pd(t->sin_alt_254);
    const __m128d kx = _mm_set1_pd(t->sin_az_cos_alt_z_254_inv_res);
    const __m128d ky = _mm_set1_pd(t->cos_az_cos_alt_z_254_inv_res);
    const __m128d kz = _mm_set1_pd(t->square_z_inv_res2);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 acc_x, acc_y;
        same_res_sums4(r0, r1, r2, x + i, &acc_x, &acc_y);
        const __m128d xs[2] = {lo_pd(acc_x), hi_pd(acc_x)};
        const __m128d ys[2] = {lo_pd(acc_y), hi_pd(acc_y)};
        __m128d a[2];
        for (int k = 0; k < 2; k++)
            a[k] = _mm_add_pd(sin_alt_254, _mm_add_pd(_mm_mul_pd(xs[k], kx),
                                                      _mm_mul_pd(ys[k], ky)));
        shade4(out + i, a, xs, ys, kz);
    }
    return i;
}

/* hillshade_plain, Horn (GDAL 3.6 to 3.12). */
static int hillshade_horn4(const terrain *t, const float *r0, const float *r1,
                           const float *r2, int x, int n, double *out)
{
    const __m128d inv_ewres = _mm_set1_pd(t->inv_ewres);
    const __m128d inv_nsres = _mm_set1_pd(t->inv_nsres);
    const __m128d sin_alt_254 = _mm_set1_pd(t->sin_alt_254);
    const __m128d ky = _mm_set1_pd(t->cos_az_cos_alt_z_254);
    const __m128d kx = _mm_set1_pd(t->sin_az_cos_alt_z_254);
    const __m128d kz = _mm_set1_pd(t->square_z);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 gx, gy;
        horn_sums4(r0, r1, r2, x + i, &gx, &gy);
        const __m128d xs[2] = {_mm_mul_pd(lo_pd(gx), inv_ewres),
                               _mm_mul_pd(hi_pd(gx), inv_ewres)};
        const __m128d ys[2] = {_mm_mul_pd(lo_pd(gy), inv_nsres),
                               _mm_mul_pd(hi_pd(gy), inv_nsres)};
        __m128d a[2];
        for (int k = 0; k < 2; k++)
            a[k] = _mm_sub_pd(sin_alt_254, _mm_sub_pd(_mm_mul_pd(ys[k], ky),
                                                      _mm_mul_pd(xs[k], kx)));
        shade4(out + i, a, xs, ys, kz);
    }
    return i;
}

/* slope, Horn (GDAL 3.6 to 3.12): the gradient in four lanes, atan per
 * pixel as gdaldem calls it. */
static int slope_horn4(const terrain *t, const float *r0, const float *r1,
                       const float *r2, int x, int n, double *out)
{
    const __m128d ewres = _mm_set1_pd(t->ewres);
    const __m128d nsres = _mm_set1_pd(t->nsres);
    const __m128d ds = _mm_set1_pd(8 * t->scale);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 gx, gy;
        horn_sums4(r0, r1, r2, x + i, &gx, &gy);
        const __m128d dx_lo = _mm_div_pd(lo_pd(gx), ewres);
        const __m128d dy_lo = _mm_div_pd(lo_pd(gy), nsres);
        const __m128d dx_hi = _mm_div_pd(hi_pd(gx), ewres);
        const __m128d dy_hi = _mm_div_pd(hi_pd(gy), nsres);
        /* sqrt(key) / (denom * scale), finished below. */
        _mm_storeu_pd(out + i,
                      _mm_div_pd(_mm_sqrt_pd(sum_sq_pd(dx_lo, dy_lo)), ds));
        _mm_storeu_pd(out + i + 2,
                      _mm_div_pd(_mm_sqrt_pd(sum_sq_pd(dx_hi, dy_hi)), ds));
    }
    if (t->percent)
        for (int k = 0; k < i; k++)
            out[k] = (float)(100 * out[k]);
    else
        for (int k = 0; k < i; k++)
            out[k] = (float)(atan(out[k]) * rad_to_deg);
    return i;
}

/* hillshade_same_res_f (GDAL 3.13). */
static int hillshade_same_res4_f(const terrain *t, const float *r0,
                                 const float *r1, const float *r2, int x, int n,
                                 double *out)
{
    const __m128 sin_alt_254 = _mm_set1_ps(t->f_sin_alt_254);
    const __m128 kx = _mm_set1_ps(t->f_sin_az_cos_alt_z_254_inv_res);
    const __m128 ky = _mm_set1_ps(t->f_cos_az_cos_alt_z_254_inv_res);
    const __m128 kz = _mm_set1_ps(t->f_square_z_inv_res2);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 acc_x, acc_y;
        same_res_sums4(r0, r1, r2, x + i, &acc_x, &acc_y);
        const __m128 a =
            _mm_add_ps(sin_alt_254, _mm_add_ps(_mm_mul_ps(acc_x, kx),
                                               _mm_mul_ps(acc_y, ky)));
        shade4_f(out + i, a, acc_x, acc_y, kz);
    }
    return i;
}

/* hillshade_plain_f, Horn (GDAL 3.13). */
static int hillshade_horn4_f(const terrain *t, const float *r0, const float *r1,
                             const float *r2, int x, int n, double *out)
{
    const __m128 inv_ewres = _mm_set1_ps(t->f_inv_ewres);
    const __m128 inv_nsres = _mm_set1_ps(t->f_inv_nsres);
    const __m128 sin_alt_254 = _mm_set1_ps(t->f_sin_alt_254);
    const __m128 ky = _mm_set1_ps(t->f_cos_az_cos_alt_z_254);
    const __m128 kx = _mm_set1_ps(t->f_sin_az_cos_alt_z_254);
    const __m128 kz = _mm_set1_ps(t->f_square_z);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 gx, gy;
        horn_sums4(r0, r1, r2, x + i, &gx, &gy);
        const __m128 xs = _mm_mul_ps(gx, inv_ewres);
        const __m128 ys = _mm_mul_ps(gy, inv_nsres);
        const __m128 a = _mm_sub_ps(
            sin_alt_254, _mm_sub_ps(_mm_mul_ps(ys, ky), _mm_mul_ps(xs, kx)));
        shade4_f(out + i, a, xs, ys, kz);
    }
    return i;
}

/* slope_f, Horn (GDAL 3.13): the gradient in four lanes, atanf per pixel
 * as gdaldem calls it. */
static int slope_horn4_f(const terrain *t, const float *r0, const float *r1,
                         const float *r2, int x, int n, double *out)
{
    const __m128 inv_ewres = _mm_set1_ps(t->f_slope_inv_ewres);
    const __m128 inv_nsres = _mm_set1_ps(t->f_slope_inv_nsres);
    float root[4];
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 gx, gy;
        horn_sums4(r0, r1, r2, x + i, &gx, &gy);
        _mm_storeu_ps(root, _mm_sqrt_ps(sum_sq_ps(_mm_mul_ps(gx, inv_ewres),
                                                  _mm_mul_ps(gy, inv_nsres))));
        if (t->percent)
            for (int k = 0; k < 4; k++)
                out[i + k] = (100.0f / 8.0f) * root[k];
        else
            for (int k = 0; k < 4; k++)
                out[i + k] = atanf(root[k] * (1.0f / 8.0f)) * f_rad_to_deg;
    }
    return i;
}
#endif

typedef int (*steps4_fn)(const terrain *, const float *, const float *,
                         const float *, int, int, double *);

/* The four-pixel steps of the state's op, or NULL (one pixel at a time). */
static steps4_fn steps4_for(const terrain *t)
{
#ifdef TERRAIN_SSE2
    if (t->zevenbergen || t->mirror)
        return NULL;
    if (t->op == HILLSHADE && t->mode == SHADE_PLAIN) {
        if (t->float_math)
            return t->same_res ? hillshade_same_res4_f : hillshade_horn4_f;
        return t->same_res ? hillshade_same_res4 : hillshade_horn4;
    }
    if (t->op == SLOPE)
        return t->float_math ? slope_horn4_f : slope_horn4;
#else
    (void)t;
#endif
    return NULL;
}

/* A run: the four-pixel steps if any, then the rest pixel by pixel. */
static inline void run(const terrain *t, steps4_fn steps4, const float *r0,
                       const float *r1, const float *r2, int x, int n,
                       double *out)
{
    int i = steps4 ? steps4(t, r0, r1, r2, x, n, out) : 0;
    for (; i < n; i++) {
        float win[9];
        window_at(r0, r1, r2, x + i, win);
        out[i] = window_value(t, win);
    }
}

/* ---- The compute loop ------------------------------------------------------
 * Output rows one at a time from input rows as float: the float input
 * itself, or double input converted row by row (GDALCopyWords, as
 * gdaldem's read converts) into a ring of three. With input NoData each
 * input row also gets a mask (1 where NoData), once; an interior pixel
 * whose window is free of it (per output row: no NoData in the three rows
 * at all, or in the three columns around it) goes to run(), every other
 * pixel through pixel() with all of gdaldem's rules. */

typedef struct row_ring {
    const float *f;  /* float input, or NULL */
    const double *d; /* double input */
    int w;
    float *rows;         /* 3 * w: converted double input */
    unsigned char *mask; /* 3 * w: NoData masks */
    int row_y[3], mask_y[3], mask_any[3];
} row_ring;

static const float *ring_row(row_ring *r, int y)
{
    if (r->f)
        return r->f + (size_t)y * r->w;
    float *row = r->rows + (size_t)(y % 3) * r->w;
    if (r->row_y[y % 3] != y) {
        GDALCopyWords64(r->d + (size_t)y * r->w, GDT_Float64, sizeof(double),
                        row, GDT_Float32, sizeof(float), r->w);
        r->row_y[y % 3] = y;
    }
    return row;
}

/* Input row y's NoData mask; *any is set when it has NoData. */
static const unsigned char *ring_mask(const terrain *t, row_ring *r, int y,
                                      int *any)
{
    unsigned char *m = r->mask + (size_t)(y % 3) * r->w;
    if (r->mask_y[y % 3] != y) {
        const float *row = ring_row(r, y);
        const int w = r->w;
        unsigned acc = 0;
        if (t->integer) {
            const float nd = t->nd;
            for (int x = 0; x < w; x++)
                acc |= m[x] = row[x] == nd;
        } else if (t->nd_nan) {
            for (int x = 0; x < w; x++)
                acc |= m[x] = row[x] != row[x];
        } else {
            /* real_equal, without branches. */
            const float nd = t->nd;
            for (int x = 0; x < w; x++) {
                const float v = row[x];
                acc |= m[x] = (v == nd) |
                              (fabsf(v - nd) < FLT_EPSILON * fabsf(v + nd) * 2);
            }
        }
        r->mask_y[y % 3] = y;
        r->mask_any[y % 3] = acc != 0;
    }
    *any = r->mask_any[y % 3];
    return m;
}

/* Output row y (input coordinates) from column ox, out_w pixels. `bad`
 * has room for w bytes. */
static void compute_row(const terrain *t, steps4_fn steps4, row_ring *r, int h,
                        int ox, int y, double *out, int out_w,
                        unsigned char *restrict bad)
{
    const int w = r->w;
    const float *rows[3];
    for (int k = 0; k < 3; k++)
        rows[k] =
            y - 1 + k >= 0 && y - 1 + k < h ? ring_row(r, y - 1 + k) : NULL;
    const int end = ox + out_w;
    if (y == 0 || y == h - 1) {
        for (int x = ox; x < end; x++)
            out[x - ox] = pixel(t, rows, w, h, x, y);
        return;
    }
    /* Interior columns [xa, xb): 1 to w - 2; the edge columns around. */
    const int xa = ox > 1 ? ox : 1;
    const int xb = end < w - 1 ? end : w - 1;
    for (int x = ox; x < end && x < xa; x++)
        out[x - ox] = pixel(t, rows, w, h, x, y);
    for (int x = xb > xa ? xb : xa; x < end; x++)
        out[x - ox] = pixel(t, rows, w, h, x, y);
    if (xa >= xb)
        return;

    int any = 0;
    const unsigned char *m[3] = {NULL, NULL, NULL};
    if (t->has_nd) {
        for (int k = 0; k < 3; k++) {
            int a = 0;
            m[k] = ring_mask(t, r, y - 1 + k, &a);
            any |= a;
        }
    }
    if (!any) {
        run(t, steps4, rows[0], rows[1], rows[2], xa, xb - xa, out + (xa - ox));
        return;
    }
    /* bad[x]: pixel x's window holds NoData. */
    const unsigned char *restrict m0 = m[0], *restrict m1 = m[1],
                                  *restrict m2 = m[2];
    for (int x = xa; x < xb; x++)
        bad[x] = m0[x - 1] | m0[x] | m0[x + 1] | m1[x - 1] | m1[x] | m1[x + 1] |
                 m2[x - 1] | m2[x] | m2[x + 1];
    int x = xa;
    while (x < xb) {
        const unsigned char *next =
            (const unsigned char *)memchr(bad + x, 1, (size_t)(xb - x));
        const int e = next ? (int)(next - bad) : xb;
        if (e > x)
            run(t, steps4, rows[0], rows[1], rows[2], x, e - x, out + (x - ox));
        for (x = e; x < xb && bad[x]; x++)
            out[x - ox] = pixel(t, rows, w, h, x, y);
    }
}

/* Widths up to this take their row buffers on the stack. */
#define STACK_WIDTH 1024

static int compute(const terrain *t, const float *fin, const double *din,
                   int in_w, int in_h, int ox, int oy, double *out, int out_w,
                   int out_h)
{
    if (in_w < 0 || in_h < 0 || out_w < 0 || out_h < 0 || ox < 0 || oy < 0 ||
        ox > in_w - out_w || oy > in_h - out_h) {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "%s: output window %dx%d at (%d, %d) is not inside the "
                 "%dx%d input",
                 fn, out_w, out_h, ox, oy, in_w, in_h);
        return -1;
    }
    if (out_w == 0 || out_h == 0)
        return 0;

    /* Per column: 3 converted rows (double input), 3 masks, bad. */
    const size_t per_col = (fin ? 0 : 3 * sizeof(float)) + 4;
    float stack[(STACK_WIDTH * (3 * sizeof(float) + 4)) / sizeof(float)];
    void *mem = stack;
    if (in_w > STACK_WIDTH) {
        mem = VSIMalloc2(in_w, per_col);
        if (mem == NULL) {
            CPLError(CE_Failure, CPLE_OutOfMemory,
                     "%s: out of memory for a %dx%d window", fn, in_w, in_h);
            return -1;
        }
    }
    row_ring r;
    memset(&r, 0, sizeof r);
    r.f = fin;
    r.d = din;
    r.w = in_w;
    unsigned char *bytes = (unsigned char *)mem;
    if (!fin) {
        r.rows = (float *)mem;
        bytes += 3 * sizeof(float) * (size_t)in_w;
    }
    r.mask = bytes;
    unsigned char *bad = bytes + 3 * (size_t)in_w;
    for (int k = 0; k < 3; k++)
        r.row_y[k] = r.mask_y[k] = -1;

    const steps4_fn steps4 = steps4_for(t);
    for (int j = 0; j < out_h; j++)
        compute_row(t, steps4, &r, in_h, ox, oy + j, out + (size_t)j * out_w,
                    out_w, bad);
    if (mem != stack)
        VSIFree(mem);
    return 0;
}

int pvrt__terrain_compute(const void *state, const double *in, int in_w,
                          int in_h, int ox, int oy, double *out, int out_w,
                          int out_h)
{
    return compute((const terrain *)state, NULL, in, in_w, in_h, ox, oy, out,
                   out_w, out_h);
}

int pvrt__terrain_compute_float(const void *state, const float *in, int in_w,
                                int in_h, int ox, int oy, double *out,
                                int out_w, int out_h)
{
    return compute((const terrain *)state, in, NULL, in_w, in_h, ox, oy, out,
                   out_w, out_h);
}
