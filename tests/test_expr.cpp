// test_expr.cpp: pvrt_expr layer by layer, its errors, limits and nodata.
//
// Lexer tokens and columns; the parser's precedence and associativity (the
// AST printed back as calls); constant folding (bit-identical to running
// the VM unfolded); every opcode over special values against the
// independent reference in test_expr_ref.h; verifier rejections; at least
// 40 malformed expressions and arguments, each with its message and column;
// parsing on a thread with a 256 KiB stack; nodata rules; the cache.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <pthread.h>

#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "expr/expr.h"
#include "pf_private.h"
#include "pixelfuncs.h"
#include "pf_testutil.h"
#include "test_expr_ref.h"

namespace
{

using pvrt_test::convert;
using pvrt_test::same;

// Runs pvrt_expr on Float64 sources (one row), Float64 out.
CPLErr run(const std::string &expr, const std::vector<std::vector<double>> &src,
           std::vector<double> &out, CPLStringList extra = CPLStringList())
{
    const int width = src.empty() ? (int)out.size() : (int)src[0].size();
    out.assign(width, -12345.0);
    std::vector<void *> ptrs;
    for (const auto &s : src)
        ptrs.push_back(const_cast<double *>(s.data()));
    extra.SetNameValue("expr", expr.c_str());
    return pvrt_test::pixelfunc("pvrt_expr")(
        ptrs.data(), (int)src.size(), out.data(), width, 1, GDT_Float64,
        GDT_Float64, 8, 8 * width, extra.List());
}

// ---- Lexer -----------------------------------------------------------------

TEST(ExprLexer, TokensAndColumns)
{
    const char *text = "B1+.5e3**(x_2) <= != && || ! ~ ? : ; = , % >> << & ^ | "
                       "7. < > == * / -";
    const int kinds[] = {
        PVRT_TOK_IDENT,  PVRT_TOK_PLUS,     PVRT_TOK_NUMBER,  PVRT_TOK_POW,
        PVRT_TOK_LPAREN, PVRT_TOK_IDENT,    PVRT_TOK_RPAREN,  PVRT_TOK_LE,
        PVRT_TOK_NE,     PVRT_TOK_ANDAND,   PVRT_TOK_OROR,    PVRT_TOK_BANG,
        PVRT_TOK_TILDE,  PVRT_TOK_QUESTION, PVRT_TOK_COLON,   PVRT_TOK_SEMI,
        PVRT_TOK_ASSIGN, PVRT_TOK_COMMA,    PVRT_TOK_PERCENT, PVRT_TOK_SHR,
        PVRT_TOK_SHL,    PVRT_TOK_AMP,      PVRT_TOK_CARET,   PVRT_TOK_PIPE,
        PVRT_TOK_NUMBER, PVRT_TOK_LT,       PVRT_TOK_GT,      PVRT_TOK_EQ,
        PVRT_TOK_STAR,   PVRT_TOK_SLASH,    PVRT_TOK_MINUS,   PVRT_TOK_END,
        PVRT_TOK_END};
    const int columns[] = {1,  3,  4,  8,  10, 11, 14, 16, 19, 22, 25,
                           28, 30, 32, 34, 36, 38, 40, 42, 44, 47, 50,
                           52, 54, 56, 59, 61, 63, 66, 68, 70, 71, 71};
    pvrt__expr_lexer lx;
    pvrt__expr_lex_init(&lx, text, strlen(text));
    pvrt__expr_error err;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        pvrt__expr_token tok;
        ASSERT_EQ(pvrt__expr_lex_next(&lx, &tok, &err), 0) << i;
        EXPECT_EQ(tok.kind, kinds[i]) << "token " << i;
        EXPECT_EQ(tok.column, columns[i]) << "token " << i;
        if (i == 2) {
            EXPECT_EQ(tok.number, 500.0);
        }
        if (i == 24) {
            EXPECT_EQ(tok.number, 7.0);
        }
        if (i == 5) {
            EXPECT_EQ(std::string(text + tok.start, tok.len), "x_2");
        }
    }
}

TEST(ExprLexer, Numbers)
{
    const struct {
        const char *text;
        double value;
    } cases[] = {{"3", 3},
                 {"0.5", 0.5},
                 {".5", 0.5},
                 {"1e-3", 1e-3},
                 {"1E+2", 100},
                 {"2.", 2},
                 {"1e400", INFINITY},
                 {"0.1", 0.1},
                 {"123456789012345678", 123456789012345678.0}};
    for (const auto &c : cases) {
        pvrt__expr_lexer lx;
        pvrt__expr_lex_init(&lx, c.text, strlen(c.text));
        pvrt__expr_token tok;
        pvrt__expr_error err;
        ASSERT_EQ(pvrt__expr_lex_next(&lx, &tok, &err), 0) << c.text;
        EXPECT_EQ(tok.kind, PVRT_TOK_NUMBER) << c.text;
        EXPECT_EQ(tok.number, c.value) << c.text;
        ASSERT_EQ(pvrt__expr_lex_next(&lx, &tok, &err), 0);
        EXPECT_EQ(tok.kind, PVRT_TOK_END) << c.text;
    }
    for (const char *bad : {"1e", "1e+", "2pi", "1.2.3", "3x", "1..2"}) {
        pvrt__expr_lexer lx;
        pvrt__expr_lex_init(&lx, bad, strlen(bad));
        pvrt__expr_token tok;
        pvrt__expr_error err;
        EXPECT_EQ(pvrt__expr_lex_next(&lx, &tok, &err), -1) << bad;
        EXPECT_EQ(err.column, 1) << bad;
        EXPECT_NE(strstr(err.message, "malformed number"), nullptr) << bad;
    }
}

