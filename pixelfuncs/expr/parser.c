/* parser.c: pvrt_expr tokens to an AST, by precedence climbing.
 *
 * The grammar sits in a comment above each parse function. Nodes are
 * appended to one array as they complete, so children always precede their
 * parent (post-order): folding, code generation and freeing are loops over
 * that array, and only this parser recurses. Its recursion is bounded twice:
 * a nesting depth of PVRT_EXPR_MAX_DEPTH (each parenthesis or argument,
 * ternary branch, prefix operator and right-hand operand of a binary
 * operator opens a level), and an explicit check of the stack used so far,
 * so no input can overflow a small thread stack whatever the compiler does
 * to frame sizes.
 *
 * Names resolve here: locals (`d = ...;`), the `names=` list, B1..Bn and
 * the constants pi, e, nan, inf; a name followed by '(' is a function. */
#include "expr.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stack the parser may use, measured from its entry (bytes). Optimised
 * builds need about 70 KiB at the depth limit, clang ASan builds about
 * 110 KiB; 128 KiB leaves half of a 256 KiB thread stack to the caller.
 * Builds with larger frames (-O0 with sanitizers) hit this before the
 * depth limit and report it instead: an error, never an overflow. */
#define PARSER_STACK_BUDGET (128 * 1024)

typedef struct {
    const char *text; /* points into the expression text or the names copy */
    size_t len;
    int32_t node; /* locals: defining node; names: source index */
} binding;

typedef struct {
    pvrt__expr_lexer lx;
    pvrt__expr_token tok; /* current token */
    pvrt__expr_error *err;
    pvrt__expr_ast *ast;
    int failed;
    int depth;
    uintptr_t stack_base;
    binding *names; /* names= list, nnames entries */
    int nnames;
    char *names_copy;
    binding locals[PVRT_EXPR_MAX_LOCALS];
    int nlocals;
} parser;

typedef struct {
    const char *name;
    int op;
    int min_args, max_args; /* max -1: any number (min, max) */
} function;

static const function functions[] = {
    {"abs", PVRT_OP_ABS, 1, 1},      {"sqrt", PVRT_OP_SQRT, 1, 1},
    {"cbrt", PVRT_OP_CBRT, 1, 1},    {"exp", PVRT_OP_EXP, 1, 1},
    {"exp2", PVRT_OP_EXP2, 1, 1},    {"log", PVRT_OP_LOG, 1, 1},
    {"log2", PVRT_OP_LOG2, 1, 1},    {"log10", PVRT_OP_LOG10, 1, 1},
    {"pow", PVRT_OP_POW, 2, 2},      {"sin", PVRT_OP_SIN, 1, 1},
    {"cos", PVRT_OP_COS, 1, 1},      {"tan", PVRT_OP_TAN, 1, 1},
    {"asin", PVRT_OP_ASIN, 1, 1},    {"acos", PVRT_OP_ACOS, 1, 1},
    {"atan", PVRT_OP_ATAN, 1, 1},    {"atan2", PVRT_OP_ATAN2, 2, 2},
    {"sinh", PVRT_OP_SINH, 1, 1},    {"cosh", PVRT_OP_COSH, 1, 1},
    {"tanh", PVRT_OP_TANH, 1, 1},    {"floor", PVRT_OP_FLOOR, 1, 1},
    {"ceil", PVRT_OP_CEIL, 1, 1},    {"round", PVRT_OP_ROUND, 1, 1},
    {"trunc", PVRT_OP_TRUNC, 1, 1},  {"fmod", PVRT_OP_MOD, 2, 2},
    {"hypot", PVRT_OP_HYPOT, 2, 2},  {"sign", PVRT_OP_SIGN, 1, 1},
    {"min", PVRT_OP_MIN, 2, -1},     {"max", PVRT_OP_MAX, 2, -1},
    {"clamp", PVRT_OP_CLAMP, 3, 3},  {"isnan", PVRT_OP_ISNAN, 1, 1},
    {"isinf", PVRT_OP_ISINF, 1, 1},  {"isnodata", PVRT_OP_ISNODATA, 1, 1},
    {"where", PVRT_OP_SELECT, 3, 3},
};

static const struct {
    const char *name;
    double value;
} constants[] = {
    {"pi", 3.141592653589793238462643383279502884},
    {"e", 2.718281828459045235360287471352662498},
    {"nan", NAN},
    {"inf", INFINITY},
};

