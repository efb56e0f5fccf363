#include "symgrad/nn.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <mutex>

#include "symgrad/activations.hpp"
#include "symgrad/detail/text.hpp"
#include "symgrad/parse.hpp"
#include "symgrad/print.hpp"

#include "nn/finite_number.hpp"
#include "nn/param_specs.hpp"

namespace symgrad::nn {

namespace {

double number(std::string_view text, const std::string& where) {
    double value = 0.0;
    if (!detail::parse_finite_number(text, value)) throw ParameterError(fmt::format("{}: '{}' is not a finite number", where, text));
    return value;
}

// "uniform(-1, 1)" -> {"uniform", {-1, 1}}; "0.25" -> {"", {0.25}}.
Init parse_init(const std::string& text, const std::string& where) {
    const auto open = text.find('(');
    if (open == std::string::npos) return Init::constant(number(text, where));
    const std::string kind = text.substr(0, open);
    if (text.back() != ')') throw ParameterError(fmt::format("{}: '{}' lacks its closing parenthesis", where, text));
    const std::string inside = text.substr(open + 1, text.size() - open - 2);
    const auto comma = inside.find(',');
    if (comma == std::string::npos) throw ParameterError(fmt::format("{}: '{}' needs two numbers, e.g. {}(-1, 1)", where, text, kind));
    const double a = number(inside.substr(0, comma), where);
    const double b = number(inside.substr(comma + 1), where);
    if (kind == "uniform") {
        if (!(a < b)) throw ParameterError(fmt::format("{}: uniform(lo, hi) needs lo < hi, got '{}'", where, text));
        return Init::uniform(a, b);
    }
    if (kind == "normal") {
        if (!(b >= 0)) throw ParameterError(fmt::format("{}: normal(mean, stddev) needs stddev >= 0, got '{}'", where, text));
        return Init::normal(a, b);
    }
    throw ParameterError(fmt::format("{}: unknown initializer '{}': use a number, uniform(lo, hi) or normal(mean, stddev)", where, kind));
}

// The shape of a per-channel parameter: dim 1's length, then 1 for every later axis.
Shape per_channel_shape(const Shape& input) {
    std::vector<std::int64_t> dims(input.rank() - 1, 1);
    dims[0] = input[1];
    return Shape(dims);
}

std::string shape_advice(const Shape& input) {
    if (input.rank() > 2) {
        return fmt::format("use {} (one per unit, the last axis), {} (one per channel, dim 1) or [] (shared by all units)",
                           Shape{input[input.rank() - 1]}, per_channel_shape(input));
    }
    return fmt::format("use {} (one per unit) or [] (shared by all units)", Shape{input[input.rank() - 1]});
}

}  // namespace

Tensor Init::make(const Shape& shape, DType dtype, std::uint64_t seed) const {
    switch (kind) {
    case Kind::uniform: return Tensor::uniform(shape, a, b, seed, dtype);
    case Kind::normal: return Tensor::normal(shape, a, b, seed, dtype);
    case Kind::constant: break;
    }
    return Tensor::full(shape, a, dtype);
}

std::string Init::describe() const {
    switch (kind) {
    case Kind::uniform: return fmt::format("uniform({}, {})", a, b);
    case Kind::normal: return fmt::format("normal({}, {})", a, b);
    case Kind::constant: break;
    }
    return fmt::format("{}", a);
}

ParamSpec parse_param_spec(const std::string& name, const std::string& text) {
    const std::string where = fmt::format("parameter '{}' ('{}')", name, text);
    ParamSpec spec;
    spec.name = name;
    const auto colon = text.find(':');
    const std::string policy = text.substr(0, colon);
    const std::string init = colon == std::string::npos ? "" : text.substr(colon + 1);
    if (policy == "per-unit" || policy == "per_unit") {
        spec.policy = Policy::per_unit;
    } else if (policy == "per-channel" || policy == "per_channel") {
        spec.policy = Policy::per_channel;
    } else if (policy == "shared") {
        spec.policy = Policy::shared;
    } else if (!policy.empty() && policy.front() == '[' && policy.back() == ']') {
        spec.policy = Policy::fixed;
        std::vector<std::int64_t> dims;
        const std::string list = policy.substr(1, policy.size() - 2);
        std::size_t start = 0;
        while (!list.empty() && start <= list.size()) {
            const auto end = std::min(list.find(',', start), list.size());
            const double d = number(list.substr(start, end - start), where);
            if (d < 1 || d != std::floor(d)) throw ParameterError(fmt::format("{}: a dimension must be a whole number >= 1", where));
            dims.push_back(static_cast<std::int64_t>(d));
            start = end + 1;
        }
        spec.shape = Shape(dims);
    } else if (colon == std::string::npos &&
               std::any_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '('; })) {
        // INIT alone: one value shared by the layer, as torch.nn.PReLU's default (and as plot's NAME=VALUE reads).
        spec.policy = Policy::shared;
        spec.init = parse_init(text, where);
        return spec;
    } else {
        throw ParameterError(
            fmt::format("{}: write POLICY:INIT with POLICY per-unit, per-channel, shared or a shape like [64], and INIT a "
                        "number, uniform(lo, hi) or normal(mean, stddev), e.g. per-unit:1.0 (INIT alone is shared)",
                        where));
    }
    spec.init = init.empty() ? Init::constant(spec.policy == Policy::fixed ? 0.0 : 1.0) : parse_init(init, where);
    return spec;
}

