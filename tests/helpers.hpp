// Shared test helpers.
#pragma once

#include <cstdlib>
#include <limits>
#include <string>

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

// A number of a committed reference file (tests/reference/): a C99 hex float (read exactly), nan, inf or -inf; "none"
// (no value: PyTorch could not compute it) reads as NaN.
inline double reference_number(const std::string& text) {
    if (text == "nan" || text == "none") return std::numeric_limits<double>::quiet_NaN();
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
    return std::strtod(text.c_str(), nullptr);
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
