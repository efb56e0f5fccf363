#include "symgrad/gradcheck.hpp"

#include <cmath>
#include <limits>

#include "symgrad/compile.hpp"
#include "symgrad/print.hpp"

namespace symgrad {

namespace {

std::vector<std::int64_t> unravel(std::int64_t flat, const Shape& shape) {
    std::vector<std::int64_t> index(shape.rank());
    for (std::size_t i = shape.rank(); i-- > 0;) {
        index[i] = shape[i] == 0 ? 0 : flat % shape[i];
        flat = shape[i] == 0 ? 0 : flat / shape[i];
    }
    return index;
}

Bindings as_float64(const Bindings& at) {
    Bindings converted;
    for (const auto& [name, value] : at) converted.emplace(name, value.astype(DType::float64).clone());
    return converted;
}

// Differentiates z (a float64 scalar) with respect to variables at `point` and compares with finite differences.
GradcheckReport compare(const std::string& order_name, const Expr& z, std::span<const Expr> wrt, Bindings point,
                        const GradcheckOptions& options) {
    GradcheckReport report;
    report.order = order_name;
    const auto gradients = grad(z, wrt);
    const auto analytic = options.reference ? evaluate(gradients, point) : run_compiled(gradients, point);
    // The engine plans z once (compile_cached) and runs it four times per element.
    const auto f = [&](const Bindings& b) { return (options.reference ? evaluate(z, b) : run_compiled(z, b)).item(); };
    for (std::size_t k = 0; k < wrt.size(); ++k) {
        const std::string& name = wrt[k].node().attrs().name;
        GradcheckEntry entry;
        entry.variable = name;
        entry.shape = wrt[k].shape();
        double worst_excess = -std::numeric_limits<double>::infinity();
        const Tensor original = point.at(name).clone();
        for (std::int64_t i = 0; i < original.numel(); ++i) {
            const double x = original.get(i);
            auto at_offset = [&](double steps) {
                Tensor moved = original.clone();
                moved.set(i, x + steps * options.eps);
                point[name] = moved;
                return f(point);
            };
            const double numeric = (8.0 * (at_offset(1) - at_offset(-1)) - (at_offset(2) - at_offset(-2))) / (12.0 * options.eps);
            point[name] = original;
            const double a = analytic[k].get(i);
            const double error = std::fabs(a - numeric);
            const double scale = std::max(std::fabs(a), std::fabs(numeric));
            const double rel = scale > 0 ? error / scale : (error > 0 || std::isnan(error) ? 1.0 : 0.0);
            const double allowed = options.atol + options.rtol * std::fabs(numeric);
            // NaN anywhere is a failure, never a pass by comparison.
            const bool ok = error <= allowed;
            entry.passed = entry.passed && ok;
            entry.rel_error = std::isnan(rel) ? rel : std::max(entry.rel_error, rel);
            const double excess = std::isnan(error) ? std::numeric_limits<double>::infinity() : error - allowed;
            if (excess > worst_excess) {
                worst_excess = excess;
                entry.worst_index = unravel(i, entry.shape);
                entry.analytic = a;
                entry.numeric = numeric;
                entry.abs_error = error;
            }
        }
        report.passed = report.passed && entry.passed;
        report.max_abs_error = std::max(report.max_abs_error, entry.abs_error);
        report.max_rel_error = std::max(report.max_rel_error, entry.rel_error);
        if (std::isnan(entry.abs_error)) report.max_abs_error = entry.abs_error;
        report.entries.push_back(std::move(entry));
    }
    return report;
}

struct Float64Problem {
    Expr y;
    std::vector<Expr> wrt;
    Bindings point;
};

Float64Problem prepare(const Expr& y, std::span<const Expr> wrt, const Bindings& at, const char* caller) {
    for (const auto& w : wrt) {
        if (!w || w.op() != Op::variable) {
            throw Error(
                fmt::format("{}: it perturbs variables, and '{}' is not a variable", caller, w ? to_inline_string(w, 80) : "<empty>"));
        }
    }
    std::vector<Expr> roots{y};
    roots.insert(roots.end(), wrt.begin(), wrt.end());
    auto converted = with_dtype(roots, DType::float64);
    Float64Problem problem;
    problem.y = converted[0];
    problem.wrt.assign(converted.begin() + 1, converted.end());
    problem.point = as_float64(at);
    return problem;
}

Expr projection(const Shape& shape, std::uint64_t seed) { return constant(Tensor::normal(shape, 0.0, 1.0, seed, DType::float64)); }

}  // namespace

GradcheckReport gradcheck(const Expr& y, std::span<const Expr> wrt, const Bindings& at, const GradcheckOptions& options) {
    auto problem = prepare(y, wrt, at, "gradcheck");
    const Expr r = projection(problem.y.shape(), options.seed);
    const Expr z = options.random_projection ? sum(problem.y * r) : sum(problem.y);
    auto report = compare("first order", z, problem.wrt, std::move(problem.point), options);
    if (!options.random_projection) {
        report.compared = "the columns are the gradient of sum(y), as grad() gives it";
    } else if (problem.y.rank() == 0) {
        report.compared =
            fmt::format("the columns are d/dv of r * y for a random r = {:.8g} (seed {}): the derivative grad() gives, times r",
                        r.node().scalar_value(), options.seed);
    } else {
        report.compared = fmt::format(
            "the columns are d/dv of sum(r * y) for a random r of y's shape {} (N(0, 1), seed {}): a random projection of y's Jacobian, "
            "which tests every element's adjoint; grad() gives the gradient of sum(y), r = 1",
            problem.y.shape(), options.seed);
    }
    return report;
}

GradcheckReport gradgradcheck(const Expr& y, std::span<const Expr> wrt, const Bindings& at, const GradcheckOptions& options) {
    auto problem = prepare(y, wrt, at, "gradgradcheck");
    const auto first = options.random_projection ? grad(problem.y, problem.wrt, projection(problem.y.shape(), options.seed))
                                                 : grad(problem.y, problem.wrt);
    Expr z;
    for (std::size_t k = 0; k < first.size(); ++k) {
        const Expr term = options.random_projection ? sum(first[k] * projection(first[k].shape(), options.seed + 1 + k)) : sum(first[k]);
        z = z ? z + term : term;
    }
    if (!z) z = constant(0.0);
    auto report = compare("second order", z, problem.wrt, std::move(problem.point), options);
    report.compared = options.random_projection
        ? fmt::format(
              "the columns are d/dv of the sum over the variables u of sum(r_u * g_u), g_u the first-order "
              "columns' gradient with respect to u and r_u random (seeds {} and up): a random projection of "
              "the Hessian",
              options.seed + 1)
        : std::string("the columns are d/dv of the sum over the variables u of sum(d sum(y) / du)");
    return report;
}

std::string to_string(const GradcheckReport& report) {
    std::string out = fmt::format("gradcheck ({}, float64)\n", report.order);
    if (!report.compared.empty()) out += "(" + report.compared + ")\n";
    out += fmt::format("{:<12} {:<12} {:>11} {:>11} {:<14} {:>14} {:>14}  {}\n", "variable", "shape", "max abs err", "max rel err",
                       "worst at", "analytic", "numeric", "result");
    for (const auto& e : report.entries) {
        out += fmt::format("{:<12} {:<12} {:>11.3e} {:>11.3e} {:<14} {:>14.8g} {:>14.8g}  {}\n", e.variable, to_string(e.shape),
                           e.abs_error, e.rel_error, fmt::format("[{}]", fmt::join(e.worst_index, ", ")), e.analytic, e.numeric,
                           e.passed ? "PASS" : "FAIL");
    }
    out += report.passed ? "PASS" : "FAIL";
    return out;
}

}  // namespace symgrad
