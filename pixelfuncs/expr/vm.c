/* vm.c: runs a verified pvrt_expr program over a block of pixels.
 *
 * Each instruction runs over the whole block (up to PVRT_EXPR_BLOCK
 * values) before the next, so dispatch costs once per block, not per
 * pixel, and the loops vectorise: a full block runs a loop of constant trip
 * count, a shorter tail block the same loop bounded by n. The kernels are
 * scalar.h's, shared with the constant folder. No checks here: verify.c
 * proved the program well-formed. Reentrant: the register file belongs to
 * the caller, the program is read-only. */
#include "expr.h"

#include "scalar.h"

#define BLOCK PVRT_EXPR_BLOCK

/* The loop over i, full block or tail. */
#define EACH(body)                                                            \
    do {                                                                      \
        if (n == BLOCK) {                                                     \
            for (int i = 0; i < BLOCK; i++)                                   \
                body;                                                         \
        } else {                                                              \
            for (int i = 0; i < n; i++)                                       \
                body;                                                         \
        }                                                                     \
    } while (0)

#define REG(r) (regs + (size_t)(r) * BLOCK)

#define RUN_PVRT_KIND_1(name)                                                 \
    {                                                                         \
        const double *restrict a = REG(in->a);                                \
        EACH(d[i] = pvrt__sc_##name(a[i]));                                   \
    }
#define RUN_PVRT_KIND_2(name)                                                 \
    {                                                                         \
        const double *restrict a = REG(in->a);                                \
        const double *restrict b = REG(in->b);                                \
        EACH(d[i] = pvrt__sc_##name(a[i], b[i]));                             \
    }
#define RUN_PVRT_KIND_3(name)                                                 \
    {                                                                         \
        const double *restrict a = REG(in->a);                                \
        const double *restrict b = REG(in->b);                                \
        const double *restrict c = REG(in->c);                                \
        EACH(d[i] = pvrt__sc_##name(a[i], b[i], c[i]));                       \
    }
#define RUN_PVRT_KIND_LOADK(name)                                             \
    {                                                                         \
        const double k = prog->kpool[in->a];                                  \
        EACH(d[i] = k);                                                       \
    }
#define RUN_PVRT_KIND_NODATA(name)                                            \
    {                                                                         \
        const double *restrict a = REG(in->a);                                \
        const int has = ctx->has_nodata;                                      \
        const double nd = ctx->nodata;                                        \
        EACH(d[i] = pvrt__sc_isnodata(a[i], has, nd));                        \
    }

void pvrt__expr_vm_load_constants(const pvrt__expr_program *prog,
                                  double *regs)
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
        double *restrict d = REG(in->dst);
        switch (in->op) {
#define PVRT_OP(name, text, kind, pure)                                       \
    case PVRT_OP_##name:                                                      \
        RUN_##kind(name) break;
#include "opcodes.def"
#undef PVRT_OP
        default: break;
        }
    }
}