// ---- Parser ----------------------------------------------------------------

// The AST printed back as nested calls: add(B1, mul(B2, B3)).
std::string show(const pvrt__expr_ast *ast, int i)
{
    const pvrt__expr_node &n = ast->nodes[i];
    switch (n.type) {
        case PVRT_NODE_CONST: {
            char buf[32];
            snprintf(buf, sizeof(buf), "%g", n.value);
            return buf;
        }
        case PVRT_NODE_SOURCE:
            return "B" + std::to_string(n.index + 1);
        case PVRT_NODE_LOCAL:
            return "local(" + show(ast, n.a) + ")";
        default:
            break;
    }
    std::string s = std::string(pvrt__expr_op_name[n.op]) + "(";
    const int arity = pvrt__expr_kind_arity(pvrt__expr_op_kind[n.op]);
    const int kids[3] = {n.a, n.b, n.c};
    for (int k = 0; k < arity; k++) {
        EXPECT_LT(kids[k], i) << "children precede parents";
        s += (k ? ", " : "") + show(ast, kids[k]);
    }
    return s + ")";
}

std::string parse_show(const char *text, int nsources = 3,
                       const char *names = nullptr)
{
    pvrt__expr_error err;
    pvrt__expr_ast *ast =
        pvrt__expr_parse(text, strlen(text), nsources, names, &err);
    if (ast == nullptr)
        return std::string("error: ") + err.message;
    std::string s = show(ast, ast->root);
    pvrt__expr_ast_free(ast);
    return s;
}

TEST(ExprParser, PrecedenceTable)
{
    const struct {
        const char *text, *tree;
    } table[] = {
        {"B1 + B2 * B3", "add(B1, mul(B2, B3))"},
        {"B1 * B2 + B3", "add(mul(B1, B2), B3)"},
        {"B1 - B2 - B3", "sub(sub(B1, B2), B3)"},
        {"B1 / B2 / B3", "div(div(B1, B2), B3)"},
        {"B1 % B2 * B3", "mul(mod(B1, B2), B3)"},
        {"B1 ** B2 ** B3", "pow(B1, pow(B2, B3))"},
        {"-B1 ** 2", "neg(pow(B1, 2))"},
        {"B1 ** -B2", "pow(B1, neg(B2))"},
        {"-B1 * B2", "mul(neg(B1), B2)"},
        {"!B1 + ~B2", "add(not(B1), bnot(B2))"},
        {"+B1", "B1"},
        {"- -B1", "neg(neg(B1))"},
        {"B1 << B2 + B3", "shl(B1, add(B2, B3))"},
        {"B1 + B2 << B3", "shl(add(B1, B2), B3)"},
        {"B1 >> 3 & 1", "band(shr(B1, 3), 1)"},
        {"B1 & B2 ^ B3", "bxor(band(B1, B2), B3)"},
        {"B1 ^ B2 | B3", "bor(bxor(B1, B2), B3)"},
        {"B1 | B2 ^ B3", "bor(B1, bxor(B2, B3))"},
        {"B1 | B2 < B3", "lt(bor(B1, B2), B3)"},
        {"B1 & 1 == 1", "eq(band(B1, 1), 1)"},
        {"B1 < B2 == B3", "eq(lt(B1, B2), B3)"},
        {"B1 <= B2 != B3 >= 1", "ge(ne(le(B1, B2), B3), 1)"},
        {"B1 > B2 && B3", "land(gt(B1, B2), B3)"},
        {"B1 && B2 || B3", "lor(land(B1, B2), B3)"},
        {"B1 || B2 && B3", "lor(B1, land(B2, B3))"},
        {"B1 ? B2 : B3", "select(B1, B2, B3)"},
        {"B1 || B2 ? B2 : B3", "select(lor(B1, B2), B2, B3)"},
        {"B1 ? B2 : B3 ? 1 : 2", "select(B1, B2, select(B3, 1, 2))"},
        {"B1 ? B2 ? 1 : 2 : B3", "select(B1, select(B2, 1, 2), B3)"},
        {"(B1 + B2) * B3", "mul(add(B1, B2), B3)"},
        {"min(B1, B2, B3)", "min(min(B1, B2), B3)"},
        {"max(B1, B2)", "max(B1, B2)"},
        {"where(B1 > 0, B2, B3)", "select(gt(B1, 0), B2, B3)"},
        {"clamp(B1, 0, 1)", "clamp(B1, 0, 1)"},
        {"fmod(B1, 2) + pow(B2, 2)", "add(mod(B1, 2), pow(B2, 2))"},
        {"isnodata(B1) + isnan(B2)", "add(isnodata(B1), isnan(B2))"},
        {"pi", "3.14159"},
        {"d = B2 - B1; s = B2 + B1; d / s",
         "div(local(sub(B2, B1)), local(add(B2, B1)))"},
        {"x = B1; x = x + 1; x;", "local(add(local(B1), 1))"},
    };
    for (const auto &row : table)
        EXPECT_EQ(parse_show(row.text), row.tree) << row.text;
}

