// Example 2: the question this project started from. "My custom activation p1 * sigmoid(p2 * x + b1) + b2 has four
// trainable parameters. Should they have the shape of the dataset, or of one element?"
//
// Neither: one value per unit. For a layer with U units the input is [B, U] (B examples in the batch) and each
// parameter is [U], broadcast over the batch. Its gradient is summed over the batch axis, so it has the
// parameter's shape, [U], whatever B is. A parameter shaped like the batch is an error, and the message says why.
//
//   ./build/release/examples/02_parameter_shapes_question
#include <iostream>

#include <symgrad/symgrad.hpp>

using namespace symgrad;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
    if (!ok) {
        std::cout << "FAIL: " << what << "\n";
        ++failures;
    }
}

}  // namespace

int main() {
    constexpr std::int64_t units = 4;
    const std::string text = "p1 * sigmoid(p2 * x + b1) + b2";
    std::vector<nn::ParamSpec> specs;
    for (const char* name : {"p1", "p2", "b1", "b2"}) {
        const bool scale = name[0] == 'p';
        specs.push_back({name, nn::Policy::per_unit, {}, nn::Init::constant(scale ? 1.0 : 0.0)});
    }
    const nn::Activation activation = nn::Activation::parse("seed", text, specs);
    std::cout << "activation: " << activation.text() << "\n\n";

    // The same parameters serve every batch size: their shape comes from the units, not from the batch.
    const std::vector<nn::Parameter> params = nn::activation_parameters(activation, "act", Shape{32, units}, DType::float64, 1);
    for (const std::int64_t batch : {32, 7}) {
        const Expr x = var("x", {batch, units});
        const Expr y = activation.apply(x, nn::activation_arguments(activation, "act", params));
        std::vector<Expr> wrt{x};
        for (const auto& p : params) wrt.push_back(p.variable);
        // The gradient of a loss, here sum(y^2) / 2, with respect to the input and to each parameter.
        const Expr loss = 0.5 * sum(y * y);
        const auto gradients = grad(loss, wrt);
        Bindings at = {{"x", Tensor::normal({batch, units}, 0, 1, 2)}};
        for (const auto& p : params) at.emplace(p.name, Tensor::uniform(p.value.shape(), -1, 1, 3));
        std::cout << fmt::format("batch of {}: x {}, y {}\n", batch, x.shape(), y.shape());
        for (std::size_t k = 0; k < wrt.size(); ++k) {
            std::cout << fmt::format("  {:<7} shape {:<8} gradient shape {}\n", wrt[k].node().attrs().name, to_string(wrt[k].shape()),
                                     gradients[k].shape());
            expect(gradients[k].shape() == wrt[k].shape(), "every gradient has its variable's shape");
        }
        const GradcheckReport first = gradcheck(loss, wrt, at);
        const GradcheckReport second = gradgradcheck(loss, wrt, at);
        std::cout << fmt::format("  gradcheck: first order {}, second order {}\n\n", first.passed ? "PASS" : "FAIL",
                                 second.passed ? "PASS" : "FAIL");
        expect(first.passed && second.passed, "the gradients match finite differences");
    }

    // How the per-unit gradient comes about: the sum over the batch axis is in the gradient itself.
    ParseOptions options;
    options.shapes = {{"x", {32, units}}, {"p1", {units}}, {"p2", {units}}, {"b1", {units}}, {"b2", {units}}};
    const Expr y = parse(text, options);
    const Expr p1 = var("p1", {units});
    const Expr b2 = var("b2", {units});
    std::cout << "d sum(y) / d p1 = " << to_string(simplify(grad(y, {p1})[0])) << "\n";
    std::cout << "d sum(y) / d b2 = " << to_string(simplify(grad(y, {b2})[0])) << "   (32 examples, each adds 1)\n\n";

    // A parameter with the batch in its shape: refused, with the reason and the shapes that would work.
    const nn::Activation batch_shaped =
        nn::Activation::parse("seed", text, {{"p1", nn::Policy::fixed, Shape{32, units}}, specs[1], specs[2], specs[3]});
    try {
        nn::activation_parameters(batch_shaped, "act", Shape{32, units}, DType::float64, 1);
        expect(false, "a batch-shaped parameter is refused");
    } catch (const nn::ParameterError& error) {
        std::cout << "p1 with shape [32, 4]:\n  error: " << error.what() << "\n";
        expect(std::string(error.what()).find("includes the batch axis") != std::string::npos, "the error names the batch axis");
    }
    std::cout << (failures == 0 ? "\nall checks passed\n" : "\nFAILED\n");
    return failures == 0 ? 0 : 1;
}
