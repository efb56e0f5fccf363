// The nn layer: parameter shape policies and their errors, activations, the MLP, losses, optimizers against values
// computed by hand, the datasets, and training (the whole step by gradcheck; a short run whose loss falls).
#include <cmath>
#include <filesystem>
#include <fstream>

#include "helpers.hpp"

using namespace symgrad;
using namespace symgrad::nn;
using symgrad::testing::message_of;

TEST_CASE("parameter shapes follow their policy, and a batch-shaped parameter is refused with the reason", "[nn]") {
    CHECK(parameter_shape({"beta", Policy::shared}, Shape{256, 64}) == Shape{});
    CHECK(parameter_shape({"beta", Policy::per_unit}, Shape{256, 64}) == Shape{64});
    // per-unit is the last axis everywhere; per-channel is dim 1 (torch.nn.PReLU's convention).
    CHECK(parameter_shape({"beta", Policy::per_unit}, Shape{8, 3, 32, 16}) == Shape{16});
    CHECK(parameter_shape({"beta", Policy::per_unit}, Shape{8, 10, 64}) == Shape{64});
    CHECK(parameter_shape({"beta", Policy::per_channel}, Shape{8, 3, 32, 16}) == Shape{3, 1, 1});
    CHECK(parameter_shape({"beta", Policy::per_channel}, Shape{8, 10, 64}) == Shape{10, 1});
    CHECK(parameter_shape({"beta", Policy::per_channel}, Shape{256, 64}) == Shape{64});
    CHECK(parse_param_spec("beta", "per-channel:0.25").policy == Policy::per_channel);
    CHECK(parameter_shape({"w", Policy::fixed, Shape{1, 64}}, Shape{256, 64}) == Shape{1, 64});
    CHECK(message_of([] {
              parameter_shape({"p1", Policy::fixed, Shape{256, 64}}, Shape{256, 64});
          }) ==
          "parameter 'p1' has shape [256, 64], which includes the batch axis: a parameter must not depend on how many examples a "
          "batch holds; use [64] (one per unit) or [] (shared by all units)");
    CHECK(message_of([] {
              parameter_shape({"p", Policy::fixed, Shape{5}}, Shape{256, 64});
          }) ==
          "parameter 'p' has shape [5], which does not broadcast against one example of shape [64]; use [64] (one per unit) or [] "
          "(shared by all units)");
    CHECK(message_of([] {
              parameter_shape({"p", Policy::fixed, Shape{4, 3, 32, 32}}, Shape{4, 3, 32, 32});
          })
              .ends_with("includes the batch axis: a parameter must not depend on how many examples a batch holds; use [32] (one "
                         "per unit, the last axis), [3, 1, 1] (one per channel, dim 1) or [] (shared by all units)"));
    CHECK(message_of([] {
              parameter_shape({"p", Policy::fixed, Shape{9, 5, 6}}, Shape{9, 5, 6});
          }).ends_with("use [6] (one per unit, the last axis), [5, 1] (one per channel, dim 1) or [] (shared by all units)"));
}

