/* lexer.c: pvrt_expr text to tokens.
 *
 * The parser pulls one token at a time; a lexer is a cursor into the text,
 * so saving and restoring it is a struct copy (the parser peeks two tokens
 * ahead to tell `name = ...` from an expression). Columns are 1-based byte
 * offsets. Only ASCII is accepted: any other byte is an error naming it in
 * hex. Numbers are decimal (`3`, `0.5`, `.5`, `1e-3`); a number glued to a
 * letter (`2pi`, `1e`) is malformed rather than two tokens. */
#include "expr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pvrt__expr_lex_init(pvrt__expr_lexer *lx, const char *text, size_t len)
{
    lx->text = text;
    lx->len = len;
    lx->pos = 0;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int is_ident(int c)
{
    return is_ident_start(c) || is_digit(c);
}

static int fail(pvrt__expr_error *err, size_t pos, const char *msg)
{
    err->column = (int)pos + 1;
    snprintf(err->message, sizeof(err->message), "%s", msg);
    return -1;
}

/* [digits] [. digits] [(e|E) [+|-] digits], at least one digit before the
 * exponent; converted by strtod on a bounded copy. */
static int lex_number(pvrt__expr_lexer *lx, pvrt__expr_token *tok,
                      pvrt__expr_error *err)
{
    const char *t = lx->text;
    size_t p = lx->pos;
    size_t mantissa = 0;
    while (p < lx->len && is_digit((unsigned char)t[p]))
        p++, mantissa++;
    if (p < lx->len && t[p] == '.') {
        p++;
        while (p < lx->len && is_digit((unsigned char)t[p]))
            p++, mantissa++;
    }
    int bad = mantissa == 0;
    if (!bad && p < lx->len && (t[p] == 'e' || t[p] == 'E')) {
        p++;
        if (p < lx->len && (t[p] == '+' || t[p] == '-'))
            p++;
        size_t exp_digits = 0;
        while (p < lx->len && is_digit((unsigned char)t[p]))
            p++, exp_digits++;
        bad = exp_digits == 0;
    }
    if (!bad && p < lx->len && (is_ident((unsigned char)t[p]) || t[p] == '.'))
        bad = 1;
    if (bad || p - lx->pos > 300)
        return fail(err, lx->pos, "malformed number");
    char buf[320];
    memcpy(buf, t + lx->pos, p - lx->pos);
    buf[p - lx->pos] = '\0';
    tok->kind = PVRT_TOK_NUMBER;
    tok->number = strtod(buf, NULL); /* overflow gives inf, as in C */
    lx->pos = p;
    return 0;
}

int pvrt__expr_lex_next(pvrt__expr_lexer *lx, pvrt__expr_token *tok,
                        pvrt__expr_error *err)
{
    const char *t = lx->text;
    while (lx->pos < lx->len && (t[lx->pos] == ' ' || t[lx->pos] == '\t' ||
                                 t[lx->pos] == '\n' || t[lx->pos] == '\r'))
        lx->pos++;
    tok->start = lx->pos;
    tok->column = (int)lx->pos + 1;
    tok->number = 0;
    if (lx->pos >= lx->len) {
        tok->kind = PVRT_TOK_END;
        tok->len = 0;
        return 0;
    }
    const int c = (unsigned char)t[lx->pos];
    const int next = lx->pos + 1 < lx->len ? (unsigned char)t[lx->pos + 1] : 0;
    if (is_digit(c) || (c == '.' && is_digit(next))) {
        if (lex_number(lx, tok, err) != 0)
            return -1;
        tok->len = lx->pos - tok->start;
        return 0;
    }
    if (is_ident_start(c)) {
        size_t p = lx->pos;
        while (p < lx->len && is_ident((unsigned char)t[p]))
            p++;
        if (p - lx->pos > PVRT_EXPR_MAX_NAME)
            return fail(err, lx->pos, "name longer than 64 characters");
        tok->kind = PVRT_TOK_IDENT;
        tok->len = p - lx->pos;
        lx->pos = p;
        return 0;
    }
    /* Operators: two-character ones first. */
    static const struct {
        char text[3];
        int kind;
    } ops[] = {
        {"**", PVRT_TOK_POW},     {"<<", PVRT_TOK_SHL},
        {">>", PVRT_TOK_SHR},     {"<=", PVRT_TOK_LE},
        {">=", PVRT_TOK_GE},      {"==", PVRT_TOK_EQ},
        {"!=", PVRT_TOK_NE},      {"&&", PVRT_TOK_ANDAND},
        {"||", PVRT_TOK_OROR},    {"(", PVRT_TOK_LPAREN},
        {")", PVRT_TOK_RPAREN},   {",", PVRT_TOK_COMMA},
        {";", PVRT_TOK_SEMI},     {"=", PVRT_TOK_ASSIGN},
        {"?", PVRT_TOK_QUESTION}, {":", PVRT_TOK_COLON},
        {"*", PVRT_TOK_STAR},     {"/", PVRT_TOK_SLASH},
        {"%", PVRT_TOK_PERCENT},  {"+", PVRT_TOK_PLUS},
        {"-", PVRT_TOK_MINUS},    {"&", PVRT_TOK_AMP},
        {"^", PVRT_TOK_CARET},    {"|", PVRT_TOK_PIPE},
        {"<", PVRT_TOK_LT},       {">", PVRT_TOK_GT},
        {"!", PVRT_TOK_BANG},     {"~", PVRT_TOK_TILDE},
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        const size_t n = ops[i].text[1] ? 2 : 1;
        if (lx->pos + n <= lx->len &&
            memcmp(t + lx->pos, ops[i].text, n) == 0) {
            tok->kind = ops[i].kind;
            tok->len = n;
            lx->pos += n;
            return 0;
        }
    }
    char msg[64];
    if (c >= 0x21 && c < 0x7f)
        snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
    else
        snprintf(msg, sizeof(msg),
                 "unexpected byte 0x%02X (only ASCII is "
                 "allowed)",
                 c);
    return fail(err, lx->pos, msg);
}

const char *pvrt__expr_tok_describe(int kind)
{
    static const char *const names[PVRT_TOK_COUNT] = {
        [PVRT_TOK_END] = "the end of the expression",
        [PVRT_TOK_NUMBER] = "a number",
        [PVRT_TOK_IDENT] = "a name",
        [PVRT_TOK_LPAREN] = "'('",
        [PVRT_TOK_RPAREN] = "')'",
        [PVRT_TOK_COMMA] = "','",
        [PVRT_TOK_SEMI] = "';'",
        [PVRT_TOK_ASSIGN] = "'='",
        [PVRT_TOK_QUESTION] = "'?'",
        [PVRT_TOK_COLON] = "':'",
        [PVRT_TOK_POW] = "'**'",
        [PVRT_TOK_STAR] = "'*'",
        [PVRT_TOK_SLASH] = "'/'",
        [PVRT_TOK_PERCENT] = "'%'",
        [PVRT_TOK_PLUS] = "'+'",
        [PVRT_TOK_MINUS] = "'-'",
        [PVRT_TOK_SHL] = "'<<'",
        [PVRT_TOK_SHR] = "'>>'",
        [PVRT_TOK_AMP] = "'&'",
        [PVRT_TOK_CARET] = "'^'",
        [PVRT_TOK_PIPE] = "'|'",
        [PVRT_TOK_LT] = "'<'",
        [PVRT_TOK_LE] = "'<='",
        [PVRT_TOK_GT] = "'>'",
        [PVRT_TOK_GE] = "'>='",
        [PVRT_TOK_EQ] = "'=='",
        [PVRT_TOK_NE] = "'!='",
        [PVRT_TOK_ANDAND] = "'&&'",
        [PVRT_TOK_OROR] = "'||'",
        [PVRT_TOK_BANG] = "'!'",
        [PVRT_TOK_TILDE] = "'~'",
    };
    return kind >= 0 && kind < PVRT_TOK_COUNT && names[kind] ? names[kind]
                                                             : "a token";
}
