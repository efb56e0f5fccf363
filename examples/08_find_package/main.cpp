// Example 8: symgrad from another CMake project (see CMakeLists.txt beside this file). A trainable activation of
// one's own, its gradients, and a check of them; it exits 1 if a check fails.
#include <symgrad/symgrad.hpp>

int main() {
    using namespace symgrad;
    // swish with a per-unit beta, on a batch of 8 examples of 4 units
    const Expr x = var("x", {8, 4});
    const Expr beta = var("beta", {4});
    const Expr y = swish(x, beta);
    const auto gradients = grad(y, {x, beta});
    fmt::print("dx = {}\ndbeta = {}\n", to_inline_string(simplify(gradients[0])), to_inline_string(simplify(gradients[1])));
    const Bindings at = {{"x", Tensor::normal({8, 4}, 0, 1, 1)}, {"beta", Tensor::uniform({4}, 0.5, 2, 2)}};
    const Expr wrt[] = {x, beta};
    const bool ok = gradcheck(y, wrt, at).passed && gradgradcheck(y, wrt, at).passed && gradients[1].shape() == beta.shape();
    // d/dx x sigmoid(x) at 0 is sigmoid(0) = 1/2
    const Expr s = var("s", {2});
    const Tensor at_zero = evaluate(grad(silu(s), {s})[0], {{"s", Tensor::from_values({2}, {0.0, 1.0})}});
    const bool half = at_zero.get(0) == 0.5;
    fmt::print("gradcheck of both orders: {}; silu'(0) = {}\n", ok ? "PASS" : "FAIL", at_zero.get(0));
    return ok && half ? 0 : 1;
}