TEST_CASE("parameter specs as the command line writes them", "[nn]") {
    const ParamSpec a = parse_param_spec("beta", "per-unit:1.5");
    CHECK(a.policy == Policy::per_unit);
    CHECK(a.init.kind == Init::Kind::constant);
    CHECK(a.init.a == 1.5);
    const ParamSpec b = parse_param_spec("a", "shared:uniform(-1, 1)");
    CHECK(b.policy == Policy::shared);
    CHECK(b.init.kind == Init::Kind::uniform);
    CHECK(b.init.describe() == "uniform(-1, 1)");
    const ParamSpec c = parse_param_spec("w", "[1,64]:normal(0, 0.1)");
    CHECK(c.policy == Policy::fixed);
    CHECK(c.shape == Shape{1, 64});
    CHECK(parse_param_spec("beta", "per-unit").init.a == 1.0);
    // INIT alone is shared (torch.nn.PReLU's default), the same NAME=VALUE as plot's --param and --at.
    const ParamSpec d = parse_param_spec("beta", "0.25");
    CHECK(d.policy == Policy::shared);
    CHECK(d.init.kind == Init::Kind::constant);
    CHECK(d.init.a == 0.25);
    CHECK(parse_param_spec("beta", "-1.5").init.a == -1.5);
    CHECK(parse_param_spec("beta", ".5").init.a == 0.5);
    CHECK(parse_param_spec("beta", "normal(0, 0.1)").policy == Policy::shared);
    CHECK(parse_param_spec("beta", "uniform(-1, 1)").init.kind == Init::Kind::uniform);
    CHECK(message_of([] { parse_param_spec("beta", "0.5,1"); }) == "parameter 'beta' ('0.5,1'): '0.5,1' is not a finite number");
    CHECK(message_of([] { parse_param_spec("beta", "per-neuron:1"); }).find("write POLICY:INIT") != std::string::npos);
    CHECK(message_of([] { parse_param_spec("beta", "per-unit:one"); }) ==
          "parameter 'beta' ('per-unit:one'): 'one' is not a finite number");
    CHECK(message_of([] { parse_param_spec("beta", "per-unit:uniform(1, -1)"); }).find("needs lo < hi") != std::string::npos);
    CHECK(message_of([] { parse_param_spec("beta", "per-unit:cauchy(0, 1)"); }).find("unknown initializer 'cauchy'") != std::string::npos);
}

TEST_CASE("activations: from text with checked specs, the built-in ones, applied with a layer's parameters", "[nn]") {
    CHECK(message_of([] { Activation::parse("mine", "x * sigmoid(beta * x)", {}); }) ==
          "activation 'mine': 'beta' is a variable of 'x * sigmoid(beta * x)' but has no parameter spec (e.g. beta=per-unit:1.0)");
    CHECK(message_of([] {
              Activation::parse("mine", "relu(x)", {{"gamma", Policy::shared}});
          }) == "activation 'mine': parameter 'gamma' is not a variable of 'relu(x)'");
    CHECK(message_of([] {
              Activation::parse("mine", "2 * y", {{"y", Policy::shared}});
          }).find("does not use its input x") != std::string::npos);
    CHECK(message_of([] { Activation::builtin("swishh"); }).find("unknown activation 'swishh'") != std::string::npos);
    const Expr x = var("h", {5, 4});
    for (const auto& name : Activation::builtin_names()) {
        INFO(name);
        const Activation a = Activation::builtin(name);
        std::map<std::string, Expr> params;
        Bindings at = {{"h", Tensor::uniform({5, 4}, -2, 2, 1)}};
        for (const auto& spec : a.params()) {
            const Shape shape = parameter_shape(spec, x.shape());
            params.emplace(spec.name, var("p." + spec.name, shape));
            at.emplace("p." + spec.name, spec.init.make(shape, DType::float64, 3));
        }
        const Expr y = a.apply(x, params);
        CHECK(y.shape() == x.shape());
        std::vector<Expr> wrt{x};
        for (const auto& [n, p] : params) wrt.push_back(p);
        symgrad::testing::require_passes(gradcheck(y, wrt, at), name);
    }
    // swish_beta's beta is per unit, 1.0; PReLU's a is 0.25: the values the issue names.
    CHECK(Activation::builtin("prelu").params()[0].init.a == 0.25);
    CHECK(Activation::builtin("swish_beta").params()[0].policy == Policy::per_unit);
    // The zoo by name: learned parameters with their usual policies, hyperparameters as numbers in the text.
    const auto names = Activation::builtin_names();
    for (const auto& entry : activation_catalog()) {
        const bool expected = entry.name != "softmax" && entry.name != "log_softmax" && entry.name != "pau_sum_abs";
        INFO(entry.name);
        CHECK((std::find(names.begin(), names.end(), entry.name) != names.end()) == expected);
    }
    const Activation leaky = Activation::builtin("leaky_relu");
    CHECK(leaky.text() == "leaky_relu(x, 0.01)");
    CHECK(leaky.params().empty());
    const Activation acon = Activation::builtin("acon_c");
    CHECK(acon.text() == "acon_c(x, p1, p2, beta)");
    REQUIRE(acon.params().size() == 3);
    CHECK(acon.params()[0].policy == Policy::per_unit);
    CHECK(Activation::builtin("elu").params()[0].policy == Policy::shared);
    CHECK(Activation::builtin("pau").text().starts_with("pau(x, 5, 4, a0"));
}

