// The activation zoo: every built-in against PyTorch (value, first and second derivative, float32 and float64,
// from tests/reference/torch_activations.tsv), gradchecks of both orders for every catalog entry, the catalog's
// formulas against the functions, sinc at 0, the PAU degrees, and the errors of bad arguments.
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "helpers.hpp"

using namespace symgrad;
using symgrad::testing::message_of;
using symgrad::testing::require_passes;

namespace {

// One expression in one dtype: its input and PyTorch's answers, element by element.
struct Case {
    std::string expr;
    DType dtype;
    Shape shape;
    std::vector<double> x, w, v, y, g, h;
    bool has_h = true;
    std::size_t first_line = 0;
};

std::vector<Case> read_cases() {
    std::ifstream in(SYMGRAD_REFERENCE_DIR "/torch_activations.tsv");
    REQUIRE(in.good());
    std::vector<Case> cases;
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> f;
        std::stringstream stream(line);
        for (std::string field; std::getline(stream, field, '\t');) f.push_back(field);
        REQUIRE(f.size() == 10);
        const DType dtype = f[1] == "float32" ? DType::float32 : DType::float64;
        if (cases.empty() || cases.back().expr != f[0] || cases.back().dtype != dtype) {
            std::vector<std::int64_t> dims;
            std::stringstream dim_text(f[2]);
            for (std::string d; std::getline(dim_text, d, ',');) dims.push_back(std::stoll(d));
            Case c{f[0], dtype, Shape(dims), {}, {}, {}, {}, {}, {}, true, number};
            cases.push_back(c);
        }
        Case& c = cases.back();
        c.x.push_back(testing::reference_number(f[4]));
        c.w.push_back(testing::reference_number(f[5]));
        c.v.push_back(testing::reference_number(f[6]));
        c.y.push_back(testing::reference_number(f[7]));
        c.g.push_back(testing::reference_number(f[8]));
        c.h.push_back(testing::reference_number(f[9]));
        c.has_h = c.has_h && f[9] != "none";
    }
    return cases;
}

// Equal to rounding: NaN matches NaN, infinities by sign, finite values within a few ulp of the dtype relative to
// the value, or to the scale of the terms a derivative cancels (in float32 mostly: gelu'' near 0 subtracts O(1)
// terms, so its absolute error is a few float32 ulp of 1).
bool close(double ours, double theirs, DType dtype) {
    if (std::isnan(ours) || std::isnan(theirs)) return std::isnan(ours) && std::isnan(theirs);
    if (std::isinf(ours) || std::isinf(theirs)) return ours == theirs;
    const double rtol = dtype == DType::float32 ? 8e-6 : 1e-12;
    const double atol = dtype == DType::float32 ? 4e-7 : 1e-15;
    return std::fabs(ours - theirs) <= atol + rtol * std::fabs(theirs);
}

// Where symgrad means to differ from PyTorch, and why (docs/activations.md says the same).
std::string intended_difference(const Case& c, double x, const std::string& what, double ours, double theirs) {
    // hardswish'' at -3 and 3: PyTorch's first derivative there is the middle piece's, (2x + 3)/6, but its double
    // backward is zero on the closed outer pieces. symgrad differentiates the piece it chose for the first
    // derivative, so y'' = 1/3 there, consistent with y'.
    if (c.expr == "hardswish(x)" && what == "h" && std::fabs(x) == 3 && std::fabs(ours - 1.0 / 3) < 1e-7 && theirs == 0)
        return "hardswish kink";
    // softplus(x, beta) for beta x > 20: PyTorch returns x itself and a derivative of exactly 1 (a relative change
    // below 2e-9), and a second derivative of 0 where the true one is beta sigmoid'(beta x), at most 4.2e-8 for
    // beta = 2. symgrad computes the smooth function everywhere.
    if (c.expr.starts_with("softplus(") && what == "h" && theirs == 0 && std::fabs(ours) < 5e-8) return "softplus threshold";
    // elu, selu and celu at 0: PyTorch's first derivative there is the negative piece's (alpha, scale * alpha, 1),
    // its second derivative the positive piece's (0). symgrad keeps to the negative piece for both.
    const bool elu_family = c.expr.starts_with("elu(") || c.expr.starts_with("selu(") || c.expr.starts_with("celu(");
    if (elu_family && what == "h" && x == 0 && theirs == 0) return "elu kink";
    // mish'' at x = 1000: PyTorch's double backward overflows to NaN; the true value (and symgrad's) is 0.
    if (c.expr == "mish(x)" && what == "h" && std::isnan(theirs) && ours == 0) return "mish overflow";
    // hardsigmoid' in float64: PyTorch 1.13 multiplies by 1/6 rounded to float32; symgrad by the float64 1/6.
    if (c.expr == "hardsigmoid(x)" && c.dtype == DType::float64 && what == "g" && theirs == static_cast<double>(1.0f / 6) &&
        ours == 1.0 / 6) {
        return "hardsigmoid float32 constant";
    }
    return "";
}

