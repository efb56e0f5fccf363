#include "train_plots.hpp"

#include <cmath>

#include "svg.hpp"

namespace symgrad::cli {

namespace {

constexpr double width = 760;
constexpr double left = 70;
constexpr double right = 20;

std::string header(double height, const std::string& title) {
    return fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
        "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        "<text x=\"{}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
        width, height, width, height, width / 2, svg::escape_xml(title));
}

// Axes, grid and labels of a panel at (x0, y0) of the given size, for [x_lo, x_hi] x [y_lo, y_hi].
std::string axes(double x0, double y0, double w, double h, double x_lo, double x_hi, double y_lo, double y_hi, const std::string& x_label,
                 const std::string& y_label) {
    auto sx = [&](double x) { return x0 + (x - x_lo) / (x_hi - x_lo) * w; };
    auto sy = [&](double y) { return y0 + h - (y - y_lo) / (y_hi - y_lo) * h; };
    std::string out;
    for (double t : svg::ticks(y_lo, y_hi)) {
        out += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"#ddd\"/>\n", x0, x0 + w, sy(t), sy(t));
        out += fmt::format("<text x=\"{}\" y=\"{:.2f}\" text-anchor=\"end\">{:g}</text>\n", x0 - 6, sy(t) + 4, t);
    }
    for (double t : svg::ticks(x_lo, x_hi)) {
        out += fmt::format("<line x1=\"{:.2f}\" x2=\"{:.2f}\" y1=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>\n", sx(t), sx(t), y0, y0 + h);
        out += fmt::format("<text x=\"{:.2f}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n", sx(t), y0 + h + 16, t);
    }
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", x0, y0, w, h);
    out += fmt::format("<text x=\"18\" y=\"{}\" transform=\"rotate(-90 18 {})\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
                       y0 + h / 2, y0 + h / 2, svg::escape_xml(y_label));
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n", x0 + w / 2, y0 + h + 34,
                       svg::escape_xml(x_label));
    return out;
}

}  // namespace

std::string training_curves_svg(const std::string& title, const std::vector<nn::EpochReport>& history) {
    constexpr double panel_height = 260;
    constexpr double top = 50;
    constexpr double gap = 60;
    const double plot_width = width - left - right;
    std::string out = header(top + 2 * panel_height + gap + 60, title);
    const double x_lo = static_cast<double>(history.front().epoch);
    const double x_hi = std::max(x_lo + 1, static_cast<double>(history.back().epoch));
    for (int panel = 0; panel < 2; ++panel) {
        const double y0 = top + panel * (panel_height + gap);
        std::vector<double> ys;
        for (const auto& r : history) ys.push_back(panel == 0 ? r.train_loss : 100.0 * r.test_accuracy);
        double lo = panel == 0 ? 0.0 : std::min(*std::min_element(ys.begin(), ys.end()), 100.0);
        double hi = panel == 0 ? *std::max_element(ys.begin(), ys.end()) : 100.0;
        if (!(hi > lo)) hi = lo + 1;
        lo -= 0.04 * (hi - lo) * (panel == 1 ? 1 : 0);
        hi += 0.04 * (hi - lo);
        out += axes(left, y0, plot_width, panel_height, x_lo, x_hi, lo, hi, "epoch", panel == 0 ? "training loss" : "test accuracy (%)");
        std::string path;
        for (std::size_t i = 0; i < history.size(); ++i) {
            const double x = left + (static_cast<double>(history[i].epoch) - x_lo) / (x_hi - x_lo) * plot_width;
            const double y = y0 + panel_height - (ys[i] - lo) / (hi - lo) * panel_height;
            path += fmt::format("{}{:.2f},{:.2f} ", i == 0 ? "M" : "L", x, y);
        }
        out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", path, svg::colours[panel]);
    }
    out += "</svg>\n";
    return out;
}