TEST_CASE("an activation's text is parsed once per signature; a failing apply fails the same way every time", "[nn]") {
    const Activation swish = Activation::builtin("swish_beta");
    const Expr h = var("h", {4, 3}, DType::float32);
    const Expr beta = var("b", {3}, DType::float32);
    const Expr y = swish.apply(h, {{"beta", beta}});
    CHECK(y == h * sigmoid(beta * h));
    CHECK(swish.apply(h, {{"beta", beta}}) == y);
    const Activation copy = swish;
    CHECK(copy.apply(h, {{"beta", beta}}) == y);
    // Another signature, another graph: numbers take the input's dtype.
    const Expr h64 = var("h", {4, 3});
    const Expr beta64 = var("b", {3});
    CHECK(swish.apply(h64, {{"beta", beta64}}) == h64 * sigmoid(beta64 * h64));
    // Errors come from the parse, at their place in the text, on each call.
    const Expr too_long = var("b", {5}, DType::float32);
    const std::string mismatch = message_of([&] { swish.apply(h, {{"beta", too_long}}); });
    CHECK_THAT(mismatch, Catch::Contains("column"));
    CHECK(message_of([&] { swish.apply(h, {{"beta", too_long}}); }) == mismatch);
    for (int call = 0; call < 2; ++call) {
        CHECK(message_of([&] { swish.apply(h, {}); }) == "activation 'swish_beta': no value given for parameter 'beta'");
    }
}

TEST_CASE("activations from C++ functions are checked like text ones and train the same", "[nn]") {
    const auto specs = std::vector<ParamSpec>{{"beta", Policy::per_unit, {}, Init::constant(1.0)}};
    const Activation f = Activation::from_function(
        "swish_cpp", [](const Expr& x, const auto& p) { return x * sigmoid(p.at("beta") * x); }, specs);
    CHECK(f.text() == "x * sigmoid(beta * x)");
    const Activation t = Activation::builtin("swish_beta");
    const Expr h = var("h", {4, 3});
    const Expr beta = var("b", {3});
    CHECK(f.apply(h, {{"beta", beta}}) == t.apply(h, {{"beta", beta}}));  // the same nodes
    CHECK(message_of([&] {
              Activation::from_function(
                  "bad", [](const Expr& x, const auto& p) { return x * p.at("gamma"); }, specs);
          }) == "activation 'bad': the function asks for a parameter that has no spec");
    CHECK(message_of([&] { Activation::from_function("bad", [](const Expr& x, const auto&) { return x * var("w"); }, {}); }) ==
          "activation 'bad': the function uses a variable 'w' of its own; take it from params instead");
    CHECK(message_of([&] {
              Activation::from_function(
                  "bad", [](const Expr&, const auto& p) { return p.at("beta") * 2; }, specs);
          }) == "activation 'bad': the function does not use its input x");
    // Training with either gives the same bits.
    auto all = data::builtin("two-moons", 200, 1);
    auto [train, test] = data::split(all, 0.2, 1);
    MLP a(2, {8}, 2, f, DType::float32, 1);
    MLP b(2, {8}, 2, t, DType::float32, 1);
    TrainOptions options;
    options.epochs = 3;
    train_classifier(a, train, test, options);
    train_classifier(b, train, test, options);
    for (std::size_t k = 0; k < a.parameters().size(); ++k) CHECK(a.parameters()[k].value.identical(b.parameters()[k].value));
}

