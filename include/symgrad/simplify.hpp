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

struct SimplifyReport {
    std::map<std::string, std::size_t, std::less<>> fired;  // rule name -> times applied
    std::size_t passes = 0;
};

// Rewrites the graphs of roots bottom-up with the rules until no rule applies. Shared subexpressions stay
// shared (the result is hash-consed like any graph). A rewrite that would change a node's shape or dtype is
// never made. No recursion.
std::vector<Expr> simplify(std::span<const Expr> roots, std::span<const RewriteRule> rules = default_rules(),
                           SimplifyReport* report = nullptr);
Expr simplify(const Expr& root);

// The number of operation nodes (variables and constants not counted) in the graphs of roots, shared
// subexpressions once: the size measure of docs/performance.md.
std::size_t operation_count(std::span<const Expr> roots);

}  // namespace symgrad
