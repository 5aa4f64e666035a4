/* disasm.c: a readable listing of a pvrt_expr program.
 *
 * For tests (which check what the compiler emitted, e.g. that folding left
 * no instruction) and for debugging. Register names say what a register
 * holds: sN source N (1-based, as Bn), kN constant, tN temporary. */
#include "expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reg_name(const pvrt__expr_program *prog, uint32_t r, char *buf,
                     size_t size)
{
    if (r < (uint32_t)prog->nused)
        snprintf(buf, size, "B%d", (int)prog->used[r] + 1);
    else if (r < (uint32_t)(prog->nused + prog->nkregs))
        snprintf(buf, size, "k%u", (unsigned)(r - (uint32_t)prog->nused));
    else
        snprintf(buf, size, "t%u",
                 (unsigned)(r - (uint32_t)(prog->nused + prog->nkregs)));
}

char *pvrt__expr_disasm(const pvrt__expr_program *prog)
{
    const size_t line = 128;
    const size_t size = line * ((size_t)prog->ncode + (size_t)prog->nkregs + 2);
    char *out = (char *)malloc(size);
    if (out == NULL)
        return NULL;
    size_t used = 0;
    char r0[24], r1[24], r2[24], r3[24];
    for (int k = 0; k < prog->nkregs; k++)
        used += (size_t)snprintf(out + used, size - used, "k%d = %.17g\n", k,
                                 prog->kpool[k]);
    for (int pc = 0; pc < prog->ncode; pc++) {
        const pvrt__expr_insn *in = &prog->code[pc];
        const int kind = pvrt__expr_op_kind[in->op];
        reg_name(prog, in->dst, r0, sizeof(r0));
        reg_name(prog, in->a, r1, sizeof(r1));
        reg_name(prog, in->b, r2, sizeof(r2));
        reg_name(prog, in->c, r3, sizeof(r3));
        if (kind == PVRT_KIND_LOADK)
            used +=
                (size_t)snprintf(out + used, size - used, "%s = loadk %.17g\n",
                                 r0, prog->kpool[in->a]);
        else if (kind == PVRT_KIND_2)
            used += (size_t)snprintf(out + used, size - used, "%s = %s %s %s\n",
                                     r0, pvrt__expr_op_name[in->op], r1, r2);
        else if (kind == PVRT_KIND_3)
            used +=
                (size_t)snprintf(out + used, size - used, "%s = %s %s %s %s\n",
                                 r0, pvrt__expr_op_name[in->op], r1, r2, r3);
        else
            used += (size_t)snprintf(out + used, size - used, "%s = %s %s\n",
                                     r0, pvrt__expr_op_name[in->op], r1);
    }
    reg_name(prog, prog->result, r0, sizeof(r0));
    snprintf(out + used, size - used, "result %s\n", r0);
    return out;
}