std::string decision_boundary_svg(const std::string& title, const nn::MLP& model, const data::Dataset& shown,
                                  const data::Standardizer& standardizer, std::size_t threads) {
    if (shown.feature_names.size() != 2) {
        throw InputError(fmt::format("--boundary draws the plane of two features; {} has {}", shown.name, shown.feature_names.size()));
    }
    constexpr double size = 560;
    constexpr double top = 50;
    constexpr int cells = 140;
    // The standardized plane around the examples, with a margin.
    double lo[2] = {INFINITY, INFINITY};
    double hi[2] = {-INFINITY, -INFINITY};
    for (std::int64_t i = 0; i < shown.size(); ++i) {
        for (int j = 0; j < 2; ++j) {
            lo[j] = std::min(lo[j], shown.features.get(2 * i + j));
            hi[j] = std::max(hi[j], shown.features.get(2 * i + j));
        }
    }
    for (int j = 0; j < 2; ++j) {
        const double pad = 0.08 * std::max(hi[j] - lo[j], 1e-6);
        lo[j] -= pad;
        hi[j] += pad;
    }
    Tensor grid = Tensor::empty({cells * cells, 2});
    for (int r = 0; r < cells; ++r) {
        for (int c = 0; c < cells; ++c) {
            grid.set(2 * (r * cells + c), lo[0] + (c + 0.5) / cells * (hi[0] - lo[0]));
            grid.set(2 * (r * cells + c) + 1, hi[1] - (r + 0.5) / cells * (hi[1] - lo[1]));
        }
    }
    const auto regions = nn::predict(model, grid, threads);
    const auto predicted = nn::predict(model, shown.features, threads);
    std::string out = header(top + size + 100, title);
    const double cell = size / cells;
    for (int r = 0; r < cells; ++r) {
        // One rectangle per run of cells of one class along the row.
        for (int c = 0; c < cells;) {
            const auto k = regions[static_cast<std::size_t>(r * cells + c)];
            int end = c + 1;
            while (end < cells && regions[static_cast<std::size_t>(r * cells + end)] == k) ++end;
            out += fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"/>\n", left + c * cell,
                               top + r * cell, (end - c) * cell + 0.3, cell + 0.3, svg::light_colours[k % 8]);
            c = end;
        }
    }
    // Axes in the features' own units.
    const double x_lo = standardizer.mean[0] + standardizer.stddev[0] * lo[0];
    const double x_hi = standardizer.mean[0] + standardizer.stddev[0] * hi[0];
    const double y_lo = standardizer.mean[1] + standardizer.stddev[1] * lo[1];
    const double y_hi = standardizer.mean[1] + standardizer.stddev[1] * hi[1];
    out += axes(left, top, size, size, x_lo, x_hi, y_lo, y_hi, shown.feature_names[0], shown.feature_names[1]);
    for (std::int64_t i = 0; i < shown.size(); ++i) {
        const double x = left + (shown.features.get(2 * i) - lo[0]) / (hi[0] - lo[0]) * size;
        const double y = top + size - (shown.features.get(2 * i + 1) - lo[1]) / (hi[1] - lo[1]) * size;
        const auto label = shown.labels[static_cast<std::size_t>(i)];
        const bool wrong = predicted[static_cast<std::size_t>(i)] != label;
        out += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"{}\" fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\"/>\n", x, y,
                           wrong ? 4 : 3, svg::colours[label % 8], wrong ? "black" : "white", wrong ? 1.5 : 0.6);
    }
    // Legend: the classes, beside the plane.
    for (std::size_t k = 0; k < shown.class_names.size() && k < 8; ++k) {
        const double y = top + 14 + 20.0 * static_cast<double>(k);
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\"/>\n", left + size + 22, y - 4, svg::colours[k]);
        out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", left + size + 32, y, svg::escape_xml(shown.class_names[k]));
    }
    // Two lines: the margin right of the plot holds about 16 characters at 12 px.
    const double note_y = top + 30 + 20.0 * static_cast<double>(std::min<std::size_t>(shown.class_names.size(), 8));
    out += fmt::format("<text x=\"{}\" y=\"{}\">ringed:</text>\n<text x=\"{}\" y=\"{}\">misclassified</text>\n", left + size + 16,
                       note_y, left + size + 16, note_y + 16);
    out += "</svg>\n";
    return out;
}

}  // namespace symgrad::cli