Shape parameter_shape(const ParamSpec& spec, const Shape& input) {
    if (input.rank() < 2) {
        throw ParameterError(
            fmt::format("parameter '{}': the input has shape {}; a layer's input needs a batch axis and at least one "
                        "more ([B, U] or [B, C, H, W])",
                        spec.name, input));
    }
    switch (spec.policy) {
    case Policy::shared: return Shape{};
    case Policy::per_unit: return Shape{input[input.rank() - 1]};
    case Policy::per_channel: return per_channel_shape(input);
    case Policy::fixed: break;
    }
    const Shape& shape = spec.shape;
    const std::size_t example_rank = input.rank() - 1;
    // Axes beyond one example's are the batch's: a parameter may only have 1 there (it broadcasts).
    bool batch_dependent = false;
    for (std::size_t i = 0; i + example_rank < shape.rank(); ++i) batch_dependent = batch_dependent || shape[i] != 1;
    if (batch_dependent) {
        throw ParameterError(
            fmt::format("parameter '{}' has shape {}, which includes the batch axis: a parameter must not depend on "
                        "how many examples a batch holds; {}",
                        spec.name, shape, shape_advice(input)));
    }
    const Shape example(std::vector<std::int64_t>(input.begin() + 1, input.end()));
    const Shape own(
        std::vector<std::int64_t>(shape.end() - static_cast<std::ptrdiff_t>(std::min(shape.rank(), example_rank)), shape.end()));
    if (!broadcastable_to(own, example)) {
        throw ParameterError(fmt::format("parameter '{}' has shape {}, which does not broadcast against one example of shape {}; {}",
                                         spec.name, shape, example, shape_advice(input)));
    }
    return shape;
}

SpecMatch match_specs(const Expr& expression, std::string_view input, std::span<const ParamSpec> specs) {
    const Expr roots[] = {expression};
    std::vector<std::string> names;
    for (const auto& v : variables(roots)) names.push_back(v.node().attrs().name);
    const auto is_variable = [&](std::string_view name) { return std::find(names.begin(), names.end(), name) != names.end(); };
    const auto has_spec = [&](std::string_view name) {
        return std::any_of(specs.begin(), specs.end(), [&](const ParamSpec& p) { return p.name == name; });
    };
    SpecMatch match;
    match.input_used = is_variable(input);
    for (const auto& name : names) {
        if (name != input && !has_spec(name)) match.variables_without_spec.push_back(name);
    }
    for (const auto& spec : specs) {
        if (spec.name == input || !is_variable(spec.name)) match.specs_without_variable.push_back(spec.name);
    }
    return match;
}

