/* compile.c: pvrt_expr AST to register bytecode, with constant folding.
 *
 * Folding replaces every pure operation whose operands are all constants
 * by its value, computed by the same scalar kernels the VM runs (scalar.h),
 * so folding never changes a result; isnodata() is not pure (the nodata
 * value comes with each read) and is never folded.
 *
 * Code generation walks the post-order node array once. Ternaries evaluate
 * both branches and select, as a vectorised VM must; every operation is
 * total, so that changes no result. Each operation writes a fresh temporary
 * (never one of its operands, so VM loops can declare `restrict`), and
 * frees its operands' temporaries after it; temporaries holding locals stay
 * live to the end. The first PVRT_EXPR_MAX_KREGS distinct constants get
 * registers filled once per call; further ones are loaded (LOADK) where
 * used. pvrt__expr_compile ties parser, folder, code generator and verifier
 * together; it is what the pixel function and the fuzzer call. */
#include "expr.h"

#include "scalar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pvrt__expr_op_name[PVRT_OP_COUNT] = {
#define PVRT_OP(name, text, kind, pure) text,
#include "opcodes.def"
#undef PVRT_OP
};
const unsigned char pvrt__expr_op_kind[PVRT_OP_COUNT] = {
#define PVRT_OP(name, text, kind, pure) kind,
#include "opcodes.def"
#undef PVRT_OP
};
const unsigned char pvrt__expr_op_pure[PVRT_OP_COUNT] = {
#define PVRT_OP(name, text, kind, pure) pure,
#include "opcodes.def"
#undef PVRT_OP
};

int pvrt__expr_kind_arity(int kind)
{
    switch (kind) {
        case PVRT_KIND_1:
        case PVRT_KIND_NODATA:
            return 1;
        case PVRT_KIND_2:
            return 2;
        case PVRT_KIND_3:
            return 3;
        default:
            return 0;
    }
}

#define APPLY_PVRT_KIND_1(name) return pvrt__sc_##name(a);
#define APPLY_PVRT_KIND_2(name) return pvrt__sc_##name(a, b);
#define APPLY_PVRT_KIND_3(name) return pvrt__sc_##name(a, b, c);
#define APPLY_PVRT_KIND_LOADK(name) break;
#define APPLY_PVRT_KIND_NODATA(name) break;

double pvrt__expr_apply(int op, double a, double b, double c)
{
    (void)b;
    (void)c;
    switch (op) {
#define PVRT_OP(name, text, kind, pure)                                        \
    case PVRT_OP_##name:                                                       \
        APPLY_##kind(name)
#include "opcodes.def"
#undef PVRT_OP
        default:
            break;
    }
    return NAN;
}

static int node_arity(const pvrt__expr_node *n)
{
    if (n->type == PVRT_NODE_OP)
        return pvrt__expr_kind_arity(pvrt__expr_op_kind[n->op]);
    return n->type == PVRT_NODE_LOCAL ? 1 : 0;
}

int pvrt__expr_fold(pvrt__expr_ast *ast)
{
    int folded = 0;
    for (int i = 0; i < ast->count; i++) {
        pvrt__expr_node *n = &ast->nodes[i];
        if (n->type == PVRT_NODE_LOCAL) {
            const pvrt__expr_node *def = &ast->nodes[n->a];
            if (def->type == PVRT_NODE_CONST) {
                n->type = PVRT_NODE_CONST;
                n->value = def->value;
                n->a = -1;
                folded++;
            }
            continue;
        }
        if (n->type != PVRT_NODE_OP || !pvrt__expr_op_pure[n->op])
            continue;
        const int arity = node_arity(n);
        const int32_t kids[3] = {n->a, n->b, n->c};
        double v[3] = {0, 0, 0};
        int constant = arity > 0;
        for (int k = 0; k < arity && constant; k++) {
            constant = ast->nodes[kids[k]].type == PVRT_NODE_CONST;
            if (constant)
                v[k] = ast->nodes[kids[k]].value;
        }
        if (!constant)
            continue;
        n->value = pvrt__expr_apply(n->op, v[0], v[1], v[2]);
        n->type = PVRT_NODE_CONST;
        n->a = n->b = n->c = -1;
        folded++;
    }
    return folded;
}

/* ---- Code generation ---------------------------------------------------- */

typedef struct {
    const pvrt__expr_ast *ast;
    pvrt__expr_program *prog;
    pvrt__expr_error *err;
    int32_t *reg;         /* per node: its register, -1 before it has one */
    unsigned char *live;  /* per node */
    unsigned char *local; /* per node: defines a local (its register stays) */
    int32_t *free_temps;  /* stack of free temporaries */
    int nfree;
    int ntemps;    /* temporaries ever allocated */
    int temp_base; /* first temporary register */
    int code_cap;
} codegen;

