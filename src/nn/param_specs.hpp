// An expression's variables against the specs of its parameters, checked one way for Activation::parse,
// Activation::from_function and the exporters (export_plan.cpp), which word what is wrong each for their own
// users and in their own order.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "symgrad/nn.hpp"

namespace symgrad::nn {

// The input must be a variable, every other variable needs a spec, and every spec must name a variable other
// than the input. What does not fit:
struct SpecMatch {
    bool input_used = false;
    std::vector<std::string> variables_without_spec;  // variables other than the input, in topological order
    std::vector<std::string> specs_without_variable;  // specs that name no variable or the input, in the specs' order
};

SpecMatch match_specs(const Expr& expression, std::string_view input, std::span<const ParamSpec> specs);

}  // namespace symgrad::nn
