/* scalar.h: what each pvrt_expr opcode computes, on one value.
 *
 * One static inline kernel per opcode of opcodes.def, named pvrt__sc_NAME.
 * The VM (vm.c) calls them in its block loops and the constant folder
 * (compile.c) on scalars, so a folded constant is bit for bit what the VM
 * would have computed. Everything is defined for every input, with no C
 * undefined behaviour:
 *  - division by zero follows IEEE (x/0 = +-inf, 0/0 = NaN) but is computed
 *    without dividing by zero, so UBSan's float-divide-by-zero stays clean;
 *  - bitwise operators truncate operands toward zero to 64-bit integers; an
 *    operand that is NaN, infinite or outside [-2^63, 2^63) gives NaN, as
 *    does a shift count outside [0, 63]; `<<` wraps as two's complement,
 *    `>>` is arithmetic;
 *  - comparisons and logic give 1 or 0, and NaN counts as true (as in C);
 *  - min, max and clamp give NaN when an operand is NaN. */
#ifndef PVRT_EXPR_SCALAR_H
#define PVRT_EXPR_SCALAR_H

#include <math.h>
#include <stdint.h>

#define PVRT__SC static inline double

/* x truncated toward zero, when it fits an int64. */
static inline int pvrt__sc_to_i64(double x, int64_t *out)
{
    if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
        return 0;
    *out = (int64_t)x;
    return 1;
}

