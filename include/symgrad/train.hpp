// Training a classifier: one training step (forward, loss, every gradient) compiled once per batch size into one
// Program of the fused engine, run per mini-batch; the optimizer updates the parameters in place.
#pragma once

#include <functional>

#include "symgrad/data.hpp"
#include "symgrad/optim.hpp"

namespace symgrad::nn {

struct TrainOptions {
    std::int64_t epochs = 100;
    std::int64_t batch = 64;
    OptimizerOptions optimizer;
    std::uint64_t seed = 1;  // shuffling (the model's initial values have their own seed)
    std::size_t threads = 1;  // the engine's threads; 0 = one per hardware thread
    // "cosine": the learning rate falls from optimizer.lr to optimizer.lr / 100 along a half cosine over the
    // epochs (the last epochs settle instead of jumping about); "constant": it stays optimizer.lr.
    std::string schedule = "cosine";
    // Resuming: the epochs before first_epoch are taken as done (their shuffles are replayed, so the batches
    // that follow are those of an uninterrupted run), and the optimizer given to train_classifier continues.
    std::int64_t first_epoch = 1;
    // Anomaly mode: a NaN or infinity in a step's loss or gradients stops training with an AnomalyError that names
    // the subexpression that made it (forward or backward pass), the element, its operands' values, the epoch and
    // the batch. When all is finite it costs one pass over the step's outputs.
    bool detect_anomaly = false;
};

struct EpochReport {
    std::int64_t epoch = 0;  // 1-based
    double train_loss = 0;  // mean over the epoch's batches, weighted by their sizes
    double test_accuracy = 0;  // in [0, 1]
    double examples_per_second = 0;
    double seconds = 0;  // the epoch's training time (without the test evaluation)
};

// Trains model on train with cross-entropy; after every epoch evaluates test and calls on_epoch (if given).
// The same seeds and one thread give the same bits.
std::vector<EpochReport> train_classifier(MLP& model, const data::Dataset& train, const data::Dataset& test, const TrainOptions& options,
                                          const std::function<void(const EpochReport&)>& on_epoch = {});
// The same with an optimizer made by the caller (make_optimizer(options.optimizer)), whose state it keeps: for
// saving it with the parameters and resuming.
std::vector<EpochReport> train_classifier(MLP& model, Optimizer& optimizer, const data::Dataset& train, const data::Dataset& test,
                                          const TrainOptions& options, const std::function<void(const EpochReport&)>& on_epoch = {});

// The class with the largest logit for each row of features ([N, inputs]).
std::vector<std::int32_t> predict(const MLP& model, const Tensor& features, std::size_t threads = 1);
// The fraction of d's examples that model classifies right.
double accuracy(const MLP& model, const data::Dataset& d, std::size_t threads = 1);

// The training step's graph for batches of `batch` examples: the loss and the gradient of every parameter, in the
// order of model.parameters(). Variables: the parameters, "input" [batch, inputs] and "target" [batch, outputs]
// (one-hot). Exposed for tests (gradcheck of the whole step) and for the curious.
std::vector<Expr> training_step_graph(const MLP& model, std::int64_t batch);

}  // namespace symgrad::nn
