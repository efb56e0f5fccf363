// nn layer: trainable activations and the small networks that use them. Parameters have shape policies (shared,
// per unit, or a fixed shape that broadcasts against one example), so a parameter can never depend on the batch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "symgrad/evaluate.hpp"

namespace symgrad::nn {

// A parameter that cannot be built as asked: above all, one whose shape would include the batch axis.
class ParameterError : public Error {
public:
    using Error::Error;
};

// How a parameter's shape follows from the input's shape ([B, U], or [B, C, H, W] for images).
enum class Policy {
    shared,  // [] : one value for every unit
    per_unit,  // the feature axis, the last: [U] for [B, U] and for [B, T, U] (NumPy broadcasting)
    per_channel,  // dim 1, as torch.nn.PReLU: [C, 1, 1] for [B, C, H, W]; [U] for [B, U] (the same as per_unit)
    fixed,  // the shape given, which must broadcast against one example (the input without its batch axis)
};

// An initial value: constant(v), uniform(lo, hi) or normal(mean, stddev).
struct Init {
    enum class Kind { constant, uniform, normal };
    Kind kind = Kind::constant;
    double a = 0.0;
    double b = 0.0;
    static Init constant(double value) { return {Kind::constant, value, 0.0}; }
    static Init uniform(double lo, double hi) { return {Kind::uniform, lo, hi}; }
    static Init normal(double mean, double stddev) { return {Kind::normal, mean, stddev}; }
    Tensor make(const Shape& shape, DType dtype, std::uint64_t seed) const;
    std::string describe() const;  // "1", "uniform(-1, 1)", "normal(0, 0.1)"
};

struct ParamSpec {
    std::string name;
    Policy policy = Policy::shared;
    Shape shape{};  // for Policy::fixed
    Init init = Init::constant(0.0);
};

// "per-unit:1.0", "shared:0.25", "per-unit:uniform(-1,1)", "[64]:normal(0,0.1)" -> a spec named `name`; an INIT
// alone ("0.25", "uniform(-1,1)") is shared, as torch.nn.PReLU's default.
// Errors name the flag's text and what is expected.
ParamSpec parse_param_spec(const std::string& name, const std::string& text);

// The shape of the parameter for inputs of shape `input` (batch axis first). Throws ParameterError for a fixed
// shape that includes the batch axis (more axes than one example has, other than leading 1s) or does not broadcast
// against an example.
Shape parameter_shape(const ParamSpec& spec, const Shape& input);

// An activation: an expression in `x` and its parameters. Each layer that uses it gets its own parameters.
class Activation {
public:
    // From the expression language: "x * sigmoid(beta * x)" with {beta: per-unit, 1.0}. Every variable other
    // than x must have a spec, and every spec must be a variable of the expression.
    static Activation parse(std::string name, std::string text, std::vector<ParamSpec> params);
    // Every activation of the zoo (activations.hpp) with its parameters' usual roles: learned per unit (swish's
    // beta, prelu's a, ...), learned and shared (elu's alpha), or fixed at the default (leaky_relu's slope); and
    // swish_beta (x * sigmoid(beta x), per-unit beta), tanh, sigmoid, identity, pau (degrees 5 and 4, the safe
    // denominator, shared coefficients fitted to leaky ReLU) and apl (two hinges per unit).
    static Activation builtin(std::string_view name);
    static std::vector<std::string> builtin_names();
    // From C++: build(x, params) returns the activation of x, with params holding one Expr per spec (by name),
    // e.g.  [](const Expr& x, const auto& p) { return x * sigmoid(p.at("beta") * x); }.
    using Builder = std::function<Expr(const Expr& x, const std::map<std::string, Expr>& params)>;
    static Activation from_function(std::string name, Builder build, std::vector<ParamSpec> params);

