// Optimizers: they update the parameters' values in place from their gradients (tensors of the same shapes).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "symgrad/nn.hpp"

namespace symgrad::nn {

// Settings for one group of parameters (Parameter::group): e.g. no weight decay on activation parameters.
struct GroupSettings {
    double lr_scale = 1.0;  // the group's learning rate is lr * lr_scale
    double weight_decay = -1;  // < 0: the optimizer's own
};

struct OptimizerOptions {
    std::string kind = "adam";  // sgd, adam, adamw
    double lr = 1e-2;
    double momentum = 0.0;  // sgd
    bool nesterov = false;  // sgd
    double beta1 = 0.9;  // adam, adamw
    double beta2 = 0.999;
    double eps = 1e-8;
    // sgd and adam: L2, added to the gradient; adamw: decoupled, lr * weight_decay * value subtracted.
    double weight_decay = 0.0;
    double clip_norm = 0.0;  // > 0: gradients scaled so that their global L2 norm is at most this
    std::map<std::string, GroupSettings> groups;
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    // One update of every parameter from its gradient (same order, same shapes). Returns the gradients' global
    // L2 norm before clipping.
    double step(std::vector<Parameter>& params, const std::vector<Tensor>& grads);
    const OptimizerOptions& options() const { return options_; }
    // For schedules: the learning rate of the steps that follow.
    void set_learning_rate(double lr) { options_.lr = lr; }
    // The state (momentum or moments, float64, one tensor per parameter and slot, named "optimizer.SLOT.PARAM"; and
    // "optimizer.steps"), to save beside the parameters; and back, so that training resumes exactly.
    std::map<std::string, Tensor> state_tensors(const std::vector<Parameter>& params) const;
    void load_state_tensors(const std::vector<Parameter>& params, const std::map<std::string, Tensor>& tensors);
    std::int64_t steps() const { return steps_; }

protected:
    explicit Optimizer(OptimizerOptions options) : options_(std::move(options)), state_(2) {}
    // Updates value (n elements) from g, with the group's learning rate and weight decay; state is per parameter.
    virtual void update(std::size_t index, double* value, const double* g, std::size_t n, double lr, double weight_decay) = 0;
    // Slot 0 or 1 (momentum; Adam's two moments) of parameter `index`, n values (zeros at first).
    std::vector<double>& state(std::size_t slot, std::size_t index, std::size_t n);

    OptimizerOptions options_;
    std::int64_t steps_ = 0;

private:
    std::vector<std::vector<std::vector<double>>> state_;  // [slot][parameter] -> values
    // Kept between steps: megabytes allocated afresh each step cost page faults.
    std::vector<double> value_buffer_;
    std::vector<double> gradient_buffer_;
};

// sgd (momentum, Nesterov), adam, adamw. Throws Error for an unknown kind or a setting out of range.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options);

}  // namespace symgrad::nn