TEST_CASE("the MLP: shapes, initial values, its own activation parameters per layer", "[nn]") {
    MLP model(2, {8, 6}, 3, Activation::builtin("swish_beta"), DType::float64, 7);
    std::vector<std::string> names;
    for (const auto& p : model.parameters()) names.push_back(p.name + " " + to_string(p.value.shape()) + " " + p.group);
    CHECK(names ==
          std::vector<std::string>{"layer1.weight [2, 8] weights", "layer1.bias [8] biases", "act1.beta [8] activation",
                                   "layer2.weight [8, 6] weights", "layer2.bias [6] biases", "act2.beta [6] activation",
                                   "layer3.weight [6, 3] weights", "layer3.bias [3] biases"});
    const Tensor& w = model.parameters()[0].value;
    const double bound = std::sqrt(6.0 / 2.0);
    for (std::int64_t i = 0; i < w.numel(); ++i) CHECK(std::fabs(w.get(i)) <= bound);
    CHECK(model.parameters()[2].value.to_vector() == std::vector<double>(8, 1.0));
    CHECK(model.forward(var("input", {5, 2})).shape() == Shape{5, 3});
    CHECK(message_of([&] { model.forward(var("input", {5, 3})); }) == "the MLP takes input of shape [B, 2], got [5, 3]");
    // Xavier-uniform: bound sqrt(6 / (fan_in + fan_out)).
    MLP xavier(2, {8}, 3, Activation::builtin("tanh"), DType::float64, 7, WeightInit::xavier);
    const Tensor& wx = xavier.parameters()[0].value;
    double largest = 0;
    for (std::int64_t i = 0; i < wx.numel(); ++i) largest = std::max(largest, std::fabs(wx.get(i)));
    CHECK(largest <= std::sqrt(6.0 / 10.0));
    CHECK(largest > std::sqrt(6.0 / 10.0) * 0.5);
}

TEST_CASE("building blocks: a network of one's own from linear layers and activation parameters", "[nn]") {
    // A residual block: h = x W1 + b1; y = x + act(h) W2 + b2, with a PReLU whose slope is per unit.
    auto p1 = linear_parameters("in", 3, 4, DType::float64, 1);
    auto p2 = linear_parameters("out", 4, 3, DType::float64, 2, WeightInit::xavier);
    const Activation prelu = Activation::builtin("prelu");
    auto pa = activation_parameters(prelu, "act", Shape{1, 4}, DType::float64, 3);
    REQUIRE(pa.size() == 1);
    CHECK(pa[0].name == "act.a");
    CHECK(pa[0].value.shape() == Shape{4});
    CHECK(pa[0].value.to_vector() == std::vector<double>(4, 0.25));
    const Expr x = var("x", {5, 3});
    const Expr h = prelu.apply(linear(x, p1[0], p1[1]), activation_arguments(prelu, "act", pa));
    const Expr y = x + linear(h, p2[0], p2[1]);
    Bindings at = {{"x", Tensor::uniform({5, 3}, -1, 1, 4)}};
    std::vector<Expr> wrt{x};
    for (const auto* group : {&p1, &p2, &pa}) {
        for (const auto& p : *group) {
            at.emplace(p.name, p.value);
            wrt.push_back(p.variable);
        }
    }
    symgrad::testing::require_passes(gradcheck(sum(tanh(y)), wrt, at), "a residual block");
    const Activation fixed = Activation::parse("scaled", "w * x", {{"w", Policy::fixed, Shape{5, 4}}});
    CHECK(message_of([&] {
              activation_parameters(fixed, "act", Shape{5, 4}, DType::float64, 1);
          }).find("includes the batch axis") != std::string::npos);
    CHECK(message_of([] { linear_parameters("l", 0, 3, DType::float32, 1); }) ==
          "linear layer 'l': 0 inputs and 3 outputs; both must be at least 1");
}

