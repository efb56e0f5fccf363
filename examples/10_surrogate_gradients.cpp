// A network whose hidden units fire or not: the activation is the hard threshold step(x) = heaviside(x, 0.5),
// 0 below zero and 1 above, as a spiking neuron's output or a binarised network's. Its derivative is zero wherever
// it exists, so gradient descent through it cannot move any layer before the last. custom_grad(step(x), s(x))
// keeps the step's value in the forward pass and takes the gradient of a smooth surrogate s in the backward pass.
//
// The same MLP, data, initial weights and batches, trained five ways:
//   step                 the step's own gradient (zero): only the output layer learns
//   straight-through     custom_grad(step(x), x): the surrogate's derivative is 1 everywhere
//   clipped STE          custom_grad(step(x), clamp(x, -1, 1)): derivative 1 on [-1, 1], 0 outside
//   sigmoid surrogate    custom_grad(step(x), sigmoid(4 x)): the spiking networks' surrogate, derivative 4 s (1 - s)
//   sigmoid(4 x)         the smooth activation itself, for reference (its units do not fire: they take any value)
//
// It checks what the table claims: the step network's first layers never moved (their gradients are exactly zero);
// the surrogate-trained network computes exactly (bit for bit) what the step network with its weights computes,
// so its hidden units output only 0 and 1; the surrogate's derivative is the one used; and the sigmoid surrogate
// reaches the least accuracy asked for.
// Usage: 10_surrogate_gradients [dataset] [epochs] [least accuracy]   (default: spirals, 300, 0.8; a least accuracy of
// 0 leaves out the two accuracy checks, for smoke runs of a few epochs)
#include <chrono>
#include <cstdlib>

#include <symgrad/symgrad.hpp>

using namespace symgrad;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
    if (!ok) {
        fmt::print("FAIL: {}\n", what);
        ++failures;
    }
}

Expr step(const Expr& x) { return heaviside(x, 0.5); }

