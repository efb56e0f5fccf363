// symgrad predict FILE [--data NAME --examples N --seed N]: a saved model's accuracy on its held-out test set (the
// data regenerated from the file's recipe), or on another built-in dataset.
#include <iostream>

#include "model_file.hpp"

namespace symgrad::cli {

namespace {

struct PredictOptions {
    std::string file;
    std::string data;
    std::string target;
    std::int64_t examples = 0;
    std::int64_t seed = -1;
    std::size_t threads = 1;  // 0: one per hardware thread
};

int run_predict(const PredictOptions& o) {
    SavedModel saved = load_model(o.file);
    const ModelRecipe& r = saved.recipe;
    nn::MLP model = build_model(r);
    restore_parameters(model, saved.checkpoint, o.file);
    data::Dataset test;
    std::string what;
    if (o.data.empty() && o.examples == 0 && o.seed < 0) {
        // The held-out test set of training: the same examples, split and standardization.
        test = data::split(dataset_of(r.data, r.target, r.examples, r.seed), r.test_fraction, r.seed).second;
        what = fmt::format("the test set of training ({} examples of {})", test.size(), r.data);
    } else {
        const std::string name = o.data.empty() ? r.data : o.data;
        const std::int64_t n = o.examples > 0 ? o.examples : r.examples;
        if (n < 10 || n > 1'000'000) throw InputError(fmt::format("--examples {}: choose 10 to 1,000,000", n));
        test = dataset_of(name, o.data.empty() ? r.target : o.target, n, o.seed >= 0 ? static_cast<std::uint64_t>(o.seed) : r.seed + 1);
        what = fmt::format("{} new examples of {}", test.size(), name);
    }
    test = match_model_columns(test, r, o.file);  // columns and classes by name, where the file keeps names
    if (static_cast<std::int64_t>(test.feature_names.size()) != r.inputs || test.classes != r.classes) {
        throw InputError(fmt::format("'{}' takes {} features and {} classes; {} has {} and {}", o.file, r.inputs, r.classes, test.name,
                                     test.feature_names.size(), test.classes));
    }
    if (r.mean.size() != test.feature_names.size() || r.stddev.size() != test.feature_names.size()) {
        throw InputError(fmt::format("'{}' has no standardization for {} features", o.file, test.feature_names.size()));
    }
    const data::Standardizer standardizer{r.mean, r.stddev};
    test = standardizer.apply(test);
    std::cout << fmt::format("model: {} (activation {} = {}, trained {} epochs)\n", o.file, r.activation_name, r.activation_text,
                             r.epochs_done);
    std::cout << fmt::format("evaluated on {}\n", what);
    std::cout << fmt::format("test accuracy: {:.1f}%\n", 100.0 * nn::accuracy(model, test, o.threads));
    return 0;
}

}  // namespace

Action add_predict(CLI::App& app) {
    auto o = std::make_shared<PredictOptions>();
    CLI::App* sub = app.add_subcommand("predict", "Evaluate a model saved by 'symgrad train -o FILE'.");
    sub->add_option("file", o->file, "The saved model")->required();
    sub->add_option("--data", o->data, "Evaluate on new examples of this built-in dataset (default: the training set's held-out part)");
    sub->add_option("--target", o->target, "The class column, when --data is a CSV file");
    sub->add_option("--examples", o->examples, "How many new examples (10 to 1,000,000)")->check(whole_number(10, 1'000'000));
    sub->add_option("--seed", o->seed, "Seed of the new examples (default: the training seed + 1)")->check(whole_number(0, INT64_MAX));
    add_threads_option(*sub, o->threads);
    sub->footer("Example:\n  symgrad train --data spirals -o spirals.safetensors && symgrad predict spirals.safetensors");
    return [o] { return run_predict(*o); };
}

}  // namespace symgrad::cli
