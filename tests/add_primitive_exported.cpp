// The C++ export of example 7's new primitive, compiled and run by tests/add_primitive_check.cmake: the header
// 07_check_asinh wrote for y = x * asinh(x), against the C library.
#include <cmath>
#include <cstdio>

#include "asinh_act.hpp"

int main() {
    const double x[] = {-1000.0, -2.0, -0.5, 0.0, 0.5, 2.0, 1000.0};
    constexpr std::size_t n = sizeof(x) / sizeof(x[0]);
    double y[n];
    double ones[n];
    double dx[n];
    for (std::size_t i = 0; i < n; ++i) ones[i] = 1.0;
    asinh_act::forward(x, y, 1, n, 1);
    asinh_act::backward(x, ones, dx, 1, n, 1);
    int failures = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double expected_y = x[i] * std::asinh(x[i]);
        const double expected_dx = std::asinh(x[i]) + x[i] / std::sqrt(x[i] * x[i] + 1);
        const bool ok = std::fabs(y[i] - expected_y) <= 1e-12 * (1 + std::fabs(expected_y)) &&
            std::fabs(dx[i] - expected_dx) <= 1e-12 * (1 + std::fabs(expected_dx));
        std::printf("x = %8g: y %.15g (%.15g), dy/dx %.15g (%.15g)%s\n", x[i], y[i], expected_y, dx[i], expected_dx, ok ? "" : " FAIL");
        failures += ok ? 0 : 1;
    }
    std::printf("%s\n", failures == 0 ? "the exported header computes asinh" : "FAILED");
    return failures == 0 ? 0 : 1;
}
