// ReLU, swish with a trainable beta per unit, and a trainable Padé activation (PAU 5/4), trained on the same data
// from the same seed: the same network, initial weights, batches and optimizer; only the activation differs.
// Usage: 06_compare_activations [dataset] [epochs] [least accuracy]   (default: spirals, 300, 0.9)
// It exits 1 when an activation's test accuracy falls short of the least accuracy (CI runs a short version).
#include <chrono>
#include <cstdlib>

#include <symgrad/symgrad.hpp>

using namespace symgrad;

int main(int argc, char** argv) {
    const std::string dataset = argc > 1 ? argv[1] : "spirals";
    const std::int64_t epochs = argc > 2 ? std::atoll(argv[2]) : 300;
    const double least_accuracy = argc > 3 ? std::atof(argv[3]) : 0.9;
    bool all_learned = true;
    auto all = data::builtin(dataset, 2000, 1);
    auto [train, test] = data::split(all, 0.2, 1);
    const auto standardizer = data::Standardizer::fit(train);
    train = standardizer.apply(train);
    test = standardizer.apply(test);
    fmt::print("{}: {} training and {} test examples, MLP 2-64-64-{}, Adam 0.01 (cosine), {} epochs, batches of 64, seed 1\n\n", dataset,
               train.size(), test.size(), all.classes, epochs);
    fmt::print("| activation | trainable parameters per layer | test accuracy | final training loss | time |\n");
    fmt::print("|---|---|---:|---:|---:|\n");
    for (const char* name : {"relu", "swish_beta", "pau"}) {
        const auto activation = nn::Activation::builtin(name);
        nn::MLP model(2, {64, 64}, all.classes, activation, DType::float32, 1);
        nn::TrainOptions options;
        options.epochs = epochs;
        const auto start = std::chrono::steady_clock::now();
        const auto history = nn::train_classifier(model, train, test, options);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::int64_t activation_values = 0;
        for (const auto& p : model.parameters()) activation_values += p.group == "activation" ? p.value.numel() : 0;
        fmt::print("| {} `{}` | {} | {:.1f}% | {:.4f} | {:.1f} s |\n", name, activation.text(), activation_values / 2,
                   100.0 * history.back().test_accuracy, history.back().train_loss, seconds);
        all_learned = all_learned && history.back().test_accuracy >= least_accuracy;
    }
    if (!all_learned) fmt::print("\nFAIL: an activation stayed below {:.0f}% test accuracy\n", 100 * least_accuracy);
    return all_learned ? 0 : 1;
}