bool accurate_in_float32(const std::vector<Case>& cases, const Case& c, const std::string& what, std::size_t i, double ours) {
    for (const Case& d : cases) {
        if (d.expr != c.expr || d.dtype != DType::float64 || d.x.size() <= i || d.x[i] != c.x[i]) continue;
        const double truth = what == "y" ? d.y[i] : what == "g" ? d.g[i] : d.h[i];
        return std::isfinite(truth) && std::fabs(ours - truth) <= 2e-6 + 8e-6 * std::fabs(truth);
    }
    return false;
}

Bindings bind(const Case& c) {
    Bindings b;
    b.emplace("x", Tensor::from_values(c.shape, c.x, c.dtype));
    b.emplace("w", Tensor::from_values(c.shape, c.w, c.dtype));
    b.emplace("v", Tensor::from_values(c.shape, c.v, c.dtype));
    return b;
}

}  // namespace

TEST_CASE("built-in activations agree with PyTorch in value, first and second derivatives", "[activations][torch]") {
    const auto cases = read_cases();
    REQUIRE(cases.size() >= 2 * 26);
    std::set<std::string> names;
    std::size_t intended = 0;
    for (const Case& c : cases) {
        ParseOptions options;
        options.dtype = c.dtype;
        options.shapes = {{"x", c.shape}, {"w", c.shape}, {"v", c.shape}};
        const Expr x = var("x", c.shape, c.dtype);
        const Expr y = parse(c.expr, options);
        names.insert(std::string(y.node().op() == Op::relu ? "relu" : c.expr.substr(0, c.expr.find('('))));
        const Expr g = grad(sum(parse("w", options) * y), {x})[0];
        const Expr h = grad(sum(parse("v", options) * g), {x})[0];
        const Expr outputs[] = {y, g, h};
        const Bindings at = bind(c);
        for (const bool engine : {true, false}) {
            const auto values = engine ? run_compiled(outputs, at) : evaluate(outputs, at);
            const std::vector<double>* expected[] = {&c.y, &c.g, &c.h};
            const char* what[] = {"y", "g", "h"};
            for (std::size_t k = 0; k < 3; ++k) {
                if (k == 2 && !c.has_h) continue;
                for (std::size_t i = 0; i < c.x.size(); ++i) {
                    const double ours = values[k].get(static_cast<std::int64_t>(i));
                    const double theirs = (*expected[k])[i];
                    if (close(ours, theirs, c.dtype)) continue;
                    // float32 results are also accepted within a few float32 ulp of PyTorch's float64 answer: where a
                    // derivative cancels O(1) terms (gelu_tanh'' at 3.5 takes 1 - tanh^2 of 4.3), PyTorch's float32
                    // rounding is one sample of many equally good ones.
                    if (c.dtype == DType::float32 && accurate_in_float32(cases, c, what[k], i, ours)) continue;
                    if (!intended_difference(c, c.x[i], what[k], ours, theirs).empty()) {
                        ++intended;
                        continue;
                    }
                    FAIL_CHECK(fmt::format("{} {} ({}) at x = {} (element {}, tsv line {}): {} is {:.17g} here, {:.17g} in PyTorch", c.expr,
                                           dtype_name(c.dtype), engine ? "engine" : "reference", c.x[i], i, c.first_line + i, what[k], ours,
                                           theirs));
                }
            }
        }
        // PyTorch 1.13 cannot differentiate hardsigmoid twice; it is piecewise linear, so y'' is exactly 0.
        if (!c.has_h) {
            const Tensor second = evaluate(h, at);
            for (std::int64_t i = 0; i < second.numel(); ++i) REQUIRE(second.get(i) == 0.0);
        }
    }
    // The documented differences occur (so the exemptions above are not dead), and only those.
    CHECK(intended > 0);
    // Every activation of the catalog that PyTorch has is covered.
    for (const auto& entry : activation_catalog()) {
        if (entry.torch.starts_with("F.")) {
            INFO(entry.name);
            CHECK(names.contains(entry.name));
        }
    }
}

