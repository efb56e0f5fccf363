// symgrad plot EXPR [--param beta=0.5,1,2] [--range -5:5] -o FILE.svg: f and df/dx, one curve per parameter
// value, with axes, ticks and a legend, as a self-contained SVG. A curve is not joined across a jump or a pole
// (find_jumps), nor where its values are not finite.
#include <algorithm>
#include <array>
#include <cmath>
#include <iostream>
#include <limits>

#include "common.hpp"
#include "svg.hpp"

namespace symgrad::cli {

namespace {

struct PlotOptions {
    std::string expression;
    std::vector<std::string> params;
    std::string range = "-5:5";
    std::string variable = "x";
    std::string output;
    int points = 401;
};

struct Curve {
    std::string label;
    std::vector<double> f;
    std::vector<double> df;
    // jumps[panel][i]: the function jumps (or has a pole) between sample i and i + 1, so they are not joined.
    std::array<std::vector<char>, 2> jumps;
};

using svg::escape_xml;
using svg::ticks;

// The range of the finite values, widened a little (and made nonempty).
std::pair<double, double> value_range(const std::vector<Curve>& curves, bool derivative) {
    double lo = INFINITY;
    double hi = -INFINITY;
    for (const auto& c : curves) {
        for (double v : derivative ? c.df : c.f) {
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
    }
    if (!std::isfinite(lo)) return {-1.0, 1.0};
    if (hi / 2 - lo / 2 < 0.5e-12 * std::max(1.0, std::fabs(hi))) {
        lo -= std::max(1.0, std::fabs(lo) * 1e-6);
        hi += std::max(1.0, std::fabs(hi) * 1e-6);
    }
    // Halves, and the largest double at most: a range like -1e308 to 1e308 has no finite width.
    const double pad = 0.12 * (hi / 2 - lo / 2);
    return {std::max(lo - pad, -std::numeric_limits<double>::max()), std::min(hi + pad, std::numeric_limits<double>::max())};
}

using svg::colours;

std::string render(const std::string& title, const std::vector<double>& xs, const std::vector<Curve>& curves, const std::string& variable) {
    constexpr double width = 760;
    constexpr double panel_height = 300;
    constexpr double left = 70;
    constexpr double right = 20;
    constexpr double top = 50;
    constexpr double gap = 60;
    const double plot_width = width - left - right;
    const double height = top + 2 * panel_height + gap + 60;
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
        "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        "<text x=\"{}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
        width, height, width, height, width / 2, escape_xml(title));
    const double x_lo = xs.front();
    const double x_hi = xs.back();
    auto sx = [&](double x) { return left + (x / 2 - x_lo / 2) / (x_hi / 2 - x_lo / 2) * plot_width; };
    for (int panel = 0; panel < 2; ++panel) {
        const bool derivative = panel == 1;
        const double y0 = top + panel * (panel_height + gap);
        // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
        const std::pair<double, double> range = value_range(curves, derivative);
        const double lo = range.first;
        const double hi = range.second;
        auto sy = [&](double v) { return y0 + panel_height - (v / 2 - lo / 2) / (hi / 2 - lo / 2) * panel_height; };
        svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", left, y0, plot_width,
                           panel_height);
        for (double t : ticks(lo, hi)) {
            svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"#ddd\"/>\n", left, left + plot_width, sy(t),
                               sy(t));
            svg += fmt::format("<text x=\"{}\" y=\"{:.2f}\" text-anchor=\"end\">{:g}</text>\n", left - 6, sy(t) + 4, t);
        }
        for (double t : ticks(x_lo, x_hi)) {
            svg += fmt::format("<line x1=\"{:.2f}\" x2=\"{:.2f}\" y1=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>\n", sx(t), sx(t), y0,
                               y0 + panel_height);
            svg += fmt::format("<text x=\"{:.2f}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n", sx(t), y0 + panel_height + 16, t);
        }
        if (lo < 0 && hi > 0) {
            svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"#888\"/>\n", left, left + plot_width, sy(0),
                               sy(0));
        }
        if (x_lo < 0 && x_hi > 0) {
            svg += fmt::format("<line x1=\"{:.2f}\" x2=\"{:.2f}\" y1=\"{}\" y2=\"{}\" stroke=\"#888\"/>\n", sx(0), sx(0), y0,
                               y0 + panel_height);
        }
        const std::string label = derivative ? fmt::format("df/d{}", variable) : "f";
        svg += fmt::format("<text x=\"18\" y=\"{}\" transform=\"rotate(-90 18 {})\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
                           y0 + panel_height / 2, y0 + panel_height / 2, escape_xml(label));
        svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n", left + plot_width / 2,
                           y0 + panel_height + 34, escape_xml(variable));
        svg += fmt::format("<clipPath id=\"clip{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n", panel, left, y0,
                           plot_width, panel_height);
        for (std::size_t c = 0; c < curves.size(); ++c) {
            const auto& values = derivative ? curves[c].df : curves[c].f;
            // Non-finite values break the line rather than drawing it off to infinity.
            const auto& jumps = curves[c].jumps[panel];
            std::string path;
            bool pen_down = false;
            for (std::size_t i = 0; i < xs.size(); ++i) {
                if (i > 0 && jumps[i - 1]) pen_down = false;
                if (!std::isfinite(values[i])) {
                    pen_down = false;
                    continue;
                }
                path += fmt::format("{}{:.2f},{:.2f} ", pen_down ? "L" : "M", sx(xs[i]), std::clamp(sy(values[i]), y0 - 1e4, y0 + 1e4));
                pen_down = true;
            }
            svg += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" clip-path=\"url(#clip{})\"/>\n", path,
                               colours[c % std::size(colours)], panel);
        }
    }
    // Legend, in the top panel's upper left corner.
    if (!curves.front().label.empty()) {
        const double box_height = 8 + 18.0 * static_cast<double>(curves.size());
        std::size_t longest = 0;
        for (const auto& c : curves) longest = std::max(longest, c.label.size());
        const double box_width = 50 + 7.0 * static_cast<double>(longest);  // about 7 px per character at 12 px
        svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#aaa\"/>\n",
                           left + 10, top + 10, box_width, box_height);
        for (std::size_t c = 0; c < curves.size(); ++c) {
            const double y = top + 26 + 18.0 * static_cast<double>(c);
            svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"/>\n", left + 18, left + 42,
                               y - 4, y - 4, colours[c % std::size(colours)]);
            svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", left + 50, y, escape_xml(curves[c].label));
        }
    }
    svg += "</svg>\n";
    return svg;
}

