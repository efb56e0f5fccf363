// Ops layer: THE primitive table (one row per primitive) and the public builders that create nodes
// through it, with shape and dtype inference.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "symgrad/graph.hpp"

namespace symgrad {

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

// The adjoint flowing into a node during the reverse sweep. When grad() was called without a seed,
// the output's adjoint is a symbolic one: multiplying by it builds no node, so a gradient reads
// like the hand derivation (d/dx x*s = s, not 1*s).
class Cotangent {
public:
    Cotangent(Expr value, bool is_one) : value_(std::move(value)), is_one_(is_one) {}
    operator Expr() const { return value_; }  // NOLINT: the adjoint is an expression
    const Expr& expr() const { return value_; }
    bool is_one() const { return is_one_; }

private:
    Expr value_;
    bool is_one_;
};

// A builder operand: an expression, or a plain number that takes the dtype of the expressions
// beside it (so 2.0 * x is float32 when x is).
class Operand {
public:
    Operand(Expr e) : value_(std::move(e)) {}
    // Any number: 2, 0.5, 1e-3f, 3L (a number is stored as a double, then takes the expression's dtype).
    template <class Number>
    requires std::is_arithmetic_v<Number> Operand(Number v) : value_(static_cast<double>(v)) {}
    Operand(const Cotangent& g) : value_(g.expr()) {}
    bool is_expr() const { return std::holds_alternative<Expr>(value_); }
    const Expr& expr() const { return std::get<Expr>(value_); }
    double number() const { return std::get<double>(value_); }

private:
    std::variant<Expr, double> value_;
};

// Leaves. Inputs and trainable parameters are both variables; which are trained is the caller's business.
Expr var(std::string name, Shape shape = {}, DType dtype = DType::float64);
Expr constant(double value, DType dtype = DType::float64);
Expr constant(Tensor value);

// Builds op over operands, inferring shape and dtype; a mismatch throws ShapeError or DTypeError
// with the operation, the shapes and the expression in the message. Operations whose operands are
// all scalar constants are folded into a constant on the spot (exactly as they would evaluate).
Expr apply(Op op, std::span<const Operand> operands, Attrs attrs = {});
// The same for operands that are already expressions (used to rebuild nodes).
Expr apply_exprs(Op op, std::span<const Expr> operands, Attrs attrs = {});

Expr operator-(const Expr& x);
Expr operator+(const Operand& a, const Operand& b);
Expr operator-(const Operand& a, const Operand& b);
Expr operator*(const Operand& a, const Operand& b);
Expr operator/(const Operand& a, const Operand& b);
Expr operator<(const Operand& a, const Operand& b);
Expr operator<=(const Operand& a, const Operand& b);
Expr operator>(const Operand& a, const Operand& b);
Expr operator>=(const Operand& a, const Operand& b);

Expr neg(const Operand& x);
Expr add(const Operand& a, const Operand& b);
Expr sub(const Operand& a, const Operand& b);
Expr mul(const Operand& a, const Operand& b);
Expr div(const Operand& a, const Operand& b);
Expr pow(const Operand& base, const Operand& exponent);
Expr exp(const Operand& x);
Expr log(const Operand& x);
Expr log1p(const Operand& x);
Expr expm1(const Operand& x);
Expr sqrt(const Operand& x);
Expr abs(const Operand& x);
Expr sign(const Operand& x);
// The nearest integer with halves to even (as torch.round), the floor and the ceiling; their gradient is 0.
Expr round(const Operand& x);
Expr floor(const Operand& x);
Expr ceil(const Operand& x);
// The step: 0 where x < 0, at_zero where x == 0, 1 where x > 0 (NaN where x is NaN). Its gradient is 0 for x and
// [x == 0] for at_zero.
Expr heaviside(const Operand& x, const Operand& at_zero);
Expr sin(const Operand& x);
Expr cos(const Operand& x);
Expr tanh(const Operand& x);
Expr sigmoid(const Operand& x);
Expr softplus(const Operand& x);
Expr erf(const Operand& x);
Expr relu(const Operand& x);
Expr maximum(const Operand& a, const Operand& b);
Expr minimum(const Operand& a, const Operand& b);
// where(cond, a, b): a where cond is nonzero, else b.
Expr where(const Operand& cond, const Operand& a, const Operand& b);
Expr lt(const Operand& a, const Operand& b);
Expr le(const Operand& a, const Operand& b);
Expr gt(const Operand& a, const Operand& b);
Expr ge(const Operand& a, const Operand& b);
Expr eq(const Operand& a, const Operand& b);
Expr ne(const Operand& a, const Operand& b);
Expr clamp(const Operand& x, const Operand& lo, const Operand& hi);
// Gradient overrides. stop_gradient(e) is the value of e, through which no gradient flows (JAX's stop_gradient,
// PyTorch's detach). custom_grad(value, surrogate) is the value of `value` (broadcast with surrogate), whose gradient
// is the surrogate's: the adjoint goes to the surrogate and none to `value` (straight-through estimators,
// custom_grad(round(x), x); surrogate gradients of spiking units, custom_grad(x > 0, sigmoid(4 * x))). The value is
// exactly `value`'s, wherever the surrogate is inf or NaN too.
Expr stop_gradient(const Operand& x);
Expr custom_grad(const Operand& value, const Operand& surrogate);

// Structural. Axes may be negative (-1 is the last); an empty list means every axis.
Expr broadcast_to(const Expr& x, Shape shape);
Expr sum(const Expr& x, std::vector<std::int64_t> axes = {}, bool keepdims = false);
Expr mean(const Expr& x, std::vector<std::int64_t> axes = {}, bool keepdims = false);
// The largest element over the axes (NaN if any is NaN, -inf over no elements). Its gradient goes to the
// elements equal to the maximum, split evenly between ties (as PyTorch's amax).
Expr amax(const Expr& x, std::vector<std::int64_t> axes = {}, bool keepdims = false);
// One dimension of the new shape may be -1: it is inferred from the element count.
Expr reshape(const Expr& x, std::vector<std::int64_t> shape);
Expr permute(const Expr& x, std::vector<std::int64_t> permutation);
// Swaps two axes (by default the last two).
Expr transpose(const Expr& x, std::int64_t axis_a = -2, std::int64_t axis_b = -1);
// NumPy matmul: rank >= 2 operands multiply their last two axes and broadcast the rest;
// a rank-1 operand is treated as a row (left) or a column (right) vector and that axis is dropped.
Expr matmul(const Expr& a, const Expr& b);

// Rebuilds the graph of roots, replacing each node for which replace() returns an expression;
// everything above a replaced node is rebuilt through the builders (so shapes are checked again).
std::vector<Expr> substitute(std::span<const Expr> roots, const std::function<Expr(const Node&)>& replace);
// The same graph with every variable and constant in another dtype (gradcheck runs in float64).
std::vector<Expr> with_dtype(std::span<const Expr> roots, DType dtype);
// The distinct variables of a graph, in topological order.
std::vector<Expr> variables(std::span<const Expr> roots);
// The same values with the gradient overrides taken out: stop_gradient(e) as e, custom_grad(v, s) as v (broadcast to
// the node's shape), so the surrogate is not computed. For graphs that will not be differentiated again (the engine
// compiles its outputs through it); the roots themselves where there is no override.
std::vector<Expr> drop_gradient_overrides(std::span<const Expr> roots);

// ---------------------------------------------------------------------------------------------
// The primitive table
// ---------------------------------------------------------------------------------------------

enum class OpClass : std::uint8_t { leaf, elementwise, structural };

Expr operator*(const Cotangent& g, const Expr& e);
Expr operator*(const Expr& e, const Cotangent& g);
Expr operator/(const Cotangent& g, const Expr& e);
Expr operator-(const Cotangent& g);

// What a VJP rule sees: the node, its result, the incoming adjoint, and the operands by name.
// A rule returns the contribution to one operand's adjoint, or a null Expr for none; the reverse sweep
// (autodiff.cpp, contribution_shape) then sums it down to the operand's shape:
// - an elementwise rule, and broadcast_to's, returns a value of the node's shape or of a shape that broadcasts to it
//   (the adjoint itself, a per-unit vector, a scalar), which the sweep sums over the axes the operand was broadcast;
// - the other structural rules return a value in the operand's terms, of a shape that broadcasts with the
//   operand's: sum, mean and amax keep the reduced axes as 1; reshape and permute give the operand's shape;
//   matmul gives the product's batch axes, which the sweep sums away where the operand had none.
// The unseeded output's adjoint is a symbolic one (Cotangent::is_one), which a rule that hands the adjoint on
// unchanged (add, sum, reshape, permute, broadcast_to) may return as it is: ones broadcast to any shape.
struct Vjp {
    const Node& node;
    Expr result;
    Cotangent grad;

