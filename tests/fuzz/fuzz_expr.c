/* fuzz_expr.c: libFuzzer target for the pvrt_expr front end.
 *
 * Input layout: the first byte picks the source count (0..7) and whether a
 * names= list is used; the rest is the expression text (it may contain any
 * byte, NUL included: the engine takes a length). Each input is parsed,
 * folded, compiled and verified; a program that compiles must verify, and
 * is then run once over one block of fixed source values, folded and
 * unfolded, and the two results compared bit for bit (NaN payloads aside).
 * Built with clang -fsanitize=fuzzer,address,undefined by
 * tests/fuzz/run_expr_fuzz.sh (CMake option PVRT_FUZZ). */
#include "expr.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const names_lists[8] = {
    "",        "a",         "red,nir",     "red,nir,swir",
    "a,b,c,d", "a,b,c,d,e", "a,b,c,d,e,f", "a,b,c,d,e,f,g"};

static double run(const pvrt__expr_program *prog, double *out)
{
    double *regs = (double *)calloc((size_t)prog->nregs + 1,
                                    sizeof(double) * PVRT_EXPR_BLOCK);
    if (regs == NULL)
        return 0;
    static const double values[] = {0,     -0.0, 1,        -1, 2.5, 255,
                                    1e300, NAN,  INFINITY, -7, 63,  64};
    for (int r = 0; r < prog->nused; r++)
        for (int i = 0; i < PVRT_EXPR_BLOCK; i++)
            regs[(size_t)r * PVRT_EXPR_BLOCK + i] =
                values[(i + 3 * prog->used[r]) % 12];
    pvrt__expr_vm_load_constants(prog, regs);
    const pvrt__expr_vm_ctx ctx = {1, -7};
    pvrt__expr_vm_run(prog, regs, PVRT_EXPR_BLOCK - 3, &ctx);
    memcpy(out, regs + (size_t)prog->result * PVRT_EXPR_BLOCK,
           sizeof(double) * (PVRT_EXPR_BLOCK - 3));
    free(regs);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const int nsources = data[0] & 7;
    const char *names = (data[0] & 8) ? names_lists[nsources] : NULL;
    const char *text = (const char *)data + 1;
    const size_t len = size - 1;
    pvrt__expr_error err;
    pvrt__expr_program *folded =
        pvrt__expr_compile(text, len, nsources, names, 0, &err);
    if (folded == NULL) {
        if (err.column < 0 || (size_t)err.column > len + 1 ||
            err.message[0] == '\0')
            abort(); /* every error says what and where */
        return 0;
    }
    pvrt__expr_program *plain =
        pvrt__expr_compile(text, len, nsources, names, PVRT_EXPR_NO_FOLD, &err);
    if (plain == NULL)
        abort(); /* folding must not change what compiles */
    char *listing = pvrt__expr_disasm(folded);
    free(listing);
    static double a[PVRT_EXPR_BLOCK], b[PVRT_EXPR_BLOCK];
    run(folded, a);
    run(plain, b);
    for (int i = 0; i < PVRT_EXPR_BLOCK - 3; i++)
        if (memcmp(&a[i], &b[i], sizeof(double)) != 0 &&
            !(isnan(a[i]) && isnan(b[i])))
            abort(); /* folded and unfolded programs disagree */
    pvrt__expr_program_free(folded);
    pvrt__expr_program_free(plain);
    return 0;
}
