// The activation zoo: well-known activations as composites of the primitives, so their gradients, simplification
// and fusion come from the primitive table, with nothing of their own to get wrong. Each is a C++ function here
// and a function of the same name in the expression language; activation_catalog() describes them all (formula,
// LaTeX, parameters, the PyTorch equivalent) for `symgrad list`, the docs and the nn layer.
//
// Kinks follow PyTorch's functions (torch.nn.functional) where PyTorch has the activation: the derivative at a
// kink is the one PyTorch's backward gives (docs/activations.md lists them).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "symgrad/ops.hpp"

namespace symgrad {

// relu(x) = max(x, 0) in value (its derivative at 0 is 0, max's is 1/2), sigmoid, tanh and softplus(x) are
// primitives (ops.hpp); the catalog lists relu too.
// x where x > 0, else slope * x  (F.leaky_relu; the derivative at 0 is slope)
Expr leaky_relu(const Operand& x, const Operand& slope = 0.01);
// x where x > 0, else a * x  (F.prelu with a learned slope a)
Expr prelu(const Operand& x, const Operand& a);
// x where x > 0, else alpha * (exp(x) - 1)  (F.elu)
Expr elu(const Operand& x, const Operand& alpha = 1.0);
// scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al. (F.selu)
Expr selu(const Operand& x);
// x where x > 0, else alpha * (exp(x / alpha) - 1)  (F.celu)
Expr celu(const Operand& x, const Operand& alpha = 1.0);
// x * Phi(x) = x/2 * (1 + erf(x / sqrt 2))  (F.gelu)
Expr gelu(const Operand& x);
// x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))  (F.gelu(approximate='tanh'))
Expr gelu_tanh(const Operand& x);
// x * sigmoid(x)  (F.silu)
Expr silu(const Operand& x);
// x * sigmoid(beta * x)
Expr swish(const Operand& x, const Operand& beta);
// x * tanh(softplus(x))  (F.mish)
Expr mish(const Operand& x);
// softplus(beta * x) / beta, computed stably  (F.softplus(x, beta), without its linear cut-off above 20/beta)
Expr softplus(const Operand& x, const Operand& beta);
// x / (1 + |x|)  (F.softsign)
Expr softsign(const Operand& x);
// lo where x <= lo, hi where x >= hi, else x  (F.hardtanh: no gradient to x at the bounds)
Expr hardtanh(const Operand& x, const Operand& lo = -1.0, const Operand& hi = 1.0);
// 0 where x <= -3, 1 where x >= 3, else (x + 3) / 6  (F.hardsigmoid)
Expr hardsigmoid(const Operand& x);
// 0 where x < -3, x where x > 3, else x (x + 3) / 6  (F.hardswish)
Expr hardswish(const Operand& x);
// log(sigmoid(x)) = -softplus(-x)  (F.logsigmoid)
Expr logsigmoid(const Operand& x);
// x - tanh(x)  (F.tanhshrink)
Expr tanhshrink(const Operand& x);
// x + sin(a x)^2 / a  (Ziyin et al. 2020)
Expr snake(const Operand& x, const Operand& a);
// exp(-(x / sigma)^2 / 2)
Expr gaussian(const Operand& x, const Operand& sigma = 1.0);
// sin(x) / x, exactly 1 at 0 with the right derivatives there (its Taylor series for |x| < 1)
Expr sinc(const Operand& x);
// (p1 - p2) x sigmoid(beta (p1 - p2) x) + p2 x  (ACON-C, Ma et al. 2021)
Expr acon_c(const Operand& x, const Operand& p1, const Operand& p2, const Operand& beta);
// S-shaped ReLU (Jin et al. 2016): tr + ar (x - tr) where x >= tr, tl + al (x - tl) where x <= tl, else x
Expr srelu(const Operand& x, const Operand& tl, const Operand& al, const Operand& tr, const Operand& ar);
// Adaptive piecewise linear (Agostinelli et al. 2015): max(x, 0) + sum_s a_s max(b_s - x, 0), one hinge per pair
// (a_s, b_s). `a` and `b` must have the same length (ShapeError otherwise); zero hinges is relu.
Expr apl(const Operand& x, std::span<const Operand> a, std::span<const Operand> b);

// The Padé activation unit (Molina et al. 2020): P(x) / Q(x) with P(x) = a_0 + a_1 x + ... + a_m x^m and a
// denominator kept at least 1, so it has no poles:
enum class PauDenominator {
    abs_of_sum,  // Q = 1 + |b_1 x + ... + b_n x^n|      (the paper's "safe PAU", its default)
    sum_of_abs,  // Q = 1 + |b_1 x| + ... + |b_n x^n|
};
// The degrees are the lengths: m = numerator.size() - 1 (at least 1 coefficient), n = denominator.size().
Expr pau(const Operand& x, std::span<const Operand> numerator, std::span<const Operand> denominator,
         PauDenominator kind = PauDenominator::abs_of_sum);

// exp(x) / sum(exp(x)) and its logarithm along one axis (negative counts from the end), shifted by the maximum so
// no exp overflows  (F.softmax, F.log_softmax).
Expr softmax(const Expr& x, std::int64_t axis = -1);
Expr log_softmax(const Expr& x, std::int64_t axis = -1);

// ---------------------------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------------------------

// How a parameter is usually treated when the activation is trained (the nn layer's default for it).
enum class ParameterRole {
    per_unit,  // learned, one value per unit (the last axis; per-channel is its dim-1 twin, nn::Policy)
    shared,  // learned, one value for the layer
    fixed,  // a hyperparameter: a constant at its default value unless given
};

struct ActivationParameter {
    std::string name;
    double default_value;
    ParameterRole role;
    std::string meaning;
};

// An argument of a catalog function that is not what it must be (pau's degrees, softmax's axis, a count of
// coefficients): which argument (0 is x) and why.
class ActivationArgumentError : public Error {
public:
    // quote: whether a report should add the argument's text ("..., got 'x'"); false where the message says it.
    ActivationArgumentError(std::size_t argument, const std::string& message, bool quote = true)
        : Error(message), argument_(argument), quote_(quote) {}
    std::size_t argument() const { return argument_; }
    bool quote() const { return quote_; }

private:
    std::size_t argument_;
    bool quote_;
};

struct ActivationInfo {
    std::string name;
    std::string signature;  // in the expression language: "swish(x, beta)"
    std::string formula;  // the definition, in the expression language where it can be written there
    std::string latex;
    std::vector<ActivationParameter> params;  // in argument order after x (for pau and apl: a description)
    std::string torch;  // the PyTorch equivalent, or "" where PyTorch has none
    std::string note;  // kinks, conventions, references
    std::size_t min_args;  // counting x
    std::size_t max_args;
    // Builds it from its arguments (args[0] is x). Throws ActivationArgumentError for a bad argument.
    Expr (*build)(std::span<const Expr> args);
};

// Every activation of the zoo, sorted by name.
const std::vector<ActivationInfo>& activation_catalog();
// The entry with this name, or nullptr.
const ActivationInfo* find_activation(std::string_view name);

}  // namespace symgrad