TEST_CASE("losses against values computed by hand, stable at large logits", "[nn]") {
    const Expr p = var("p", {2, 2});
    const Expr t = var("t", {2, 2});
    const Bindings at = {{"p", Tensor::from_values({2, 2}, {1, 2, 3, 4})}, {"t", Tensor::from_values({2, 2}, {0, 2, 5, 1})}};
    CHECK(evaluate(mse_loss(p, t), at).item() == Approx((1.0 + 0.0 + 4.0 + 9.0) / 4.0));
    // bce: mean(log(1 + e^z) - t z)
    const Bindings logits = {{"p", Tensor::from_values({2, 2}, {0.5, -1, 1000, -1000})}, {"t", Tensor::from_values({2, 2}, {1, 0, 1, 0})}};
    const double expected_bce = (std::log1p(std::exp(0.5)) - 0.5 + std::log1p(std::exp(-1.0)) + 0.0 + 0.0) / 4.0;
    CHECK(evaluate(bce_with_logits_loss(p, t), logits).item() == Approx(expected_bce));
    // cross-entropy: mean over rows of -log softmax at the label
    const Bindings ce = {{"p", Tensor::from_values({2, 2}, {1, 3, 1000, -1000})}, {"t", Tensor::from_values({2, 2}, {1, 0, 0, 1})}};
    const double row1 = -(1.0 - std::log(std::exp(1.0) + std::exp(3.0)));
    const double row2 = 2000.0;
    CHECK(evaluate(cross_entropy_loss(p, t), ce).item() == Approx((row1 + row2) / 2.0));
    CHECK(std::isfinite(evaluate(grad(cross_entropy_loss(p, t), std::vector<Expr>{p})[0], ce).get(2)));
    CHECK(one_hot({2, 0}, 3).to_vector() == std::vector<double>{0, 0, 1, 1, 0, 0});
    CHECK(message_of([] { one_hot({3}, 3); }) == "label 3 of example 0 is outside 0..2");
}

TEST_CASE("optimizers against updates computed by hand", "[nn]") {
    auto one_param = [](double value) {
        std::vector<Parameter> params{{"w", var("w", {1}), Tensor::from_values({1}, {value}), "weights"}};
        return params;
    };
    const std::vector<Tensor> g{Tensor::from_values({1}, {0.5})};
    {  // plain SGD: w -= lr g
        auto params = one_param(1.0);
        OptimizerOptions o;
        o.kind = "sgd";
        o.lr = 0.1;
        make_optimizer(o)->step(params, g);
        CHECK(params[0].value.get(0) == Approx(1.0 - 0.05));
    }
    {  // momentum 0.9, two steps: v1 = g, w1 = w - lr g; v2 = 0.9 g + g, w2 = w1 - lr v2
        auto params = one_param(1.0);
        OptimizerOptions o;
        o.kind = "sgd";
        o.lr = 0.1;
        o.momentum = 0.9;
        auto opt = make_optimizer(o);
        opt->step(params, g);
        opt->step(params, g);
        CHECK(params[0].value.get(0) == Approx(1.0 - 0.05 - 0.1 * 0.95));
        // Nesterov: d = g + 0.9 v
        auto nesterov = one_param(1.0);
        o.nesterov = true;
        auto opt2 = make_optimizer(o);
        opt2->step(nesterov, g);
        CHECK(nesterov[0].value.get(0) == Approx(1.0 - 0.1 * (0.5 + 0.9 * 0.5)));
    }
    {  // Adam, first step: m_hat = g, v_hat = g^2, so w -= lr g / (|g| + eps) = lr
        auto params = one_param(1.0);
        OptimizerOptions o;
        o.lr = 0.01;
        auto opt = make_optimizer(o);
        opt->step(params, g);
        CHECK(params[0].value.get(0) == Approx(1.0 - 0.01 * 0.5 / (0.5 + 1e-8)));
        // Second step with gradient 0.25: m = 0.9*0.05 + 0.1*0.25 = ..., by the formulas
        const std::vector<Tensor> g2{Tensor::from_values({1}, {0.25})};
        opt->step(params, g2);
        const double m = 0.9 * (0.1 * 0.5) + 0.1 * 0.25;
        const double v = 0.999 * (0.001 * 0.25) + 0.001 * 0.0625;
        const double m_hat = m / (1 - 0.81);
        const double v_hat = v / (1 - 0.999 * 0.999);
        CHECK(params[0].value.get(0) == Approx(1.0 - 0.01 * 0.5 / (0.5 + 1e-8) - 0.01 * m_hat / (std::sqrt(v_hat) + 1e-8)));
    }
    {  // AdamW: the decay is subtracted from the value, not added to the gradient; a group can turn it off
        auto params = one_param(2.0);
        params.push_back({"a", var("a", {1}), Tensor::from_values({1}, {2.0}), "activation"});
        OptimizerOptions o;
        o.kind = "adamw";
        o.lr = 0.01;
        o.weight_decay = 0.1;
        o.groups["activation"].weight_decay = 0.0;
        const std::vector<Tensor> grads{g[0], g[0]};
        make_optimizer(o)->step(params, grads);
        CHECK(params[0].value.get(0) == Approx(2.0 - 0.01 * 0.1 * 2.0 - 0.01));
        CHECK(params[1].value.get(0) == Approx(2.0 - 0.01));
    }
    {  // clipping by global norm: gradients (3, 4) have norm 5, clipped to 1 -> (0.6, 0.8)
        std::vector<Parameter> params{{"w", var("w", {2}), Tensor::from_values({2}, {0, 0}), "weights"}};
        OptimizerOptions o;
        o.kind = "sgd";
        o.lr = 1.0;
        o.clip_norm = 1.0;
        const double norm = make_optimizer(o)->step(params, {Tensor::from_values({2}, {3, 4})});
        CHECK(norm == Approx(5.0));
        CHECK(params[0].value.get(0) == Approx(-0.6));
        CHECK(params[0].value.get(1) == Approx(-0.8));
    }
    OptimizerOptions bad;
    bad.kind = "rmsprop";
    CHECK(message_of([&] { make_optimizer(bad); }) == "unknown optimizer 'rmsprop': choose sgd, adam or adamw");
    bad.kind = "adam";
    bad.lr = -1;
    CHECK(message_of([&] { make_optimizer(bad); }) == "the learning rate must be > 0, got -1");
}