PVRT__SC pvrt__sc_NEG(double x)
{
    return -x;
}
PVRT__SC pvrt__sc_NOT(double x)
{
    return x == 0 ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_BNOT(double x)
{
    int64_t i;
    return pvrt__sc_to_i64(x, &i) ? (double)~i : NAN;
}

PVRT__SC pvrt__sc_POW(double a, double b)
{
    return pow(a, b);
}
PVRT__SC pvrt__sc_MUL(double a, double b)
{
    return a * b;
}
PVRT__SC pvrt__sc_DIV(double a, double b)
{
    /* a / +-0 is a * +-inf in IEEE arithmetic (+-inf, or NaN for 0 and
     * NaN). Written as selects around a division that never sees zero, so
     * the loop vectorises and UBSan's float-divide-by-zero stays quiet. */
    const double zero = b == 0 ? 1.0 : 0.0;
    const double q = a / (b + zero); /* b, or 1 where b is 0 */
    const double z = a * copysign(INFINITY, b);
    return zero != 0 ? z : q;
}
PVRT__SC pvrt__sc_MOD(double a, double b)
{
    return fmod(a, b);
}
PVRT__SC pvrt__sc_ADD(double a, double b)
{
    return a + b;
}
PVRT__SC pvrt__sc_SUB(double a, double b)
{
    return a - b;
}
PVRT__SC pvrt__sc_SHL(double a, double b)
{
    int64_t i, n;
    if (!pvrt__sc_to_i64(a, &i) || !pvrt__sc_to_i64(b, &n) || n < 0 || n > 63)
        return NAN;
    const uint64_t u = (uint64_t)i << n;
    /* Two's complement wrap, without the implementation-defined cast. */
    const int64_t s = u <= (uint64_t)INT64_MAX
                          ? (int64_t)u
                          : (int64_t)(u - (uint64_t)INT64_MAX - 1u) + INT64_MIN;
    return (double)s;
}
PVRT__SC pvrt__sc_SHR(double a, double b)
{
    int64_t i, n;
    if (!pvrt__sc_to_i64(a, &i) || !pvrt__sc_to_i64(b, &n) || n < 0 || n > 63)
        return NAN;
    return (double)(i < 0 ? ~(~i >> n) : i >> n);
}
PVRT__SC pvrt__sc_BAND(double a, double b)
{
    int64_t i, j;
    return pvrt__sc_to_i64(a, &i) && pvrt__sc_to_i64(b, &j) ? (double)(i & j)
                                                            : NAN;
}
PVRT__SC pvrt__sc_BXOR(double a, double b)
{
    int64_t i, j;
    return pvrt__sc_to_i64(a, &i) && pvrt__sc_to_i64(b, &j) ? (double)(i ^ j)
                                                            : NAN;
}
PVRT__SC pvrt__sc_BOR(double a, double b)
{
    int64_t i, j;
    return pvrt__sc_to_i64(a, &i) && pvrt__sc_to_i64(b, &j) ? (double)(i | j)
                                                            : NAN;
}
PVRT__SC pvrt__sc_LT(double a, double b)
{
    return a < b ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_LE(double a, double b)
{
    return a <= b ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_GT(double a, double b)
{
    return a > b ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_GE(double a, double b)
{
    return a >= b ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_EQ(double a, double b)
{
    return a == b ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_NE(double a, double b)
{
    return a != b ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_LAND(double a, double b)
{
    return ((a != 0) & (b != 0)) ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_LOR(double a, double b)
{
    return ((a != 0) | (b != 0)) ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_SELECT(double c, double a, double b)
{
    return c != 0 ? a : b;
}

PVRT__SC pvrt__sc_ABS(double x)
{
    return fabs(x);
}
PVRT__SC pvrt__sc_SQRT(double x)
{
    return sqrt(x);
}
PVRT__SC pvrt__sc_CBRT(double x)
{
    return cbrt(x);
}
PVRT__SC pvrt__sc_EXP(double x)
{
    return exp(x);
}
PVRT__SC pvrt__sc_EXP2(double x)
{
    return exp2(x);
}
PVRT__SC pvrt__sc_LOG(double x)
{
    return log(x);
}
PVRT__SC pvrt__sc_LOG2(double x)
{
    return log2(x);
}
PVRT__SC pvrt__sc_LOG10(double x)
{
    return log10(x);
}
PVRT__SC pvrt__sc_SIN(double x)
{
    return sin(x);
}
PVRT__SC pvrt__sc_COS(double x)
{
    return cos(x);
}
PVRT__SC pvrt__sc_TAN(double x)
{
    return tan(x);
}
PVRT__SC pvrt__sc_ASIN(double x)
{
    return asin(x);
}
PVRT__SC pvrt__sc_ACOS(double x)
{
    return acos(x);
}
PVRT__SC pvrt__sc_ATAN(double x)
{
    return atan(x);
}
PVRT__SC pvrt__sc_SINH(double x)
{
    return sinh(x);
}
PVRT__SC pvrt__sc_COSH(double x)
{
    return cosh(x);
}
PVRT__SC pvrt__sc_TANH(double x)
{
    return tanh(x);
}
PVRT__SC pvrt__sc_FLOOR(double x)
{
    return floor(x);
}
PVRT__SC pvrt__sc_CEIL(double x)
{
    return ceil(x);
}
PVRT__SC pvrt__sc_ROUND(double x)
{
    return round(x);
} /* half away from 0 */
PVRT__SC pvrt__sc_TRUNC(double x)
{
    return trunc(x);
}
/* 1 or -1; a zero keeps its sign, NaN stays NaN. */
PVRT__SC pvrt__sc_SIGN(double x)
{
    return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
}
PVRT__SC pvrt__sc_ISNAN(double x)
{
    return x != x ? 1.0 : 0.0;
}
PVRT__SC pvrt__sc_ISINF(double x)
{
    return isinf(x) ? 1.0 : 0.0;
}

PVRT__SC pvrt__sc_ATAN2(double a, double b)
{
    return atan2(a, b);
}
PVRT__SC pvrt__sc_HYPOT(double a, double b)
{
    return hypot(a, b);
}
/* The first operand wins ties (min(-0, 0) is -0); NaN if either is NaN. */
PVRT__SC pvrt__sc_MIN(double a, double b)
{
    return a != a ? a : b != b ? b : b < a ? b : a;
}
PVRT__SC pvrt__sc_MAX(double a, double b)
{
    return a != a ? a : b != b ? b : b > a ? b : a;
}
PVRT__SC pvrt__sc_CLAMP(double x, double lo, double hi)
{
    return pvrt__sc_MIN(pvrt__sc_MAX(x, lo), hi);
}

/* isnodata(x): x equals the nodata value (NaN nodata matches NaN); always
 * 0 when there is no nodata value. */
static inline double pvrt__sc_isnodata(double x, int has_nodata, double nodata)
{
    if (!has_nodata)
        return 0.0;
    return (nodata != nodata ? x != x : x == nodata) ? 1.0 : 0.0;
}

#undef PVRT__SC

#endif