static int cg_fail(codegen *cg, int column, const char *msg)
{
    cg->err->column = column;
    snprintf(cg->err->message, sizeof(cg->err->message), "%s", msg);
    return -1;
}

static int32_t alloc_temp(codegen *cg, int column)
{
    if (cg->nfree > 0)
        return cg->free_temps[--cg->nfree];
    if (cg->temp_base + cg->ntemps >= PVRT_EXPR_MAX_REGS) {
        char msg[96];
        snprintf(msg, sizeof(msg),
                 "expression too complex: it needs more than %d registers",
                 PVRT_EXPR_MAX_REGS);
        return cg_fail(cg, column, msg);
    }
    return cg->temp_base + cg->ntemps++;
}

static int emit(codegen *cg, int op, int32_t dst, int32_t a, int32_t b,
                int32_t c)
{
    pvrt__expr_program *prog = cg->prog;
    if (prog->ncode == cg->code_cap) {
        const int cap = cg->code_cap ? cg->code_cap * 2 : 16;
        pvrt__expr_insn *code = (pvrt__expr_insn *)realloc(
            prog->code, sizeof(pvrt__expr_insn) * (size_t)cap);
        if (code == NULL)
            return cg_fail(cg, 0, "out of memory");
        prog->code = code;
        cg->code_cap = cap;
    }
    pvrt__expr_insn *in = &prog->code[prog->ncode++];
    in->op = (uint32_t)op;
    in->dst = (uint32_t)dst;
    in->a = (uint32_t)(a < 0 ? 0 : a);
    in->b = (uint32_t)(b < 0 ? 0 : b);
    in->c = (uint32_t)(c < 0 ? 0 : c);
    return 0;
}

/* Index of v in the constant pool (same bits), appended if new. */
static int pool_index(pvrt__expr_program *prog, double v, int *cap)
{
    for (int k = 0; k < prog->nk; k++)
        if (memcmp(&prog->kpool[k], &v, sizeof(double)) == 0)
            return k;
    if (prog->nk == *cap) {
        const int ncap = *cap ? *cap * 2 : 16;
        double *pool =
            (double *)realloc(prog->kpool, sizeof(double) * (size_t)ncap);
        if (pool == NULL)
            return -1;
        prog->kpool = pool;
        *cap = ncap;
    }
    prog->kpool[prog->nk] = v;
    return prog->nk++;
}

