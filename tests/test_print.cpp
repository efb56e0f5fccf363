#include "helpers.hpp"

using namespace symgrad;

TEST_CASE("infix text uses minimal parentheses and keeps the graph's structure", "[print]") {
    const Expr a = var("a", {});
    const Expr b = var("b", {});
    const Expr c = var("c", {});
    CHECK(to_string(a + b * c) == "a + b * c");
    CHECK(to_string((a + b) * c) == "(a + b) * c");
    CHECK(to_string(a - b - c) == "a - b - c");
    CHECK(to_string(a - (b - c)) == "a - (b - c)");
    CHECK(to_string(a + (b + c)) == "a + (b + c)");  // another graph than (a + b) + c, so it says so
    CHECK(to_string(a / (b * c)) == "a / (b * c)");
    CHECK(to_string(-pow(a, 2)) == "-a ^ 2");
    CHECK(to_string(pow(-a, 2)) == "(-a) ^ 2");
    CHECK(to_string(pow(a, pow(b, c))) == "a ^ b ^ c");
    CHECK(to_string(pow(pow(a, b), c)) == "(a ^ b) ^ c");
    CHECK(to_string(-(a + b)) == "-(a + b)");
    CHECK(to_string(a * -2.0) == "a * -2");
    CHECK(to_string(pow(a, -2.0)) == "a ^ (-2)");
    CHECK(to_string((a > 0) * a) == "(a > 0) * a");
    CHECK(to_string(where(a > b, a, 0.5)) == "where(a > b, a, 0.5)");
    CHECK(to_string(maximum(a, 0)) == "max(a, 0)");
    CHECK(to_string(a * 0.1) == "a * 0.1");
    CHECK(to_string(var("f", {}, DType::float32) * 0.1) == "f * 0.1");
    CHECK(to_string(a * 1e-20) == "a * 1e-20");
}

TEST_CASE("structural ops print their attributes", "[print]") {
    const Expr m = var("m", {2, 3});
    CHECK(to_string(sum(m)) == "sum(m)");
    CHECK(to_string(sum(m, {1}, true)) == "sum(m, axes=[1], keepdims=true)");
    CHECK(to_string(mean(m, {0})) == "mean(m, axes=[0])");
    CHECK(to_string(reshape(m, {3, 2})) == "reshape(m, [3, 2])");
    CHECK(to_string(transpose(m)) == "permute(m, [1, 0])");
    CHECK(to_string(broadcast_to(m, {4, 2, 3})) == "broadcast_to(m, [4, 2, 3])");
    CHECK(to_string(matmul(m, transpose(m)) + 1) == "m @ permute(m, [1, 0]) + 1");
    CHECK(to_string(constant(Tensor::from_values({2, 3}, {1, 2, 3, 4, 5, 6})) * m) == "[[1, 2, 3], [4, 5, 6]] * m");
    CHECK(to_string(constant(Tensor::zeros({10, 10})) + 1) == "constant<float64 [10, 10]> + 1");
}

TEST_CASE("shared subexpressions are printed once as let bindings", "[print]") {
    const Expr x = var("x", {});
    const Expr s = sigmoid(x);
    const Expr y = s * (1 - s) + s;
    CHECK(to_string(y) == "let t1 = sigmoid(x)\nt1 * (1 - t1) + t1");
    const Expr outputs[] = {s * 2.0, s * 3.0};
    const std::vector<std::string> names = {"a", "b"};
    CHECK(to_string(outputs, names) == "let t1 = sigmoid(x)\na = t1 * 2\nb = t1 * 3");
    // A let name never clashes with a variable.
    const Expr t1 = var("t1", {});
    const Expr e = exp(t1);
    CHECK(to_string(e + e) == "let t2 = exp(t1)\nt2 + t2");
    CHECK(fmt::format("{}", x + 1) == "x + 1");
}

TEST_CASE("inline strings are cut at the limit", "[print]") {
    Expr e = var("x", {});
    for (int i = 0; i < 100; ++i) e = sin(e);
    const std::string text = to_inline_string(e, 50);
    CHECK(text.size() == 53);
    CHECK(text.ends_with("..."));
    CHECK(to_inline_string(Expr()) == "<empty>");
}