// A node of the curve's graph where an elementwise function of x can jump or have a pole, and what about its value
// marks the place: its side of 0 (a divisor; the argument of sign, heaviside, log or a power), its side of -1
// (log1p's argument), whether it is 0 (where's condition), or the value itself (a comparison, round, floor, ceil).
struct Switch {
    enum class Watch : std::uint8_t { side, side_of_minus_one, nonzero, value };
    Expr expr;
    Watch watch;
};

// What a switch's value says about where x is: two points on the same side of the switch give equal classes.
double switch_class(Switch::Watch watch, double v) {
    auto side = [](double u) { return u > 0 ? 1.0 : u < 0 ? -1.0 : 0.0; };  // NaN: 0
    switch (watch) {
    case Switch::Watch::side: return side(v);
    case Switch::Watch::side_of_minus_one: return side(v + 1);
    case Switch::Watch::nonzero: return v != 0 ? 1.0 : 0.0;
    case Switch::Watch::value: break;
    }
    return std::isnan(v) ? INFINITY : v;  // NaN is a class of its own (not equal to itself otherwise)
}

// The switches of `root`'s graph whose value is one per sample point (shape `sampled`; the others do not depend on
// x). Walked with the graph's index, no recursion.
std::vector<Switch> switches_of(const Expr& root, const Shape& sampled) {
    const Expr roots[] = {root};
    const GraphIndex index = index_graph(roots);
    std::vector<Switch> found;
    std::vector<std::uint8_t> taken(index.size(), 0);  // a bit per Watch: a node may be watched in several ways
    auto depends_on_x = [&](std::size_t position) { return index.node(position)->shape() == sampled; };
    auto take = [&](std::size_t position, Switch::Watch watch) {
        const auto bit = static_cast<std::uint8_t>(1U << static_cast<unsigned>(watch));
        if (!(taken[position] & bit) && depends_on_x(position)) found.push_back({handle(index.node(position)), watch});
        taken[position] |= bit;
    };
    // A side of 0, and the sides of what it hides: abs(v), -v, sqrt(v), v * v, v ^ c and c * v reach 0 where v does,
    // often without changing sign (1 / (x * x), the derivative of sqrt(x * x)).
    auto take_side = [&](std::size_t position) {
        for (std::size_t u = position;;) {
            take(u, Switch::Watch::side);
            const auto operands = index.operands(u);
            switch (index.node(u)->op()) {
            case Op::abs: case Op::neg: case Op::sqrt: case Op::pow: u = operands[0]; continue;
            case Op::mul:
                if (operands[0] == operands[1] || !depends_on_x(operands[1])) {
                    u = operands[0];
                    continue;
                }
                if (!depends_on_x(operands[0])) {
                    u = operands[1];
                    continue;
                }
                break;
            default: break;
            }
            break;  // operands come before their users in the index: the walk ends
        }
    };
    for (std::size_t i = 0; i < index.size(); ++i) {
        const auto operands = index.operands(i);
        switch (index.node(i)->op()) {
        case Op::lt: case Op::le: case Op::gt: case Op::ge: case Op::eq: case Op::ne:
        case Op::round: case Op::floor: case Op::ceil: take(i, Switch::Watch::value); break;
        case Op::sign: case Op::heaviside: case Op::log: case Op::pow: take_side(operands[0]); break;
        case Op::log1p: take(operands[0], Switch::Watch::side_of_minus_one); break;
        case Op::where: take(operands[0], Switch::Watch::nonzero); break;
        case Op::div: take_side(operands[1]); break;
        default: break;
        }
    }
    return found;
}