namespace {

// One call of every catalog entry, with its parameters as per-unit variables [4] of x [3, 4] and their ranges
// (chosen so that random points rarely sit on a kink).
struct Sample {
    std::string call;
    std::map<std::string, std::pair<double, double>> ranges;
};

std::vector<Sample> samples() {
    return {
        {"relu(x)", {}},
        {"leaky_relu(x, slope)", {{"slope", {0.01, 0.3}}}},
        {"prelu(x, a)", {{"a", {0.1, 0.4}}}},
        {"elu(x, alpha)", {{"alpha", {0.5, 1.5}}}},
        {"selu(x)", {}},
        {"celu(x, alpha)", {{"alpha", {0.5, 1.5}}}},
        {"gelu(x)", {}},
        {"gelu_tanh(x)", {}},
        {"silu(x)", {}},
        {"swish(x, beta)", {{"beta", {0.5, 2}}}},
        {"mish(x)", {}},
        {"softplus(x)", {}},
        {"softplus(x, beta)", {{"beta", {0.5, 3}}}},
        {"softsign(x)", {}},
        {"hardtanh(x)", {}},
        {"hardtanh(x, lo, hi)", {{"lo", {-1.5, -1}}, {"hi", {1, 1.5}}}},
        {"hardsigmoid(x * 3)", {}},
        {"hardswish(x * 3)", {}},
        {"logsigmoid(x)", {}},
        {"tanhshrink(x)", {}},
        {"snake(x, a)", {{"a", {0.5, 2}}}},
        {"gaussian(x, sigma)", {{"sigma", {0.5, 2}}}},
        {"sinc(x)", {}},
        {"sinc(x / 4)", {}},  // inside the Taylor series' interval
        {"acon_c(x, p1, p2, beta)", {{"p1", {0.5, 1.5}}, {"p2", {-0.5, 0.5}}, {"beta", {0.5, 2}}}},
        {"srelu(x, tl, al, tr, ar)", {{"tl", {-1, -0.5}}, {"al", {0.01, 0.3}}, {"tr", {0.5, 1}}, {"ar", {0.5, 2}}}},
        {"apl(x, a1, b1, a2, b2)", {{"a1", {-0.5, 0.5}}, {"b1", {-1, 0}}, {"a2", {-0.5, 0.5}}, {"b2", {0, 1}}}},
        {"pau(x, 3, 2, a0, a1, a2, a3, b1, b2)",
         {{"a0", {-1, 1}}, {"a1", {-1, 1}}, {"a2", {-1, 1}}, {"a3", {-1, 1}}, {"b1", {-1, 1}}, {"b2", {-1, 1}}}},
        {"pau_sum_abs(x, 3, 2, a0, a1, a2, a3, b1, b2)",
         {{"a0", {-1, 1}}, {"a1", {-1, 1}}, {"a2", {-1, 1}}, {"a3", {-1, 1}}, {"b1", {0.2, 1}}, {"b2", {-1, -0.2}}}},
        {"softmax(x)", {}},
        {"softmax(x, 0)", {}},
        {"log_softmax(x)", {}},
        {"log_softmax(x, 0)", {}},
    };
}

}  // namespace

