/* expr.h: the pvrt_expr engine, as its files and its pixel function see it.
 *
 * Text goes through the lexer (lexer.c) into a parser (parser.c) that builds
 * an AST in post-order (children before parents, so every later pass is a
 * loop, never a recursion); the compiler (compile.c) folds constants of pure
 * operations and emits register bytecode whose opcodes opcodes.def lists
 * once; the verifier (verify.c) checks that bytecode once, so the VM (vm.c)
 * runs each instruction over a block of PVRT_EXPR_BLOCK doubles with no
 * checks. disasm.c prints programs for tests and debugging.
 *
 * The engine is plain C with no GDAL dependency: it reports errors in a
 * pvrt__expr_error (message and 1-based column), never through CPLError;
 * expr_func.c, the pixel function, turns them into CPLErrors. A compiled
 * program is immutable: any number of threads may run it at once, each with
 * its own register file. */
#ifndef PVRT_EXPR_H
#define PVRT_EXPR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits ----------------------------------------------------------- */
#define PVRT_EXPR_MAX_TEXT 65536 /* bytes of expression text */
#define PVRT_EXPR_MAX_DEPTH 256  /* nesting levels, see parser.c */
#define PVRT_EXPR_MAX_NAME 64    /* bytes in an identifier */
#define PVRT_EXPR_MAX_LOCALS 256 /* local names (`x = ...;`) */
#define PVRT_EXPR_MAX_REGS 1024  /* registers of a program */
#define PVRT_EXPR_MAX_KREGS 64   /* constants preloaded into registers */
#define PVRT_EXPR_BLOCK 256      /* pixels per VM instruction */

/* ---- Errors ----------------------------------------------------------- */
typedef struct {
    int column; /* 1-based byte column in the text; 0 when not about a place */
    char message[240];
} pvrt__expr_error;

/* ---- Opcodes (opcodes.def) -------------------------------------------- */
enum {
    PVRT_KIND_LOADK,  /* dst = constant pool[a] */
    PVRT_KIND_1,      /* dst = f(a) */
    PVRT_KIND_2,      /* dst = f(a, b) */
    PVRT_KIND_3,      /* dst = f(a, b, c) */
    PVRT_KIND_NODATA, /* dst = a is the call's nodata value */
};

typedef enum {
#define PVRT_OP(name, text, kind, pure) PVRT_OP_##name,
#include "opcodes.def"
#undef PVRT_OP
    PVRT_OP_COUNT
} pvrt__expr_opcode;

extern const char *const pvrt__expr_op_name[PVRT_OP_COUNT];
extern const unsigned char pvrt__expr_op_kind[PVRT_OP_COUNT];
extern const unsigned char pvrt__expr_op_pure[PVRT_OP_COUNT];
/* Register operands the kind reads (LOADK: 0, its `a` is a pool index). */
int pvrt__expr_kind_arity(int kind);

/* ---- Lexer (lexer.c) -------------------------------------------------- */
typedef enum {
    PVRT_TOK_END,
    PVRT_TOK_NUMBER,
    PVRT_TOK_IDENT,
    PVRT_TOK_LPAREN,
    PVRT_TOK_RPAREN,
    PVRT_TOK_COMMA,
    PVRT_TOK_SEMI,
    PVRT_TOK_ASSIGN, /* = */
    PVRT_TOK_QUESTION,
    PVRT_TOK_COLON,
    PVRT_TOK_POW, /* ** */
    PVRT_TOK_STAR,
    PVRT_TOK_SLASH,
    PVRT_TOK_PERCENT,
    PVRT_TOK_PLUS,
    PVRT_TOK_MINUS,
    PVRT_TOK_SHL,
    PVRT_TOK_SHR,
    PVRT_TOK_AMP,
    PVRT_TOK_CARET,
    PVRT_TOK_PIPE,
    PVRT_TOK_LT,
    PVRT_TOK_LE,
    PVRT_TOK_GT,
    PVRT_TOK_GE,
    PVRT_TOK_EQ,
    PVRT_TOK_NE,
    PVRT_TOK_ANDAND,
    PVRT_TOK_OROR,
    PVRT_TOK_BANG,
    PVRT_TOK_TILDE,
    PVRT_TOK_COUNT
} pvrt__expr_tokkind;

typedef struct {
    int kind;      /* pvrt__expr_tokkind */
    int column;    /* 1-based */
    size_t start;  /* byte offset of the token */
    size_t len;    /* bytes */
    double number; /* PVRT_TOK_NUMBER */
} pvrt__expr_token;

typedef struct {
    const char *text;
    size_t len;
    size_t pos;
} pvrt__expr_lexer;

void pvrt__expr_lex_init(pvrt__expr_lexer *lx, const char *text, size_t len);
/* Reads the next token (PVRT_TOK_END at the end, again and again).
 * Returns 0, or -1 with *err filled. */
