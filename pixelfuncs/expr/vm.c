/* vm.c: runs a verified pvrt_expr program over a block of pixels.
 *
 * Each instruction runs over the whole block (up to PVRT_EXPR_BLOCK
 * values) before the next, so dispatch costs once per block, not per
 * pixel, and the loops vectorise: a full block runs a loop of constant trip
 * count, a shorter tail block the same loop bounded by n. The kernels are
 * scalar.h's, shared with the constant folder. No checks here: verify.c
 * proved the program well-formed. Reentrant: the register file belongs to
 * the caller, the program is read-only. */
/* GCC keeps selects around floating-point compares as branches (so does
 * not vectorise them) while it must preserve floating-point exception
 * flags. Nothing reads those flags and no result changes, so this file
 * (kernels included) is compiled without that constraint. Clang
 * vectorises these loops as they are. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "expr.h"

#include "scalar.h"

#define BLOCK PVRT_EXPR_BLOCK

/* The loop over i, full block or tail. */
#define EACH(body)                                                             \
    do {                                                                       \
        if (n == BLOCK) {                                                      \
            for (int i = 0; i < BLOCK; i++)                                    \
                body;                                                          \
        } else {                                                               \
            for (int i = 0; i < n; i++)                                        \
                body;                                                          \
        }                                                                      \
    } while (0)

#define REG(r) (regs + (size_t)(r)*BLOCK)

/* One kernel function per opcode, so `restrict` sits on parameters, where
 * compilers honour it: the verifier proved dst never aliases an operand,
 * and operands are only read. Without it GCC -O2 would not vectorise. */
#define DEF_PVRT_KIND_1(name)                                                  \
    static void k_##name(double *restrict d, const double *restrict a, int n)  \
    {                                                                          \
        EACH(d[i] = pvrt__sc_##name(a[i]));                                    \
    }
#define DEF_PVRT_KIND_2(name)                                                  \
    static void k_##name(double *restrict d, const double *restrict a,         \
                         const double *restrict b, int n)                      \
    {                                                                          \
        EACH(d[i] = pvrt__sc_##name(a[i], b[i]));                              \
    }
#define DEF_PVRT_KIND_3(name)                                                  \
    static void k_##name(double *restrict d, const double *restrict a,         \
                         const double *restrict b, const double *restrict c,   \
                         int n)                                                \
    {                                                                          \
        EACH(d[i] = pvrt__sc_##name(a[i], b[i], c[i]));                        \
    }
#define DEF_PVRT_KIND_LOADK(name)
#define DEF_PVRT_KIND_NODATA(name)
#define PVRT_OP(name, text, kind, pure) DEF_##kind(name)
#include "opcodes.def"
#undef PVRT_OP

#define RUN_PVRT_KIND_1(name) k_##name(d, REG(in->a), n);
#define RUN_PVRT_KIND_2(name) k_##name(d, REG(in->a), REG(in->b), n);
#define RUN_PVRT_KIND_3(name)                                                  \
    k_##name(d, REG(in->a), REG(in->b), REG(in->c), n);
#define RUN_PVRT_KIND_LOADK(name)                                              \
    {                                                                          \
        const double k = prog->kpool[in->a];                                   \
        EACH(d[i] = k);                                                        \
    }
#define RUN_PVRT_KIND_NODATA(name)                                             \
    {                                                                          \
        const double *a = REG(in->a);                                          \
        const int has = ctx->has_nodata;                                       \
        const double nd = ctx->nodata;                                         \
        EACH(d[i] = pvrt__sc_isnodata(a[i], has, nd));                         \
    }

void pvrt__expr_vm_load_constants(const pvrt__expr_program *prog, double *regs)
{
    for (int k = 0; k < prog->nkregs; k++) {
        double *r = REG(prog->nused + k);
        for (int i = 0; i < BLOCK; i++)
            r[i] = prog->kpool[k];
    }
}

void pvrt__expr_vm_run(const pvrt__expr_program *prog, double *regs, int n,
                       const pvrt__expr_vm_ctx *ctx)
{
    for (int pc = 0; pc < prog->ncode; pc++) {
        const pvrt__expr_insn *in = &prog->code[pc];
        double *d = REG(in->dst);
        switch (in->op) {
#define PVRT_OP(name, text, kind, pure)                                        \
    case PVRT_OP_##name:                                                       \
        RUN_##kind(name) break;
#include "opcodes.def"
#undef PVRT_OP
            default:
                break;
        }
    }
}
