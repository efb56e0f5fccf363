// symgrad: symbolic automatic differentiation for activation functions. The one header to include.
#pragma once

#include "symgrad/tensor.hpp"
#include "symgrad/graph.hpp"
#include "symgrad/ops.hpp"
#include "symgrad/autodiff.hpp"
#include "symgrad/evaluate.hpp"
#include "symgrad/print.hpp"
#include "symgrad/gradcheck.hpp"
#include "symgrad/parse.hpp"
#include "symgrad/simplify.hpp"
#include "symgrad/compile.hpp"
#include "symgrad/nn.hpp"
#include "symgrad/optim.hpp"
#include "symgrad/data.hpp"
#include "symgrad/train.hpp"
#include "symgrad/io.hpp"
#include "symgrad/version.hpp"
