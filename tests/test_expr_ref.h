// test_expr_ref.h: an independent reference for pvrt_expr, for the tests.
//
// Expression trees built by the tests, printed to text with the fewest
// parentheses the documented precedence allows (so printing exercises the
// parser's precedence and associativity), and a plain recursive evaluator
// implementing the documented semantics on its own (C++ standard library,
// no code shared with pixelfuncs/expr/). The differential test compares
// pvrt_expr's output with this evaluator's, bit for bit.
#ifndef PVRT_TEST_EXPR_REF_H
#define PVRT_TEST_EXPR_REF_H

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace exprref
{

enum Style {
    PREFIX,  // -x
    INFIX,   // a + b
    CALL,    // f(a, b)
    TERNARY, // c ? a : b
};

struct Op {
    const char *text;
    Style style;
    int arity; // CALL with min/max: 2 here, more at random
    int prec;  // INFIX: 1 (||) .. 9 (*), 11 for **; PREFIX 10
};

inline const std::vector<Op> &ops()
{
    static const std::vector<Op> table = {
        {"-", PREFIX, 1, 10},  {"+", PREFIX, 1, 10},     {"!", PREFIX, 1, 10},
        {"~", PREFIX, 1, 10},  {"**", INFIX, 2, 11},     {"*", INFIX, 2, 9},
        {"/", INFIX, 2, 9},    {"%", INFIX, 2, 9},       {"+", INFIX, 2, 8},
        {"-", INFIX, 2, 8},    {"<<", INFIX, 2, 7},      {">>", INFIX, 2, 7},
        {"&", INFIX, 2, 6},    {"^", INFIX, 2, 5},       {"|", INFIX, 2, 4},
        {"<", INFIX, 2, 3},    {"<=", INFIX, 2, 3},      {">", INFIX, 2, 3},
        {">=", INFIX, 2, 3},   {"==", INFIX, 2, 3},      {"!=", INFIX, 2, 3},
        {"&&", INFIX, 2, 2},   {"||", INFIX, 2, 1},      {"?:", TERNARY, 3, 0},
        {"abs", CALL, 1, 0},   {"sqrt", CALL, 1, 0},     {"cbrt", CALL, 1, 0},
        {"exp", CALL, 1, 0},   {"exp2", CALL, 1, 0},     {"log", CALL, 1, 0},
        {"log2", CALL, 1, 0},  {"log10", CALL, 1, 0},    {"pow", CALL, 2, 0},
        {"sin", CALL, 1, 0},   {"cos", CALL, 1, 0},      {"tan", CALL, 1, 0},
        {"asin", CALL, 1, 0},  {"acos", CALL, 1, 0},     {"atan", CALL, 1, 0},
        {"atan2", CALL, 2, 0}, {"sinh", CALL, 1, 0},     {"cosh", CALL, 1, 0},
        {"tanh", CALL, 1, 0},  {"floor", CALL, 1, 0},    {"ceil", CALL, 1, 0},
        {"round", CALL, 1, 0}, {"trunc", CALL, 1, 0},    {"fmod", CALL, 2, 0},
        {"hypot", CALL, 2, 0}, {"sign", CALL, 1, 0},     {"min", CALL, 2, 0},
        {"max", CALL, 2, 0},   {"clamp", CALL, 3, 0},    {"isnan", CALL, 1, 0},
        {"isinf", CALL, 1, 0}, {"isnodata", CALL, 1, 0}, {"where", CALL, 3, 0},
    };
    return table;
}

struct Context {
    bool has_nodata = false;
    double nodata = 0;
};

// Truncation toward zero to int64, if the value has one.
inline bool to_i64(double x, int64_t *out)
{
    if (std::isnan(x) || std::isinf(x))
        return false;
    const double t = std::trunc(x);
    if (t < -9223372036854775808.0 || t >= 9223372036854775808.0)
        return false;
    *out = static_cast<int64_t>(t);
    return true;
}

inline double truth(bool b)
{
    return b ? 1.0 : 0.0;
}

inline double ref_min(double a, double b)
{
    if (std::isnan(a))
        return a;
    if (std::isnan(b))
        return b;
    return b < a ? b : a;
}
inline double ref_max(double a, double b)
{
    if (std::isnan(a))
        return a;
    if (std::isnan(b))
        return b;
    return b > a ? b : a;
}

// The documented meaning of each operator and function.
inline double apply(const Op &op, const std::vector<double> &v,
                    const Context &ctx)
{
    const std::string t = op.text;
    const double a = v.size() > 0 ? v[0] : 0, b = v.size() > 1 ? v[1] : 0;
    const double c = v.size() > 2 ? v[2] : 0;
    int64_t i = 0, j = 0;
    if (op.style == PREFIX) {
        if (t == "-")
            return -a;
        if (t == "+")
            return a;
        if (t == "!")
            return truth(a == 0);
        if (t == "~")
            return to_i64(a, &i) ? static_cast<double>(~i) : NAN;
    }
    if (op.style == TERNARY || t == "where")
        return a != 0 ? b : c;
    if (op.style == INFIX) {
        if (t == "**")
            return std::pow(a, b);
        if (t == "*")
            return a * b;
        if (t == "/") {
            if (b != 0)
                return a / b;
            if (a == 0 || std::isnan(a))
                return NAN;
            return std::signbit(a) != std::signbit(b) ? -INFINITY : INFINITY;
        }
        if (t == "%")
            return std::fmod(a, b);
        if (t == "+")
            return a + b;
        if (t == "-")
            return a - b;
        if (t == "<<") {
            if (!to_i64(a, &i) || !to_i64(b, &j) || j < 0 || j > 63)
                return NAN;
            return static_cast<double>(
                static_cast<int64_t>(static_cast<uint64_t>(i) << j));
        }
        if (t == ">>") {
            if (!to_i64(a, &i) || !to_i64(b, &j) || j < 0 || j > 63)
                return NAN;
            return static_cast<double>(i >> j); // arithmetic on gcc/clang
        }
        if (t == "&" || t == "^" || t == "|") {
            if (!to_i64(a, &i) || !to_i64(b, &j))
                return NAN;
            return static_cast<double>(t == "&"   ? (i & j)
                                       : t == "^" ? (i ^ j)
                                                  : (i | j));
        }
        if (t == "<")
            return truth(a < b);
        if (t == "<=")
            return truth(a <= b);
        if (t == ">")
            return truth(a > b);
        if (t == ">=")
            return truth(a >= b);
        if (t == "==")
            return truth(a == b);
        if (t == "!=")
            return truth(a != b);
        if (t == "&&")
            return truth(a != 0 && b != 0);
        if (t == "||")
            return truth(a != 0 || b != 0);
    }
    if (t == "abs")
        return std::fabs(a);
    if (t == "sqrt")
        return std::sqrt(a);
    if (t == "cbrt")
        return std::cbrt(a);
    if (t == "exp")
        return std::exp(a);
    if (t == "exp2")
        return std::exp2(a);
    if (t == "log")
        return std::log(a);
    if (t == "log2")
        return std::log2(a);
    if (t == "log10")
        return std::log10(a);
    if (t == "pow")
        return std::pow(a, b);
    if (t == "sin")
        return std::sin(a);
    if (t == "cos")
        return std::cos(a);
    if (t == "tan")
        return std::tan(a);
    if (t == "asin")
        return std::asin(a);
    if (t == "acos")
        return std::acos(a);
    if (t == "atan")
        return std::atan(a);
    if (t == "atan2")
        return std::atan2(a, b);
    if (t == "sinh")
        return std::sinh(a);
    if (t == "cosh")
        return std::cosh(a);
    if (t == "tanh")
        return std::tanh(a);
    if (t == "floor")
        return std::floor(a);
    if (t == "ceil")
        return std::ceil(a);
    if (t == "round")
        return std::round(a);
    if (t == "trunc")
        return std::trunc(a);
    if (t == "fmod")
        return std::fmod(a, b);
    if (t == "hypot")
        return std::hypot(a, b);
    if (t == "sign")
        return a > 0 ? 1.0 : a < 0 ? -1.0 : a;
    if (t == "min" || t == "max") {
        double r = v[0];
        for (size_t k = 1; k < v.size(); k++)
            r = t == "min" ? ref_min(r, v[k]) : ref_max(r, v[k]);
        return r;
    }
    if (t == "clamp")
        return ref_min(ref_max(a, b), c);
    if (t == "isnan")
        return truth(std::isnan(a));
    if (t == "isinf")
        return truth(std::isinf(a));
    if (t == "isnodata") {
        if (!ctx.has_nodata)
            return 0;
        return truth(std::isnan(ctx.nodata) ? std::isnan(a) : a == ctx.nodata);
    }
    std::fprintf(stderr, "exprref: unknown op %s\n", op.text);
    std::abort();
}

struct Node {
    enum Type { CONST, SOURCE, OP } type = CONST;
    double value = 0; // CONST
    std::string name; // CONST: "pi", "nan", ... or "" for a number
    int source = 0;   // SOURCE, 0-based
    const Op *op = nullptr;
    std::vector<std::unique_ptr<Node>> kids;
};

inline double eval(const Node &n, const std::vector<double> &src,
                   const Context &ctx)
{
    if (n.type == Node::CONST)
        return n.value;
    if (n.type == Node::SOURCE)
        return src[n.source];
    std::vector<double> v;
    for (const auto &k : n.kids)
        v.push_back(eval(*k, src, ctx));
    return apply(*n.op, v, ctx);
}

// Sources the tree names.
inline void used_sources(const Node &n, std::vector<bool> &used)
{
    if (n.type == Node::SOURCE)
        used[n.source] = true;
    for (const auto &k : n.kids)
        used_sources(*k, used);
}

// Precedence level of a printed node: 0 ternary .. 9 '*', 10 prefix,
// 11 '**', 12 primary.
inline int level(const Node &n)
{
    if (n.type == Node::CONST)
        return (n.name.empty() && std::signbit(n.value)) ? 10 : 12;
    if (n.type == Node::SOURCE)
        return 12;
    switch (n.op->style) {
        case PREFIX:
            return 10;
        case INFIX:
            return n.op->prec;
        case CALL:
            return 12;
        case TERNARY:
            return 0;
    }
    return 0;
}

inline std::string number(double v)
{
    if (std::isnan(v))
        return "nan";
    if (std::isinf(v))
        return v < 0 ? "-inf" : "inf";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.17g", v);
    return buf;
}

// Prints with parentheses only where precedence needs them (or always,
// when `full`).
inline std::string print(const Node &n, const std::vector<std::string> &names,
                         bool full);

inline std::string print_at(const Node &n, int need,
                            const std::vector<std::string> &names, bool full)
{
    const std::string s = print(n, names, full);
    const bool atom = n.type != Node::OP || n.op->style == CALL;
    if ((full && !atom && !(n.type == Node::CONST)) || level(n) < need)
        return "(" + s + ")";
    return s;
}

inline std::string print(const Node &n, const std::vector<std::string> &names,
                         bool full)
{
    if (n.type == Node::CONST)
        return n.name.empty() ? number(n.value) : n.name;
    if (n.type == Node::SOURCE)
        return names.empty() ? "B" + std::to_string(n.source + 1)
                             : names[n.source];
    const Op &op = *n.op;
    switch (op.style) {
        case PREFIX:
            return std::string(op.text) + print_at(*n.kids[0], 10, names, full);
        case INFIX:
            if (op.prec == 11) // base must be primary, exponent a unary
                return print_at(*n.kids[0], 12, names, full) + " ** " +
                       print_at(*n.kids[1], 10, names, full);
            return print_at(*n.kids[0], op.prec, names, full) + " " + op.text +
                   " " + print_at(*n.kids[1], op.prec + 1, names, full);
        case TERNARY:
            return print_at(*n.kids[0], 1, names, full) + " ? " +
                   print_at(*n.kids[1], 0, names, full) + " : " +
                   print_at(*n.kids[2], 0, names, full);
        case CALL: {
            std::string s = std::string(op.text) + "(";
            for (size_t k = 0; k < n.kids.size(); k++)
                s += (k ? ", " : "") + print_at(*n.kids[k], 0, names, full);
            return s + ")";
        }
    }
    return "";
}

// A random tree over nsources sources, at most `depth` deep.
inline std::unique_ptr<Node> random_tree(std::mt19937_64 &rng, int nsources,
                                         int depth)
{
    auto node = std::make_unique<Node>();
    std::uniform_int_distribution<int> pct(0, 99);
    if (depth == 0 || pct(rng) < 25) {
        if (nsources > 0 && pct(rng) < 60) {
            node->type = Node::SOURCE;
            node->source =
                std::uniform_int_distribution<int>(0, nsources - 1)(rng);
            return node;
        }
        static const double values[] = {0,    1,   2,    3,  0.5,  1.5,
                                        10,   255, 1000, -1, -2.5, 1e10,
                                        1e-3, 7,   64,   65};
        node->type = Node::CONST;
        const int k = pct(rng);
        if (k < 4) {
            node->name = "pi";
            node->value = M_PI;
        } else if (k < 7) {
            node->name = "e";
            node->value = M_E;
        } else if (k < 9) {
            node->name = "nan";
            node->value = NAN;
        } else if (k < 11) {
            node->name = "inf";
            node->value = INFINITY;
        } else
            node->value =
                values[pct(rng) % (sizeof(values) / sizeof(values[0]))];
        return node;
    }
    const auto &table = ops();
    node->type = Node::OP;
    node->op =
        &table[std::uniform_int_distribution<size_t>(0, table.size() - 1)(rng)];
    int arity = node->op->arity;
    const std::string t = node->op->text;
    if ((t == "min" || t == "max") && pct(rng) < 30)
        arity = 3 + pct(rng) % 2;
    for (int k = 0; k < arity; k++)
        node->kids.push_back(random_tree(rng, nsources, depth - 1));
    return node;
}

} // namespace exprref

#endif