    const std::string& name() const { return name_; }
    // The expression's text: the one it was parsed from, or, for one made from a C++ function, the function's
    // expression printed with scalar placeholders.
    const std::string& text() const { return text_; }
    const std::vector<ParamSpec>& params() const { return params_; }
    // The activation applied to input, with its parameters given as expressions (by spec name).
    Expr apply(const Expr& input, const std::map<std::string, Expr>& params) const;

private:
    struct ParsedText;
    std::string name_;
    std::string text_;
    std::vector<ParamSpec> params_;
    Builder build_;  // set for activations made from a C++ function
    std::shared_ptr<ParsedText> parsed_;  // set for activations made from text: its graphs, parsed once per signature
};

// A trainable tensor: its variable in the graph, its current value (updated in place by the optimizers), and
// the group it belongs to ("weights", "biases", "activation"), which optimizers may treat differently.
struct Parameter {
    std::string name;  // e.g. "layer1.weight", "act1.beta"
    Expr variable;
    Tensor value;
    std::string group;
};

// How a Linear layer's weights start: Kaiming-uniform, bound sqrt(6 / fan_in) (for ReLU-like activations), or
// Xavier-uniform, bound sqrt(6 / (fan_in + fan_out)) (for tanh-like ones). Biases start at zero.
enum class WeightInit { kaiming, xavier };

// Building blocks, for networks other than the MLP below (compose the expressions):
// a Linear layer's parameters, "PREFIX.weight" [in, out] and "PREFIX.bias" [out] (zero);
std::vector<Parameter> linear_parameters(const std::string& prefix, std::int64_t in, std::int64_t out, DType dtype, std::uint64_t seed,
                                         WeightInit weights = WeightInit::kaiming);
// x @ weight + bias, for x of shape [B, in];
Expr linear(const Expr& x, const Parameter& weight, const Parameter& bias);
// an activation's parameters for a layer whose input has shape `input` ("PREFIX.NAME", group "activation"), shaped
// by their policies (ParameterError for a batch-shaped one), and the map Activation::apply takes.
std::vector<Parameter> activation_parameters(const Activation& activation, const std::string& prefix, const Shape& input, DType dtype,
                                             std::uint64_t seed);
std::map<std::string, Expr> activation_arguments(const Activation& activation, const std::string& prefix,
                                                 const std::vector<Parameter>& params);

// A multilayer perceptron: Linear layers (weights [in, out], biases [out]) with the activation after every hidden
// layer, each with its own activation parameters.
class MLP {
public:
    MLP(std::int64_t inputs, std::vector<std::int64_t> hidden, std::int64_t outputs, Activation activation, DType dtype = DType::float32,
        std::uint64_t seed = 1, WeightInit weights = WeightInit::kaiming);

    // The network's output for input x of shape [B, inputs] (the batch size is x's).
    Expr forward(const Expr& x) const;
    std::vector<Parameter>& parameters() { return parameters_; }
    const std::vector<Parameter>& parameters() const { return parameters_; }
    // The parameters' current values, by variable name, to bind beside the data.
    Bindings bindings() const;
    const Activation& activation() const { return activation_; }
    std::int64_t inputs() const { return inputs_; }
    std::int64_t outputs() const { return outputs_; }
    const std::vector<std::int64_t>& hidden() const { return hidden_; }
    DType dtype() const { return dtype_; }

private:
    struct Layer {
        std::size_t weight;
        std::size_t bias;
        std::vector<std::pair<std::string, std::size_t>> activation_params;  // spec name -> parameter index
    };
    std::int64_t inputs_;
    std::vector<std::int64_t> hidden_;
    std::int64_t outputs_;
    Activation activation_;
    DType dtype_;
    std::vector<Parameter> parameters_;
    std::vector<Layer> layers_;
};

// Losses, averaged over the batch (axis 0).
// Mean squared error.
Expr mse_loss(const Expr& prediction, const Expr& target);
// Binary cross-entropy of logits z against targets t in [0, 1]: mean(softplus(z) - t z), stable for any z.
Expr bce_with_logits_loss(const Expr& logits, const Expr& target);
// Cross-entropy of logits [B, K] against one-hot targets [B, K] (integer labels: one_hot()): the log-softmax is
// shifted by each row's amax, so no exp overflows.
Expr cross_entropy_loss(const Expr& logits, const Expr& one_hot_target);
// Labels 0..classes-1 as rows of a [N, classes] tensor.
Tensor one_hot(const std::vector<std::int32_t>& labels, std::int64_t classes, DType dtype = DType::float32);

}  // namespace symgrad::nn