// The largest change of a parameter between two models built alike.
double largest_change(const nn::MLP& before, const nn::MLP& after, const std::string& name) {
    for (std::size_t k = 0; k < before.parameters().size(); ++k) {
        if (before.parameters()[k].name != name) continue;
        const auto a = before.parameters()[k].value.to_vector();
        const auto b = after.parameters()[k].value.to_vector();
        double largest = 0;
        for (std::size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::abs(a[i] - b[i]));
        return largest;
    }
    throw std::runtime_error("no parameter " + name);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dataset = argc > 1 ? argv[1] : "spirals";
    const std::int64_t epochs = argc > 2 ? std::atoll(argv[2]) : 300;
    const double least_accuracy = argc > 3 ? std::atof(argv[3]) : 0.8;

    const std::vector<nn::Activation> activations = {
        nn::Activation::from_function("step", [](const Expr& x, const auto&) { return step(x); }, {}),
        nn::Activation::from_function("straight-through", [](const Expr& x, const auto&) { return custom_grad(step(x), x); }, {}),
        nn::Activation::from_function("clipped STE", [](const Expr& x, const auto&) { return custom_grad(step(x), clamp(x, -1, 1)); }, {}),
        nn::Activation::from_function("sigmoid surrogate", [](const Expr& x, const auto&) { return custom_grad(step(x), sigmoid(4 * x)); },
                                      {}),
        nn::Activation::from_function("sigmoid(4 x)", [](const Expr& x, const auto&) { return sigmoid(4 * x); }, {}),
    };

    // The surrogate's derivative is the gradient custom_grad passes on; the value is the step's, bit for bit.
    const Expr x = var("x", {7}, DType::float64);
    const Expr spiking = custom_grad(step(x), sigmoid(4 * x));
    const Bindings points = {{"x", Tensor::from_values({7}, {-2.0, -0.5, -0.1, 0.0, 0.1, 0.5, 2.0})}};
    const Expr s = sigmoid(4 * x);
    const auto values = evaluate(std::vector<Expr>{spiking, step(x), grad(sum(spiking), {x})[0], 4 * s * (1 - s)}, points);
    fmt::print("x                          {}\n", fmt::join(points.at("x").to_vector(), "  "));
    fmt::print("custom_grad(step, s)       {}\n", fmt::join(values[0].to_vector(), "  "));
    fmt::print("its gradient               {:.4f}\n", fmt::join(values[2].to_vector(), "  "));
    fmt::print("4 s (1 - s), s = sig(4 x)  {:.4f}\n\n", fmt::join(values[3].to_vector(), "  "));
    expect(values[0].identical(values[1]), "custom_grad(step, s) has the step's values");
    double largest = 0;
    for (std::int64_t i = 0; i < 7; ++i) largest = std::max(largest, std::abs(values[2].get(i) - values[3].get(i)));
    expect(largest <= 1e-15, "custom_grad(step, s)'s gradient is the surrogate's derivative");

    auto all = data::builtin(dataset, 2000, 1);
    auto [train, test] = data::split(all, 0.2, 1);
    const auto standardizer = data::Standardizer::fit(train);
    train = standardizer.apply(train);
    test = standardizer.apply(test);
    fmt::print(
        "{}: {} training and {} test examples ({} classes), MLP 2-64-64-{}, Adam 0.01 (cosine), {} epochs, batches of 64, seed 1\n\n",
        dataset, train.size(), test.size(), all.classes, all.classes, epochs);
    fmt::print("| activation (forward / backward) | test accuracy | final training loss | layer 1 weights moved by | time |\n");
    fmt::print("|---|---:|---:|---:|---:|\n");

    const nn::MLP untrained(2, {64, 64}, all.classes, activations[0]);
    double step_accuracy = 0;
    double surrogate_accuracy = 0;
    for (const auto& activation : activations) {
        nn::MLP model(2, {64, 64}, all.classes, activation);
        nn::TrainOptions options;
        options.epochs = epochs;
        const auto start = std::chrono::steady_clock::now();
        const auto history = nn::train_classifier(model, train, test, options);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double moved = largest_change(untrained, model, "layer1.weight");
        const double accuracy = history.back().test_accuracy;
        fmt::print("| {} | {:.1f}% | {:.4f} | {:.3g} | {:.1f} s |\n", activation.name(), 100 * accuracy, history.back().train_loss, moved,
                   seconds);

        if (activation.name() == "step") {
            step_accuracy = accuracy;
            // Zero gradients: Adam leaves both hidden layers exactly where they started.
            for (const char* name : {"layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias"}) {
                expect(largest_change(untrained, model, name) == 0, fmt::format("the step network's {} did not move", name));
            }
            expect(largest_change(untrained, model, "layer3.weight") > 0, "the step network's output layer learned");
        }
        if (activation.name() == "sigmoid surrogate") {
            surrogate_accuracy = accuracy;
            // The trained weights in a network of plain steps compute the same logits, bit for bit: the surrogate
            // changed how the network learned, never what it computes.
            nn::MLP stepped(2, {64, 64}, all.classes, activations[0]);
            for (std::size_t k = 0; k < model.parameters().size(); ++k) stepped.parameters()[k].value = model.parameters()[k].value.clone();
            const Expr input = var("input", test.features.shape(), DType::float32);
            Bindings a = model.bindings();
            Bindings b = stepped.bindings();
            a.insert_or_assign("input", test.features.astype(DType::float32));
            b.insert_or_assign("input", test.features.astype(DType::float32));
            const bool same = evaluate(model.forward(input), a).identical(evaluate(stepped.forward(input), b));
            expect(same, "the surrogate-trained network computes what the step network computes with its weights");
            expect(nn::accuracy(stepped, test) == accuracy, "the step network with the trained weights has the same accuracy");
        }
    }
    fmt::print("\nthe step network's hidden layers after training: unchanged (gradient exactly 0)\n");
    fmt::print("the sigmoid-surrogate network's logits == a step network's with its weights, bit for bit: {}\n",
               failures == 0 ? "yes" : "no");
    if (least_accuracy > 0) {  // 0: a smoke run (the emulated CPUs run 2 epochs), where no one has learned yet
        expect(surrogate_accuracy >= least_accuracy,
               fmt::format("the sigmoid surrogate reached {:.1f}%, below {:.0f}%", 100 * surrogate_accuracy, 100 * least_accuracy));
        expect(surrogate_accuracy > step_accuracy, "the surrogate learned more than the step's own gradient allows");
    }
    return failures == 0 ? 0 : 1;
}
