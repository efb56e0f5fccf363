// Export: an elementwise activation and its derived backward, written out as source code for other tools.
//
//   export_torch: one Python file with a torch.autograd.Function (forward = the expression, backward = symgrad's
//                 simplified gradient, written with differentiable torch ops, so double backward works) and an
//                 nn.Module that owns the parameters with the shapes of their policies.
//   export_cpp:   a self-contained C++17 header with fused forward and backward loops over contiguous float or
//                 double arrays, per-unit parameter gradients reduced in the same pass.
//
// The layer above nn (it takes nn::ParamSpec for the parameters' policies and initial values); the CLI's
// `symgrad export` calls it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "symgrad/nn.hpp"

namespace symgrad {

// An expression that cannot be exported as asked: not elementwise, a parameter without a spec, a name the target
// language reserves, a policy the target does not offer.
class ExportError : public Error {
public:
    using Error::Error;
};

struct ExportOptions {
    std::string name = "Activation";  // the Python class (and Function "<name>Function"), or the C++ namespace
    std::string input = "x";  // the input variable; every other variable is a parameter
    std::vector<nn::ParamSpec> params;  // one per parameter: policy (shared, per unit over dim 1, fixed) and init
    std::string command;  // how it was produced, for the header comment ("" for none)
    // torch only: the Function's forward, backward, double backward and jvp call fused kernels that the module
    // compiles on first use (the pure-torch Function remains, as the fallback; docs/export.md).
    bool native = false;
};

std::string export_torch(std::string_view expression, const ExportOptions& options);
std::string export_cpp(std::string_view expression, const ExportOptions& options);

}  // namespace symgrad
