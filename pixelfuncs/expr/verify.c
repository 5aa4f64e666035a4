/* verify.c: checks a pvrt_expr program once, so the VM never checks.
 *
 * The VM (vm.c) trusts every fact listed here: register layout within the
 * limits, known opcodes, operands that are registers written before they
 * are read, destinations that are temporaries distinct from their operands
 * (its loops declare `restrict`), constant-pool indices in range, source
 * indices within the band's sources, and a result register that holds a
 * value. Programs have no jumps, so one pass in order is complete. Runs on
 * every freshly compiled program; the fuzzer runs it too. */
#include "expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(pvrt__expr_error *err, int pc, const char *what)
{
    err->column = 0;
    if (pc >= 0)
        snprintf(err->message, sizeof(err->message),
                 "internal error: invalid program at instruction %d: %s", pc,
                 what);
    else
        snprintf(err->message, sizeof(err->message),
                 "internal error: invalid program: %s", what);
    return -1;
}

int pvrt__expr_verify(const pvrt__expr_program *prog, pvrt__expr_error *err)
{
    if (prog == NULL)
        return bad(err, -1, "no program");
    if (prog->nsources < 0 || prog->nused < 0 || prog->nused > prog->nsources)
        return bad(err, -1, "source count");
    for (int r = 0; r < prog->nused; r++) {
        if (prog->used[r] < 0 || prog->used[r] >= prog->nsources)
            return bad(err, -1, "source index out of range");
        if (r > 0 && prog->used[r] <= prog->used[r - 1])
            return bad(err, -1, "source registers out of order");
    }
    if (prog->nk < 0 || prog->nkregs < 0 || prog->nkregs > prog->nk ||
        prog->nkregs > PVRT_EXPR_MAX_KREGS || (prog->nk > 0 && !prog->kpool))
        return bad(err, -1, "constant pool");
    const int temp_base = prog->nused + prog->nkregs;
    if (prog->nregs < temp_base || prog->nregs > PVRT_EXPR_MAX_REGS)
        return bad(err, -1, "register count");
    if (prog->ncode < 0 || (prog->ncode > 0 && prog->code == NULL))
        return bad(err, -1, "code");

    unsigned char *written =
        (unsigned char *)calloc((size_t)prog->nregs + 1, 1);
    if (written == NULL)
        return bad(err, -1, "out of memory");
    memset(written, 1, (size_t)temp_base);
    int rc = 0;
    for (int pc = 0; pc < prog->ncode && rc == 0; pc++) {
        const pvrt__expr_insn *in = &prog->code[pc];
        if (in->op >= PVRT_OP_COUNT) {
            rc = bad(err, pc, "unknown opcode");
            break;
        }
        if (in->dst < (uint32_t)temp_base || in->dst >= (uint32_t)prog->nregs) {
            rc = bad(err, pc, "destination is not a temporary");
            break;
        }
        const int kind = pvrt__expr_op_kind[in->op];
        const uint32_t operands[3] = {in->a, in->b, in->c};
        if (kind == PVRT_KIND_LOADK && in->a >= (uint32_t)prog->nk) {
            rc = bad(err, pc, "constant index out of range");
            break;
        }
        for (int k = 0; k < pvrt__expr_kind_arity(kind); k++) {
            if (operands[k] >= (uint32_t)prog->nregs || !written[operands[k]])
                rc = bad(err, pc, "operand read before it is written");
            else if (operands[k] == in->dst)
                rc = bad(err, pc, "destination aliases an operand");
        }
        written[in->dst] = 1;
    }
    if (rc == 0 &&
        (prog->result >= (uint32_t)prog->nregs || !written[prog->result]))
        rc = bad(err, -1, "result register holds no value");
    free(written);
    return rc;
}