static int name_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

static const function *find_function(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
        if (name_is(s, len, functions[i].name))
            return &functions[i];
    return NULL;
}

/* The constant's value, or NULL. */
static const double *find_constant(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++)
        if (name_is(s, len, constants[i].name))
            return &constants[i].value;
    return NULL;
}

/* B followed by digits: returns the number (0 when it does not fit or has
 * a leading zero), or -1 when the name is not of that form. */
static long band_number(const char *s, size_t len)
{
    if (len < 2 || s[0] != 'B')
        return -1;
    long n = 0;
    for (size_t i = 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (n > 100000000)
            n = 100000001; /* keep as "too large", still all digits */
        else
            n = n * 10 + (s[i] - '0');
    }
    return s[1] == '0' ? 0 : n;
}

static int reserved(const char *s, size_t len)
{
    return find_function(s, len) || find_constant(s, len) ||
           band_number(s, len) >= 0;
}

static int32_t fail(parser *p, int column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int32_t fail(parser *p, int column, const char *fmt, ...)
{
    if (!p->failed) {
        p->failed = 1;
        p->err->column = column;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int advance(parser *p)
{
    if (pvrt__expr_lex_next(&p->lx, &p->tok, p->err) != 0) {
        p->failed = 1;
        return -1;
    }
    return 0;
}

static const char *tok_text(const parser *p)
{
    return p->lx.text + p->tok.start;
}

/* The kind of the token after the current one (PVRT_TOK_END if it does not
 * lex). Not inlined: its locals would otherwise sit in the frames of the
 * recursive parse functions. */
static __attribute__((noinline)) int peek_kind(const parser *p)
{
    pvrt__expr_lexer save = p->lx;
    pvrt__expr_token next;
    pvrt__expr_error ignored;
    if (pvrt__expr_lex_next(&save, &next, &ignored) != 0)
        return PVRT_TOK_END;
    return next.kind;
}

static int32_t add_node(parser *p, int type, int op, int32_t a, int32_t b,
                        int32_t c, int column)
{
    pvrt__expr_ast *ast = p->ast;
    if (ast->count == ast->cap) {
        const int cap = ast->cap ? ast->cap * 2 : 64;
        pvrt__expr_node *nodes = (pvrt__expr_node *)realloc(
            ast->nodes, sizeof(pvrt__expr_node) * (size_t)cap);
        if (nodes == NULL)
            return fail(p, 0, "out of memory");
        ast->nodes = nodes;
        ast->cap = cap;
    }
    pvrt__expr_node *n = &ast->nodes[ast->count];
    memset(n, 0, sizeof(*n));
    n->type = (unsigned char)type;
    n->op = (unsigned char)op;
    n->a = a;
    n->b = b;
    n->c = c;
    n->index = -1;
    n->column = column;
    return ast->count++;
}

/* Opens a nesting level; fails past the depth limit or the stack budget. */
static int enter(parser *p, int column)
{
    if (++p->depth > PVRT_EXPR_MAX_DEPTH) {
        fail(p, column, "expression nested deeper than %d levels",
             PVRT_EXPR_MAX_DEPTH);
        return -1;
    }
    const uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    const uintptr_t used =
        here < p->stack_base ? p->stack_base - here : here - p->stack_base;
    if (used > PARSER_STACK_BUDGET) {
        fail(p, column,
             "expression nested too deeply (parser stack budget "
             "of %d KiB exhausted)",
             PARSER_STACK_BUDGET / 1024);
        return -1;
    }
    return 0;
}

static int32_t parse_ternary(parser *p);
static int32_t parse_unary(parser *p);

/* Binary operators: precedence (loosest 1 to tightest 9) * 256 + opcode,
 * or 0. Returned packed, so callers keep no address-taken locals (which
 * sanitizers pad, inflating the recursive frames). */
static int binary_op(int tok)
{
#define BIN(prec, op) ((prec)*256 + (op))
    switch (tok) {
        case PVRT_TOK_OROR:
            return BIN(1, PVRT_OP_LOR);
        case PVRT_TOK_ANDAND:
            return BIN(2, PVRT_OP_LAND);
        case PVRT_TOK_LT:
            return BIN(3, PVRT_OP_LT);
        case PVRT_TOK_LE:
            return BIN(3, PVRT_OP_LE);
        case PVRT_TOK_GT:
            return BIN(3, PVRT_OP_GT);
        case PVRT_TOK_GE:
            return BIN(3, PVRT_OP_GE);
        case PVRT_TOK_EQ:
            return BIN(3, PVRT_OP_EQ);
        case PVRT_TOK_NE:
            return BIN(3, PVRT_OP_NE);
        case PVRT_TOK_PIPE:
            return BIN(4, PVRT_OP_BOR);
        case PVRT_TOK_CARET:
            return BIN(5, PVRT_OP_BXOR);
        case PVRT_TOK_AMP:
            return BIN(6, PVRT_OP_BAND);
        case PVRT_TOK_SHL:
            return BIN(7, PVRT_OP_SHL);
        case PVRT_TOK_SHR:
            return BIN(7, PVRT_OP_SHR);
        case PVRT_TOK_PLUS:
            return BIN(8, PVRT_OP_ADD);
        case PVRT_TOK_MINUS:
            return BIN(8, PVRT_OP_SUB);
        case PVRT_TOK_STAR:
            return BIN(9, PVRT_OP_MUL);
        case PVRT_TOK_SLASH:
            return BIN(9, PVRT_OP_DIV);
        case PVRT_TOK_PERCENT:
            return BIN(9, PVRT_OP_MOD);
        default:
            return 0;
    }
#undef BIN
}

/* call := NAME '(' [ternary {',' ternary}] ')'   (current token: NAME) */
static int32_t parse_call(parser *p)
{
    const int column = p->tok.column;
    const char *name = tok_text(p);
    const int name_len = (int)p->tok.len;
    const function *fn = find_function(name, p->tok.len);
    if (fn == NULL)
        return fail(p, column, "unknown function '%.*s'", name_len, name);
    if (advance(p) || advance(p)) /* NAME, '(' */
        return -1;
    int32_t arg0 = -1, arg1 = -1, arg2 = -1; /* not an array: see binary_op */
    int nargs = 0;
    int32_t chain = -1; /* min/max fold their arguments as they come */
    if (p->tok.kind != PVRT_TOK_RPAREN) {
        for (;;) {
            const int32_t arg = parse_ternary(p);
            if (arg < 0)
                return -1;
            if (fn->max_args < 0) {
                chain = nargs == 0 ? arg
                                   : add_node(p, PVRT_NODE_OP, fn->op, chain,
                                              arg, -1, column);
                if (chain < 0)
                    return -1;
            } else if (nargs == 0) {
                arg0 = arg;
            } else if (nargs == 1) {
                arg1 = arg;
            } else if (nargs == 2) {
                arg2 = arg;
            }
            nargs++;
            if (p->tok.kind == PVRT_TOK_COMMA) {
                if (advance(p))
                    return -1;
                continue;
            }
            if (p->tok.kind == PVRT_TOK_RPAREN)
                break;
            return fail(p, p->tok.column,
                        "expected ',' or ')' in the arguments of '%.*s' "
                        "(opened at column %d), found %s",
                        name_len, name, column + name_len,
                        pvrt__expr_tok_describe(p->tok.kind));
        }
    }
    if (nargs < fn->min_args || (fn->max_args >= 0 && nargs > fn->max_args)) {
        if (fn->max_args < 0)
            return fail(p, column,
                        "function '%s' takes %d or more arguments, got %d",
                        fn->name, fn->min_args, nargs);
        return fail(p, column, "function '%s' takes %d argument%s, got %d",
                    fn->name, fn->min_args, fn->min_args == 1 ? "" : "s",
                    nargs);
    }
    if (advance(p)) /* ')' */
        return -1;
    if (fn->max_args < 0)
        return chain;
    return add_node(p, PVRT_NODE_OP, fn->op, arg0, arg1, arg2, column);
}

/* A name that is not a call: local, names= entry, Bn, or a constant.
 * Not recursive, so kept out of the recursive frames (noinline). */
static __attribute__((noinline)) int32_t parse_name(parser *p)
{
    const int column = p->tok.column;
    const char *s = tok_text(p);
    const size_t len = p->tok.len;
    int32_t node = -1;
    const double *value;
    long band;
    for (int i = p->nlocals - 1; i >= 0; i--)
        if (p->locals[i].len == len && memcmp(p->locals[i].text, s, len) == 0) {
            node = add_node(p, PVRT_NODE_LOCAL, 0, p->locals[i].node, -1, -1,
                            column);
            goto done;
        }
    for (int i = 0; i < p->nnames; i++)
        if (p->names[i].len == len && memcmp(p->names[i].text, s, len) == 0) {
            band = p->names[i].node + 1;
            goto source;
        }
    band = band_number(s, len);
    if (band >= 0) {
    source:
        if (band < 1 || band > p->ast->nsources) {
            if (p->ast->nsources == 0)
                return fail(p, column,
                            "unknown variable '%.*s': the band has no sources",
                            (int)len, s);
            return fail(p, column,
                        "unknown variable '%.*s': the band has %d source%s "
                        "(B1..B%d)",
                        (int)len, s, p->ast->nsources,
                        p->ast->nsources == 1 ? "" : "s", p->ast->nsources);
        }
        node = add_node(p, PVRT_NODE_SOURCE, 0, -1, -1, -1, column);
        if (node >= 0) {
            p->ast->nodes[node].index = (int32_t)(band - 1);
            p->ast->used[band - 1] = 1;
        }
        goto done;
    }
    if ((value = find_constant(s, len)) != NULL) {
        node = add_node(p, PVRT_NODE_CONST, 0, -1, -1, -1, column);
        if (node >= 0)
            p->ast->nodes[node].value = *value;
        goto done;
    }
    if (find_function(s, len))
        return fail(p, column,
                    "function '%.*s' needs its arguments in "
                    "parentheses",
                    (int)len, s);
    return fail(p, column, "unknown variable '%.*s'", (int)len, s);
done:
    if (node < 0 || advance(p))
        return -1;
    return node;
}

/* primary := NUMBER | NAME | call | '(' ternary ')' */
static int32_t parse_primary(parser *p)
{
    const int column = p->tok.column;
    switch (p->tok.kind) {
        case PVRT_TOK_NUMBER: {
            const int32_t node =
                add_node(p, PVRT_NODE_CONST, 0, -1, -1, -1, column);
            if (node < 0)
                return -1;
            p->ast->nodes[node].value = p->tok.number;
            return advance(p) ? -1 : node;
        }
        case PVRT_TOK_IDENT:
            return peek_kind(p) == PVRT_TOK_LPAREN ? parse_call(p)
                                                   : parse_name(p);
        case PVRT_TOK_LPAREN: {
            if (advance(p))
                return -1;
            const int32_t inner = parse_ternary(p);
            if (inner < 0)
                return -1;
            if (p->tok.kind != PVRT_TOK_RPAREN)
                return fail(
                    p, p->tok.column,
                    "expected ')' to close the '(' at column %d, found %s",
                    column, pvrt__expr_tok_describe(p->tok.kind));
            return advance(p) ? -1 : inner;
        }
        default:
            return fail(p, column, "expected a value, found %s",
                        pvrt__expr_tok_describe(p->tok.kind));
    }
}

/* power := primary ['**' unary]      (so 2**-1 parses, 2**3**2 is 2**9) */
static int32_t parse_power(parser *p)
{
    const int32_t base = parse_primary(p);
    if (base < 0 || p->tok.kind != PVRT_TOK_POW)
        return base;
    const int column = p->tok.column;
    if (advance(p) || enter(p, column))
        return -1;
    const int32_t exponent = parse_unary(p);
    p->depth--;
    if (exponent < 0)
        return -1;
    return add_node(p, PVRT_NODE_OP, PVRT_OP_POW, base, exponent, -1, column);
}

/* unary := ('-' | '+' | '!' | '~') unary | power   (so -B1**2 is -(B1**2)) */
static int32_t parse_unary(parser *p)
{
    int op;
    switch (p->tok.kind) {
        case PVRT_TOK_MINUS:
            op = PVRT_OP_NEG;
            break;
        case PVRT_TOK_PLUS:
            op = -1;
            break;
        case PVRT_TOK_BANG:
            op = PVRT_OP_NOT;
            break;
        case PVRT_TOK_TILDE:
            op = PVRT_OP_BNOT;
            break;
        default:
            return parse_power(p);
    }
    const int column = p->tok.column;
    if (advance(p) || enter(p, column))
        return -1;
    const int32_t operand = parse_unary(p);
    p->depth--;
    if (operand < 0 || op < 0)
        return operand;
    return add_node(p, PVRT_NODE_OP, op, operand, -1, -1, column);
}

/* binary(min) := unary { OP binary(prec(OP) + 1) }, for OP with
 * prec(OP) >= min: all binary operators are left-associative. */
static int32_t parse_binary(parser *p, int min_prec)
{
    int32_t left = parse_unary(p);
    while (left >= 0) {
        const int packed = binary_op(p->tok.kind);
        const int prec = packed / 256, op = packed % 256;
        if (prec == 0 || prec < min_prec)
            break;
        const int column = p->tok.column;
        if (advance(p) || enter(p, column))
            return -1;
        const int32_t right = parse_binary(p, prec + 1);
        p->depth--;
        if (right < 0)
            return -1;
        left = add_node(p, PVRT_NODE_OP, op, left, right, -1, column);
    }
    return left;
}

/* ternary := binary(1) ['?' ternary ':' ternary]   (right-associative) */
static int32_t parse_ternary(parser *p)
{
    if (enter(p, p->tok.column))
        return -1;
    int32_t node = parse_binary(p, 1);
    if (node >= 0 && p->tok.kind == PVRT_TOK_QUESTION) {
        const int column = p->tok.column;
        int32_t a = -1, b = -1;
        if (advance(p) || (a = parse_ternary(p)) < 0)
            return -1;
        if (p->tok.kind != PVRT_TOK_COLON)
            return fail(p, p->tok.column,
                        "expected ':' for the '?' at column %d, found %s",
                        column, pvrt__expr_tok_describe(p->tok.kind));
        if (advance(p) || (b = parse_ternary(p)) < 0)
            return -1;
        node = add_node(p, PVRT_NODE_OP, PVRT_OP_SELECT, node, a, b, column);
    }
    p->depth--;
    return node;
}

/* statement := NAME '=' ternary | ternary
 * program   := statement {';' statement} [';'], ending with a ternary */
static int32_t parse_program(parser *p)
{
    if (advance(p))
        return -1;
    if (p->tok.kind == PVRT_TOK_END)
        return fail(p, 1, "empty expression");
    for (;;) {
        const int column = p->tok.column;
        int is_assign = 0;
        if (p->tok.kind == PVRT_TOK_IDENT)
            is_assign = peek_kind(p) == PVRT_TOK_ASSIGN;
        if (is_assign) {
            const char *name = tok_text(p);
            const size_t len = p->tok.len;
            if (reserved(name, len))
                return fail(p, column,
                            "cannot assign to '%.*s': the name is "
                            "reserved",
                            (int)len, name);
            for (int i = 0; i < p->nnames; i++)
                if (p->names[i].len == len &&
                    memcmp(p->names[i].text, name, len) == 0)
                    return fail(p, column,
                                "cannot assign to '%.*s': it names "
                                "a source",
                                (int)len, name);
            if (p->nlocals == PVRT_EXPR_MAX_LOCALS)
                return fail(p, column, "more than %d local names",
                            PVRT_EXPR_MAX_LOCALS);
            if (advance(p) || advance(p)) /* NAME, '=' */
                return -1;
            const int32_t value = parse_ternary(p);
            if (value < 0)
                return -1;
            /* Bound after the value: `x = x + 1` reads the previous x. */
            binding *b = &p->locals[p->nlocals++];
            b->text = name;
            b->len = len;
            b->node = value;
            p->ast->locals[p->ast->nlocals++] = value;
            if (p->tok.kind == PVRT_TOK_END)
                return fail(p, p->tok.column,
                            "the expression must end with a value, not an "
                            "assignment");
        } else {
            const int32_t value = parse_ternary(p);
            if (value < 0)
                return -1;
            if (p->tok.kind == PVRT_TOK_SEMI) {
                if (advance(p))
                    return -1;
                if (p->tok.kind == PVRT_TOK_END)
                    return value;
                return fail(p, column,
                            "only the last statement may be a bare value; "
                            "name this one with 'name = ...'");
            }
            if (p->tok.kind == PVRT_TOK_END)
                return value;
        }
        if (p->tok.kind == PVRT_TOK_RPAREN)
            return fail(p, p->tok.column, "unbalanced ')'");
        if (p->tok.kind != PVRT_TOK_SEMI)
            return fail(p, p->tok.column,
                        "expected an operator, ';' or the end, found %s",
                        pvrt__expr_tok_describe(p->tok.kind));
        if (advance(p))
            return -1;
        if (p->tok.kind == PVRT_TOK_END)
            return fail(p, p->tok.column,
                        "the expression must end with a value, not an "
                        "assignment");
        if (p->tok.kind == PVRT_TOK_SEMI)
            return fail(p, p->tok.column, "expected a statement, found ';'");
    }
}

/* Splits names= into bindings; errors have column 0. */
static int parse_names(parser *p, const char *names)
{
    const size_t total = strlen(names);
    p->names_copy = (char *)malloc(total + 1);
    p->names = (binding *)calloc(total / 2 + 2, sizeof(binding));
    if (p->names_copy == NULL || p->names == NULL)
        return fail(p, 0, "out of memory");
    memcpy(p->names_copy, names, total + 1);
    char *s = p->names_copy;
    for (;;) {
        char *end = strchr(s, ',');
        if (end)
            *end = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        size_t len = strlen(s);
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        const int item = p->nnames + 1;
        if (len == 0)
            return fail(p, 0, "argument 'names': item %d is empty", item);
        int ok = len <= PVRT_EXPR_MAX_NAME &&
                 ((s[0] >= 'a' && s[0] <= 'z') ||
                  (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_');
        for (size_t i = 1; ok && i < len; i++)
            ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                 (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
        if (!ok)
            return fail(p, 0,
                        "argument 'names': item %d ('%.*s') is not a name "
                        "(letters, digits and '_', not starting with a digit, "
                        "at most %d)",
                        item, (int)(len > 64 ? 64 : len), s,
                        PVRT_EXPR_MAX_NAME);
        if (reserved(s, len))
            return fail(p, 0,
                        "argument 'names': item %d ('%.*s') is a "
                        "reserved name",
                        item, (int)len, s);
        for (int i = 0; i < p->nnames; i++)
            if (p->names[i].len == len && memcmp(p->names[i].text, s, len) == 0)
                return fail(p, 0, "argument 'names': '%.*s' appears twice",
                            (int)len, s);
        p->names[p->nnames].text = s;
        p->names[p->nnames].len = len;
        p->names[p->nnames].node = p->nnames;
        p->nnames++;
        if (!end)
            break;
        s = end + 1;
    }
    if (p->nnames != p->ast->nsources)
        return fail(p, 0,
                    "argument 'names' lists %d name%s but the band has "
                    "%d source%s",
                    p->nnames, p->nnames == 1 ? "" : "s", p->ast->nsources,
                    p->ast->nsources == 1 ? "" : "s");
    return 0;
}

pvrt__expr_ast *pvrt__expr_parse(const char *text, size_t len, int nsources,
                                 const char *names, pvrt__expr_error *err)
{
    err->column = 0;
    err->message[0] = '\0';
    if (nsources < 0 || nsources > 1000000) {
        snprintf(err->message, sizeof(err->message),
                 "unsupported number of sources %d", nsources);
        return NULL;
    }
    if (len > PVRT_EXPR_MAX_TEXT) {
        err->column = PVRT_EXPR_MAX_TEXT + 1;
        snprintf(err->message, sizeof(err->message),
                 "expression longer than %d bytes (%zu)", PVRT_EXPR_MAX_TEXT,
                 len);
        return NULL;
    }
    parser *p = (parser *)calloc(1, sizeof(parser));
    pvrt__expr_ast *ast = (pvrt__expr_ast *)calloc(1, sizeof(pvrt__expr_ast));
    if (p == NULL || ast == NULL) {
        free(p);
        free(ast);
        snprintf(err->message, sizeof(err->message), "out of memory");
        return NULL;
    }
    p->err = err;
    p->ast = ast;
    p->stack_base = (uintptr_t)__builtin_frame_address(0);
    ast->nsources = nsources;
    ast->root = -1;
    ast->used = (unsigned char *)calloc((size_t)nsources + 1, 1);
    ast->locals = (int32_t *)calloc(PVRT_EXPR_MAX_LOCALS, sizeof(int32_t));
    pvrt__expr_lex_init(&p->lx, text, len);
    if (ast->used == NULL || ast->locals == NULL)
        fail(p, 0, "out of memory");
    else if (names == NULL || parse_names(p, names) == 0)
        ast->root = parse_program(p);
    free(p->names);
    free(p->names_copy);
    const int failed = p->failed || ast->root < 0;
    free(p);
    if (failed) {
        pvrt__expr_ast_free(ast);
        return NULL;
    }
    return ast;
}

void pvrt__expr_ast_free(pvrt__expr_ast *ast)
{
    if (ast == NULL)
        return;
    free(ast->nodes);
    free(ast->used);
    free(ast->locals);
    free(ast);
}