TEST_CASE("datasets: sizes, balanced labels, the same numbers from the same seed, splits and standardization", "[nn]") {
    for (const auto& name : data::builtin_names()) {
        INFO(name);
        const auto d = data::builtin(name, 300, 4);
        CHECK(d.size() == 300);
        CHECK(d.features.shape() == Shape{300, 2});
        std::vector<int> counts(static_cast<std::size_t>(d.classes), 0);
        for (auto l : d.labels) ++counts[static_cast<std::size_t>(l)];
        for (auto c : counts) CHECK(c >= 300 / static_cast<int>(d.classes) / 2);
        CHECK(data::builtin(name, 300, 4).features.identical(d.features));
        CHECK(!data::builtin(name, 300, 5).features.identical(d.features));
    }
    const auto hw = data::height_weight(4000, 1);
    double male_height = 0;
    for (std::int64_t i = 0; i < hw.size(); ++i) male_height += hw.labels[static_cast<std::size_t>(i)] == 1 ? hw.features.get(2 * i) : 0.0;
    CHECK(male_height / 2000.0 == Approx(176.0).margin(1.0));
    auto [train, test] = data::split(hw, 0.25, 2);
    CHECK(train.size() == 3000);
    CHECK(test.size() == 1000);
    const auto standardizer = data::Standardizer::fit(train);
    const auto z = standardizer.apply(train);
    double mean = 0;
    double squares = 0;
    for (std::int64_t i = 0; i < z.size(); ++i) {
        mean += z.features.get(2 * i);
        squares += z.features.get(2 * i) * z.features.get(2 * i);
    }
    CHECK(mean / 3000.0 == Approx(0.0).margin(1e-12));
    CHECK(squares / 3000.0 == Approx(1.0));
    CHECK(message_of([] { data::builtin("iris", 10, 1); }).find("unknown dataset 'iris'") != std::string::npos);
    CHECK(message_of([] { data::spirals(10, 1, 0.0, 1); }) == "spirals: 2 to 16 classes, got 1");
}