TEST(ExprParser, NamesAndUsedSources)
{
    EXPECT_EQ(parse_show("(nir - red) / (nir + red)", 2, "red, nir"),
              "div(sub(B2, B1), add(B2, B1))");
    EXPECT_EQ(parse_show("red + B2", 2, "red,nir"), "add(B1, B2)");
    pvrt__expr_error err;
    const char *text = "B3 + 1";
    pvrt__expr_ast *ast =
        pvrt__expr_parse(text, strlen(text), 4, nullptr, &err);
    ASSERT_NE(ast, nullptr);
    EXPECT_EQ(ast->used[0] + ast->used[1] + ast->used[3], 0);
    EXPECT_EQ(ast->used[2], 1);
    pvrt__expr_ast_free(ast);
}

// ---- Folding and code generation -------------------------------------------

std::string disasm_of(const char *text, int flags = 0, int nsources = 3)
{
    pvrt__expr_error err;
    pvrt__expr_program *prog =
        pvrt__expr_compile(text, strlen(text), nsources, nullptr, flags, &err);
    if (prog == nullptr)
        return std::string("error: ") + err.message;
    char *s = pvrt__expr_disasm(prog);
    std::string out = s;
    free(s);
    pvrt__expr_program_free(prog);
    return out;
}

TEST(ExprFold, ConstantsFoldAway)
{
    EXPECT_EQ(disasm_of("1 + 2 * 3"), "k0 = 7\nresult k0\n");
    EXPECT_EQ(disasm_of("B1 * (2 ** 3)"),
              "k0 = 8\nt0 = mul B1 k0\nresult t0\n");
    EXPECT_EQ(disasm_of("x = 2; y = x * 3; B2 + y"),
              "k0 = 6\nt0 = add B2 k0\nresult t0\n");
    EXPECT_EQ(disasm_of("-inf"), "k0 = -inf\nresult k0\n");
    EXPECT_EQ(disasm_of("1 / -0"), "k0 = -inf\nresult k0\n");
    const std::string nan_listing = disasm_of("0 / 0 + B1"); // "nan" or "-nan"
    EXPECT_NE(nan_listing.find("nan\nt0 = add k0 B1\nresult t0\n"),
              std::string::npos)
        << nan_listing;
}

TEST(ExprFold, UnfoldedKeepsInstructions)
{
    EXPECT_EQ(disasm_of("1 + 2", PVRT_EXPR_NO_FOLD),
              "k0 = 1\nk1 = 2\nt0 = add k0 k1\nresult t0\n");
    // isnodata is not pure: the nodata value comes with each read.
    EXPECT_NE(disasm_of("isnodata(3)").find("isnodata"), std::string::npos);
    // Only the sources named in the text are loaded.
    EXPECT_EQ(disasm_of("B3 * B3"), "t0 = mul B3 B3\nresult t0\n");
}

// Folded and unfolded programs give the same bits for constant
// expressions, NaN, infinities and -0 included.
TEST(ExprFold, FoldedEqualsUnfolded)
{
    std::mt19937_64 rng(7);
    int checked = 0;
    for (int i = 0; i < 400; i++) {
        auto tree = exprref::random_tree(rng, 0, 4);
        const std::string text = exprref::print(*tree, {}, false);
        double got[2];
        for (int fold = 0; fold < 2; fold++) {
            pvrt__expr_error err;
            pvrt__expr_program *prog =
                pvrt__expr_compile(text.data(), text.size(), 0, nullptr,
                                   fold ? 0 : PVRT_EXPR_NO_FOLD, &err);
            ASSERT_NE(prog, nullptr) << text << ": " << err.message;
            std::vector<double> regs((size_t)prog->nregs * PVRT_EXPR_BLOCK);
            pvrt__expr_vm_load_constants(prog, regs.data());
            pvrt__expr_vm_ctx ctx = {0, 0};
            pvrt__expr_vm_run(prog, regs.data(), 1, &ctx);
            got[fold] = regs[(size_t)prog->result * PVRT_EXPR_BLOCK];
            if (fold && text.find("isnodata") == std::string::npos) {
                EXPECT_EQ(prog->ncode, 0) << text;
            }
            pvrt__expr_program_free(prog);
        }
        // Bit for bit, NaN payloads included: the same kernels ran.
        EXPECT_EQ(std::memcmp(&got[0], &got[1], 8), 0) << text;
        EXPECT_TRUE(same(got[0], exprref::eval(*tree, {}, {}))) << text;
        checked++;
    }
    EXPECT_EQ(checked, 400);
}

// ---- Every opcode -------------------------------------------------------

const std::vector<double> &special_values()
{
    static const std::vector<double> v = {0.0,
                                          -0.0,
                                          1,
                                          -1,
                                          2.5,
                                          -2.5,
                                          3,
                                          7,
                                          0.5,
                                          -0.5,
                                          63,
                                          64,
                                          -64,
                                          255,
                                          1e300,
                                          -1e300,
                                          INFINITY,
                                          -INFINITY,
                                          NAN,
                                          9.3e18,
                                          -9.3e18,
                                          9223372036854775808.0,
                                          -9223372036854775808.0,
                                          4503599627370497.0};
    return v;
}