TEST_CASE("LaTeX reads as mathematics", "[print]") {
    const Expr x = var("x", {});
    const Expr beta = var("beta", {});
    const Expr p1 = var("p1", {});
    CHECK(to_latex(x * sigmoid(beta * x)) == "x \\cdot \\sigma\\left(\\beta \\cdot x\\right)");
    CHECK(to_latex(x / (p1 + 1)) == "\\frac{x}{p_{1} + 1}");
    CHECK(to_latex(pow(x + 1, 2)) == "\\left(x + 1\\right)^{2}");
    CHECK(to_latex(exp(-x)) == "e^{-x}");
    CHECK(to_latex(sqrt(abs(x))) == "\\sqrt{\\left|x\\right|}");
    CHECK(to_latex(x * 1e-5) == "x \\cdot 1 \\cdot 10^{-5}");
    CHECK(to_latex(where(x > 0, x, 0)) ==
          "\\begin{cases} x & \\text{if } \\left[x > 0\\right] \\ne 0 \\\\ 0 & \\text{otherwise} \\end{cases}");
    const Expr t = tanh(x);
    CHECK(to_latex(1 - t * t) == "1 - t_{1} \\cdot t_{1}, \\quad \\text{where } t_{1} = \\tanh\\left(x\\right)");
    const Expr outputs[] = {t * 2.0, t};
    const std::vector<std::string> names = {"dx", "y"};
    CHECK(to_latex(outputs, names) ==
          "\\begin{aligned}\nt_{1} &= \\tanh\\left(x\\right) \\\\\n\\mathrm{dx} &= t_{1} \\cdot 2 \\\\\ny &= t_{1}\n\\end{aligned}");
}

TEST_CASE("LaTeX names: greek letters, subscripts, words", "[print]") {
    CHECK(latex_name("beta") == "\\beta");
    CHECK(latex_name("p1") == "p_{1}");
    CHECK(latex_name("b_2") == "b_{2}");
    CHECK(latex_name("x_hat") == "x_{\\mathrm{hat}}");
    CHECK(latex_name("alpha_0") == "\\alpha_{0}");
    CHECK(latex_name("lr") == "\\mathrm{lr}");
    CHECK(latex_name("x") == "x");
    CHECK(latex_name("\\frac{a}{b}") == "\\frac{a}{b}");
}

TEST_CASE("DOT output has one vertex per node, labelled, and edges from operand to user", "[print]") {
    const Expr x = var("x", {4, 3});
    const Expr beta = var("beta", {3});
    const Expr y = x * sigmoid(beta * x);
    const Expr roots[] = {y};
    DotOptions options;
    options.output_names = {"y"};
    const auto values = evaluate_all(roots, {{"x", Tensor::ones({4, 3})}, {"beta", Tensor::zeros({3})}});
    options.values = &values;
    options.fill_color = [](const Node& n) { return n.op() == Op::sigmoid ? std::string("lightblue") : std::string(); };
    const std::string dot = to_dot(roots, options);
    CHECK(dot.starts_with("digraph G {"));
    CHECK(dot.find("rankdir=BT") != std::string::npos);
    CHECK(dot.find("label=\"x\\n[4, 3]\\ndata min 1, max 1\"") != std::string::npos);
    CHECK(dot.find("label=\"beta\\n[3]\\ndata [0, 0, 0]\"") != std::string::npos);
    CHECK(dot.find("label=\"y = mul\\n[4, 3]") != std::string::npos);
    // micrograd's data | grad: the adjoints, where given.
    const std::unordered_map<const Node*, Tensor> adjoints = {{beta.get(), Tensor::from_values({3}, {0.5, 1.5, 2})}};
    DotOptions with_adjoints = options;
    with_adjoints.adjoints = &adjoints;
    CHECK(to_dot(roots, with_adjoints).find("label=\"beta\\n[3]\\ndata [0, 0, 0]\\ngrad [0.5, 1.5, 2]\"") != std::string::npos);
    CHECK(dot.find("peripheries=2") != std::string::npos);
    CHECK(dot.find("fillcolor=\"lightblue\"") != std::string::npos);
    std::size_t edges = 0;
    for (std::size_t pos = dot.find("->"); pos != std::string::npos; pos = dot.find("->", pos + 2)) ++edges;
    CHECK(edges == 5);  // beta->mul, x->mul, mul->sigmoid, x->mul, sigmoid->mul
    const Expr summed[] = {sum(x, {0})};
    CHECK(to_dot(summed).find("label=\"sum axes=[0]\\n[3]\"") != std::string::npos);
    // A gradient override is drawn dashed, says so, and names which operand gives the value and which the gradient.
    const Expr overridden[] = {custom_grad(round(x), sigmoid(x)) + stop_gradient(x)};
    DotOptions filled;
    filled.fill_color = [](const Node& n) { return n.op() == Op::custom_grad ? std::string("pink") : std::string(); };
    const std::string marked = to_dot(overridden, filled);
    CHECK(marked.find("label=\"custom_grad\\ngradient replaced\\n[4, 3]\", fillcolor=\"pink\", style=\"filled,dashed\"]") != std::string::npos);
    CHECK(marked.find("label=\"stop_gradient\\ngradient stopped\\n[4, 3]\", style=dashed]") != std::string::npos);
    CHECK(marked.find("[label=\"value\"]") != std::string::npos);
    CHECK(marked.find("[label=\"surrogate\"]") != std::string::npos);
}
