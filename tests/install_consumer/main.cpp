#include <symgrad/symgrad.hpp>

int main() {
    using namespace symgrad;
    const Expr x = var("x", {2});
    const Expr dx = grad(x * sigmoid(x), {x})[0];
    const Tensor value = evaluate(dx, {{"x", Tensor::from_values({2}, {0.0, 1.0})}});
    fmt::print("{}\n{}\n", to_string(dx), value);
    return value.get(0) == 0.5 ? 0 : 1;  // d/dx x sigmoid(x) at 0 is sigmoid(0) = 1/2
}