TEST(ExprOps, EveryOpcodeMatchesReference)
{
    struct Case {
        const char *op;   // opcode name expected in the program
        const char *text; // expression over B1, B2, B3
        const char *ref;  // reference op text (exprref::ops)
        exprref::Style style;
    };
    const Case cases[] = {
        {"neg", "-B1", "-", exprref::PREFIX},
        {"not", "!B1", "!", exprref::PREFIX},
        {"bnot", "~B1", "~", exprref::PREFIX},
        {"pow", "B1 ** B2", "**", exprref::INFIX},
        {"mul", "B1 * B2", "*", exprref::INFIX},
        {"div", "B1 / B2", "/", exprref::INFIX},
        {"mod", "B1 % B2", "%", exprref::INFIX},
        {"add", "B1 + B2", "+", exprref::INFIX},
        {"sub", "B1 - B2", "-", exprref::INFIX},
        {"shl", "B1 << B2", "<<", exprref::INFIX},
        {"shr", "B1 >> B2", ">>", exprref::INFIX},
        {"band", "B1 & B2", "&", exprref::INFIX},
        {"bxor", "B1 ^ B2", "^", exprref::INFIX},
        {"bor", "B1 | B2", "|", exprref::INFIX},
        {"lt", "B1 < B2", "<", exprref::INFIX},
        {"le", "B1 <= B2", "<=", exprref::INFIX},
        {"gt", "B1 > B2", ">", exprref::INFIX},
        {"ge", "B1 >= B2", ">=", exprref::INFIX},
        {"eq", "B1 == B2", "==", exprref::INFIX},
        {"ne", "B1 != B2", "!=", exprref::INFIX},
        {"land", "B1 && B2", "&&", exprref::INFIX},
        {"lor", "B1 || B2", "||", exprref::INFIX},
        {"select", "B1 ? B2 : B3", "?:", exprref::TERNARY},
        {"clamp", "clamp(B1, B2, B3)", "clamp", exprref::CALL},
        {"atan2", "atan2(B1, B2)", "atan2", exprref::CALL},
        {"hypot", "hypot(B1, B2)", "hypot", exprref::CALL},
        {"min", "min(B1, B2)", "min", exprref::CALL},
        {"max", "max(B1, B2)", "max", exprref::CALL},
    };
    const char *unary_functions[] = {
        "abs",  "sqrt",  "cbrt", "exp",   "exp2",  "log",  "log2",  "log10",
        "sin",  "cos",   "tan",  "asin",  "acos",  "atan", "sinh",  "cosh",
        "tanh", "floor", "ceil", "round", "trunc", "sign", "isnan", "isinf"};
    std::vector<Case> all(std::begin(cases), std::end(cases));
    std::vector<std::string> texts;
    texts.reserve(64);
    for (const char *f : unary_functions) {
        texts.push_back(std::string(f) + "(B1)");
        all.push_back({f, texts.back().c_str(), f, exprref::CALL});
    }
    std::set<std::string> covered = {"loadk", "isnodata"}; // tested below

    const auto &vals = special_values();
    std::vector<double> b1, b2, b3;
    for (double x : vals)
        for (double y : vals) {
            b1.push_back(x);
            b2.push_back(y);
            b3.push_back(vals[(b1.size() * 7) % vals.size()]);
        }
    for (const Case &c : all) {
        const std::string listing = disasm_of(c.text, PVRT_EXPR_NO_FOLD);
        EXPECT_NE(listing.find(std::string("= ") + c.op + " "),
                  std::string::npos)
            << c.text << "\n"
            << listing;
        covered.insert(c.op);
        const exprref::Op *ref = nullptr;
        for (const auto &op : exprref::ops())
            if (std::string(op.text) == c.ref && op.style == c.style)
                ref = &op;
        ASSERT_NE(ref, nullptr) << c.ref;
        std::vector<double> out;
        ASSERT_EQ(run(c.text, {b1, b2, b3}, out), CE_None) << c.text;
        for (size_t i = 0; i < b1.size(); i++) {
            std::vector<double> args = {b1[i], b2[i], b3[i]};
            args.resize(ref->arity);
            const double want = exprref::apply(*ref, args, {});
            ASSERT_TRUE(same(out[i], want))
                << c.text << " with B1=" << b1[i] << " B2=" << b2[i]
                << " B3=" << b3[i] << ": got " << out[i] << ", want " << want;
        }
    }
    EXPECT_EQ(covered.size(), (size_t)PVRT_OP_COUNT);
}

// More constants than get registers: the rest are loaded where used.
TEST(ExprOps, LoadkBeyondPreloadedConstants)
{
    std::string text = "B1";
    for (int k = 1; k <= PVRT_EXPR_MAX_KREGS + 10; k++)
        text += " + B2 * " + std::to_string(k) + ".25";
    EXPECT_NE(disasm_of(text.c_str()).find("loadk"), std::string::npos);
    std::vector<double> out;
    ASSERT_EQ(run(text, {{1, 2}, {0, 1}}, out), CE_None);
    // The reference sums in the same left-to-right order.
    double s0 = 1, s1 = 2;
    for (int k = 1; k <= PVRT_EXPR_MAX_KREGS + 10; k++) {
        s0 = s0 + 0 * (k + 0.25);
        s1 = s1 + 1 * (k + 0.25);
    }
    EXPECT_EQ(out[0], s0);
    EXPECT_EQ(out[1], s1);
}