    Expr operand(std::size_t i) const { return node.input(i); }
    Expr x() const { return node.input(0); }
    Expr lhs() const { return node.input(0); }
    Expr rhs() const { return node.input(1); }
    Expr cond() const { return node.input(0); }
    const Attrs& attrs() const { return node.attrs(); }
    // The adjoint expanded to the node's exact shape (structural rules need that).
    Expr full_grad() const;
};

// What a forward-mode (JVP) rule sees: the node, its result, and each operand's tangent, the directional
// derivative of the operand along the chosen direction (null where the operand does not move). A rule returns the
// node's tangent, of the node's shape or of a shape that broadcasts to it, or a null Expr for none.
struct Jvp {
    const Node& node;
    Expr result;
    std::span<const Expr> tangents;

    Expr operand(std::size_t i) const { return node.input(i); }
    Expr x() const { return node.input(0); }
    Expr lhs() const { return node.input(0); }
    Expr rhs() const { return node.input(1); }
    const Attrs& attrs() const { return node.attrs(); }
    const Expr& tangent(std::size_t i) const { return tangents[i]; }
    // Operand i's tangent expanded to the operand's exact shape (structural rules need that); null stays null.
    Expr full_tangent(std::size_t i) const;
};

// Where the generated tests sample an operand: inside an interval that stays clear of kinks and
// singularities. A row may give two regions (e.g. either side of relu's kink).
struct Interval {
    double lo = -2.0;
    double hi = 2.0;
};
struct TestRegion {
    std::array<Interval, max_arity> operands{};
};
// A row's regions: one or two.
class TestRegions {
public:
    constexpr TestRegions() = default;
    constexpr TestRegions(TestRegion only) : regions_{only, {}}, count_(1) {}
    constexpr TestRegions(TestRegion first, TestRegion second) : regions_{first, second}, count_(2) {}
    constexpr std::span<const TestRegion> all() const { return {regions_.data(), count_}; }

private:
    std::array<TestRegion, 2> regions_{};
    std::size_t count_ = 0;
};

// Printing templates: "{0}", "{1}", "{2}" are operands, "{a}" the attribute text. An operand at the very
// start or end of a template is parenthesized by precedence; one enclosed in other text never is.
enum class Assoc : std::uint8_t { left, right };
// latex_precedence, where nonzero, replaces precedence for the LaTeX form (\\frac{a}{b} binds like an atom).
struct PrintForm {
    std::string_view text;
    std::string_view latex;
    int precedence = 9;
    Assoc assoc = Assoc::left;
    int latex_precedence = 0;
};
inline constexpr int atom_precedence = 9;

// How the exporters (export.hpp) write an elementwise op. An arithmetic or comparison operator is `infix`, the
// same symbol in Python and C++ ("-" of one operand is negation); any other op is a call of `torch` (a function
// of tensors) in the PyTorch export and of `cpp` (a function of scalars of type T) in the C++ export, with its
// operands in order; `torch_in_place` is the tensor method that computes an op of one or two operands into its first
// one (`exp_`, `mul_`), which the PyTorch export uses in no-grad mode to reuse a dead buffer. where, and max/min against a number, are
// written by the exporters themselves.
struct ExportForms {
    std::string_view infix;
    std::string_view torch;
    std::string_view torch_in_place;
    std::string_view cpp;
};

// A cheaper form of an elementwise op that gives the same bits for some operands, which the engine's planner,
// the native backend and both exporters use: pow with a constant whole exponent n from 2 to 8 is a product of
// n factors (as its kernel computes it, src/math/ops_kernels.hpp), power<n>.
enum class KernelVariant : std::uint8_t { general = 0, power2 = 2, power3, power4, power5, power6, power7, power8 };
constexpr int max_product_power = 8;  // (not inline: internal linkage, see src/exec/kernels_isa.hpp, rule 3)
// n for power<n>, 0 for general.
constexpr int product_power(KernelVariant v) { return static_cast<int>(v); }

template <class T> using ScalarKernel = T (*)(T a, T b, T c);
using TensorKernel = Tensor (*)(const Node& node, std::span<const Tensor> operands);
using ShapeRule = Shape (*)(std::span<const Expr> operands, const Attrs& attrs);
using VjpRule = Expr (*)(const Vjp& v, std::size_t operand);
using JvpRule = Expr (*)(const Jvp& j);
using AttrText = std::string (*)(const Attrs& attrs, std::span<const Expr> operands);
using VariantRule = KernelVariant (*)(const Node& node);
// The elements where operand i was selected (a 0/1 expression of the node's shape), or a null Expr for an
// operand that is never passed through (where's condition).
using SelectionRule = Expr (*)(const Node& node, std::size_t operand);

// One row of the primitive table: everything symgrad knows about a primitive. Rows are written with designated
// initialisers in src/ops/table.hpp; a field left out is null (no such thing for this op).
struct OpInfo {
    Op op;
    std::string_view name;
    std::size_t arity = 0;
    OpClass kind = OpClass::leaf;
    std::string_view description;  // one line for listings: "hyperbolic tangent"
    std::array<std::string_view, max_arity> operands{};  // operand names in signatures: {"x"}, {"a", "b"}
    // elementwise: the scalar kernels, written once for both types in src/math/ops_kernels.hpp
    ScalarKernel<float> f32 = nullptr;
    ScalarKernel<double> f64 = nullptr;
    // the kernels' C++ name in src/math/ops_kernels.hpp (symgrad::kernels::<name><T>), which the native backend's
    // generated code calls
    std::string_view kernel_name;
    VariantRule variant = nullptr;  // hook: a cheaper exact form for some operands (pow)
    // structural: the shape rule and the reference kernel
    ShapeRule shape = nullptr;
    TensorKernel eval = nullptr;
    VjpRule vjp = nullptr;  // null: no gradient flows through this op (comparisons, sign)
    // The forward-mode rule. Every structural row has one. An elementwise row may leave it out: its Jacobian is
    // diagonal, so its tangent is the sum over operands of its VJP rule applied to the operand's tangent (jvp_rule()
    // below); the rows that give one do so because it is shorter (add, mul, where, ...). tests/test_ops_table.cpp
    // checks <u, JVP(t)> = <VJP(u), t> for every row, at random points of its test regions.
    JvpRule jvp = nullptr;
    // Non-empty for the ops whose gradient is, on purpose, not the derivative of their value (stop_gradient,
    // custom_grad): what the trace and the graph say at such a node, with {0} and {1} for its operands. The checks
    // against finite differences leave these rows out, and test what they promise instead.
    std::string_view gradient_override;
    // hook of a selecting op (where): its VJP already gives the unselected operand exactly zero, and the reverse
    // sweep keeps that operand's own derivative out of the elements it did not select (autodiff.cpp, masks)
    SelectionRule selects = nullptr;
    PrintForm print{};
    AttrText attr_text = nullptr;  // null when the op has no attributes to print
    ExportForms exports{};
    TestRegions test_regions{};

    // The scalar kernel for T (float or double).
    template <class T> constexpr ScalarKernel<T> kernel() const { return for_element_type<T>(f32, f64); }
    KernelVariant variant_of(const Node& node) const { return variant ? variant(node) : KernelVariant::general; }
};

const OpInfo& op_info(Op op);
// The tangent of j.node by its row: the row's jvp, or for an elementwise row without one the sum of its VJP rule
// applied to each moving operand's tangent. Null: the node does not move (no operand does, or the op passes none).
Expr jvp_rule(const OpInfo& info, const Jvp& j);
std::span<const OpInfo> op_table();
// Whether op is one of the comparisons lt, le, gt, ge, eq, ne (whose values are exactly 0 or 1).
bool is_comparison(Op op);
// The op whose name is `name`, if any.
std::optional<Op> op_by_name(std::string_view name);

}  // namespace symgrad