// The text's graph for one signature of apply (the input's dtype, the shapes of x and of the parameters), parsed
// once: the graph depends on the signature (numbers are folded in the input's dtype, diff() and reductions follow
// the shapes), so a graph is reused only for the signature it was parsed with. A parse that fails is not kept: it
// fails again, with the same error, on every call. Copies of an activation share the graphs.
struct Activation::ParsedText {
    struct Form {
        DType dtype;
        std::map<std::string, Shape, std::less<>> shapes;
        Expr graph;
    };
    // The most recent signatures (batch sizes vary from call to call; the memory should not grow with them).
    static constexpr std::size_t capacity = 16;

    Expr graph_for(const std::string& text, const ParseOptions& options) {
        const std::lock_guard lock(mutex);
        for (const Form& form : forms) {
            if (form.dtype == options.dtype && form.shapes == options.shapes) return form.graph;
        }
        Expr graph = symgrad::parse(text, options);
        forms.push_back({options.dtype, options.shapes, graph});
        if (forms.size() > capacity) forms.pop_front();
        return graph;
    }

    std::mutex mutex;
    std::deque<Form> forms;  // the most recent last
};

Activation Activation::parse(std::string name, std::string text, std::vector<ParamSpec> params) {
    // Check the text once, with scalar shapes: every variable but x needs a spec, and every spec a variable.
    const SpecMatch match = match_specs(symgrad::parse(text), "x", params);
    if (!match.variables_without_spec.empty()) {
        const std::string& n = match.variables_without_spec.front();
        throw ParameterError(
            fmt::format("activation '{}': '{}' is a variable of '{}' but has no parameter spec (e.g. {}=per-unit:1.0)", name, n, text, n));
    }
    if (!match.input_used) throw ParameterError(fmt::format("activation '{}': '{}' does not use its input x", name, text));
    if (!match.specs_without_variable.empty()) {
        const std::string& p = match.specs_without_variable.front();
        if (p == "x") throw ParameterError(fmt::format("activation '{}': 'x' is the input, not a parameter", name));
        throw ParameterError(fmt::format("activation '{}': parameter '{}' is not a variable of '{}'", name, p, text));
    }
    Activation a;
    a.name_ = std::move(name);
    a.text_ = std::move(text);
    a.params_ = std::move(params);
    a.parsed_ = std::make_shared<ParsedText>();
    return a;
}

