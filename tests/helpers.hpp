// Shared test helpers.
#pragma once

#include <catch2/catch.hpp>
#include <symgrad/symgrad.hpp>

namespace symgrad::testing {

// A binding for every variable of the roots, uniform in [lo, hi], one seed per variable.
inline Bindings random_bindings(std::span<const Expr> roots, double lo, double hi, std::uint64_t seed) {
    Bindings b;
    for (const auto& v : variables(roots)) {
        b.emplace(v.node().attrs().name, Tensor::uniform(v.shape(), lo, hi, seed++, v.dtype()));
    }
    return b;
}

// Fails with a readable table when a gradcheck does not pass.
inline void require_passes(const GradcheckReport& report, const std::string& what) {
    INFO(what << "\n" << to_string(report));
    REQUIRE(report.passed);
}

// The message of the exception that f throws, or "" when it throws none.
template <class F> std::string message_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace symgrad::testing
