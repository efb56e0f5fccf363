#include "symgrad/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <numeric>

#include "symgrad/anomaly.hpp"
#include "symgrad/autodiff.hpp"
#include "symgrad/compile.hpp"
#include "symgrad/simplify.hpp"
#include "tensor/splitmix.hpp"

namespace symgrad::nn {

namespace {

// Rows of features (float64) as a [rows, F] tensor of dtype.
Tensor gather_rows(const Tensor& features, const std::vector<std::int64_t>& rows, std::size_t first, std::size_t count, DType dtype) {
    const std::int64_t f = features.shape()[1];
    Tensor out = Tensor::empty({static_cast<std::int64_t>(count), f}, dtype);
    for (std::size_t i = 0; i < count; ++i) {
        const std::int64_t row = rows[first + i];
        for (std::int64_t j = 0; j < f; ++j) out.set(static_cast<std::int64_t>(i) * f + j, features.get(row * f + j));
    }
    return out;
}

void check_fits(const MLP& model, const data::Dataset& d, const char* which) {
    if (d.size() == 0) throw Error(fmt::format("the {} set is empty", which));
    if (d.features.shape()[1] != model.inputs()) {
        throw ShapeError(fmt::format("the {} set has {} features but the model takes {}", which, d.features.shape()[1], model.inputs()));
    }
    if (d.classes != model.outputs()) {
        throw ShapeError(fmt::format("the {} set has {} classes but the model has {} outputs", which, d.classes, model.outputs()));
    }
}

}  // namespace

std::vector<Expr> training_step_graph(const MLP& model, std::int64_t batch) {
    const Expr input = var("input", {batch, model.inputs()}, model.dtype());
    const Expr target = var("target", {batch, model.outputs()}, model.dtype());
    const Expr loss = cross_entropy_loss(model.forward(input), target);
    std::vector<Expr> wrt;
    for (const auto& p : model.parameters()) wrt.push_back(p.variable);
    std::vector<Expr> outputs{loss};
    const auto grads = grad(loss, wrt);
    outputs.insert(outputs.end(), grads.begin(), grads.end());
    return simplify(outputs);
}

std::vector<std::int32_t> predict(const MLP& model, const Tensor& features, std::size_t threads) {
    const std::int64_t n = features.shape()[0];
    std::vector<std::int32_t> labels;
    labels.reserve(static_cast<std::size_t>(n));
    constexpr std::int64_t chunk = 4096;
    CompileOptions options;
    options.threads = threads;
    Bindings at = model.bindings();
    std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
    std::iota(rows.begin(), rows.end(), 0);
    for (std::int64_t first = 0; first < n; first += chunk) {
        const std::int64_t count = std::min(chunk, n - first);
        const Expr input = var("input", {count, model.inputs()}, model.dtype());
        const Expr outputs[] = {model.forward(input)};
        at.insert_or_assign("input",
                            gather_rows(features, rows, static_cast<std::size_t>(first), static_cast<std::size_t>(count), model.dtype()));
        const Tensor logits = compile_cached(outputs, options).run(at)[0];
        const std::int64_t k = model.outputs();
        for (std::int64_t i = 0; i < count; ++i) {
            std::int64_t best = 0;
            for (std::int64_t j = 1; j < k; ++j) {
                if (logits.get(i * k + j) > logits.get(i * k + best)) best = j;
            }
            labels.push_back(static_cast<std::int32_t>(best));
        }
    }
    return labels;
}

double accuracy(const MLP& model, const data::Dataset& d, std::size_t threads) {
    check_fits(model, d, "evaluation");
    const auto predicted = predict(model, d.features, threads);
    std::int64_t right = 0;
    for (std::size_t i = 0; i < predicted.size(); ++i) right += predicted[i] == d.labels[i] ? 1 : 0;
    return static_cast<double>(right) / static_cast<double>(d.size());
}

std::vector<EpochReport> train_classifier(MLP& model, const data::Dataset& train, const data::Dataset& test, const TrainOptions& options,
                                          const std::function<void(const EpochReport&)>& on_epoch) {
    auto optimizer = make_optimizer(options.optimizer);
    return train_classifier(model, *optimizer, train, test, options, on_epoch);
}

std::vector<EpochReport> train_classifier(MLP& model, Optimizer& optimizer_ref, const data::Dataset& train, const data::Dataset& test,
                                          const TrainOptions& options, const std::function<void(const EpochReport&)>& on_epoch) {
    check_fits(model, train, "training");
    check_fits(model, test, "test");
    if (options.epochs < 1) throw Error(fmt::format("train for at least one epoch, got {}", options.epochs));
    if (options.batch < 1) throw Error(fmt::format("the batch size must be at least 1, got {}", options.batch));
    if (options.first_epoch < 1 || options.first_epoch > options.epochs + 1) {
        throw Error(fmt::format("the first epoch must be 1 to {}, got {}", options.epochs + 1, options.first_epoch));
    }
    Optimizer* optimizer = &optimizer_ref;
    if (options.schedule != "cosine" && options.schedule != "constant") {
        throw Error(fmt::format("unknown learning-rate schedule '{}': choose cosine or constant", options.schedule));
    }
    CompileOptions compile_options;
    compile_options.threads = options.threads;
    const std::int64_t n = train.size();
    const Tensor targets = one_hot(train.labels, train.classes, DType::float64);
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    // One step graph per batch size (at most two: full batches and the last, shorter one), planned once each.
    std::map<std::int64_t, std::vector<Expr>> steps;
    std::vector<EpochReport> history;
    detail::SplitMix64 shuffle_bits{options.seed * 0x9e3779b97f4a7c15ULL + 1};
    Bindings at = model.bindings();
    // Fisher-Yates with a SplitMix64 stream: the same order on every platform.
    auto shuffle = [&] {
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle_bits.next() % i]);
    };
    for (std::int64_t epoch = 1; epoch < options.first_epoch; ++epoch) shuffle();
    for (std::int64_t epoch = options.first_epoch; epoch <= options.epochs; ++epoch) {
        shuffle();
        if (options.schedule == "cosine") {
            const double progress = options.epochs == 1 ? 0.0 : static_cast<double>(epoch - 1) / static_cast<double>(options.epochs - 1);
            const double lr = options.optimizer.lr;
            optimizer->set_learning_rate(lr / 100.0 + (lr - lr / 100.0) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
        }
        const auto start = std::chrono::steady_clock::now();
        double loss_sum = 0.0;
        for (std::int64_t first = 0; first < n; first += options.batch) {
            const std::int64_t count = std::min(options.batch, n - first);
            auto it = steps.find(count);
            if (it == steps.end()) it = steps.emplace(count, training_step_graph(model, count)).first;
            at.insert_or_assign(
                "input",
                gather_rows(train.features, order, static_cast<std::size_t>(first), static_cast<std::size_t>(count), model.dtype()));
            at.insert_or_assign(
                "target", gather_rows(targets, order, static_cast<std::size_t>(first), static_cast<std::size_t>(count), model.dtype()));
            RunOptions run_options;
            run_options.detect_anomaly = options.detect_anomaly;
            std::vector<Tensor> values;
            try {
                values = compile_cached(it->second, compile_options).run(at, run_options);
            } catch (const AnomalyError& error) {
                // The step's graph is simplified, so its nodes are not the sweep's: search the unsimplified loss and
                // gradients, whose nodes name the derivative rule that made the value. Simplification can move a
                // NaN (it keeps values, not the operations that make them), so the engine's finding is the fallback.
                Anomaly anomaly = error.anomaly();
                const Expr input = var("input", {count, model.inputs()}, model.dtype());
                const Expr target = var("target", {count, model.outputs()}, model.dtype());
                std::vector<Expr> wrt;
                for (const auto& p : model.parameters()) wrt.push_back(p.variable);
                if (auto found = find_anomaly(cross_entropy_loss(model.forward(input), target), wrt, at)) {
                    anomaly = std::move(*found);
                } else {
                    const Expr loss[] = {it->second[0]};
                    const auto forward = topo_order(loss);
                    const bool in_forward = std::find(forward.begin(), forward.end(), anomaly.node.get()) != forward.end();
                    anomaly.pass = in_forward ? "forward" : "backward";
                }
                anomaly.context =
                    fmt::format("epoch {}, the batch of examples {} to {} (of the shuffled order)", epoch, first, first + count - 1);
                throw AnomalyError(anomaly);
            }
            loss_sum += values[0].item() * static_cast<double>(count);
            values.erase(values.begin());
            optimizer->step(model.parameters(), values);
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        EpochReport report;
        report.epoch = epoch;
        report.train_loss = loss_sum / static_cast<double>(n);
        report.seconds = seconds;
        report.examples_per_second = seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
        report.test_accuracy = accuracy(model, test, options.threads);
        history.push_back(report);
        if (on_epoch) on_epoch(report);
    }
    return history;
}

}  // namespace symgrad::nn