// Values at sample points: the curve's, and each switch's class (switch_class).
struct Sampled {
    std::vector<double> f;
    std::vector<std::vector<double>> switches;
};

// The segments between neighbouring samples across which a curve jumps: relu' at 0, a step, the pole of 1 / x.
// Joined, they would draw a vertical stroke that the function does not have. A composition of continuous primitives
// can only jump where one of its switches (switches_of) changes class between two samples; there the switch point is
// found by bisection on the switch's own class (so it cannot be lost, as it could be by following the curve's values
// around a pole), down to 2^-64 of the segment or the last bit of x, and the curve's values on the two sides of it
// decide: a jump if they differ by more than a thousandth of the panel's value range (a third of a pixel). relu and
// x^2 at 0 stay joined, and sin(x) / x; relu' and 1/x break. A switch that touches its boundary between two samples
// and comes back (x^2 - 1e-4 with samples at +-0.0125) is not seen: the plot is as fine as its samples there. All
// bisections go at once: each round is one run of the compiled program on a vector of midpoints. `at_points(points)`
// evaluates at points.size() == xs.size().
template <class Evaluate>
std::vector<char> find_jumps(const std::vector<double>& xs, const Sampled& samples, double tolerance, const Evaluate& at_points) {
    const std::size_t segments = xs.size() - 1;
    std::vector<char> jump(segments, 0);
    struct Bisection {
        std::size_t segment;
        std::size_t which;  // the switch
        double class_a;     // the switch's class at a
        double a, b, fa, fb;
        bool done;
    };
    std::vector<Bisection> open;
    // At most a few bisections per segment: past that (hundreds of switches), a segment is judged by its ends alone.
    const std::size_t most = 4 * xs.size();
    for (std::size_t i = 0; i < segments; ++i) {
        if (!std::isfinite(samples.f[i]) || !std::isfinite(samples.f[i + 1])) continue;  // a gap already
        for (std::size_t s = 0; s < samples.switches.size(); ++s) {
            const double class_a = samples.switches[s][i];
            if (class_a == samples.switches[s][i + 1]) continue;
            if (open.size() == most) {
                jump[i] = jump[i] || !(std::fabs(samples.f[i + 1] - samples.f[i]) <= tolerance);
                break;
            }
            open.push_back({i, s, class_a, xs[i], xs[i + 1], samples.f[i], samples.f[i + 1], false});
        }
    }
    std::vector<double> points(xs.size());
    for (std::size_t first = 0; first < open.size(); first += xs.size()) {
        const std::size_t count = std::min(xs.size(), open.size() - first);
        for (int round = 0; round < 64; ++round) {
            bool any = false;
            std::fill(points.begin(), points.end(), xs.back());
            for (std::size_t k = 0; k < count; ++k) {
                Bisection& h = open[first + k];
                const double mid = h.a + (h.b - h.a) / 2;
                if (!(h.a < mid && mid < h.b)) h.done = true;  // as narrow as doubles allow
                if (jump[h.segment]) h.done = true;           // decided by another switch
                if (h.done) continue;
                points[k] = mid;
                any = true;
            }
            if (!any) break;
            const Sampled at = at_points(points);
            for (std::size_t k = 0; k < count; ++k) {
                Bisection& h = open[first + k];
                if (h.done) continue;
                // An infinity between two finite samples is a pole (1 / x at x = 0 exactly). A NaN (the 0 / 0 of
                // sin(x) / x) moves the end but not the value there: the last finite values on the two sides decide.
                if (std::isinf(at.f[k])) {
                    jump[h.segment] = 1;
                    h.done = true;
                    continue;
                }
                const bool finite = !std::isnan(at.f[k]);
                if (at.switches[h.which][k] == h.class_a) {
                    h.a = points[k];
                    if (finite) h.fa = at.f[k];
                } else {
                    h.b = points[k];
                    if (finite) h.fb = at.f[k];
                }
            }
        }
    }
    for (const Bisection& h : open) {
        if (!(std::fabs(h.fb - h.fa) <= tolerance)) jump[h.segment] = 1;  // an overflowing difference too
    }
    return jump;
}