TEST_CASE("the whole training step passes gradcheck on a tiny network", "[nn]") {
    MLP model(2, {3}, 2, Activation::builtin("swish_beta"), DType::float64, 3);
    const auto step = training_step_graph(model, 4);
    Bindings at = model.bindings();
    at.emplace("input", Tensor::uniform({4, 2}, -1, 1, 9));
    at.emplace("target", one_hot({0, 1, 1, 0}, 2, DType::float64));
    std::vector<Expr> wrt;
    for (const auto& p : model.parameters()) wrt.push_back(p.variable);
    // The step's first output is the loss; gradcheck differentiates it afresh and compares with differences.
    symgrad::testing::require_passes(gradcheck(step[0], wrt, at), "loss of a 2-3-2 swish_beta MLP");
    // And the step's own gradients (simplified, compiled) equal a fresh reverse sweep's.
    const auto fresh = evaluate(grad(step[0], wrt), at);
    const auto compiled = run_compiled(step, at);
    for (std::size_t k = 0; k < wrt.size(); ++k) {
        for (std::int64_t i = 0; i < fresh[k].numel(); ++i) CHECK(compiled[k + 1].get(i) == Approx(fresh[k].get(i)).margin(1e-12));
    }
}

TEST_CASE("training: the loss falls, spirals are learned, and the same seeds give the same bits", "[nn][slow]") {
    auto all = data::builtin("spirals", 600, 1);
    auto [train, test] = data::split(all, 0.2, 1);
    const auto standardizer = data::Standardizer::fit(train);
    train = standardizer.apply(train);
    test = standardizer.apply(test);
    auto run = [&](std::size_t threads) {
        MLP model(2, {32, 32}, 3, Activation::builtin("swish_beta"), DType::float32, 1);
        TrainOptions options;
        options.epochs = 150;
        options.batch = 32;
        options.threads = threads;
        const auto history = train_classifier(model, train, test, options);
        return std::make_pair(history, model.parameters()[2].value.clone());
    };
    const auto [history, beta] = run(1);
    REQUIRE(history.size() == 150);
    CHECK(history.back().train_loss < 0.5 * history.front().train_loss);
    CHECK(history.back().test_accuracy > 0.85);  // three classes: chance is 1/3
    bool moved = false;
    for (std::int64_t i = 0; i < beta.numel(); ++i) moved = moved || beta.get(i) != 1.0;
    CHECK(moved);  // the activation's beta trained
    CHECK(run(1).second.identical(beta));
    MLP wrong(3, {4}, 3, Activation::builtin("relu"));
    CHECK(message_of([&] { train_classifier(wrong, train, test, {}); }) == "the training set has 2 features but the model takes 3");
}

TEST_CASE("train's anomaly mode names the derivative rule, the epoch and the batch", "[nn][anomaly]") {
    // x * sqrt(abs(x)) is finite everywhere, and so is its derivative, 1.5 sqrt(abs(x)); but the sweep builds it as
    // sqrt(abs(x)) + x * (adjoint / (2 sqrt(abs(x)))) * sign(x), which is 0 / 0 at 0.
    // Inputs of 0 and biases that start at 0 put the first layer's pre-activation exactly at 0.
    data::Dataset zeros;
    zeros.features = Tensor::zeros({8, 2});
    zeros.labels = {0, 1, 0, 1, 0, 1, 0, 1};
    zeros.classes = 2;
    MLP model(2, {4}, 2, Activation::parse("root", "x * sqrt(abs(x))", {}), DType::float64, 1);
    TrainOptions options;
    options.epochs = 1;
    options.batch = 4;
    options.detect_anomaly = true;
    try {
        train_classifier(model, zeros, zeros, options);
        FAIL("no anomaly found");
    } catch (const AnomalyError& error) {
        const Anomaly& a = error.anomaly();
        INFO(a.message());
        CHECK(a.pass == "backward");
        CHECK(a.rule == "d/dx sqrt(x) = 1 / (2 * sqrt(x)) where x = abs(input @ layer1.weight + layer1.bias)");
        CHECK(a.rule_of.starts_with("sqrt(abs("));
        CHECK(std::isnan(a.value));  // the adjoint there is -0: -0 / (2 * sqrt(0))
        CHECK(a.context == "epoch 1, the batch of examples 0 to 3 (of the shuffled order)");
        CHECK(a.message().find("epoch 1, the batch of examples 0 to 3") != std::string::npos);
    }
    // Without the option, the NaN reaches the weights and training goes on.
    options.detect_anomaly = false;
    MLP quiet(2, {4}, 2, Activation::parse("root", "x * sqrt(abs(x))", {}), DType::float64, 1);
    train_classifier(quiet, zeros, zeros, options);
    CHECK(std::isnan(quiet.parameters()[0].value.get(0)));
}