int pvrt__expr_lex_next(pvrt__expr_lexer *lx, pvrt__expr_token *tok,
                        pvrt__expr_error *err);
/* How a token kind reads in messages: "'+'", "a number", "the end". */
const char *pvrt__expr_tok_describe(int kind);

/* ---- AST (parser.c) --------------------------------------------------- */
typedef enum {
    PVRT_NODE_CONST,  /* value */
    PVRT_NODE_SOURCE, /* index: 0-based source */
    PVRT_NODE_LOCAL,  /* a: the node that defines the local */
    PVRT_NODE_OP      /* op, with a, b, c children as its kind needs */
} pvrt__expr_nodetype;

typedef struct {
    unsigned char type; /* pvrt__expr_nodetype */
    unsigned char op;   /* pvrt__expr_opcode, PVRT_NODE_OP */
    int32_t a, b, c;    /* children (always at lower indices) or -1 */
    int32_t index;      /* PVRT_NODE_SOURCE */
    int32_t column;     /* where the node starts, for errors */
    double value;       /* PVRT_NODE_CONST */
} pvrt__expr_node;

typedef struct {
    pvrt__expr_node *nodes; /* post-order: children before parents */
    int count, cap;
    int root;            /* the program's value */
    int nsources;        /* sources the band has */
    unsigned char *used; /* [nsources]: 1 if named in the text */
    int32_t *locals;     /* nodes defining locals, in order */
    int nlocals;
} pvrt__expr_ast;

/* Parses `text` (len bytes) for a band of nsources sources; `names` is the
 * comma-separated `names=` argument or NULL. Returns the AST, or NULL with
 * *err filled (column 0 for errors in `names`). */
pvrt__expr_ast *pvrt__expr_parse(const char *text, size_t len, int nsources,
                                 const char *names, pvrt__expr_error *err);
void pvrt__expr_ast_free(pvrt__expr_ast *ast);

/* Folds every pure operation whose operands are all constants, in place
 * (compile.c). Returns the number of nodes folded. */
int pvrt__expr_fold(pvrt__expr_ast *ast);
/* Applies a pure opcode to scalar operands, exactly as the VM does. */
double pvrt__expr_apply(int op, double a, double b, double c);

/* ---- Programs (compile.c, verify.c, vm.c, disasm.c) ------------------- */
typedef struct {
    uint32_t op;
    uint32_t dst;
    uint32_t a, b, c; /* registers (LOADK: a is a constant-pool index) */
} pvrt__expr_insn;

/* Register file layout: [0, nused) sources (source used[r] in register r),
 * [nused, nused + nkregs) the constants kpool[0..nkregs), then temporaries.
 * Register r is regs + r * PVRT_EXPR_BLOCK. */
typedef struct {
    int nsources;  /* sources the band has */
    int nused;     /* source registers */
    int32_t *used; /* [nused] source index of each source register */
    int nkregs;    /* preloaded constant registers */
    int nregs;     /* all registers */
    double *kpool; /* constant pool */
    int nk;
    pvrt__expr_insn *code;
    int ncode;
    uint32_t result; /* register holding the value after a run */
} pvrt__expr_program;

#define PVRT_EXPR_NO_FOLD 1 /* compile flag: skip constant folding (tests) */

/* Parses, folds, compiles and verifies. Returns the program, or NULL with
 * *err filled. */
pvrt__expr_program *pvrt__expr_compile(const char *text, size_t len,
                                       int nsources, const char *names,
                                       int flags, pvrt__expr_error *err);
/* Compiles an AST (not consumed). Returns NULL with *err on failure. */
pvrt__expr_program *pvrt__expr_codegen(const pvrt__expr_ast *ast,
                                       pvrt__expr_error *err);
void pvrt__expr_program_free(pvrt__expr_program *prog);

/* Checks every fact the VM relies on. Returns 0, or -1 with *err. */
int pvrt__expr_verify(const pvrt__expr_program *prog, pvrt__expr_error *err);

typedef struct {
    int has_nodata;
    double nodata;
} pvrt__expr_vm_ctx;

/* Fills the constant registers; once per register file. */
void pvrt__expr_vm_load_constants(const pvrt__expr_program *prog, double *regs);
/* Runs a verified program over n (1..PVRT_EXPR_BLOCK) pixels whose source
 * registers are loaded; the value is in register prog->result. */
void pvrt__expr_vm_run(const pvrt__expr_program *prog, double *regs, int n,
                       const pvrt__expr_vm_ctx *ctx);

/* A malloc'ed listing of the program, one instruction a line. */
char *pvrt__expr_disasm(const pvrt__expr_program *prog);

#ifdef __cplusplus
}
#endif

#endif