int run_plot(const PlotOptions& o) {
    check_output_path(o.output, "-o");
    if (o.points < 2 || o.points > 100'000) throw InputError(fmt::format("--points {}: choose 2 to 100000", o.points));
    const auto [lo, hi] = parse_range(o.range, "--range");

    // The plotted variable is a vector of sample points; parameters are scalars, one curve per value.
    const Shapes shapes{{o.variable, Shape{o.points}}};
    const Expr y = parse_user_expression(o.expression, shapes);
    const auto vars = variables_of(y);
    const Expr* plotted = find_variable(vars, o.variable);
    if (plotted == nullptr) {
        throw InputError(fmt::format("the expression has no variable '{}' to plot against (--var names another)", o.variable));
    }
    if (y.shape() != Shape{o.points}) {
        throw InputError(fmt::format("the expression is not elementwise in '{}' (its value has shape {}, not one value per point)",
                                     o.variable, y.shape()));
    }
    // Elementwise means each point's value depends on that point alone: an op that mixes elements (softmax,
    // x - mean(x), a sum) on the path from x would make f a function of the plot's sampling, and df/dx its
    // diagonal only.
    {
        const Expr roots[] = {y};
        const GraphIndex index = index_graph(roots);
        std::vector<char> depends(index.size(), 0);
        for (std::size_t i = 0; i < index.size(); ++i) {
            const Node& node = *index.node(i);
            depends[i] = &node == plotted->get();
            for (auto operand : index.operands(i)) depends[i] = depends[i] || depends[operand];
            if (depends[i] && !node.is_leaf() && op_info(node.op()).kind != OpClass::elementwise && node.op() != Op::broadcast_to) {
                throw InputError(
                    fmt::format("plot draws elementwise expressions, and '{}' uses {}, which mixes the values of different "
                                "points (its f and df/dx would depend on the plot's sampling)",
                                shown(o.expression), op_info(node.op()).name));
            }
        }
    }
    std::vector<std::pair<std::string, std::vector<double>>> params;
    std::vector<std::string> param_names;
    for (const auto& spec : o.params) {
        auto param = parse_named_values(spec, "--param");
        if (param.first == o.variable)
            throw InputError(fmt::format("--param '{}': '{}' is the plotted variable", shown(spec), shown(param.first)));
        param_names.push_back(param.first);
        params.push_back(std::move(param));
    }
    reject_repeated_names(param_names, "--param", "for several curves give the values in one, e.g. --param beta=0.5,2");
    for (const auto& v : vars) {
        const std::string& name = v.node().attrs().name;
        if (name == o.variable) continue;
        if (std::none_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; })) {
            throw InputError(fmt::format("parameter '{}' has no value: give one or more with --param {}=...", name, name));
        }
    }
    for (const auto& [name, values] : params) {
        if (find_variable(vars, name) == nullptr) {
            throw InputError(fmt::format("--param {}: the expression has no variable '{}'", name, name));
        }
    }
    std::size_t combinations = 1;
    for (const auto& p : params) combinations *= p.second.size();
    if (combinations > std::size(colours)) {
        throw InputError(
            fmt::format("{} curves are too many to tell apart; give at most {} parameter combinations", combinations, std::size(colours)));
    }

    std::vector<double> xs(static_cast<std::size_t>(o.points));
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(xs.size() - 1);
    const Expr dy = grad(y, {*plotted})[0];
    std::vector<Curve> curves;
    std::vector<Bindings> bindings;
    for (std::size_t k = 0; k < combinations; ++k) {
        Bindings at{{o.variable, Tensor::from_values(Shape{o.points}, xs)}};
        std::vector<std::string> parts;
        std::size_t rest = k;
        for (const auto& [name, values] : params) {
            const double value = values[rest % values.size()];
            rest /= values.size();
            at[name] = Tensor::scalar(value);
            parts.push_back(fmt::format("{} = {:g}", name, value));
        }
        const auto values = run_compiled(std::vector<Expr>{y, dy}, at);
        curves.push_back({fmt::format("{}", fmt::join(parts, ", ")), values[0].to_vector(), values[1].to_vector(), {}});
        bindings.push_back(std::move(at));
    }
    for (int panel = 0; panel < 2; ++panel) {
        const std::pair<double, double> range = value_range(curves, panel == 1);
        const double tolerance = range.second / 1000 - range.first / 1000;  // without overflow
        std::vector<Expr> outputs{panel == 0 ? y : dy};
        const std::vector<Switch> switches = switches_of(outputs[0], Shape{o.points});
        for (const Switch& s : switches) outputs.push_back(s.expr);
        for (std::size_t k = 0; k < combinations; ++k) {
            auto at_points = [&](const std::vector<double>& points) {
                bindings[k][o.variable] = Tensor::from_values(Shape{o.points}, points);
                const auto values = run_compiled(outputs, bindings[k]);
                Sampled sampled{values[0].to_vector(), {}};
                for (std::size_t s = 0; s < switches.size(); ++s) {
                    sampled.switches.push_back(values[s + 1].to_vector());
                    for (double& v : sampled.switches.back()) v = switch_class(switches[s].watch, v);
                }
                return sampled;
            };
            if (outputs.size() > 1) curves[k].jumps[panel] = find_jumps(xs, at_points(xs), tolerance, at_points);
            else curves[k].jumps[panel].assign(xs.size() - 1, 0);
        }
    }
    write_output(o.output, render(o.expression, xs, curves, o.variable));
    return 0;
}

}  // namespace

Action add_plot(CLI::App& app) {
    auto options = std::make_shared<PlotOptions>();
    CLI::App* sub = app.add_subcommand("plot", "Plot f and df/dx as SVG, one curve per parameter value.");
    add_expression_argument(*sub, options->expression, "The expression, elementwise in the plotted variable");
    // Not add_param_spec_option: here --param gives a parameter the values to draw a curve for, not a shape policy
    // and an initial value to train from.
    sub->add_option("--param", options->params, "A parameter's values: NAME=V1,V2,... (one curve each)");
    sub->add_option("--range", options->range, "The plotted interval, LO:HI (default -5:5)");
    sub->add_option("--var", options->variable, "The variable on the horizontal axis (default x)");
    sub->add_option("--points", options->points, "Sample points (default 401)");
    sub->add_option("-o,--output", options->output, "The SVG file (default: stdout)");
    sub->footer("Example:\n  symgrad plot 'x * sigmoid(beta * x)' --param beta=0.5,1,2 --range -5:5 -o swish.svg");
    return [options] { return run_plot(*options); };
}

}  // namespace symgrad::cli
