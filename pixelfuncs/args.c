/* args.c: parsing <PixelFunctionArguments> with errors that say where.
 *
 * GDAL hands a pixel function its arguments as NAME=VALUE strings. These
 * helpers parse them strictly (the whole value must parse) and report a bad
 * value once, naming the function and the argument, so callers only
 * propagate -1. */
#include "pf_private.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int pvrt__parse_double(const char *text, double *out)
{
    while (*text == ' ' || *text == '\t')
        text++;
    if (*text == '\0')
        return -1;
    if (EQUAL(text, "nan")) {
        *out = NAN;
        return 0;
    }
    if (EQUAL(text, "inf") || EQUAL(text, "+inf")) {
        *out = INFINITY;
        return 0;
    }
    if (EQUAL(text, "-inf")) {
        *out = -INFINITY;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0' || isnan(v) || (errno == ERANGE && isinf(v)))
        return -1;
    *out = v;
    return 0;
}

int pvrt__arg_double(CSLConstList args, const char *fn, const char *name,
                     double dflt, double *out)
{
    const char *text = CSLFetchNameValue(args, name);
    if (text == NULL) {
        *out = dflt;
        return 1;
    }
    if (pvrt__parse_double(text, out) != 0) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument '%s' must be a number, got '%s'", fn, name,
                 text);
        return -1;
    }
    return 0;
}

int pvrt__arg_int(CSLConstList args, const char *fn, const char *name, int dflt,
                  int lo, int hi, int *out)
{
    const char *text = CSLFetchNameValue(args, name);
    if (text == NULL) {
        *out = dflt;
        return 1;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument '%s' must be an integer in [%d, %d], got '%s'",
                 fn, name, lo, hi, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* `nodata` (ours) and `NoData` (GDAL's builtin) differ only in case; GDAL
 * merges builtins into the arguments with CSLSetNameValue, so one entry
 * arrives, spelled as set last (ours up to 3.10, the builtin on 3.13).
 * Looked up exactly so that an error names the spelling that arrived. */
static const char *fetch_exact(CSLConstList args, const char *name)
{
    const size_t len = strlen(name);
    for (; args && *args; args++)
        if (strncmp(*args, name, len) == 0 && (*args)[len] == '=')
            return *args + len + 1;
    return NULL;
}

int pvrt__arg_nodata(CSLConstList args, const char *fn, int *has, double *value)
{
    *has = 0;
    const char *own = fetch_exact(args, "nodata");
    const char *builtin = fetch_exact(args, "NoData");
    const char *text = own ? own : builtin;
    if (text == NULL)
        return 0;
    if (pvrt__parse_double(text, value) != 0) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument '%s' must be a number, got '%s'", fn,
                 own ? "nodata" : "NoData", text);
        return -1;
    }
    *has = 1;
    return 0;
}

int pvrt__arg_double_list(CSLConstList args, const char *fn, const char *name,
                          double **out, int *n)
{
    *out = NULL;
    *n = 0;
    const char *text = CSLFetchNameValue(args, name);
    if (text == NULL)
        return 0;
    char **items = CSLTokenizeString2(
        text, ",",
        CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES | CSLT_ALLOWEMPTYTOKENS);
    const int count = CSLCount(items);
    if (count == 0) {
        CSLDestroy(items);
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: argument '%s' must be a comma-separated list of "
                 "numbers, got an empty value",
                 fn, name);
        return -1;
    }
    double *values = (double *)CPLMalloc(sizeof(double) * (size_t)count);
    for (int i = 0; i < count; i++) {
        if (pvrt__parse_double(items[i], &values[i]) != 0) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "%s: argument '%s': item %d ('%s') is not a number", fn,
                     name, i + 1, items[i]);
            CPLFree(values);
            CSLDestroy(items);
            return -1;
        }
    }
    CSLDestroy(items);
    *out = values;
    *n = count;
    return 0;
}

int pvrt__require_real(const char *fn, GDALDataType src_type)
{
    if (!GDALDataTypeIsComplex(src_type))
        return 0;
    CPLError(CE_Failure, CPLE_NotSupported,
             "%s: complex data types are not supported (sources are %s); "
             "read as a real type or set <SourceTransferType>",
             fn, GDALGetDataTypeName(src_type));
    return -1;
}
