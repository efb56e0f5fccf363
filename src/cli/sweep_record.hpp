// The forward values and the reverse sweep of an expression at a point, recorded step by step with every number a
// reader is shown: what `symgrad trace` prints, `symgrad graph --at` draws and `symgrad lesson` steps through. The
// backward steps are grad()'s own sweep (its SweepObserver), so none of the three can disagree with the gradient.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <symgrad/symgrad.hpp>

namespace symgrad::cli {

struct SweepRecord {
    Expr y;
    std::vector<Expr> vars;
    GraphIndex index;  // of y's graph: positions are the nodes' numbers everywhere below
    std::string output_name;  // "y", or "y_" when a variable is called y
    std::vector<std::string> names;  // per position: the variable's name, the constant, y, or v1, v2, ...
    std::vector<Expr> written;  // per position: the node with its operands as named placeholders (null for leaves)
    std::vector<Tensor> values;  // per position

    struct Step {
        std::size_t node = 0;  // position of the node whose rule this is
        bool arrival = false;  // true: the node's adjoint is complete (its own step); false: one operand's share
        // arrival
        Tensor adjoint;  // the node's adjoint, broadcast to its shape
        std::string note;  // a gradient override's note, or "... passes no gradient to its operands"
        // an operand's share
        std::size_t operand = 0;  // position of the operand
        std::size_t slot = 0;  // which operand of the node (0, 1, 2)
        bool gives_gradient = false;  // false: the rule gives this operand nothing
        Expr rule;  // the local derivative written with the names: v2 * (1 - v2)
        Tensor local;  // its value
        std::optional<Tensor> mask;  // where() selected this branch (1) or not (0), when a mask applies
        Tensor contribution;  // adjoint * local (masked), summed to the operand's shape
        Shape logical;  // the contribution's shape before the sum over broadcast axes (the node's, elementwise)
        std::optional<Tensor> before_sum;  // the contribution before that sum, when there is one
        Tensor accumulated;  // the operand's adjoint so far, this share included
    };
    std::vector<Step> steps;
    std::vector<Tensor> gradients;  // per variable, of sum(y)
};

// Records y's evaluation at `at` and grad()'s sweep over it.
SweepRecord record_sweep(const Expr& y, const Bindings& at);

// A value as traces and lessons print it: scalars and up to 12 elements in full (6 significant digits, nested
// brackets), larger tensors as their count and first element; "nan" for any NaN.
std::string number_text(double v);
std::string value_text(const Tensor& t);

// Bytes a record of y holds (values, adjoints and shares): for the memory limit.
double record_bytes(const Expr& y);

}  // namespace symgrad::cli