TEST(ExprOps, Isnodata)
{
    std::vector<double> out;
    CPLStringList args;
    args.SetNameValue("nodata", "-9999");
    args.SetNameValue("propagate_nodata", "no");
    ASSERT_EQ(run("isnodata(B1) ? 100 : B1 * 2", {{1, -9999, 3}}, out, args),
              CE_None);
    EXPECT_EQ(out, (std::vector<double>{2, 100, 6}));
    ASSERT_EQ(run("isnodata(B1)", {{1, -9999, NAN}}, out), CE_None);
    EXPECT_EQ(out, (std::vector<double>{0, 0, 0})) << "no nodata: always 0";
    CPLStringList nan_nd;
    nan_nd.SetNameValue("nodata", "nan");
    nan_nd.SetNameValue("propagate_nodata", "no");
    ASSERT_EQ(run("isnodata(B1)", {{1, NAN, 3}}, out, nan_nd), CE_None);
    EXPECT_EQ(out, (std::vector<double>{0, 1, 0}));
}

// ---- Nodata ---------------------------------------------------------------

TEST(ExprNodata, PropagatesFromNamedSources)
{
    std::vector<double> out;
    CPLStringList args;
    args.SetNameValue("nodata", "0");
    // B2 is 0 (nodata) at pixel 1; B3 is never named, its nodata is ignored.
    ASSERT_EQ(run("B1 + B2", {{1, 2, 3, 0}, {10, 0, 30, 40}, {0, 0, 0, 0}}, out,
                  args),
              CE_None);
    EXPECT_EQ(out, (std::vector<double>{11, 0, 33, 0}));
    // A NaN result becomes nodata.
    ASSERT_EQ(run("sqrt(B1)", {{4, -1}}, out, args), CE_None);
    EXPECT_EQ(out, (std::vector<double>{2, 0}));
    // propagate_nodata=no: the expression sees the value.
    args.SetNameValue("propagate_nodata", "no");
    ASSERT_EQ(run("B1 + B2", {{1, 2}, {10, 0}}, out, args), CE_None);
    EXPECT_EQ(out, (std::vector<double>{11, 2}));
    // Without nodata, NaN stays NaN.
    ASSERT_EQ(run("sqrt(B1)", {{-1}}, out), CE_None);
    EXPECT_TRUE(std::isnan(out[0]));
}

TEST(ExprNodata, BuiltinNoDataArgumentIsUsed)
{
    std::vector<double> out;
    CPLStringList args;
    args.SetNameValue("NoData", "5");
    ASSERT_EQ(run("B1 * 2", {{5, 6}}, out, args), CE_None);
    EXPECT_EQ(out, (std::vector<double>{5, 12}));
}

// ---- Output conversion, types, blocks ---------------------------------------

TEST(ExprRun, ConvertsLikeCopyWordsAcrossBlocks)
{
    const int w = 700, h = 3; // two full blocks and a tail per row
    std::vector<GInt16> src(w * h);
    for (int i = 0; i < w * h; i++)
        src[i] = (GInt16)((i * 37) % 2001 - 1000);
    void *sources[1] = {src.data()};
    std::vector<GByte> out(w * h * 2, 0xAB);
    CPLStringList args;
    args.SetNameValue("expr", "B1 / 4 + 0.5");
    ASSERT_EQ(pvrt_test::pixelfunc("pvrt_expr")(sources, 1, out.data(), w, h,
                                                GDT_Int16, GDT_Byte, 2, 2 * w,
                                                args.List()),
              CE_None);
    for (int i = 0; i < w * h; i++) {
        const double v = src[i] / 4.0 + 0.5;
        GByte want;
        GDALCopyWords(&v, GDT_Float64, 8, &want, GDT_Byte, 1, 1);
        ASSERT_EQ(out[2 * i], want) << i;
        ASSERT_EQ(out[2 * i + 1], 0xAB) << "pixel spacing respected";
    }
}

// ---- Errors ---------------------------------------------------------------

struct BadCase {
    std::string expr;
    int column;           // 0: no column; -1: some column, not checked
    const char *contains; // part of the message
    int nsources;
    const char *names;
};

