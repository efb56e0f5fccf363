// Example 7, after the patch: the new primitive asinh, used from C++ and from the language, checked.
// The table's own tests (test_ops_table: gradchecks of both orders, the VJP identity, float32 against float64,
// every kernel set; test_torch_reference: PyTorch's values and derivatives) cover it without a line of test code;
// this program shows it working as a user would use it.
//
//   git apply examples/07_add_a_primitive/add_asinh.patch && cmake --build --preset release
//   ./build/release/examples/07_check_asinh [DIR]
//
// With DIR, it also writes both exports there (asinh_act.hpp, asinh_act.py), which tests/add_primitive_check.cmake
// compiles and runs.
#include <cmath>
#include <fstream>
#include <iostream>

#include <symgrad/symgrad.hpp>

using namespace symgrad;

int main(int argc, char** argv) {
    int failures = 0;
    // The builder, its derivative as a formula, and both orders of gradcheck.
    const Expr x = var("x", {7});
    const Expr y = asinh(x);
    const Expr dy = grad(sum(y), {x})[0];
    std::cout << "d/dx asinh(x) = " << to_string(dy) << "\n";
    const double points[] = {-1000.0, -2.0, -0.5, 0.0, 0.5, 2.0, 1000.0};
    const Bindings at = {{"x", Tensor::from_values({7}, points)}};
    const Tensor value = evaluate(y, at);
    const Tensor slope = run_compiled(dy, at);  // the fused engine, with the new kernel
    for (std::int64_t i = 0; i < 7; ++i) {
        const double p = points[i];
        const bool ok = value.get(i) == std::asinh(p) && std::abs(slope.get(i) - 1 / std::sqrt(p * p + 1)) <= 1e-15;
        std::cout << fmt::format("  x = {:>6}: asinh {:>10.6f}, derivative {:.6e} {}\n", p, value.get(i), slope.get(i), ok ? "" : "FAIL");
        failures += ok ? 0 : 1;
    }
    const Expr wrt[] = {x};
    const Bindings random = {{"x", Tensor::uniform({7}, -3, 3, 1)}};
    const bool checked = gradcheck(y, wrt, random).passed && gradgradcheck(y, wrt, random).passed;
    std::cout << "gradcheck, both orders: " << (checked ? "PASS" : "FAIL") << "\n";
    failures += checked ? 0 : 1;
    // The language knows it by its table name, in expressions and activations.
    const Expr parsed = parse("x * asinh(beta * x)", {.shapes = {{"x", {7}}}});
    std::cout << "parsed: " << to_string(parsed) << "\n";
    // Both exporters spell it from its row: std::asinh in a C++ header, torch.asinh in a PyTorch module.
    ExportOptions options;
    options.name = "asinh_act";
    const std::string header = export_cpp("x * asinh(x)", options);
    const std::string module = export_torch("x * asinh(x)", options);
    const bool exported = header.find("std::asinh(x)") != std::string::npos && module.find("torch.asinh(x)") != std::string::npos;
    std::cout << "exported to C++ and PyTorch: " << (exported ? "PASS" : "FAIL") << "\n";
    failures += exported ? 0 : 1;
    if (argc > 1) {
        std::ofstream(std::string(argv[1]) + "/asinh_act.hpp") << header;
        std::ofstream(std::string(argv[1]) + "/asinh_act.py") << module;
    }
    std::cout << (failures == 0 ? "asinh works\n" : "FAILED\n");
    return failures == 0 ? 0 : 1;
}
