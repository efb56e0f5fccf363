// Example 3: parameter shapes. swish(x, beta) on images x of shape [B, C, H, W], with beta shared ([]), per channel
// ([C, 1, 1]: dim 1, as torch.nn.PReLU), per unit ([W]: the last axis, as everywhere), per position of one example
// ([C, H, W]); on a sequence [B, T, U] per unit ([U]); and on a dense layer's [B, U] input per unit ([U]).
// Each gradient has its parameter's shape: the elementwise gradient summed over the axes the parameter was
// broadcast along. The program checks that sum against one computed directly, and gradchecks each case.
//
//   ./build/release/examples/03_shared_per_unit_per_channel
#include <iostream>

#include <symgrad/symgrad.hpp>

using namespace symgrad;

int main() {
    int failures = 0;
    struct Case {
        std::string policy;  // as symgrad train --param writes it
        Shape input;
        std::vector<std::int64_t> summed;  // the axes the parameter's gradient is summed over
    };
    const Case cases[] = {
        {"shared:1.0", {8, 3, 5, 5}, {0, 1, 2, 3}},
        {"per-channel:1.0", {8, 3, 5, 5}, {0, 2, 3}},  // dim 1: [C, 1, 1]
        {"per-unit:1.0", {8, 3, 5, 4}, {0, 1, 2}},  // the last axis: [W]
        {"[3,5,5]:1.0", {8, 3, 5, 5}, {0}},
        {"per-unit:1.0", {8, 6, 16}, {0, 1}},  // a sequence [B, T, U]: [U]
        {"per-unit:1.0", {8, 16}, {0}},
    };
    std::cout << fmt::format("{:<16} {:<14} {:<10} {:<16} {}\n", "policy", "input", "beta", "gradient of beta", "summed over axes");
    for (const Case& c : cases) {
        const nn::ParamSpec spec = nn::parse_param_spec("beta", c.policy);
        const Shape shape = nn::parameter_shape(spec, c.input);
        const Expr x = var("x", c.input);
        const Expr beta = var("beta", shape);
        const Expr y = swish(x, beta);
        const Expr r = var("r", c.input);  // a random cotangent, so every element counts
        const Expr loss = sum(r * y);
        const Expr dbeta = grad(loss, {beta})[0];
        std::cout << fmt::format("{:<16} {:<14} {:<10} {:<16} {}\n", c.policy, to_string(c.input), to_string(shape),
                                 to_string(dbeta.shape()), fmt::join(c.summed, ", "));
        // The same number, by hand: the gradient of a beta with one value per element of x, then summed over the
        // broadcast axes, reshaped to beta's shape.
        const Expr beta_everywhere = var("beta_full", c.input);
        const Expr per_element = grad(sum(r * swish(x, beta_everywhere)), {beta_everywhere})[0];
        const Expr by_hand = reshape(sum(per_element, c.summed, true), shape.dims());
        const Tensor beta_value = Tensor::uniform(shape, 0.5, 2, 3);
        Bindings at = {{"x", Tensor::normal(c.input, 0, 1, 1)}, {"r", Tensor::normal(c.input, 0, 1, 2)}, {"beta", beta_value}};
        at.emplace("beta_full", evaluate(broadcast_to(constant(beta_value), c.input), {}));
        const Tensor a = evaluate(dbeta, at);
        const Tensor b = evaluate(by_hand, at);
        for (std::int64_t i = 0; i < a.numel(); ++i) {
            if (std::abs(a.get(i) - b.get(i)) > 1e-12 * (1 + std::abs(b.get(i)))) ++failures;
        }
        const Expr wrt[] = {x, beta};
        if (!gradcheck(loss, wrt, at).passed || !gradgradcheck(loss, wrt, at).passed) ++failures;
    }
    // A batch-shaped beta is refused before any graph is built.
    try {
        nn::parameter_shape(nn::parse_param_spec("beta", "[8,3,5,5]:1.0"), Shape{8, 3, 5, 5});
        ++failures;
    } catch (const nn::ParameterError& error) {
        std::cout << "\n[8,3,5,5]:1.0 on [8, 3, 5, 5]: " << error.what() << "\n";
    }
    std::cout << (failures == 0 ? "\nall gradients match the sums by hand and pass gradcheck\n" : "\nFAILED\n");
    return failures == 0 ? 0 : 1;
}