TEST_CASE("every catalog activation passes gradchecks of both orders, with per-unit parameters", "[activations]") {
    std::set<std::string> covered;
    std::uint64_t seed = 1;
    for (const Sample& s : samples()) {
        INFO(s.call);
        ParseOptions options;
        options.shapes["x"] = {3, 4};
        for (const auto& [name, range] : s.ranges) options.shapes[name] = {4};
        const Expr y = parse(s.call, options);
        covered.insert(s.call.substr(0, s.call.find('(')));
        std::vector<Expr> wrt{var("x", {3, 4})};
        Bindings at;
        at.emplace("x", Tensor::uniform({3, 4}, -2.5, 2.5, seed++));
        for (const auto& [name, range] : s.ranges) {
            wrt.push_back(var(name, {4}));
            at.emplace(name, Tensor::uniform({4}, range.first, range.second, seed++));
        }
        require_passes(gradcheck(y, wrt, at), s.call + ": first order");
        require_passes(gradgradcheck(y, wrt, at), s.call + ": second order");
    }
    for (const auto& entry : activation_catalog()) {
        INFO(entry.name << " has no gradcheck sample");
        CHECK(covered.contains(entry.name));
    }
}

TEST_CASE("each catalog formula means what the function computes", "[activations]") {
    std::size_t compared = 0;
    for (const auto& entry : activation_catalog()) {
        // Formulas with "..." (any degree, any number of hinges) or an axis are descriptions, not expressions.
        if (entry.formula.find("...") != std::string::npos || entry.formula.find("axis") != std::string::npos ||
            entry.formula.find("(1 at 0)") != std::string::npos) {
            continue;
        }
        INFO(entry.name << ": " << entry.formula);
        std::vector<std::string> args{"x"};
        ParseOptions options;
        options.shapes["x"] = {64};
        for (const auto& p : entry.params) {
            args.push_back(p.name);
            options.shapes[p.name] = {64};
        }
        REQUIRE(args.size() == entry.max_args);
        const Expr by_function = parse(fmt::format("{}({})", entry.name, fmt::join(args, ", ")), options);
        const Expr by_formula = parse(entry.formula, options);
        Bindings at;
        at.emplace("x", Tensor::uniform({64}, -4, 4, 7));
        std::uint64_t seed = 8;
        for (const auto& p : entry.params) at.emplace(p.name, Tensor::uniform({64}, 0.2, 1.5, seed++));
        if (entry.name == "hardtanh") at["lo"] = Tensor::uniform({64}, -1.5, -0.5, 3);
        if (entry.name == "srelu") at["tl"] = Tensor::uniform({64}, -1.5, -0.2, 4);
        const Tensor a = evaluate(by_function, at);
        const Tensor b = evaluate(by_formula, at);
        for (std::int64_t i = 0; i < a.numel(); ++i) REQUIRE(a.get(i) == Approx(b.get(i)).epsilon(1e-13).margin(1e-15));
        ++compared;
    }
    CHECK(compared >= 20);
}

TEST_CASE("sinc is exact at 0, with its true first and second derivatives, and smooth across the switch", "[activations]") {
    for (const DType dtype : {DType::float64, DType::float32}) {
        const Expr x = var("x", {7}, dtype);
        const Expr y = sinc(x);
        const Expr d1 = grad(sum(y), {x})[0];
        const Expr d2 = grad(sum(d1), {x})[0];
        const double points[] = {0.0, -0.0, 1e-300, 0.9999999, 1.0000001, 0.01, 1000.0};
        const Bindings at{{"x", Tensor::from_values({7}, points, dtype)}};
        const Expr outputs[] = {y, d1, d2};
        const auto values = evaluate(outputs, at);
        const double tol = dtype == DType::float32 ? 2e-7 : 4e-16;
        for (std::int64_t i = 0; i < 7; ++i) {
            const double p = dtype == DType::float32 ? static_cast<float>(points[i]) : points[i];  // as the dtype rounds it
            const double true_value = p == 0 ? 1 : std::sin(p) / p;
            const double true_d1 =
                std::fabs(p) < 0.1 ? -p / 3 + p * p * p / 30 - std::pow(p, 5) / 840 : (p * std::cos(p) - std::sin(p)) / (p * p);
            // sinc'' = -sinc - 2 sinc' / x, and -1/3 at 0 (the series -1/3 + x^2/10 near it)
            const double true_d2 = std::fabs(p) < 0.1 ? -1.0 / 3 + p * p / 10 - std::pow(p, 4) / 168 : -true_value - 2 * true_d1 / p;
            INFO(dtype_name(dtype) << " x = " << p);
            CHECK(values[0].get(i) == Approx(true_value).epsilon(tol).margin(tol));
            CHECK(values[1].get(i) == Approx(true_d1).epsilon(dtype == DType::float32 ? 1e-5 : 1e-13).margin(tol));
            CHECK(values[2].get(i) == Approx(true_d2).epsilon(dtype == DType::float32 ? 1e-4 : 1e-9).margin(tol));
        }
    }
}

