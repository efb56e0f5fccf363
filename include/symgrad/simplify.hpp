// Rewrite layer: rules as data (one named line each, src/rewrite/rewrite_rules.cpp) and one fixpoint driver.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "symgrad/ops.hpp"

namespace symgrad {

// One rewrite: the op of the node it looks at, and what the node becomes (an empty Expr: not this one).
// A rule may change rounding, never the meaning of inf or NaN: x*0 -> 0 is not a rule (inf*0 is NaN).
struct RewriteRule {
    std::string_view name;  // the rule in one line, e.g. "x * 1 -> x"
    Op op;
    Expr (*apply)(const Node& node);
};

// The default rules: identities, canonical operand order, constant factors, structural collapses.
std::span<const RewriteRule> default_rules();

// How far simplify may go. The defaults let every graph we know of reach its fixpoint in a few passes.
struct SimplifyOptions {
    std::size_t max_passes = 32;  // passes over the whole graph
    std::size_t max_rewrites_per_node = 64;  // rules applied to one node within a pass
};

struct SimplifyReport {
    std::map<std::string, std::size_t, std::less<>> fired;  // rule name -> times applied
    std::size_t passes = 0;
    // Whether simplify reached its fixpoint: its last pass changed nothing and left no node at
    // max_rewrites_per_node. False when it stopped at a limit while rules still applied, above all at
    // SimplifyOptions::max_passes: the result then means the same, it is only not as simple as it could be.
    bool converged = false;
};

// Rewrites the graphs of roots bottom-up with the rules until no rule applies, or until options.max_passes
// passes (report->converged says which). Shared subexpressions stay shared (the result is hash-consed like any
// graph). A rewrite that would change a node's shape or dtype is never made. No recursion.
std::vector<Expr> simplify(std::span<const Expr> roots, std::span<const RewriteRule> rules, const SimplifyOptions& options,
                           SimplifyReport* report = nullptr);
// The same with the default options.
std::vector<Expr> simplify(std::span<const Expr> roots, std::span<const RewriteRule> rules = default_rules(),
                           SimplifyReport* report = nullptr);
Expr simplify(const Expr& root);

// The number of operation nodes (variables and constants not counted) in the graphs of roots, shared
// subexpressions once: the size measure of docs/performance.md.
std::size_t operation_count(std::span<const Expr> roots);

}  // namespace symgrad