namespace {

// The activations of the zoo that the nn layer offers by name: the elementwise ones whose parameters are listed
// one by one (pau and apl take any number, so they get a fixed form of their own below).
bool offered_as_is(const ActivationInfo& entry) {
    return entry.name != "softmax" && entry.name != "log_softmax" && entry.max_args == 1 + entry.params.size();
}

Policy policy_of(ParameterRole role) { return role == ParameterRole::per_unit ? Policy::per_unit : Policy::shared; }

// The activations the nn layer offers besides the catalog's (activation_catalog() is the one list of the zoo): the
// usual learned swish, three plain functions, and fixed forms of pau and apl, which take any number of parameters.
struct OwnForm {
    std::string name;
    std::string text;
    std::vector<ParamSpec> params;
};

std::vector<OwnForm> make_own_forms() {
    // Padé (5, 4) with the safe denominator 1 + |Q|, initialized to a least-squares fit of leaky ReLU (slope 0.01)
    // on [-3, 3] (max error 0.064).
    const double a[] = {0.0637, 0.505, 0.9895, 0.8072, 0.2746, 0.0352};
    const double b[] = {0.0, 1.5984, 0.0, 0.0697};
    std::vector<ParamSpec> pau_specs;
    for (int k = 0; k < 6; ++k) pau_specs.push_back({fmt::format("a{}", k), Policy::shared, {}, Init::constant(a[k])});
    for (int k = 0; k < 4; ++k) pau_specs.push_back({fmt::format("b{}", k + 1), Policy::shared, {}, Init::constant(b[k])});
    return {
        {"swish_beta", "x * sigmoid(beta * x)", {{"beta", Policy::per_unit, {}, Init::constant(1.0)}}},
        {"tanh", "tanh(x)", {}},
        {"sigmoid", "sigmoid(x)", {}},
        {"identity", "x", {}},
        {"pau", "pau(x, 5, 4, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4)", std::move(pau_specs)},
        // Two hinges per unit, at -1 and 1 with small slopes, so it starts near relu and every parameter gets a
        // gradient from the start.
        {"apl",
         "apl(x, a1, b1, a2, b2)",
         {{"a1", Policy::per_unit, {}, Init::constant(0.2)},
          {"b1", Policy::per_unit, {}, Init::constant(-1.0)},
          {"a2", Policy::per_unit, {}, Init::constant(-0.2)},
          {"b2", Policy::per_unit, {}, Init::constant(1.0)}}},
    };
}

const std::vector<OwnForm>& own_forms() {
    static const std::vector<OwnForm> forms = make_own_forms();
    return forms;
}

}  // namespace