TEST_CASE("pau takes any degrees and both denominators", "[activations]") {
    for (const auto& [m, n] : std::vector<std::pair<int, int>>{{0, 0}, {1, 0}, {0, 1}, {2, 1}, {5, 4}, {7, 6}}) {
        INFO("m = " << m << ", n = " << n);
        std::vector<std::string> a_names, b_names, p_terms, q_terms;
        ParseOptions options;
        options.shapes["x"] = {50};
        for (int j = 0; j <= m; ++j) {
            a_names.push_back(fmt::format("a{}", j));
            p_terms.push_back(fmt::format("a{} * x^{}", j, j));
        }
        for (int k = 1; k <= n; ++k) {
            b_names.push_back(fmt::format("b{}", k));
            q_terms.push_back(fmt::format("b{} * x^{}", k, k));
        }
        std::vector<std::string> args = a_names;
        args.insert(args.end(), b_names.begin(), b_names.end());
        const std::string tail = args.empty() ? "" : ", " + fmt::format("{}", fmt::join(args, ", "));
        const Expr safe = parse(fmt::format("pau(x, {}, {}{})", m, n, tail), options);
        const Expr sum_abs = parse(fmt::format("pau_sum_abs(x, {}, {}{})", m, n, tail), options);
        std::vector<std::string> abs_terms;
        for (const auto& t : q_terms) abs_terms.push_back("abs(" + t + ")");
        const std::string p = fmt::format("({})", fmt::join(p_terms, " + "));
        const Expr direct_safe = parse(n == 0 ? p + " / 1" : fmt::format("{} / (1 + abs({}))", p, fmt::join(q_terms, " + ")), options);
        const Expr direct_sum_abs = parse(n == 0 ? p + " / 1" : fmt::format("{} / (1 + {})", p, fmt::join(abs_terms, " + ")), options);
        Bindings at;
        at.emplace("x", Tensor::uniform({50}, -3, 3, 1));
        std::uint64_t seed = 2;
        for (const auto& name : args) at.emplace(name, Tensor::uniform({}, -1, 1, seed++));
        const Expr outputs[] = {safe, direct_safe, sum_abs, direct_sum_abs};
        const auto values = evaluate(outputs, at);
        for (std::int64_t i = 0; i < 50; ++i) {
            REQUIRE(values[0].get(i) == Approx(values[1].get(i)).epsilon(1e-12).margin(1e-14));
            REQUIRE(values[2].get(i) == Approx(values[3].get(i)).epsilon(1e-12).margin(1e-14));
        }
    }
    // From C++: the degrees are the lengths of the coefficient lists.
    const Expr x = var("x", {2});
    const Operand a[] = {0.0, 1.0, 0.5};
    const Operand b[] = {-2.0};
    const Tensor y = evaluate(pau(x, a, b, PauDenominator::sum_of_abs), {{"x", Tensor::from_values({2}, {1.0, -2.0})}});
    CHECK(y.get(0) == Approx(1.5 / 3));
    CHECK(y.get(1) == Approx(0.0 / 5));
}

TEST_CASE("softmax and log_softmax work along any axis", "[activations]") {
    const Expr x = var("x", {2, 3, 4});
    const Bindings at{{"x", Tensor::uniform({2, 3, 4}, -5, 5, 3)}};
    for (const std::int64_t axis : {0, 1, 2, -1, -3}) {
        INFO("axis " << axis);
        const Tensor total = evaluate(sum(softmax(x, axis), {axis}), at);
        for (std::int64_t i = 0; i < total.numel(); ++i) CHECK(total.get(i) == Approx(1.0).epsilon(1e-15));
        const Tensor log_total = evaluate(sum(exp(log_softmax(x, axis)), {axis}), at);
        for (std::int64_t i = 0; i < log_total.numel(); ++i) CHECK(log_total.get(i) == Approx(1.0).epsilon(1e-14));
    }
}