void expect_error(const BadCase &c, CPLStringList args = CPLStringList())
{
    std::vector<double> src(1, 1.0), out(1, 0);
    std::vector<void *> ptrs(c.nsources, src.data());
    args.SetNameValue("expr", c.expr.c_str());
    if (c.names)
        args.SetNameValue("names", c.names);
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    const CPLErr rc = pvrt_test::pixelfunc("pvrt_expr")(
        ptrs.data(), c.nsources, out.data(), 1, 1, GDT_Float64, GDT_Float64, 8,
        8, args.List());
    CPLPopErrorHandler();
    const std::string shown =
        c.expr.size() > 60 ? c.expr.substr(0, 60) + "..." : c.expr;
    ASSERT_EQ(rc, CE_Failure) << shown;
    EXPECT_EQ(CPLGetLastErrorNo(), CPLE_IllegalArg) << shown;
    const std::string msg = CPLGetLastErrorMsg();
    EXPECT_EQ(msg.rfind("pvrt_expr: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.contains), std::string::npos)
        << shown << "\nmessage: " << msg;
    if (c.column > 0) {
        EXPECT_NE(msg.find(" at column " + std::to_string(c.column) + "\n"),
                  std::string::npos)
            << shown << "\nmessage: " << msg;
        // The caret sits under the column in the echoed text (short texts).
        if (c.expr.size() < 30 && c.expr.find('\n') == std::string::npos) {
            const size_t nl = msg.find('\n');
            ASSERT_NE(nl, std::string::npos);
            std::string printable = c.expr;
            for (char &ch : printable)
                if ((unsigned char)ch >= 0x7f)
                    ch = '?';
                else if ((unsigned char)ch < 0x20)
                    ch = ' ';
            EXPECT_EQ(msg.substr(nl), "\n  " + printable + "\n  " +
                                          std::string(c.column - 1, ' ') + "^")
                << msg;
        }
    } else if (c.column == 0) {
        EXPECT_EQ(msg.find(" at column "), std::string::npos) << msg;
    }
}

TEST(ExprErrors, MalformedExpressions)
{
    const std::string megabyte(1 << 20, '1');
    const std::string deep_parens =
        std::string(10000, '(') + "B1" + std::string(10000, ')');
    const std::string deep_minus = std::string(10000, '-') + "B1";
    std::string deep_pow = "2";
    for (int i = 0; i < 300; i++)
        deep_pow += "**2";
    std::string deep_ternary;
    for (int i = 0; i < 300; i++)
        deep_ternary += "B1 ? 1 : ";
    deep_ternary += "2";
    std::string deep_calls;
    for (int i = 0; i < 300; i++)
        deep_calls += "abs(";
    deep_calls += "B1" + std::string(300, ')');
    const std::string long_name = "x" + std::string(70, 'a');
    const BadCase cases[] = {
        {"", 1, "empty expression", 3, nullptr},
        {"   ", 1, "empty expression", 3, nullptr},
        {"(B1 + B2", 9,
         "expected ')' to close the '(' at column 1, found the end", 3,
         nullptr},
        {"(((B1)", 7, "expected ')' to close the '(' at column 2", 3, nullptr},
        {"B1 + B2)", 8, "unbalanced ')'", 3, nullptr},
        {")", 1, "expected a value, found ')'", 3, nullptr},
        {"()", 2, "expected a value, found ')'", 3, nullptr},
        {"B1 +", 5, "expected a value, found the end of the expression", 3,
         nullptr},
        {"B1 * ", 6, "expected a value, found the end", 3, nullptr},
        {"B1 ? 2 : ", 10, "expected a value, found the end", 3, nullptr},
        {"* B1", 1, "expected a value, found '*'", 3, nullptr},
        {"1 +* 2", 4, "expected a value, found '*'", 3, nullptr},
        {"B1 === B2", 6, "expected a value, found '='", 3, nullptr},
        {"B1 + sqr(B2)", 6, "unknown function 'sqr'", 3, nullptr},
        {"B7 + 1", 1, "unknown variable 'B7': the band has 3 sources (B1..B3)",
         3, nullptr},
        {"B0", 1, "unknown variable 'B0'", 3, nullptr},
        {"B01", 1, "unknown variable 'B01'", 3, nullptr},
        {"B99999999999999", 1, "unknown variable 'B99999999999999'", 3,
         nullptr},
        {"1 + B1", 5, "unknown variable 'B1': the band has no sources", 0,
         nullptr},
        {"b1", 1, "unknown variable 'b1'", 3, nullptr},
        {"2 * foo", 5, "unknown variable 'foo'", 3, nullptr},
        {"atan2(B1)", 1, "function 'atan2' takes 2 arguments, got 1", 3,
         nullptr},
        {"sqrt(B1, B2)", 1, "function 'sqrt' takes 1 argument, got 2", 3,
         nullptr},
        {"sqrt()", 1, "function 'sqrt' takes 1 argument, got 0", 3, nullptr},
        {"min(B1)", 1, "function 'min' takes 2 or more arguments, got 1", 3,
         nullptr},
        {"1 + clamp(B1, 0)", 5, "function 'clamp' takes 3 arguments, got 2", 3,
         nullptr},
        {"where(B1, 1)", 1, "function 'where' takes 3 arguments, got 2", 3,
         nullptr},
        {"sqrt + 1", 1, "function 'sqrt' needs its arguments in parentheses", 3,
         nullptr},
        {"min(B1, B2", 11, "expected ',' or ')' in the arguments of 'min'", 3,
         nullptr},
        {"sqrt(B1 B2)", 9, "expected ',' or ')'", 3, nullptr},
        {"B1 ? 1", 7, "expected ':' for the '?' at column 4", 3, nullptr},
        {"B1 ? : 2", 6, "expected a value, found ':'", 3, nullptr},
        {"1..2", 1, "malformed number", 3, nullptr},
        {"3 * 1e", 5, "malformed number", 3, nullptr},
        {"2pi", 1, "malformed number", 3, nullptr},
        {"B1 $ 2", 4, "unexpected character '$'", 3, nullptr},
        {"B1 + \xc3\xa9", 6, "unexpected byte 0xC3 (only ASCII is allowed)", 3,
         nullptr},
        {"B1 \x01", 4, "unexpected byte 0x01", 3, nullptr},
        {"B1 B2", 4, "expected an operator, ';' or the end, found a name", 3,
         nullptr},
        {"1 = 2", 3, "expected an operator, ';' or the end, found '='", 3,
         nullptr},
        {"d = B1 - B2", 12, "must end with a value, not an assignment", 3,
         nullptr},
        {"d = B1; ", 9, "must end with a value, not an assignment", 3, nullptr},
        {"B1; B2", 1, "only the last statement may be a bare value", 3,
         nullptr},
        {"pi = 3; pi", 1, "cannot assign to 'pi': the name is reserved", 3,
         nullptr},
        {"B1 = 3; B1", 1, "cannot assign to 'B1'", 3, nullptr},
        {"sqrt = 3; 1", 1, "cannot assign to 'sqrt'", 3, nullptr},
        {"red = 1; red", 1, "cannot assign to 'red': it names a source", 2,
         "red,nir"},
        {"x = 1;; x", 7, "expected a statement, found ';'", 3, nullptr},
        {"x = ; x", 5, "expected a value, found ';'", 3, nullptr},
        {";", 1, "expected a value, found ';'", 3, nullptr},
        {"y + 1; y = 2", 1, "unknown variable 'y'", 3, nullptr},
        {long_name, 1, "name longer than 64 characters", 3, nullptr},
        {"1 +\n  * 2", 7, "expected a value, found '*'", 3, nullptr},
        {megabyte, 65537, "expression longer than 65536 bytes (1048576)", 3,
         nullptr},
        {deep_parens, 257, "expression nested deeper than 256 levels", 3,
         nullptr},
        {deep_minus, 256, "expression nested deeper than 256 levels", 3,
         nullptr},
        {deep_pow, 0, "", 3, nullptr},
        {deep_ternary, 0, "", 3, nullptr},
        {deep_calls, 0, "", 3, nullptr},
        {"nir - red", 0,
         "argument 'names' lists 2 names but the band has 3 sources", 3,
         "red,nir"},
        {"B1", 0, "argument 'names': item 2 is empty", 3, "a,,c"},
        {"B1", 0, "argument 'names': item 2 is empty", 2, "a,"},
        {"B1", 0, "argument 'names': item 2 ('1b') is not a name", 3, "a,1b,c"},
        {"B1", 0, "argument 'names': item 1 ('r\xc3\xa9') is not a name", 1,
         "r\xc3\xa9"},
        {"B1", 0, "argument 'names': 'a' appears twice", 3, "a,a,c"},
        {"B1", 0, "argument 'names': item 2 ('pi') is a reserved name", 3,
         "a,pi,c"},
        {"B1", 0, "argument 'names': item 2 ('B2') is a reserved name", 3,
         "a,B2,c"},
        {"B1", 0, "argument 'names': item 1 ('min') is a reserved name", 1,
         "min"},
        {"B1", 0, "argument 'names': item 1 is empty", 1, ""},
    };
    int count = 0;
    for (const BadCase &c : cases) {
        if (c.contains[0] == '\0') {
            // Deep chains of other kinds: an error about depth, at some
            // column past the 200th byte, never a crash.
            BadCase d = c;
            d.contains = "nested deeper than 256 levels";
            d.column = -1;
            expect_error(d);
            EXPECT_NE(std::string(CPLGetLastErrorMsg()).find(" at column "),
                      std::string::npos);
        } else {
            expect_error(c);
        }
        count++;
    }
    EXPECT_GE(count, 40);
}

TEST(ExprErrors, BadArguments)
{
    {
        CPLStringList args;
        std::vector<double> src(1), out(1);
        void *p = src.data();
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        EXPECT_EQ(pvrt_test::pixelfunc("pvrt_expr")(&p, 1, out.data(), 1, 1,
                                                    GDT_Float64, GDT_Float64, 8,
                                                    8, args.List()),
                  CE_Failure);
        CPLPopErrorHandler();
        EXPECT_NE(
            std::string(CPLGetLastErrorMsg()).find("missing argument 'expr'"),
            std::string::npos);
    }
    CPLStringList a1;
    a1.SetNameValue("propagate_nodata", "maybe");
    expect_error({"B1", 0,
                  "argument 'propagate_nodata' must be yes or no, got 'maybe'",
                  1, nullptr},
                 a1);
    CPLStringList a2;
    a2.SetNameValue("nodata", "abc");
    expect_error(
        {"B1", 0, "argument 'nodata' must be a number, got 'abc'", 1, nullptr},
        a2);
}

// Deepest accepted inputs, right at the limit, still work.
TEST(ExprErrors, DepthLimitIsExact)
{
    std::vector<double> out;
    // 254 parentheses, and the right operand of '+' opens the 256th level.
    const std::string ok =
        std::string(254, '(') + "B1 + 1" + std::string(254, ')');
    ASSERT_EQ(run(ok, {{1, 2}}, out), CE_None) << CPLGetLastErrorMsg();
    EXPECT_EQ(out, (std::vector<double>{2, 3}));
    const std::string minus = std::string(254, '-') + "B1";
    ASSERT_EQ(run(minus, {{1, 2}}, out), CE_None);
    EXPECT_EQ(out, (std::vector<double>{1, 2}));
}

// A long flat expression is not deep: it compiles (iteratively).
TEST(ExprErrors, LongFlatExpressionsCompile)
{
    std::string text = "B1";
    while (text.size() < 60000)
        text += " + B1";
    std::vector<double> out;
    ASSERT_EQ(run(text, {{1, 0.5}}, out), CE_None);
    const double terms = (double)((text.size() - 2) / 5 + 1);
    EXPECT_EQ(out[0], terms);
    EXPECT_EQ(out[1], terms * 0.5);
}

// ---- Verifier ---------------------------------------------------------------

TEST(ExprVerify, RejectsBrokenPrograms)
{
    pvrt__expr_error err;
    const char *text = "B1 * 2 + B2";
    pvrt__expr_program *prog =
        pvrt__expr_compile(text, strlen(text), 2, nullptr, 0, &err);
    ASSERT_NE(prog, nullptr);
    ASSERT_EQ(pvrt__expr_verify(prog, &err), 0);
    ASSERT_EQ(prog->ncode, 2);
    const pvrt__expr_insn saved0 = prog->code[0], saved1 = prog->code[1];
    const uint32_t saved_result = prog->result;
    auto expect_bad = [&](const char *what) {
        EXPECT_EQ(pvrt__expr_verify(prog, &err), -1) << what;
        EXPECT_NE(strstr(err.message, "invalid program"), nullptr) << what;
        prog->code[0] = saved0;
        prog->code[1] = saved1;
        prog->result = saved_result;
    };
    prog->code[0].op = PVRT_OP_COUNT;
    expect_bad("unknown opcode");
    prog->code[0].dst = 0;
    expect_bad("writes a source register");
    prog->code[0].a = (uint32_t)prog->nregs;
    expect_bad("operand out of range");
    prog->code[0].a = prog->code[1].dst;
    expect_bad("reads a temporary before it is written");
    prog->code[1].b = prog->code[1].dst;
    expect_bad("destination aliases operand");
    prog->code[0].op = PVRT_OP_LOADK;
    prog->code[0].a = 99;
    expect_bad("constant index");
    prog->result = (uint32_t)prog->nregs + 3;
    expect_bad("result out of range");
    prog->nused = 5;
    EXPECT_EQ(pvrt__expr_verify(prog, &err), -1);
    prog->nused = 2;
    prog->used[0] = 7;
    EXPECT_EQ(pvrt__expr_verify(prog, &err), -1);
    prog->used[0] = 0;
    EXPECT_EQ(pvrt__expr_verify(prog, &err), 0);
    pvrt__expr_program_free(prog);
    pvrt__expr_program_free(nullptr);
    pvrt__expr_ast_free(nullptr);
}

// ---- Small stacks -----------------------------------------------------------

void *parse_deep(void *arg)
{
    int *failures = static_cast<int *>(arg);
    const std::vector<std::string> inputs = {
        std::string(255, '(') + "B1" + std::string(255, ')'),
        std::string(255, '-') + "B1",
        std::string(10000, '(') + "B1" + std::string(10000, ')'),
        std::string(10000, '!') + "B1",
    };
    std::string worst;           // every binary level open at once, nested
    for (int i = 0; i < 22; i++) // 11 levels each: 243 in all
        worst += "B1 || B1 && B1 == B1 | B1 ^ B1 & B1 << B1 + B1 * -(";
    worst += "B1" + std::string(22, ')');
    std::string calls;
    for (int i = 0; i < 120; i++)
        calls += "min(B1, max(B2, ";
    calls += "B1" + std::string(240, ')');
    for (const std::string &s :
         {inputs[0], inputs[1], inputs[2], inputs[3], worst, calls}) {
        pvrt__expr_error err;
        pvrt__expr_program *prog =
            pvrt__expr_compile(s.data(), s.size(), 2, nullptr, 0, &err);
        const bool should_pass = s.size() < 5000;
        if ((prog != nullptr) != should_pass)
            (*failures)++;
        pvrt__expr_program_free(prog);
    }
    return nullptr;
}

TEST(ExprStack, ParsesOnA256KiBStack)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    int failures = 0;
    pthread_t thread;
    ASSERT_EQ(pthread_create(&thread, &attr, parse_deep, &failures), 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
    EXPECT_EQ(failures, 0);
}

// ---- Cache ------------------------------------------------------------------

TEST(ExprCache, KeyedByTextSourcesAndNames)
{
    std::vector<double> out;
    // Same text, different source count: B2 is valid only with 2 sources.
    ASSERT_EQ(run("B1 + 1", {{1}}, out), CE_None);
    ASSERT_EQ(run("B1 + 1", {{1}, {2}}, out), CE_None);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    EXPECT_EQ(run("B2", {{1}}, out), CE_Failure);
    CPLPopErrorHandler();
    ASSERT_EQ(run("B2", {{1}, {5}}, out), CE_None);
    EXPECT_EQ(out[0], 5);
    // Same text, different names.
    CPLStringList n1, n2;
    n1.SetNameValue("names", "a,b");
    n2.SetNameValue("names", "b,a");
    ASSERT_EQ(run("a - b", {{10}, {3}}, out, n1), CE_None);
    EXPECT_EQ(out[0], 7);
    ASSERT_EQ(run("a - b", {{10}, {3}}, out, n2), CE_None);
    EXPECT_EQ(out[0], -7);
    // Many distinct expressions (more than the cache holds), then cleanup.
    for (int i = 0; i < 200; i++) {
        ASSERT_EQ(run("B1 * " + std::to_string(i), {{2}}, out), CE_None);
        EXPECT_EQ(out[0], 2.0 * i);
    }
    pvrt__expr_cleanup();
    ASSERT_EQ(run("B1 * 3", {{2}}, out), CE_None);
    EXPECT_EQ(out[0], 6);
}

// Many threads share cached programs.
void *hammer(void *arg)
{
    int *bad = static_cast<int *>(arg);
    for (int i = 0; i < 300; i++) {
        std::vector<double> out;
        const int k = i % 80;
        if (run("B1 * " + std::to_string(k) + " + 1", {{3, 4}}, out) !=
                CE_None ||
            out[0] != 3.0 * k + 1 || out[1] != 4.0 * k + 1)
            (*bad)++;
    }
    return nullptr;
}

TEST(ExprCache, ConcurrentUse)
{
    pthread_t threads[4];
    int bad[4] = {0, 0, 0, 0};
    for (int t = 0; t < 4; t++)
        ASSERT_EQ(pthread_create(&threads[t], nullptr, hammer, &bad[t]), 0);
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], nullptr);
        EXPECT_EQ(bad[t], 0);
    }
}

} // namespace