std::vector<std::string> Activation::builtin_names() {
    std::vector<std::string> names;
    for (const auto& form : own_forms()) names.push_back(form.name);
    for (const auto& entry : activation_catalog()) {
        if (offered_as_is(entry)) names.push_back(entry.name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

Activation Activation::builtin(std::string_view name) {
    for (const auto& form : own_forms()) {
        if (form.name == name) return parse(form.name, form.text, form.params);
    }
    const ActivationInfo* entry = find_activation(name);
    if (entry != nullptr && offered_as_is(*entry)) {
        // The catalog's call, with its hyperparameters as numbers and its learned parameters as variables.
        std::vector<std::string> args{"x"};
        std::vector<ParamSpec> specs;
        for (const auto& p : entry->params) {
            if (p.role == ParameterRole::fixed) {
                args.push_back(fmt::format("{}", p.default_value));
            } else {
                args.push_back(p.name);
                specs.push_back({p.name, policy_of(p.role), {}, Init::constant(p.default_value)});
            }
        }
        return parse(std::string(name), fmt::format("{}({})", name, fmt::join(args, ", ")), std::move(specs));
    }
    const std::string near = detail::nearest_name(name, builtin_names());
    throw ParameterError(fmt::format("unknown activation '{}'{}: the built-in ones are {} (or write an expression in x)", name,
                                     near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near), fmt::join(builtin_names(), ", ")));
}

Activation Activation::from_function(std::string name, Builder build, std::vector<ParamSpec> params) {
    if (!build) throw ParameterError(fmt::format("activation '{}': no function given", name));
    // Try it once on scalars: it must use x, accept every parameter, and name no other variable.
    const Expr x = var("x");
    std::map<std::string, Expr> probes;
    for (const auto& p : params) {
        if (p.name == "x") throw ParameterError(fmt::format("activation '{}': 'x' is the input, not a parameter", name));
        probes.emplace(p.name, var(p.name));
    }
    Expr probe;
    try {
        probe = build(x, probes);
    } catch (const std::out_of_range&) {
        throw ParameterError(fmt::format("activation '{}': the function asks for a parameter that has no spec", name));
    }
    if (!probe) throw ParameterError(fmt::format("activation '{}': the function returned an empty expression", name));
    const SpecMatch match = match_specs(probe, "x", params);
    if (!match.variables_without_spec.empty()) {
        throw ParameterError(fmt::format("activation '{}': the function uses a variable '{}' of its own; take it from params instead", name,
                                         match.variables_without_spec.front()));
    }
    if (!match.input_used) throw ParameterError(fmt::format("activation '{}': the function does not use its input x", name));
    Activation a;
    a.name_ = std::move(name);
    a.text_ = to_inline_string(probe, 200);
    a.params_ = std::move(params);
    a.build_ = std::move(build);
    return a;
}

Expr Activation::apply(const Expr& input, const std::map<std::string, Expr>& params) const {
    if (build_) {
        for (const auto& spec : params_) {
            if (!params.contains(spec.name))
                throw ParameterError(fmt::format("activation '{}': no value given for parameter '{}'", name_, spec.name));
        }
        return build_(input, params);
    }
    ParseOptions options;
    options.dtype = input.dtype();
    options.shapes["x"] = input.shape();
    for (const auto& [name, e] : params) options.shapes[name] = e.shape();
    // parsed_ is empty only in a default-constructed Activation (no text to reuse).
    const Expr parsed = parsed_ ? parsed_->graph_for(text_, options) : symgrad::parse(text_, options);
    const Expr roots[] = {parsed};
    return substitute(roots, [&](const Node& node) -> Expr {
        if (node.op() != Op::variable) return {};
        const std::string& name = node.attrs().name;
        if (name == "x") return input;
        const auto it = params.find(name);
        if (it == params.end()) throw ParameterError(fmt::format("activation '{}': no value given for parameter '{}'", name_, name));
        return it->second;
    })[0];
}

MLP::MLP(std::int64_t inputs, std::vector<std::int64_t> hidden, std::int64_t outputs, Activation activation, DType dtype,
         std::uint64_t seed, WeightInit weights)
    : inputs_(inputs), hidden_(std::move(hidden)), outputs_(outputs), activation_(std::move(activation)), dtype_(dtype) {
    if (inputs < 1 || outputs < 1)
        throw ParameterError(fmt::format("an MLP needs at least one input and one output, got {} and {}", inputs, outputs));
    for (auto h : hidden_) {
        if (h < 1) throw ParameterError(fmt::format("a hidden layer needs at least one unit, got {}", h));
    }
    std::int64_t fan_in = inputs;
    std::vector<std::int64_t> widths = hidden_;
    widths.push_back(outputs);
    for (std::size_t l = 0; l < widths.size(); ++l) {
        const std::int64_t fan_out = widths[l];
        Layer layer;
        layer.weight = parameters_.size();
        layer.bias = layer.weight + 1;
        for (auto& p : linear_parameters(fmt::format("layer{}", l + 1), fan_in, fan_out, dtype, seed * 1000 + l * 10 + 1, weights)) {
            parameters_.push_back(std::move(p));
        }
        if (l + 1 < widths.size()) {
            const std::string prefix = fmt::format("act{}", l + 1);
            auto params = activation_parameters(activation_, prefix, Shape{1, fan_out}, dtype, seed * 1000 + l * 10 + 5);
            for (std::size_t k = 0; k < params.size(); ++k) {
                layer.activation_params.emplace_back(activation_.params()[k].name, parameters_.size());
                parameters_.push_back(std::move(params[k]));
            }
        }
        layers_.push_back(std::move(layer));
        fan_in = fan_out;
    }
}

std::vector<Parameter> linear_parameters(const std::string& prefix, std::int64_t in, std::int64_t out, DType dtype, std::uint64_t seed,
                                         WeightInit weights) {
    if (in < 1 || out < 1)
        throw ParameterError(fmt::format("linear layer '{}': {} inputs and {} outputs; both must be at least 1", prefix, in, out));
    const double bound =
        weights == WeightInit::kaiming ? std::sqrt(6.0 / static_cast<double>(in)) : std::sqrt(6.0 / static_cast<double>(in + out));
    std::vector<Parameter> params;
    params.push_back(
        {prefix + ".weight", var(prefix + ".weight", {in, out}, dtype), Tensor::uniform({in, out}, -bound, bound, seed, dtype), "weights"});
    params.push_back({prefix + ".bias", var(prefix + ".bias", {out}, dtype), Tensor::zeros({out}, dtype), "biases"});
    return params;
}

Expr linear(const Expr& x, const Parameter& weight, const Parameter& bias) { return matmul(x, weight.variable) + bias.variable; }

std::vector<Parameter> activation_parameters(const Activation& activation, const std::string& prefix, const Shape& input, DType dtype,
                                             std::uint64_t seed) {
    std::vector<Parameter> params;
    std::uint64_t k = 0;
    for (const auto& spec : activation.params()) {
        const Shape shape = parameter_shape(spec, input);
        const std::string name = fmt::format("{}.{}", prefix, spec.name);
        params.push_back({name, var(name, shape, dtype), spec.init.make(shape, dtype, seed + k++), "activation"});
    }
    return params;
}

std::map<std::string, Expr> activation_arguments(const Activation& activation, const std::string& prefix,
                                                 const std::vector<Parameter>& params) {
    std::map<std::string, Expr> arguments;
    for (const auto& spec : activation.params()) {
        const std::string name = fmt::format("{}.{}", prefix, spec.name);
        const auto it = std::find_if(params.begin(), params.end(), [&](const Parameter& p) { return p.name == name; });
        if (it == params.end()) throw ParameterError(fmt::format("activation '{}': no parameter '{}'", activation.name(), name));
        arguments.emplace(spec.name, it->variable);
    }
    return arguments;
}

Expr MLP::forward(const Expr& x) const {
    if (x.rank() != 2 || x.shape()[1] != inputs_) {
        throw ShapeError(fmt::format("the MLP takes input of shape [B, {}], got {}", inputs_, x.shape()));
    }
    Expr h = x;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
        const Layer& layer = layers_[l];
        h = linear(h, parameters_[layer.weight], parameters_[layer.bias]);
        if (l + 1 < layers_.size()) {
            std::map<std::string, Expr> params;
            for (const auto& [spec, index] : layer.activation_params) params.emplace(spec, parameters_[index].variable);
            h = activation_.apply(h, params);
        }
    }
    return h;
}

Bindings MLP::bindings() const {
    Bindings b;
    for (const auto& p : parameters_) b.emplace(p.name, p.value);
    return b;
}

Expr mse_loss(const Expr& prediction, const Expr& target) {
    const Expr d = prediction - target;
    return mean(d * d);
}

Expr bce_with_logits_loss(const Expr& logits, const Expr& target) { return mean(softplus(logits) - target * logits); }

Expr cross_entropy_loss(const Expr& logits, const Expr& one_hot_target) {
    if (logits.rank() != 2 || logits.shape() != one_hot_target.shape()) {
        throw ShapeError(fmt::format("cross_entropy_loss takes logits and one-hot targets of one shape [B, K], got {} and {}",
                                     logits.shape(), one_hot_target.shape()));
    }
    const Expr shift = amax(logits, {1}, true);
    const Expr shifted = logits - shift;
    const Expr log_normalizer = log(sum(exp(shifted), {1}, true));
    // -sum_k t_k log_softmax_k = log_normalizer - sum_k t_k shifted_k, for rows of t summing to 1
    return mean(sum(one_hot_target * (log_normalizer - shifted), {1}));
}

Tensor one_hot(const std::vector<std::int32_t>& labels, std::int64_t classes, DType dtype) {
    Tensor t = Tensor::zeros({static_cast<std::int64_t>(labels.size()), classes}, dtype);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= classes) {
            throw Error(fmt::format("label {} of example {} is outside 0..{}", labels[i], i, classes - 1));
        }
        t.set(static_cast<std::int64_t>(i) * classes + labels[i], 1.0);
    }
    return t;
}

}  // namespace symgrad::nn
