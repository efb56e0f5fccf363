// symgrad graph EXPR [--grad] [--format dot|svg|png] [-o FILE]: the expression graph, drawn.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <unordered_set>

#include "common.hpp"
#include "sweep_record.hpp"

namespace symgrad::cli {

static bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return false;
    for (const auto& dir : split(path, ':')) {
        if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    }
    return false;
}

// Runs Graphviz's dot on the DOT text and returns what it printed.
std::string render_with_dot(const std::string& dot_text, const std::string& format) {
    if (!on_path("dot")) {
        throw InputError(
            fmt::format("--format {} needs Graphviz's 'dot', which is not installed "
                        "(Debian: apt-get install graphviz); --format dot prints the graph as text",
                        format));
    }
    int to_child[2];
    int from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) throw Error(fmt::format("pipe: {}", std::strerror(errno)));
    const pid_t pid = fork();
    if (pid < 0) throw Error(fmt::format("fork: {}", std::strerror(errno)));
    if (pid == 0) {
        dup2(to_child[0], STDIN_FILENO);
        dup2(from_child[1], STDOUT_FILENO);
        close(to_child[0]);
        close(to_child[1]);
        close(from_child[0]);
        close(from_child[1]);
        const std::string flag = "-T" + format;
        execlp("dot", "dot", flag.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    // dot reads its whole input before it writes anything, so writing all of it first cannot deadlock. A dot that
    // dies early closes the pipe: that write must fail (EPIPE), not kill symgrad with SIGPIPE (exit 141).
    struct sigaction ignore {};
    struct sigaction previous {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &previous);
    std::size_t written = 0;
    while (written < dot_text.size()) {
        const ssize_t n = write(to_child[1], dot_text.data() + written, dot_text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
    }
    close(to_child[1]);
    sigaction(SIGPIPE, &previous, nullptr);
    // Its output, within a time limit: dot's layout grows much faster than the graph.
    constexpr int limit_seconds = 60;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limit_seconds);
    std::string rendered;
    char buffer[65536];
    bool timed_out = false;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        pollfd wait_for{from_child[0], POLLIN, 0};
        if (left <= 0 || poll(&wait_for, 1, static_cast<int>(left)) == 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        const ssize_t n = read(from_child[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        rendered.append(buffer, static_cast<std::size_t>(n));
    }
    close(from_child[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        throw InputError(
            fmt::format("Graphviz's dot did not finish the layout within {} s; --format dot prints the graph as text, "
                        "or draw a smaller expression",
                        limit_seconds));
    }
    if (WIFSIGNALED(status))
        throw InputError(fmt::format("Graphviz's dot was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status))));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw InputError(fmt::format("Graphviz's dot failed to render the graph (exit status {}{})", WEXITSTATUS(status),
                                     written < dot_text.size() ? ", before it read the whole graph" : ""));
    }
    return rendered;
}

namespace {

struct GraphOptions {
    std::string expression;
    bool with_grad = false;
    bool raw = false;
    std::string format = "dot";
    std::string output;
    Shapes shapes;
    std::vector<std::string> at;
};

int run_graph(const GraphOptions& o) {
    if (o.format != "dot" && o.format != "svg" && o.format != "png") {
        throw InputError(fmt::format("--format '{}': choose dot, svg or png", o.format));
    }
    check_output_path(o.output, "-o");
    if (o.format == "png" && (o.output.empty() || o.output == "-")) throw InputError("--format png needs -o FILE");
    const Expr y = parse_with_shapes(o.expression, o.shapes);
    std::vector<Expr> roots{y};
    DotOptions options;
    options.output_names = {"y"};
    if (o.with_grad) {
        const auto vars = variables_of(y);
        const auto grads = grad(y, vars);
        roots.insert(roots.end(), grads.begin(), grads.end());
        // The forward and its gradients are simplified together, so a subexpression they share stays one node (apart,
        // the simplifier may reorder p2 * x + b1 in the gradient only, and draw the forward chain twice).
        if (!o.raw) roots = simplify(roots);
        for (std::size_t i = 0; i < vars.size(); ++i) options.output_names.push_back("d" + vars[i].node().attrs().name);
        // Forward nodes are those of y's own graph; the rest were made by the reverse sweep.
        auto forward = std::make_shared<std::unordered_set<const Node*>>();
        const Expr y_roots[] = {roots[0]};
        for (const Node* node : topo_order(y_roots)) forward->insert(node);
        options.fill_color = [forward](const Node& node) { return std::string(forward->contains(&node) ? "#cfe2f3" : "#f4cccc"); };
    }
    if (o.format != "dot") {
        // dot's layout time grows steeply with wide graphs: a sum of sin(k * x) took 0.25 s at 156 nodes, 2.4 s at
        // 236 and 27 s at 316 (measured on this project's 2-core machine); a timeout catches the rest.
        const std::size_t nodes = index_graph(roots).size();  // to_dot draws each node of the graph once
        constexpr std::size_t max_drawn = 250;
        if (nodes > max_drawn) {
            throw InputError(
                fmt::format("the graph has {} nodes; Graphviz lays out at most {} in reasonable time: --format dot prints it "
                            "as text, or draw a smaller expression",
                            nodes, max_drawn));
        }
    }
    // With --at, every node shows its value, and with --grad each node of y's graph its adjoint too: grad()'s own
    // sweep over the drawn graph (symgrad trace prints the same numbers), the variables' adjoints being their gradients.
    std::unordered_map<const Node*, Tensor> values;
    std::unordered_map<const Node*, Tensor> adjoints;
    if (!o.at.empty()) {
        const Bindings at = bindings_from(o.at, variables_of(y));
        if (const double held = record_bytes(roots[0]) + record_bytes(y); held > 4 * 1073741824.0) {
            throw InputError(fmt::format("showing every node's value would hold about {:.3g} GiB; use smaller shapes", held / 1073741824.0));
        }
        values = evaluate_all(roots, at);
        options.values = &values;
        if (o.with_grad) {
            const SweepRecord record = record_sweep(roots[0], at);
            for (const auto& step : record.steps) {
                if (step.arrival) adjoints.insert_or_assign(record.index.node(step.node), step.adjoint);
            }
            for (std::size_t v = 0; v < record.vars.size(); ++v) adjoints.insert_or_assign(record.vars[v].get(), record.gradients[v]);
            options.adjoints = &adjoints;
        }
    }
    std::string dot_text = to_dot(roots, options);
    // The legend: what the colours, the edges' numbers and the values mean.
    std::string legend;
    if (o.with_grad) legend += "blue: forward\\nred: backward (gradient)\\n";
    legend += "an edge runs from an operand to its user;\\nits number is the operand's place (x - y: x is 0)";
    if (!o.at.empty()) legend += "\\ndata: the node's value";
    if (!o.at.empty() && o.with_grad) legend += "\\ngrad: d sum(y) / d node (blue nodes)";
    dot_text.insert(dot_text.rfind('}'), fmt::format("legend [shape=note, label=\"{}\"];\n", legend));
    write_output(o.output, o.format == "dot" ? dot_text : render_with_dot(dot_text, o.format));
    return 0;
}

}  // namespace

Action add_graph(CLI::App& app) {
    auto options = std::make_shared<GraphOptions>();
    CLI::App* sub = app.add_subcommand("graph", "Draw the expression graph (and with --grad, the gradient graph).");
    add_expression_argument(*sub, options->expression);
    sub->add_flag("--grad", options->with_grad, "Also draw the gradients, backward nodes in another colour");
    sub->add_flag("--raw", options->raw, "With --grad: the gradients unsimplified, as the reverse sweep builds them");
    sub->add_option("--format", options->format, "dot (text, the default), svg or png (these need Graphviz)");
    sub->add_option("-o,--output", options->output, "Write to FILE instead of stdout");
    add_shape_option(*sub, options->shapes);
    sub->add_option("--at", options->at, "Show each node's value: NAME=VALUE, or NAME=V1,V2,... with --shape (with --grad, adjoints too)");
    sub->footer(
        "Examples:\n  symgrad graph 'x * sigmoid(beta * x)' --grad --format svg -o swish.svg\n"
        "  symgrad graph 'x * sigmoid(beta * x)' --at x=2 --at beta=0.5 --grad");
    return [options] { return run_graph(*options); };
}

}  // namespace symgrad::cli
