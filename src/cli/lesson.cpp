// symgrad lesson EXPR --at x=... -o lesson.html: one self-contained HTML file that steps through the forward pass
// and grad()'s reverse sweep over the expression's graph (drawn by Graphviz), micrograd's data | grad in every node.
// The steps are those of `symgrad trace` (one SweepRecord), so the lesson, the trace and grad() cannot disagree.
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "lesson_page.hpp"
#include "sweep_record.hpp"

namespace symgrad::cli {

namespace {

using nlohmann::json;

struct LessonOptions {
    std::string expression;
    std::vector<std::string> at;
    Shapes shapes;
    std::string output = "lesson.html";
    std::string title;
};

// A value for the page: its shape and, for up to 64 elements, each element as the trace prints it (the page draws the
// brackets and marks the element the reader follows); beyond that, the trace's summary.
json value_json(const Tensor& t) {
    json v;
    v["shape"] = t.shape().dims();
    if (t.rank() > 0 && t.numel() > 0 && t.numel() <= 64) {
        json elems = json::array();
        for (std::int64_t i = 0; i < t.numel(); ++i) elems.push_back(number_text(t.get(i)));
        v["elems"] = std::move(elems);
    } else {
        v["text"] = t.rank() == 0 ? number_text(t.get(0)) : value_text(t);
    }
    v["short"] = to_short_string(t);
    return v;
}

std::string dot_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

// The graph as the lesson draws it: node i is "n<i>" (the record's positions), labelled with its name and formula,
// its shape, and the data and grad lines the page fills in as the steps reach them.
std::string lesson_dot(const SweepRecord& r, const std::vector<std::optional<Tensor>>& final_adjoints) {
    std::string dot =
        "digraph lesson {\nrankdir=BT;\nnode [shape=box, fontname=\"Helvetica\", fontsize=12];\n"
        "edge [fontname=\"Helvetica\", fontsize=10];\n";
    for (std::size_t i = 0; i < r.index.size(); ++i) {
        const Node& node = *r.index.node(i);
        std::vector<std::string> lines;
        lines.push_back(r.written[i] ? fmt::format("{} = {}", r.names[i], to_inline_string(r.written[i], 40)) : r.names[i]);
        if (node.shape().rank() > 0) lines.push_back(to_string(node.shape()));
        if (node.op() != Op::constant) {
            lines.push_back("data " + to_short_string(r.values[i]));
            if (final_adjoints[i]) lines.push_back("grad " + to_short_string(*final_adjoints[i]));
        }
        std::string label;
        for (const auto& line : lines) label += dot_escape(line) + "\\n";
        dot += fmt::format("n{} [label=\"{}\"{}];\n", i, label, i + 1 == r.index.size() ? ", peripheries=2" : "");
        const auto operands = r.index.operands(i);
        for (std::size_t k = 0; k < operands.size(); ++k) {
            dot += fmt::format("n{} -> n{}{};\n", operands[k], i, operands.size() > 1 ? fmt::format(" [label=\"{}\"]", k) : "");
        }
    }
    return dot + "}\n";
}

// A line of a step: text, with values where the page should draw (and mark) them.
json line(std::initializer_list<json> segments) { return json(segments); }

json build_steps(const SweepRecord& r, const std::vector<std::optional<Tensor>>& final_adjoints) {
    json steps = json::array();
    const auto& names = r.names;
    auto formula = [&](std::size_t i) { return to_inline_string(r.written[i], 80); };
    // Forward: each node after its operands.
    for (std::size_t i = 0; i < r.index.size(); ++i) {
        const Node& node = *r.index.node(i);
        if (node.op() == Op::constant) continue;
        json step;
        step["phase"] = "forward";
        step["node"] = i;
        if (node.is_leaf()) {
            step["title"] = fmt::format("The input {}", names[i]);
            step["lines"] = json::array({line({fmt::format("{} = ", names[i]), value_json(r.values[i])}),
                                         line({node.shape().rank() > 0 ? fmt::format("given, shape {}", node.shape()) : "given"})});
        } else {
            step["title"] = fmt::format("Evaluate {}", names[i]);
            step["lines"] = json::array({line({fmt::format("{} = {} = ", names[i], formula(i)), value_json(r.values[i])})});
        }
        step["data"] = i;
        steps.push_back(std::move(step));
    }
    // Backward: the seed, then grad()'s sweep.
    const std::size_t out = r.index.size() - 1;
    {
        json step;
        step["phase"] = "backward";
        step["node"] = out;
        step["title"] = "The seed";
        step["lines"] = json::array(
            {line({fmt::format("d{0}/d{0} = 1", r.output_name)}),
             line({r.y.rank() > 0 ? fmt::format("for every element: the backward pass computes the gradient of sum({})", r.output_name)
                                  : std::string("the backward pass starts from the output")})});
        step["grad"] = json::array({json::array({out, value_json(*final_adjoints[out])})});
        steps.push_back(std::move(step));
    }
    for (const auto& s : r.steps) {
        const std::size_t i = s.node;
        if (s.arrival) {
            json step;
            step["phase"] = "backward";
            step["node"] = i;
            step["title"] = fmt::format("The adjoint of {} is complete", names[i]);
            json lines = json::array({line({fmt::format("{} = {}", names[i], formula(i))}),
                                      line({fmt::format("d{}/d{} = ", r.output_name, names[i]), value_json(s.adjoint)})});
            if (!s.note.empty()) lines.push_back(line({s.note}));
            step["lines"] = std::move(lines);
            steps.push_back(std::move(step));
            continue;
        }
        const std::size_t o = s.operand;
        if (!s.gives_gradient) continue;
        const std::string rule = to_inline_string(s.rule, 80);
        const Shape& operand_shape = r.index.node(o)->shape();
        if (s.mask) {
            json step;
            step["phase"] = "backward";
            step["node"] = i;
            step["edge"] = json::array({o, i});
            step["title"] = "where() masks the adjoint";
            step["lines"] =
                json::array({line({fmt::format("the adjoint reaches {} only where where() selected this branch: mask ", names[o]),
                                   value_json(*s.mask)}),
                             line({"elsewhere the share is exactly 0, even where the local derivative is inf or NaN"})});
            steps.push_back(std::move(step));
        }
        {
            json step;
            step["phase"] = "backward";
            step["node"] = i;
            step["edge"] = json::array({o, i});
            step["title"] = fmt::format("The chain rule from {} to {}", names[i], names[o]);
            json lines = json::array();
            if (s.rule.node().is_scalar_constant()) {
                lines.push_back(line({fmt::format("local derivative d{}/d{} = {}", names[i], names[o], rule)}));
            } else {
                lines.push_back(line({fmt::format("local derivative d{}/d{} = {} = ", names[i], names[o], rule), value_json(s.local)}));
            }
            if (s.before_sum) {
                lines.push_back(line({fmt::format("adjoint * d{}/d{} = ", names[i], names[o]), value_json(*s.before_sum)}));
            } else {
                lines.push_back(
                    line({fmt::format("{} += adjoint * d{}/d{} = ", names[o], names[i], names[o]), value_json(s.contribution)}));
                lines.push_back(line({fmt::format("d{}/d{} so far = ", r.output_name, names[o]), value_json(s.accumulated)}));
                step["grad"] = json::array({json::array({o, value_json(s.accumulated)})});
            }
            step["lines"] = std::move(lines);
            steps.push_back(std::move(step));
        }
        if (s.before_sum) {
            // The seed question's answer: a parameter broadcast over the batch gets the sum of its shares.
            json step;
            step["phase"] = "backward";
            step["node"] = o;
            step["edge"] = json::array({o, i});
            step["title"] = fmt::format("Sum over the broadcast axes: {} to {}", s.logical, operand_shape);
            step["lines"] =
                json::array({line({fmt::format("{} {} was broadcast to {} in {}, so its share is summed back to {}:", names[o],
                                               operand_shape, s.logical, names[i], operand_shape)}),
                             line({fmt::format("{} += adjoint * d{}/d{} = ", names[o], names[i], names[o]), value_json(s.contribution)}),
                             line({fmt::format("d{}/d{} so far = ", r.output_name, names[o]), value_json(s.accumulated)})});
            step["grad"] = json::array({json::array({o, value_json(s.accumulated)})});
            steps.push_back(std::move(step));
        }
    }
    json last;
    last["phase"] = "done";
    last["node"] = out;
    last["title"] = fmt::format("The gradients of sum({})", r.output_name);
    json lines = json::array();
    for (std::size_t v = 0; v < r.vars.size(); ++v) {
        lines.push_back(line({fmt::format("d{}/d{} = ", r.output_name, r.vars[v].node().attrs().name), value_json(r.gradients[v])}));
    }
    lines.push_back(line({"the same numbers as symgrad trace and grad() give"}));
    last["lines"] = std::move(lines);
    // Every variable's node shows its gradient now, also one that no share reached (its gradient is 0: behind
    // stop_gradient, a comparison, where()'s condition).
    json grads = json::array();
    for (std::size_t v = 0; v < r.vars.size(); ++v) grads.push_back(json::array({r.index.position(r.vars[v].get()), value_json(r.gradients[v])}));
    last["grad"] = std::move(grads);
    steps.push_back(std::move(last));
    return steps;
}

int run_lesson(const LessonOptions& o) {
    check_output_path(o.output, "-o");
    const Expr y = parse_with_shapes(o.expression, o.shapes);
    const Bindings at = bindings_from(o.at, variables_of(y));
    if (const double held = record_bytes(y); held > 1073741824.0) {
        throw InputError(
            fmt::format("a lesson keeps every value and adjoint: this one would hold {:.3g} GiB; use smaller shapes", held / 1073741824.0));
    }
    const Expr roots[] = {y};
    if (const std::size_t nodes = index_graph(roots).size(); nodes > 120) {
        throw InputError(
            fmt::format("the graph has {} nodes; a lesson draws at most 120 (a lesson is read best on a small expression)", nodes));
    }
    const SweepRecord r = record_sweep(y, at);
    // Every node's final adjoint: the output's seed, the arrivals, the variables' gradients.
    std::vector<std::optional<Tensor>> final_adjoints(r.index.size());
    final_adjoints[r.index.size() - 1] = Tensor::full(y.shape(), 1.0);
    for (const auto& s : r.steps) {
        if (s.arrival) final_adjoints[s.node] = s.adjoint;
        if (!s.arrival && s.gives_gradient) final_adjoints[s.operand] = s.accumulated;
    }
    for (std::size_t v = 0; v < r.vars.size(); ++v) final_adjoints[r.index.position(r.vars[v].get())] = r.gradients[v];

    json data;
    data["expression"] = o.expression;
    data["output"] = r.output_name;
    data["output_shape"] = y.shape().dims();
    data["steps"] = build_steps(r, final_adjoints);
    json values = json::array();
    for (std::size_t v = 0; v < r.vars.size(); ++v) {
        values.push_back(fmt::format("{} = {}", r.vars[v].node().attrs().name, value_text(at.at(r.vars[v].node().attrs().name))));
    }
    data["at"] = std::move(values);
    const std::string svg = render_with_dot(lesson_dot(r, final_adjoints), "svg");
    const std::string title = o.title.empty() ? fmt::format("Backprop through {}", o.expression) : o.title;
    write_output(o.output, lesson_page(title, svg, data.dump()));
    return 0;
}

}  // namespace

Action add_lesson(CLI::App& app) {
    auto options = std::make_shared<LessonOptions>();
    CLI::App* sub = app.add_subcommand("lesson", "Write an interactive lesson: one HTML file that steps through backprop on the graph.");
    add_expression_argument(*sub, options->expression);
    add_at_option(*sub, options->at)->required();
    add_shape_option(*sub, options->shapes);
    sub->add_option("-o,--output", options->output, "The HTML file to write (default lesson.html)");
    sub->add_option("--title", options->title, "The page's title (default: Backprop through EXPR)");
    sub->footer(
        "Examples:\n  symgrad lesson 'x * sigmoid(beta * x)' --at x=2 --at beta=0.5 -o swish.html\n"
        "  symgrad lesson 'p * sigmoid(x)' --shape x=2,3 --shape p=3 --at x=1,-1,2,0.5,0,-2 --at p=1,2,3\n"
        "Open the file in a browser (no network needed); arrow keys step, lesson.html#step=7 opens at step 7.");
    return [options] { return run_lesson(*options); };
}

}  // namespace symgrad::cli
