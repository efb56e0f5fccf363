// symgrad train --act EXPR|NAME [--param NAME=POLICY:INIT ...] --data NAME --hidden 64,64 --epochs N ...: trains an MLP
// with a trainable activation on a built-in dataset and reports the test accuracy and how the activation's
// parameters moved.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "model_file.hpp"
#include "train_plots.hpp"

namespace symgrad::cli {

namespace {

struct TrainCliOptions {
    std::string act = "swish_beta";
    std::vector<ParamOption> params;
    std::string data = "spirals";
    std::string target;
    std::int64_t examples = 2000;
    double test_fraction = 0.2;
    std::string hidden = "64,64";
    std::int64_t epochs = 300;
    std::int64_t batch = 64;
    std::string optimizer = "adam";
    double lr = 1e-2;
    double momentum = 0.0;
    bool nesterov = false;
    bool detect_anomaly = false;
    double weight_decay = 0.0;
    double clip = 0.0;
    std::uint64_t seed = 1;
    std::size_t threads = 1;  // 0: one per hardware thread
    double memory_limit_gib = 4.0;
    DType dtype = DType::float32;
    std::string schedule = "cosine";
    std::string weights = "kaiming";
    std::string output;
    std::string resume;
    std::string plot;
    std::string boundary;
    std::vector<std::string> model_flags_given;  // flags that --resume takes from the file instead
};

std::vector<std::int64_t> parse_hidden(const std::string& text) {
    std::vector<std::int64_t> widths;
    if (text.empty() || text == "none") return widths;
    for (const auto& piece : split(text, ',')) {
        const double w = parse_number(piece, "--hidden");
        if (w < 1 || w > 65536 || w != std::floor(w)) {
            throw InputError(fmt::format("--hidden '{}': '{}' is not a layer width (a whole number from 1 to 65536)", text, piece));
        }
        widths.push_back(static_cast<std::int64_t>(w));
    }
    return widths;
}

nn::Activation activation_of(const TrainCliOptions& o) {
    const auto names = nn::Activation::builtin_names();
    const bool builtin = std::find(names.begin(), names.end(), o.act) != names.end();
    if (builtin) {
        if (!o.params.empty()) {
            // A built-in activation with other initial values: its parameters, re-specified.
            nn::Activation base = nn::Activation::builtin(o.act);
            std::vector<nn::ParamSpec> specs = base.params();
            for (const auto& param : o.params) {
                auto it = std::find_if(specs.begin(), specs.end(), [&](const nn::ParamSpec& s) { return s.name == param.spec.name; });
                if (it == specs.end()) {
                    throw InputError(
                        fmt::format("--param '{}': the activation '{}' has no parameter '{}'", param.text, o.act, param.spec.name));
                }
                *it = param.spec;
            }
            return nn::Activation::parse(o.act, base.text(), specs);
        }
        return nn::Activation::builtin(o.act);
    }
    // A bare name that is not a built-in one is a mistyped name, not an expression in a variable of that name.
    const bool bare_name = !o.act.empty() && o.act != "x" &&
        std::all_of(o.act.begin(), o.act.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
    if (bare_name) nn::Activation::builtin(o.act);  // throws: unknown activation, and the list
    std::vector<nn::ParamSpec> specs;
    for (const auto& param : o.params) specs.push_back(param.spec);
    try {
        return nn::Activation::parse("custom", o.act, specs);
    } catch (const ParseError& e) {
        throw InputError(fmt::format("--act: in the expression, {} (or name a built-in activation: {})", e.what(), fmt::join(names, ", ")));
    }
}

struct Summary {
    double mean = 0;
    double stddev = 0;
    double min = 0;
    double max = 0;
};

Summary summarize(const Tensor& t) {
    Summary s;
    const auto n = static_cast<double>(t.numel());
    s.min = INFINITY;
    s.max = -INFINITY;
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        const double v = t.get(i);
        s.mean += v / n;
        s.min = std::min(s.min, v);
        s.max = std::max(s.max, v);
    }
    for (std::int64_t i = 0; i < t.numel(); ++i) s.stddev += (t.get(i) - s.mean) * (t.get(i) - s.mean) / n;
    s.stddev = std::sqrt(s.stddev);
    return s;
}

int run_train(const TrainCliOptions& o) {
    if (o.examples < 10 || o.examples > 1'000'000) throw InputError(fmt::format("--examples {}: choose 10 to 1,000,000", o.examples));
    if (!(o.test_fraction > 0 && o.test_fraction < 1))
        throw InputError(fmt::format("--test-fraction {}: choose a number between 0 and 1", o.test_fraction));
    if (o.epochs < 1 || o.epochs > 1'000'000) throw InputError(fmt::format("--epochs {}: choose 1 to 1,000,000", o.epochs));
    if (o.batch < 1) throw InputError(fmt::format("--batch {}: choose at least 1", o.batch));
    // Output paths are checked before the run, not after it.
    check_output_path(o.output, "-o");
    check_output_path(o.plot, "--plot");
    check_output_path(o.boundary, "--boundary");
    // The model and its data: from the flags, or from the checkpoint being resumed.
    ModelRecipe recipe;
    SavedModel saved;
    if (!o.resume.empty()) {
        if (!o.model_flags_given.empty()) {
            throw InputError(
                fmt::format("--resume takes the model and its data from '{}': drop {}", o.resume, fmt::join(o.model_flags_given, ", ")));
        }
        saved = load_model(o.resume);
        recipe = saved.recipe;
        if (recipe.optimizer != o.optimizer) {
            throw InputError(fmt::format("'{}' holds the state of {}, not {}: resume with --optimizer {}", o.resume, recipe.optimizer,
                                         o.optimizer, recipe.optimizer));
        }
        if (recipe.epochs_done >= o.epochs) {
            throw InputError(
                fmt::format("'{}' has been trained for {} epochs already: ask for more with --epochs", o.resume, recipe.epochs_done));
        }
    } else {
        const nn::Activation activation = activation_of(o);
        recipe.activation_name = activation.name();
        recipe.activation_text = activation.text();
        recipe.activation_params = activation.params();
        recipe.hidden = parse_hidden(o.hidden);
        const auto weights = weight_init_named(o.weights);
        if (!weights) throw InputError(fmt::format("--weights '{}': choose kaiming or xavier", o.weights));
        recipe.weights = *weights;
        recipe.dtype = o.dtype;
        recipe.data = o.data;
        recipe.target = o.target;
        recipe.examples = o.examples;
        recipe.test_fraction = o.test_fraction;
        recipe.seed = o.seed;
        recipe.optimizer = o.optimizer;
    }
    const data::Dataset all = dataset_of(recipe.data, recipe.target, recipe.examples, recipe.seed);
    auto [train, test] = data::split(all, recipe.test_fraction, recipe.seed);
    const auto standardizer = data::Standardizer::fit(train);
    train = standardizer.apply(train);
    test = standardizer.apply(test);
    recipe.inputs = static_cast<std::int64_t>(all.feature_names.size());
    recipe.classes = all.classes;
    recipe.feature_names = all.feature_names;
    recipe.class_names = all.class_names;
    recipe.mean = standardizer.mean;
    recipe.stddev = standardizer.stddev;
    const auto& hidden = recipe.hidden;
    nn::TrainOptions options;
    options.epochs = o.epochs;
    options.batch = o.batch;
    options.seed = recipe.seed;
    options.threads = o.threads;
    options.first_epoch = recipe.epochs_done + 1;
    options.schedule = o.schedule;
    options.optimizer.kind = o.optimizer;
    options.optimizer.lr = o.lr;
    options.optimizer.momentum = o.momentum;
    options.optimizer.nesterov = o.nesterov;
    options.detect_anomaly = o.detect_anomaly;
    options.optimizer.weight_decay = o.weight_decay;
    options.optimizer.clip_norm = o.clip;
    options.optimizer.groups["activation"].weight_decay = 0.0;  // decay pulls weights to 0, not an activation's shape

    if (!o.boundary.empty() && all.feature_names.size() != 2) {
        throw InputError(fmt::format("--boundary draws the plane of two features; {} has {}", all.name, all.feature_names.size()));
    }
    // Settings are checked before anything is printed: a mistake costs no output.
    auto optimizer = nn::make_optimizer(options.optimizer);
    if (o.schedule != "cosine" && o.schedule != "constant") {
        throw InputError(fmt::format("unknown learning-rate schedule '{}': choose cosine or constant", o.schedule));
    }
    {
        // What training will hold, estimated before the model is built: the weights with their gradients, the
        // optimizer's two moments and a copy (5 each), and the layer values of a batch and of the whole test set,
        // forward and backward (4 each).
        const double weights = weight_count(recipe);
        double widths_sum = 0;
        for (std::int64_t width : recipe.hidden) widths_sum += static_cast<double>(width);
        const double rows = static_cast<double>(std::max<std::int64_t>(std::min<std::int64_t>(o.batch, train.size()), test.size()));
        const double bytes =
            static_cast<double>(dtype_size(recipe.dtype)) * (5 * weights + 4 * rows * (widths_sum + static_cast<double>(recipe.classes)));
        if (bytes > o.memory_limit_gib * 1073741824.0) {
            throw InputError(fmt::format(
                "training an MLP {}-{}-{} on batches of {} would hold about {:.3g} GiB, past the memory limit of {} "
                "GiB (--memory-limit to change it)",
                recipe.inputs, fmt::join(recipe.hidden, "-"), recipe.classes, o.batch, bytes / 1073741824.0, o.memory_limit_gib));
        }
    }
    nn::MLP model = build_model(recipe);
    if (!o.resume.empty()) {
        restore_parameters(model, saved.checkpoint, o.resume);
        optimizer->load_state_tensors(model.parameters(), saved.checkpoint.tensors);
    }
    const nn::Activation& activation = model.activation();
    std::vector<nn::Parameter> initial = model.parameters();
    for (auto& p : initial) p.value = p.value.clone();

    std::vector<std::int64_t> widths{static_cast<std::int64_t>(all.feature_names.size())};
    widths.insert(widths.end(), hidden.begin(), hidden.end());
    widths.push_back(all.classes);
    std::cout << fmt::format("training: {} ({} examples: {} train, {} test, {} classes), MLP {}, activation {} = {}\n", all.name,
                             all.size(), train.size(), test.size(), all.classes, fmt::join(widths, "-"), activation.name(),
                             activation.text());
    for (const auto& spec : activation.params()) {
        std::cout << fmt::format("  parameter {}: {}, initially {}\n", spec.name,
                                 spec.policy == nn::Policy::shared            ? "shared"
                                     : spec.policy == nn::Policy::per_unit    ? "per unit"
                                     : spec.policy == nn::Policy::per_channel ? "per channel"
                                                                              : to_string(spec.shape),
                                 spec.init.describe());
    }
    std::cout << fmt::format("  {} epochs, batches of {}, {} (lr {}, {} schedule), seed {}, {} thread{}, {}\n", o.epochs, o.batch,
                             o.optimizer, o.lr, o.schedule, recipe.seed, o.threads == 0 ? "all" : std::to_string(o.threads),
                             o.threads == 1 ? "" : "s", dtype_name(recipe.dtype));
    std::cout.flush();

    // A live line on a terminal; otherwise about twenty plain lines (and the last epoch).
    const bool live = isatty(STDOUT_FILENO) != 0;
    const std::int64_t every = std::max<std::int64_t>(1, o.epochs / 20);
    if (!o.resume.empty()) std::cout << fmt::format("  resuming from '{}' after epoch {}\n", o.resume, recipe.epochs_done);
    const auto history = nn::train_classifier(model, *optimizer, train, test, options, [&](const nn::EpochReport& r) {
        const std::string line =
            fmt::format("epoch {:>{}}/{}  loss {:.4f}  test accuracy {:5.1f}%  {:.0f} examples/s", r.epoch, std::to_string(o.epochs).size(),
                        o.epochs, r.train_loss, 100.0 * r.test_accuracy, r.examples_per_second);
        if (live) {
            std::cout << "\r" << line << std::flush;
            if (r.epoch == o.epochs) std::cout << "\n";
        } else if (r.epoch % every == 0 || r.epoch == o.epochs) {
            std::cout << line << "\n";
        }
    });
    double seconds = 0;
    for (const auto& r : history) seconds += r.seconds;
    if (!o.output.empty()) {
        recipe.epochs_done = o.epochs;
        save_model(o.output, recipe, model, *optimizer);
    }
    std::cout << fmt::format("test accuracy: {:.1f}%\n", 100.0 * history.back().test_accuracy);
    std::cout << fmt::format("training time: {:.2f} s\n", seconds);
    bool any = false;
    for (std::size_t k = 0; k < model.parameters().size(); ++k) {
        const auto& p = model.parameters()[k];
        if (p.group != "activation") continue;
        if (!any) std::cout << "activation parameters (initial -> learned: mean, std, min, max):\n";
        any = true;
        const Summary before = summarize(initial[k].value);
        const Summary after = summarize(p.value);
        std::cout << fmt::format("  {:<12} {:<6} {:.4g} -> mean {:.4g}, std {:.4g}, min {:.4g}, max {:.4g}\n", p.name,
                                 to_string(p.value.shape()), before.mean, after.mean, after.stddev, after.min, after.max);
    }
    if (!o.plot.empty()) {
        write_output(o.plot,
                     training_curves_svg(fmt::format("{} on {}: training loss and test accuracy", activation.name(), all.name), history));
        std::cout << fmt::format("curves: {}\n", o.plot);
    }
    if (!o.boundary.empty()) {
        write_output(o.boundary,
                     decision_boundary_svg(fmt::format("{} on {}: decision regions, test examples", activation.name(), all.name), model,
                                           test, standardizer, o.threads));
        std::cout << fmt::format("decision regions: {}\n", o.boundary);
    }
    if (!o.output.empty()) std::cout << fmt::format("saved: {}\n", o.output);
    return 0;
}

}  // namespace

Action add_train(CLI::App& app) {
    auto o = std::make_shared<TrainCliOptions>();
    CLI::App* sub = app.add_subcommand("train", "Train an MLP with a trainable activation on a built-in dataset.");
    sub->add_option("--act", o->act, "The activation: an expression in x, or a built-in name (default swish_beta)");
    add_param_spec_option(*sub, o->params);
    sub->add_option("--data", o->data, "two-moons, spirals (default), circles, xor, height-weight, or a CSV file (FILE.csv)");
    sub->add_option("--target", o->target, "The class column of a CSV file");
    sub->add_option("--examples", o->examples, "Examples generated (default 2000)");
    sub->add_option("--test-fraction", o->test_fraction, "Fraction held out for testing (default 0.2)");
    sub->add_option("--hidden", o->hidden, "Hidden layer widths, comma-separated (default 64,64)");
    sub->add_option("--epochs", o->epochs, "Epochs (default 300)");
    sub->add_option("--batch", o->batch, "Batch size (default 64)");
    sub->add_option("--optimizer", o->optimizer, "sgd, adam (default) or adamw");
    sub->add_option("--lr", o->lr, "Learning rate (default 0.01)");
    sub->add_option("--momentum", o->momentum, "SGD momentum (default 0)");
    sub->add_flag("--nesterov", o->nesterov, "Nesterov momentum (SGD)");
    sub->add_flag("--detect-anomaly", o->detect_anomaly,
                  "Stop at the first NaN or infinity in a step's loss or gradients and say which subexpression made it (exit status 3)");
    sub->add_option("--weight-decay", o->weight_decay, "Weight decay, not applied to activation parameters (default 0)");
    sub->add_option("--clip", o->clip, "Clip gradients to this global L2 norm (default: no clipping)");
    sub->add_option("--weights", o->weights, "Initial weights: kaiming (default; for ReLU-like activations) or xavier (tanh-like)");
    sub->add_option("--schedule", o->schedule, "Learning rate over the epochs: cosine (default; down to lr/100) or constant");
    sub->add_option("--seed", o->seed, "Seed of the data, the initial weights and the shuffling (default 1)")
        ->check(whole_number(0, INT64_MAX));
    add_threads_option(*sub, o->threads);
    sub->add_option("--memory-limit", o->memory_limit_gib, "Refuse models and batches that need more GiB than this (default 4)")
        ->check(positive_number());
    add_dtype_option(*sub, o->dtype);
    sub->add_option("-o,--output", o->output, "Save the trained model (safetensors; written atomically)");
    sub->add_option("--plot", o->plot, "Write the loss and test-accuracy curves as an SVG file");
    sub->add_option("--boundary", o->boundary, "Write the decision regions (two-feature data) with the test examples as an SVG file");
    sub->add_option("--resume", o->resume, "Continue training a saved model up to --epochs (model and data from the file)");
    sub->footer(
        "Examples:\n"
        "  symgrad train --act swish_beta --data spirals\n"
        "  symgrad train --act 'x * sigmoid(beta * x)' --param beta=per-unit:1.0 --data two-moons --hidden 32 --epochs 100\n"
        "One thread and the same seed give the same numbers on every run.");
    return [o, sub] {
        for (const char* flag :
             {"--act", "--param", "--hidden", "--data", "--target", "--examples", "--test-fraction", "--seed", "--dtype", "--weights"}) {
            if (sub->count(flag) > 0) o->model_flags_given.emplace_back(flag);
        }
        return run_train(*o);
    };
}

}  // namespace symgrad::cli
