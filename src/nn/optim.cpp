#include "symgrad/optim.hpp"

#include <algorithm>
#include <cmath>

namespace symgrad::nn {

namespace {

// Calls f with the tensor's elements as a typed pointer and their count.
template <class F> void with_values(const Tensor& t, F&& f) {
    if (t.dtype() == DType::float32) {
        f(t.data<float>(), static_cast<std::size_t>(t.numel()));
    } else {
        f(t.data<double>(), static_cast<std::size_t>(t.numel()));
    }
}

// SGD: v = momentum v + g; value -= lr (g + momentum v) with Nesterov, lr v without (PyTorch's formulation).
class Sgd final : public Optimizer {
public:
    explicit Sgd(OptimizerOptions o) : Optimizer(std::move(o)) {}

private:
    void update(std::size_t index, double* value, const double* g, std::size_t n, double lr, double weight_decay) override {
        const double momentum = options_.momentum;
        auto& v = state(0, index, n);
        for (std::size_t i = 0; i < n; ++i) {
            double d = g[i] + weight_decay * value[i];
            if (momentum != 0.0) {
                v[i] = steps_ == 1 ? d : momentum * v[i] + d;
                d = options_.nesterov ? d + momentum * v[i] : v[i];
            }
            value[i] -= lr * d;
        }
    }
};

// Adam (Kingma & Ba), bias-corrected; adamw decouples the weight decay from the gradient (Loshchilov & Hutter).
class Adam final : public Optimizer {
public:
    Adam(OptimizerOptions o, bool decoupled) : Optimizer(std::move(o)), decoupled_(decoupled) {}

private:
    void update(std::size_t index, double* value, const double* g, std::size_t n, double lr, double weight_decay) override {
        auto& m = state(0, index, n);
        auto& v = state(1, index, n);
        const double b1 = options_.beta1;
        const double b2 = options_.beta2;
        const double correction1 = 1.0 - std::pow(b1, static_cast<double>(steps_));
        const double correction2 = 1.0 - std::pow(b2, static_cast<double>(steps_));
        for (std::size_t i = 0; i < n; ++i) {
            double grad = g[i];
            if (decoupled_) {
                value[i] -= lr * weight_decay * value[i];
            } else {
                grad += weight_decay * value[i];
            }
            m[i] = b1 * m[i] + (1.0 - b1) * grad;
            v[i] = b2 * v[i] + (1.0 - b2) * grad * grad;
            const double m_hat = m[i] / correction1;
            const double v_hat = v[i] / correction2;
            value[i] -= lr * m_hat / (std::sqrt(v_hat) + options_.eps);
        }
    }
    bool decoupled_;
};

}  // namespace

std::vector<double>& Optimizer::state(std::size_t slot, std::size_t index, std::size_t n) {
    auto& per_parameter = state_[slot];
    if (per_parameter.size() <= index) per_parameter.resize(index + 1);
    if (per_parameter[index].size() != n) per_parameter[index].assign(n, 0.0);
    return per_parameter[index];
}

std::map<std::string, Tensor> Optimizer::state_tensors(const std::vector<Parameter>& params) const {
    std::map<std::string, Tensor> out;
    out.emplace("optimizer.steps", Tensor::scalar(static_cast<double>(steps_)));
    for (std::size_t slot = 0; slot < state_.size(); ++slot) {
        for (std::size_t k = 0; k < state_[slot].size() && k < params.size(); ++k) {
            if (state_[slot][k].empty()) continue;
            Tensor t = Tensor::empty(params[k].value.shape(), DType::float64);
            std::copy(state_[slot][k].begin(), state_[slot][k].end(), t.data<double>());
            out.emplace(fmt::format("optimizer.{}.{}", slot, params[k].name), std::move(t));
        }
    }
    return out;
}

void Optimizer::load_state_tensors(const std::vector<Parameter>& params, const std::map<std::string, Tensor>& tensors) {
    const auto steps = tensors.find("optimizer.steps");
    if (steps == tensors.end() || steps->second.numel() != 1) throw Error("the optimizer state has no step count");
    steps_ = static_cast<std::int64_t>(steps->second.item());
    for (std::size_t slot = 0; slot < state_.size(); ++slot) {
        state_[slot].assign(params.size(), {});
        for (std::size_t k = 0; k < params.size(); ++k) {
            const auto it = tensors.find(fmt::format("optimizer.{}.{}", slot, params[k].name));
            if (it == tensors.end()) continue;
            if (it->second.shape() != params[k].value.shape()) {
                throw ShapeError(fmt::format("the optimizer state of '{}' has shape {} but the parameter has shape {}", params[k].name,
                                             it->second.shape(), params[k].value.shape()));
            }
            const Tensor v = it->second.astype(DType::float64);
            state_[slot][k].assign(v.data<double>(), v.data<double>() + v.numel());
        }
    }
}

double Optimizer::step(std::vector<Parameter>& params, const std::vector<Tensor>& grads) {
    if (params.size() != grads.size()) {
        throw Error(fmt::format("optimizer step: {} parameters but {} gradients", params.size(), grads.size()));
    }
    double squares = 0.0;
    for (std::size_t k = 0; k < params.size(); ++k) {
        if (grads[k].shape() != params[k].value.shape()) {
            throw ShapeError(fmt::format("optimizer step: the gradient of '{}' has shape {} but the parameter has shape {}", params[k].name,
                                         grads[k].shape(), params[k].value.shape()));
        }
        with_values(grads[k], [&](const auto* g, std::size_t n) {
            for (std::size_t i = 0; i < n; ++i) squares += static_cast<double>(g[i]) * static_cast<double>(g[i]);
        });
    }
    const double norm = std::sqrt(squares);
    const double scale = options_.clip_norm > 0.0 && norm > options_.clip_norm ? options_.clip_norm / norm : 1.0;
    ++steps_;
    std::vector<double>& value = value_buffer_;
    std::vector<double>& g = gradient_buffer_;
    for (std::size_t k = 0; k < params.size(); ++k) {
        Parameter& p = params[k];
        const auto n = static_cast<std::size_t>(p.value.numel());
        value.resize(n);
        g.resize(n);
        with_values(p.value, [&](const auto* v, std::size_t) { std::copy(v, v + n, value.begin()); });
        with_values(grads[k], [&](const auto* d, std::size_t) {
            for (std::size_t i = 0; i < n; ++i) g[i] = static_cast<double>(d[i]) * scale;
        });
        double lr = options_.lr;
        double weight_decay = options_.weight_decay;
        if (const auto it = options_.groups.find(p.group); it != options_.groups.end()) {
            lr *= it->second.lr_scale;
            if (it->second.weight_decay >= 0) weight_decay = it->second.weight_decay;
        }
        update(k, value.data(), g.data(), n, lr, weight_decay);
        // In place: the tensor shares its storage with every binding of it.
        if (p.value.dtype() == DType::float32) {
            std::transform(value.begin(), value.end(), p.value.data<float>(), [](double v) { return static_cast<float>(v); });
        } else {
            std::copy(value.begin(), value.end(), p.value.data<double>());
        }
    }
    return norm;
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options) {
    if (!(options.lr > 0) || !std::isfinite(options.lr)) throw Error(fmt::format("the learning rate must be > 0, got {}", options.lr));
    // Every check is written so that NaN fails it.
    if (!(options.momentum >= 0 && options.momentum < 1)) throw Error(fmt::format("momentum must be in [0, 1), got {}", options.momentum));
    if (!(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1)) {
        throw Error(fmt::format("beta1 and beta2 must be in [0, 1), got {} and {}", options.beta1, options.beta2));
    }
    if (!(options.weight_decay >= 0) || !std::isfinite(options.weight_decay)) {
        throw Error(fmt::format("weight decay must be >= 0 and finite, got {}", options.weight_decay));
    }
    if (!(options.clip_norm >= 0)) {
        throw Error(fmt::format("the gradient clipping norm must be >= 0 (0: no clipping), got {}", options.clip_norm));
    }
    if (options.kind == "sgd") {
        if (options.nesterov && options.momentum == 0) throw Error("Nesterov momentum needs a momentum > 0");
        return std::make_unique<Sgd>(options);
    }
    if (options.kind == "adam") return std::make_unique<Adam>(options, false);
    if (options.kind == "adamw") return std::make_unique<Adam>(options, true);
    throw Error(fmt::format("unknown optimizer '{}': choose sgd, adam or adamw", options.kind));
}

}  // namespace symgrad::nn