static int generate(codegen *cg)
{
    const pvrt__expr_ast *ast = cg->ast;
    pvrt__expr_program *prog = cg->prog;
    const int count = ast->count;

    /* Liveness, backwards: children sit at lower indices. */
    cg->live[ast->root] = 1;
    for (int i = count - 1; i >= 0; i--) {
        if (!cg->live[i])
            continue;
        const pvrt__expr_node *n = &ast->nodes[i];
        const int32_t kids[3] = {n->a, n->b, n->c};
        for (int k = 0; k < node_arity(n); k++)
            cg->live[kids[k]] = 1;
    }
    for (int l = 0; l < ast->nlocals; l++)
        cg->local[ast->locals[l]] = 1;

    /* Source registers: every source named in the text, in index order
     * (the pixel function also checks them for nodata). */
    int32_t *src_reg =
        (int32_t *)malloc(sizeof(int32_t) * ((size_t)ast->nsources + 1));
    prog->used =
        (int32_t *)malloc(sizeof(int32_t) * ((size_t)ast->nsources + 1));
    if (src_reg == NULL || prog->used == NULL) {
        free(src_reg);
        return cg_fail(cg, 0, "out of memory");
    }
    for (int s = 0; s < ast->nsources; s++) {
        src_reg[s] = -1;
        if (ast->used[s]) {
            src_reg[s] = prog->nused;
            prog->used[prog->nused++] = s;
        }
    }

    /* Constant pool, in order of appearance; the first ones preloaded. */
    int kcap = 0;
    for (int i = 0; i < count; i++)
        if (cg->live[i] && ast->nodes[i].type == PVRT_NODE_CONST &&
            pool_index(prog, ast->nodes[i].value, &kcap) < 0) {
            free(src_reg);
            return cg_fail(cg, 0, "out of memory");
        }
    prog->nkregs =
        prog->nk < PVRT_EXPR_MAX_KREGS ? prog->nk : PVRT_EXPR_MAX_KREGS;
    cg->temp_base = prog->nused + prog->nkregs;

    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        if (!cg->live[i])
            continue;
        const pvrt__expr_node *n = &ast->nodes[i];
        switch (n->type) {
            case PVRT_NODE_SOURCE:
                cg->reg[i] = src_reg[n->index];
                break;
            case PVRT_NODE_LOCAL:
                cg->reg[i] = cg->reg[n->a];
                break;
            case PVRT_NODE_CONST: {
                const int k = pool_index(prog, n->value, &kcap);
                if (k < prog->nkregs) {
                    cg->reg[i] = prog->nused + k;
                    break;
                }
                const int32_t dst = alloc_temp(cg, n->column);
                if (dst < 0 || emit(cg, PVRT_OP_LOADK, dst, k, -1, -1) < 0)
                    rc = -1;
                cg->reg[i] = dst;
                break;
            }
            case PVRT_NODE_OP: {
                const int32_t kids[3] = {n->a, n->b, n->c};
                int32_t r[3] = {-1, -1, -1};
                const int arity = node_arity(n);
                for (int k = 0; k < arity; k++)
                    r[k] = cg->reg[kids[k]];
                const int32_t dst = alloc_temp(cg, n->column);
                if (dst < 0 || emit(cg, n->op, dst, r[0], r[1], r[2]) < 0) {
                    rc = -1;
                    break;
                }
                cg->reg[i] = dst;
                /* Operands die here unless they hold a local (or are not
                 * temporaries at all). LOCAL nodes share their definition's
                 * register, so only OP and loaded CONST children are freed;
                 * a register used twice as an operand is freed once. */
                for (int k = 0; k < arity; k++) {
                    const pvrt__expr_node *kid = &ast->nodes[kids[k]];
                    if (kid->type == PVRT_NODE_LOCAL || cg->local[kids[k]] ||
                        r[k] < cg->temp_base)
                        continue;
                    int seen = 0;
                    for (int j = 0; j < k; j++)
                        seen |= r[j] == r[k];
                    if (!seen)
                        cg->free_temps[cg->nfree++] = r[k];
                }
                break;
            }
        }
    }
    free(src_reg);
    if (rc != 0)
        return -1;
    prog->nregs = cg->temp_base + cg->ntemps;
    prog->result = (uint32_t)cg->reg[ast->root];
    return 0;
}

pvrt__expr_program *pvrt__expr_codegen(const pvrt__expr_ast *ast,
                                       pvrt__expr_error *err)
{
    codegen cg;
    memset(&cg, 0, sizeof(cg));
    cg.ast = ast;
    cg.err = err;
    cg.prog = (pvrt__expr_program *)calloc(1, sizeof(pvrt__expr_program));
    const size_t count = (size_t)ast->count + 1;
    cg.reg = (int32_t *)malloc(sizeof(int32_t) * count);
    cg.live = (unsigned char *)calloc(count, 1);
    cg.local = (unsigned char *)calloc(count, 1);
    cg.free_temps = (int32_t *)malloc(sizeof(int32_t) * count);
    int rc = -1;
    if (cg.prog == NULL || cg.reg == NULL || cg.live == NULL ||
        cg.local == NULL || cg.free_temps == NULL) {
        cg_fail(&cg, 0, "out of memory");
    } else {
        cg.prog->nsources = ast->nsources;
        for (size_t i = 0; i < count; i++)
            cg.reg[i] = -1;
        rc = generate(&cg);
    }
    free(cg.reg);
    free(cg.live);
    free(cg.local);
    free(cg.free_temps);
    if (rc != 0) {
        pvrt__expr_program_free(cg.prog);
        return NULL;
    }
    return cg.prog;
}

void pvrt__expr_program_free(pvrt__expr_program *prog)
{
    if (prog == NULL)
        return;
    free(prog->used);
    free(prog->kpool);
    free(prog->code);
    free(prog);
}

pvrt__expr_program *pvrt__expr_compile(const char *text, size_t len,
                                       int nsources, const char *names,
                                       int flags, pvrt__expr_error *err)
{
    pvrt__expr_ast *ast = pvrt__expr_parse(text, len, nsources, names, err);
    if (ast == NULL)
        return NULL;
    if (!(flags & PVRT_EXPR_NO_FOLD))
        pvrt__expr_fold(ast);
    pvrt__expr_program *prog = pvrt__expr_codegen(ast, err);
    pvrt__expr_ast_free(ast);
    if (prog != NULL && pvrt__expr_verify(prog, err) != 0) {
        pvrt__expr_program_free(prog);
        return NULL;
    }
    return prog;
}