TEST_CASE("CSV files: features by header, classes from the target column, malformed lines named", "[nn]") {
    const auto dir = std::filesystem::temp_directory_path() / "symgrad_test_csv";
    std::filesystem::create_directories(dir);
    auto write = [&](const std::string& name, const std::string& text) {
        const std::string path = (dir / name).string();
        std::ofstream(path) << text;
        return path;
    };
    const std::string good = write("good.csv", "height_cm, weight_kg ,sex\n160,60,female\n\n175, 80.5,male\r\n162,65,female\n");
    const auto d = data::load_csv(good, "sex");
    CHECK(d.size() == 3);
    CHECK(d.feature_names == std::vector<std::string>{"height_cm", "weight_kg"});
    CHECK(d.class_names == std::vector<std::string>{"female", "male"});
    CHECK(d.labels == std::vector<std::int32_t>{0, 1, 0});
    CHECK(d.features.to_vector() == std::vector<double>{160, 60, 175, 80.5, 162, 65});
    // Numeric classes sort as numbers: 2 before 10.
    CHECK(data::load_csv(write("numeric.csv", "x,y\n1,10\n2,2\n3,10\n"), "y").class_names == std::vector<std::string>{"2", "10"});
    const std::string bad_fields = write("fields.csv", "a,b,c\n1,2,x\n3,4\n");
    CHECK(message_of([&] { data::load_csv(bad_fields, "c"); }) == bad_fields + ":3: 2 fields, but the header names 3 columns");
    const std::string bad_number = write("number.csv", "a,b,c\n1,2,x\n3,oops,y\n");
    CHECK(message_of([&] { data::load_csv(bad_number, "c"); }) == bad_number + ":3: column 'b' holds 'oops', which is not a finite number");
    CHECK(message_of([&] { data::load_csv(bad_number, "d"); }) == bad_number + ": no column 'd' (the columns are a, b, c)");
    const std::string one_class = write("one.csv", "a,c\n1,x\n2,x\n");
    CHECK(message_of([&] { data::load_csv(one_class, "c"); }) ==
          one_class + ": the target 'c' has only one value ('x'): nothing to classify");
    CHECK(message_of([&] { data::load_csv(write("empty.csv", ""), "c"); }).find("the file is empty") != std::string::npos);
    CHECK(message_of([] { data::load_csv("/nonexistent.csv", "c"); }) == "cannot read '/nonexistent.csv'");
}

TEST_CASE("optimizer and training settings out of range are refused with the setting named", "[nn]") {
    auto error = [](auto change) {
        OptimizerOptions o;
        change(o);
        return message_of([&] { make_optimizer(o); });
    };
    CHECK(error([](OptimizerOptions& o) { o.momentum = 1.0; }) == "momentum must be in [0, 1), got 1");
    CHECK(error([](OptimizerOptions& o) { o.beta2 = -0.5; }) == "beta1 and beta2 must be in [0, 1), got 0.9 and -0.5");
    CHECK(error([](OptimizerOptions& o) { o.weight_decay = -1; }) == "weight decay must be >= 0 and finite, got -1");
    CHECK(error([](OptimizerOptions& o) {
              o.kind = "sgd";
              o.nesterov = true;
          }) == "Nesterov momentum needs a momentum > 0");
    auto all = data::builtin("xor", 100, 1);
    auto [train, test] = data::split(all, 0.2, 1);
    MLP model(2, {4}, 2, Activation::builtin("relu"));
    TrainOptions options;
    options.schedule = "step";
    CHECK(message_of([&] { train_classifier(model, train, test, options); }) ==
          "unknown learning-rate schedule 'step': choose cosine or constant");
    options.schedule = "cosine";
    options.epochs = 5;
    options.first_epoch = 7;
    CHECK(message_of([&] { train_classifier(model, train, test, options); }) == "the first epoch must be 1 to 6, got 7");
    options.first_epoch = 1;
    options.batch = 0;
    CHECK(message_of([&] { train_classifier(model, train, test, options); }) == "the batch size must be at least 1, got 0");
}