TEST_CASE("bad arguments of the built-in activations are errors that say which and why", "[activations][errors]") {
    const auto error = [](const std::string& text) { return message_of([&] { parse(text); }); };
    CHECK_THAT(error("pau(x, 2.5, 1, a0, a1, a2, b1)"),
               Catch::Contains("pau's numerator degree m must be a whole number from 0 to 32, got '2.5'"));
    CHECK_THAT(error("pau(x, m, 1, a0)"), Catch::Contains("got 'm'"));
    CHECK_THAT(error("pau(x, 2, -1, a0)"), Catch::Contains("denominator degree n must be a whole number from 0 to 32"));
    CHECK_THAT(error("pau(x, 2, 1, a0, a1, a2, b1, b2)"),
               Catch::Contains("pau(x, 2, 1, ...) takes 4 coefficients after the degrees (a0..a2, then b1), got 5"));
    CHECK_THAT(error("pau_sum_abs(x, 1, 2, a0)"),
               Catch::Contains("pau_sum_abs(x, 1, 2, ...) takes 4 coefficients after the degrees (a0..a1, then b1..b2), got 1"));
    CHECK_THAT(error("pau(x, 1)"), Catch::Contains("pau takes at least 3 arguments, got 2"));
    CHECK_THAT(error("apl(x, a1, b1, a2)"), Catch::Contains("apl takes x, then pairs a_s, b_s: an odd number of arguments, got 4"));
    CHECK_THAT(error("hardtanh(x, -2)"), Catch::Contains("hardtanh takes x alone (bounds -1 and 1) or x with both bounds lo and hi"));
    CHECK_THAT(error("softmax(x, 0.5)"), Catch::Contains("softmax's axis must be a whole number from -64 to 63, got '0.5'"));
    CHECK_THAT(error("softplus(x, 1, 2)"), Catch::Contains("softplus takes at most 2 arguments, got 3"));
    CHECK_THAT(message_of([] { parse("softmax(x, 2)", {.shapes = {{"x", {3, 4}}}}); }), Catch::Contains("axis"));
    CHECK_THAT(message_of([] { parse("swish(x, beta)", {.shapes = {{"x", {8, 4}}, {"beta", {3}}}}); }), Catch::Contains("[3]"));
    // The error points at the argument.
    const std::string report = error("pau(x, 2.5, 1, a0)");
    CHECK_THAT(report, Catch::Contains("column 8"));
    // too many coefficients: the first extra one; too few: the last one given
    CHECK_THAT(error("pau(x, 2, 1, a0, a1, a2, b1, b2)"), Catch::Contains("column 30"));
    CHECK_THAT(error("pau(x, 2, 1, a0, a1)"), Catch::Contains("column 18"));
    // From C++
    const Expr x = var("x");
    const Operand one[] = {1.0};
    const Operand two[] = {1.0, 2.0};
    CHECK_THAT(message_of([&] { apl(x, one, two); }), Catch::Contains("apl: 1 slopes a_s but 2 hinge positions b_s"));
    CHECK_THAT(message_of([&] { pau(x, std::span<const Operand>{}, one); }), Catch::Contains("at least one coefficient"));
}

TEST_CASE("the catalog is complete and well formed", "[activations]") {
    const std::set<std::string> required = {
        "relu", "leaky_relu", "prelu",    "elu",      "selu",        "celu",        "gelu",       "gelu_tanh",  "silu",  "swish",
        "mish", "softplus",   "softsign", "hardtanh", "hardsigmoid", "hardswish",   "logsigmoid", "tanhshrink", "snake", "gaussian",
        "sinc", "acon_c",     "srelu",    "apl",      "pau",         "pau_sum_abs", "softmax",    "log_softmax"};
    std::set<std::string> names;
    for (const auto& entry : activation_catalog()) {
        INFO(entry.name);
        names.insert(entry.name);
        CHECK(!entry.signature.empty());
        CHECK(!entry.formula.empty());
        CHECK(!entry.latex.empty());
        CHECK(entry.min_args >= 1);
        CHECK(entry.max_args >= entry.min_args);
        CHECK(find_activation(entry.name) == &entry);
        // every function of the catalog is a function of the language
        const auto& functions = language_functions();
        CHECK(std::any_of(functions.begin(), functions.end(), [&](const FunctionInfo& f) { return f.name == entry.name; }));
    }
    CHECK(names == required);
    CHECK(find_activation("nope") == nullptr);
}
