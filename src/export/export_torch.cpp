// export_torch: a Python file with a torch.autograd.Function and an nn.Module for an elementwise activation.
#include <cmath>

#include "export/export_plan.hpp"
#include "exec/native.hpp"
#include "symgrad/autodiff.hpp"
#include "symgrad/simplify.hpp"
#include "symgrad/version.hpp"

namespace symgrad {

namespace {

using detail::Spelling;

// Names the generated file uses for itself; a parameter may not take one.
constexpr std::string_view reserved_python[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
    "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
    "while", "with", "yield", "torch", "F", "math", "ctx", "self", "grad_output", "units",
    "output",  // its gradient would be called grad_output, the adjoint's name
    // Parameters become attributes of the torch.nn.Module: none may hide one of its own (PyTorch 1.13 to 2.x; a
    // newer PyTorch may add names, which torch.nn.Module then refuses with a KeyError naming it).
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval",
    "extra_repr", "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "load_state_dict",
    "modules", "mtia", "named_buffers", "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook", "register_module",
    "register_parameter", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule", "share_memory",
    "state_dict", "to", "to_empty", "train", "training", "type", "xpu", "zero_grad",
    // Python's builtins that the generated file calls or names in annotations.
    "int", "str", "super", "len", "tuple", "list", "range", "print", "object", "isinstance", "bool",
    "warnings"};  // (the --native module's forward warns under torch.jit.script)

std::string python_number(double value) {
    if (std::isnan(value)) return "math.nan";
    if (std::isinf(value)) return value > 0 ? "math.inf" : "-math.inf";
    std::string text = detail::number_text(value);
    if (text.find_first_of(".en") == std::string::npos) text += ".0";  // a float literal, never an int
    return text;
}

bool is_constant(const Node& node) { return node.op() == Op::constant; }
bool is_zero(const Node& node) { return is_constant(node) && node.scalar_value() == 0; }

// Torch spellings of the elementwise primitives. Comparisons are spelled as bool tensors; where one is used as a
// number (the gradients use them as 0/1 masks) it is converted to the input's dtype.
class TorchSpeller {
public:
    explicit TorchSpeller(std::string input) : input_(std::move(input)) {}
    const std::string& input() const { return input_; }

    Spelling operator()(const Node& node, std::span<const Spelling> a) const {
        auto arg = [&](std::size_t k) { return number_use(node, k, a[k]); };
        // comparisons bind more loosely than arithmetic in Python: (a > b) as a whole is a comparison-level spelling
        auto compare = [&](std::string_view symbol) {
            // Two constants would compare as a Python bool, which torch.where and torch.logical_not refuse.
            if (is_constant(node.input(0).node()) && is_constant(node.input(1).node())) {
                return Spelling{bool_tensor(compare_constants(node)), Spelling::atom};
            }
            return Spelling{fmt::format("{} {} {}", detail::operand(arg(0), Spelling::sum), symbol, detail::operand(arg(1), Spelling::sum)),
                            Spelling::conditional};
        };
        const OpInfo& info = op_info(node.op());
        switch (node.op()) {
        case Op::maximum: return extremum(node, a, info.exports.torch, "min");
        case Op::minimum: return extremum(node, a, info.exports.torch, "max");
        case Op::where: {
            const std::string spelled =
                fmt::format("torch.where({}, {}, {})", condition(node.input(0).node(), a[0]), arg(1).text, arg(2).text);
            // Between two numbers torch.where answers in the default dtype (float32): the input's dtype instead.
            if (is_constant(node.input(1).node()) && is_constant(node.input(2).node()))
                return {fmt::format("{}.to({}.dtype)", spelled, input_)};
            return {spelled};
        }
        case Op::eq:
            // c == 0 for a comparison c (a gradient's mask for the other branch of a where): not c
            if (is_comparison(node.input(0).op()) && is_zero(node.input(1).node()))
                return {fmt::format("torch.logical_not({})", a[0].text)};
            break;
        case Op::ne:
            if (is_comparison(node.input(0).op()) && is_zero(node.input(1).node())) return a[0];
            break;
        default: break;
        }
        // x^2 to x^8 as the products symgrad computes (x^2 and x^3 are also what torch.pow computes).
        if (const int n = product_power(info.variant_of(node)); n > 0) return detail::power_product(arg(0), n);
        // The row's spelling: an operator, or a call of a torch function.
        if (is_comparison(node.op())) return compare(info.exports.infix);
        if (!info.exports.infix.empty()) {
            if (node.arity() == 1)
                return {fmt::format("{}{}", info.exports.infix, detail::operand(arg(0), Spelling::unary)), Spelling::unary};
            return detail::infix(arg(0), info.exports.infix, arg(1));
        }
        if (!info.exports.torch.empty()) {
            // The module's own helpers (_heaviside, _custom_grad) take tensors, also under TorchScript.
            const bool helper = info.exports.torch.starts_with("_");
            std::vector<std::string> args;
            for (std::size_t k = 0; k < node.arity(); ++k) {
                const bool number = is_constant(node.input(k).node());
                args.push_back(helper && number ? fmt::format("torch.tensor({}, dtype={}.dtype)", arg(k).text, input_) : arg(k).text);
            }
            return {fmt::format("{}({})", info.exports.torch, fmt::join(args, ", "))};
        }
        throw ExportError(fmt::format("export to torch: '{}' has no PyTorch spelling in the primitive table", info.name));
    }

    // where's condition as a bool tensor: a comparison as it is, a number c as c != 0, a constant as a 0-dim
    // bool tensor (where(1, x, 2 * x): `1.0 != 0` would be a Python bool).
    std::string condition(const Node& cond, const Spelling& s) const {
        if (is_constant(cond)) return bool_tensor(cond.scalar_value() != 0);  // NaN != 0 too, as symgrad reads it
        if (is_comparison(cond.op())) return s.text;
        return fmt::format("{} != 0", detail::operand(s, Spelling::sum));
    }

private:
    static std::string bool_tensor(bool value) { return value ? "torch.tensor(True)" : "torch.tensor(False)"; }

    // A comparison of two constants, by its kernel (as symgrad evaluates it).
    static bool compare_constants(const Node& node) {
        const double a = node.input(0).node().scalar_value();
        const double b = node.input(1).node().scalar_value();
        return op_info(node.op()).f64(a, b, 0.0) != 0.0;
    }

    // Operand k used as a number: a comparison becomes 0/1 in the input's dtype.
    Spelling number_use(const Node& node, std::size_t k, const Spelling& s) const {
        if (!is_comparison(node.input(k).op())) return s;
        return {fmt::format("{}.to({}.dtype)", detail::operand(s, Spelling::atom), input_)};
    }

    // torch.maximum takes two tensors; against a number it is torch.clamp(t, min=c) (the same for NaN: both give NaN).
    Spelling extremum(const Node& node, std::span<const Spelling> a, std::string_view tensor_form, const char* bound) const {
        const Spelling x0 = number_use(node, 0, a[0]);
        const Spelling x1 = number_use(node, 1, a[1]);
        if (is_constant(node.input(1).node())) return {fmt::format("torch.clamp({}, {}={})", x0.text, bound, x1.text)};
        if (is_constant(node.input(0).node())) return {fmt::format("torch.clamp({}, {}={})", x1.text, bound, x0.text)};
        return {fmt::format("{}({}, {})", tensor_form, x0.text, x1.text)};
    }

    std::string input_;
};

// The definitions of the helpers the rows spell (exports.torch "_heaviside", "_custom_grad") that the expressions
// use: scriptable functions of tensors, differentiable by torch as symgrad differentiates the op.
std::string module_helpers(const detail::ExportPlan& plan) {
    std::vector<Expr> roots{plan.y};
    roots.insert(roots.end(), plan.grads.begin(), plan.grads.end());
    bool heaviside = false;
    bool custom = false;
    for (const Node* node : topo_order(roots)) {
        heaviside = heaviside || node->op() == Op::heaviside;
        custom = custom || node->op() == Op::custom_grad;
    }
    std::string out;
    if (heaviside) {
        out +=
            "def _heaviside(x: torch.Tensor, at_zero: torch.Tensor) -> torch.Tensor:\n"
            "    \"\"\"symgrad's heaviside: 0 where x < 0, at_zero where x == 0, 1 where x > 0, NaN where x is NaN; its gradient\n"
            "    is 0 for x and [x == 0] for at_zero (torch.heaviside gives 0 at NaN and has no derivative).\"\"\"\n"
            "    step = torch.where(x > 0, torch.ones_like(x), torch.zeros_like(x))\n"
            "    return torch.where(x == 0, at_zero, torch.where(torch.isnan(x), x.detach(), step))\n\n\n";
    }
    if (custom) {
        out +=
            "def _custom_grad(value: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:\n"
            "    \"\"\"symgrad's custom_grad: exactly the numbers of value, the gradient of surrogate (value gets none). The\n"
            "    zero subtracted carries the surrogate's gradient; where the surrogate is inf or NaN it is a plain 0, so the\n"
            "    value stays exact and the surrogate gets no gradient there.\"\"\"\n"
            "    zero = torch.where(torch.isfinite(surrogate), surrogate.detach() - surrogate, torch.zeros_like(surrogate))\n"
            "    return value.detach() - zero\n\n\n";
    }
    return out;
}

// What forward returns: a constant as a tensor like the input, a comparison (x > 0) as 0/1 in the input's dtype,
// as symgrad evaluates it.
std::string output_text(const Expr& y, const std::string& x, const std::string& result) {
    if (y.op() == Op::constant) return fmt::format("torch.full_like({}, {})", x, result);
    if (is_comparison(y.op())) return fmt::format("({}).to({}.dtype)", result, x);
    return result;
}

std::string python_leaf(const Node& node) {
    if (node.op() == Op::variable) return node.attrs().name;
    return python_number(node.scalar_value());
}

void check_name(const std::string& name, const char* what) {
    detail::check_identifier(name, what, "Python", "Python file", reserved_python);
    if (name.starts_with("_")) {
        throw ExportError(
            fmt::format("{} '{}': names starting with _ are the generated file's own (_sum_to, _per_unit, _t1, ...)", what, name));
    }
}

std::string policy_text(const nn::ParamSpec& spec) {
    switch (spec.policy) {
    case nn::Policy::shared: return "shared, one value";
    case nn::Policy::per_unit: return "per unit, one value per feature of the last axis";
    case nn::Policy::per_channel: return "per channel, one value per index of dim 1 (as torch.nn.PReLU)";
    case nn::Policy::fixed: return fmt::format("fixed shape {}", spec.shape);
    }
    return "";
}

// The parameter's creation in __init__.
std::string init_code(const nn::ParamSpec& spec) {
    std::string shape;
    switch (spec.policy) {
    case nn::Policy::shared: shape = "()"; break;
    case nn::Policy::per_unit:
    case nn::Policy::per_channel: shape = "(units,)"; break;
    case nn::Policy::fixed:
        shape = spec.shape.rank() == 1 ? fmt::format("({},)", spec.shape[0]) : fmt::format("({})", fmt::join(spec.shape.dims(), ", "));
        break;
    }
    switch (spec.init.kind) {
    case nn::Init::Kind::constant: return fmt::format("torch.full({}, {})", shape, python_number(spec.init.a));
    case nn::Init::Kind::uniform:
        return fmt::format("torch.empty({}).uniform_({}, {})", shape, python_number(spec.init.a), python_number(spec.init.b));
    case nn::Init::Kind::normal:
        return fmt::format("torch.empty({}).normal_({}, {})", shape, python_number(spec.init.a), python_number(spec.init.b));
    }
    return "";
}

void append_lines(std::string& out, const detail::StraightLine& code, const std::string& indent) {
    for (const auto& [name, definition] : code.temporaries) out += fmt::format("{}{} = {}\n", indent, name, definition);
}

// The same computation as straight-line code that reuses buffers: one operation per line, written into an
// operand's tensor where that operand is a temporary of the full shape that nothing reads afterwards. This is the
// code for no-grad mode (Function.forward, and backward without create_graph): a fresh tensor of a large batch
// costs its page faults, which on CPU can cost more than the arithmetic (docs/export.md).
class InPlaceWriter {
public:
    InPlaceWriter(std::span<const Expr> roots, std::vector<std::string> full_leaves, const TorchSpeller& speller)
        : index_(index_graph(roots)), speller_(speller) {
        const std::size_t n = index_.size();
        full_.assign(n, 0);
        last_use_.assign(n, 0);
        for (std::size_t i = 0; i < n; ++i) {
            const Node& node = *index_.node(i);
            if (node.op() == Op::variable) {
                full_[i] = std::find(full_leaves.begin(), full_leaves.end(), node.attrs().name) != full_leaves.end();
            }
            for (auto operand : index_.operands(i)) {
                full_[i] = full_[i] || full_[operand];
                last_use_[operand] = i;
            }
        }
        for (const auto& root : roots) last_use_[index_.position(root.get())] = n;  // results live to the end
        for (const auto& root : roots) roots_.push_back(index_.position(root.get()));
    }

    // The lines, and the name of each root's value. Names are registers: a name whose value nothing reads any more
    // is given to the next value, so that Python frees the old tensor and its memory serves the next one.
    std::pair<std::vector<std::string>, std::vector<std::string>> write() {
        std::vector<std::string> lines;
        std::vector<Spelling> spelled(index_.size());
        std::vector<std::string> free_names;
        std::size_t counter = 0;
        for (std::size_t i = 0; i < index_.size(); ++i) {
            const Node& node = *index_.node(i);
            if (node.is_leaf()) {
                spelled[i] = {python_leaf(node), Spelling::atom};
                continue;
            }
            const auto operands = index_.operands(i);
            std::vector<Spelling> args;
            for (auto operand : operands) args.push_back(spelled[operand]);
            const auto [text, reused] = in_place(node, i, operands, args);
            // operands read for the last time here give their names back (the one written in place keeps it)
            for (auto operand : operands) {
                const bool dies = !index_.node(operand)->is_leaf() && last_use_[operand] == i;
                const std::string& operand_name = spelled[operand].text;
                if (dies && operand_name != reused && std::find(free_names.begin(), free_names.end(), operand_name) == free_names.end()) {
                    free_names.push_back(operand_name);
                }
            }
            std::string name = reused;
            if (name.empty() && !free_names.empty()) {
                name = free_names.back();
                free_names.pop_back();
            }
            if (name.empty()) name = fmt::format("_t{}", ++counter);
            lines.push_back(fmt::format("{} = {}", name, text.empty() ? speller_(node, args).text : text));
            spelled[i] = {name, Spelling::atom};
        }
        std::vector<std::string> results;
        for (auto r : roots_) results.push_back(spelled[r].text);
        return {lines, results};
    }

private:
    // Whether operand position k of node i may be overwritten: a computed float tensor of the full shape, read by
    // nothing after node i (and node i reads it only there).
    bool reusable(std::size_t i, std::uint32_t operand) const {
        const Node& node = *index_.node(operand);
        return !node.is_leaf() && !is_comparison(node.op()) && full_[operand] && full_[i] && last_use_[operand] == i;
    }

    // The in-place spelling and the name of the operand it writes into, or {"", ""} for none.
    std::pair<std::string, std::string> in_place(const Node& node, std::size_t i, std::span<const std::uint32_t> operands,
                                                 std::span<const Spelling> a) const {
        if (is_comparison(node.op())) return {};
        auto number = [&](std::size_t k) {
            // a comparison read as a number: 0/1 in the input's dtype
            return is_comparison(node.input(k).op()) ? fmt::format("{}.to({}.dtype)", a[k].text, speller_.input()) : a[k].text;
        };
        const std::string_view method = op_info(node.op()).exports.torch_in_place;
        if (!method.empty() && node.arity() == 1) {
            if (!reusable(i, operands[0])) return {};
            return {fmt::format("{}.{}()", a[0].text, method), a[0].text};
        }
        if (node.op() == Op::where) {
            // where(c, t, k) = t with k where c is false; where(c, k, e) = e with k where c is true
            const std::string cond = speller_.condition(node.input(0).node(), a[0]);
            if (reusable(i, operands[1]) && is_constant(node.input(2).node())) {
                return {fmt::format("{}.masked_fill_(torch.logical_not({}), {})", a[1].text, cond, a[2].text), a[1].text};
            }
            if (reusable(i, operands[2]) && is_constant(node.input(1).node())) {
                return {fmt::format("{}.masked_fill_({}, {})", a[2].text, cond, a[1].text), a[2].text};
            }
            return {};
        }
        if (method.empty() || node.arity() != 2) return {};  // a method of one operand, or of two
        if (reusable(i, operands[0])) return {fmt::format("{}.{}({})", a[0].text, method, number(1)), a[0].text};
        if (!reusable(i, operands[1])) return {};
        if (node.op() == Op::add || node.op() == Op::mul) return {fmt::format("{}.{}({})", a[1].text, method, number(0)), a[1].text};
        if (node.op() == Op::sub) return {fmt::format("{}.neg_().add_({})", a[1].text, number(0)), a[1].text};  // a - b == -b + a, exactly
        return {};
    }

    GraphIndex index_;
    const TorchSpeller& speller_;
    std::vector<char> full_;
    std::vector<std::size_t> last_use_;
    std::vector<std::size_t> roots_;
};

// ---- --native: the Function's passes as fused kernels (src/exec/native_elementwise.cpp) ----

constexpr const char* torch_native_text =
#include "generated/torch_native_text.inc"
    ;

// How the kernels read a parameter: one value (shared, or a fixed shape of one element), or one per index of a
// block of the input's axes (per unit, per channel, a fixed shape).
detail::ElementwiseKind parameter_kind(const nn::ParamSpec& spec) {
    if (spec.policy == nn::Policy::shared) return detail::ElementwiseKind::scalar;
    if (spec.policy == nn::Policy::fixed && spec.shape.numel() == 1) return detail::ElementwiseKind::scalar;
    return detail::ElementwiseKind::indexed;
}

// The expressions beyond the plan's: the tangent of y (forward mode) and the backward's own backward.
struct NativeExpressions {
    std::vector<Expr> dots;  // _dot_x, _dot_<p>: the tangents of x and the parameters
    Expr tangent;  // sum of dot * dy/d(input)
    std::vector<Expr> gg;  // _gg_x, _gg_<p>: the adjoints of the backward's outputs
    std::vector<Expr> second;  // d/dx, d/dp..., d/dgrad_output of sum(gg * grads)
};

NativeExpressions native_expressions(const detail::ExportPlan& plan) {
    NativeExpressions e;
    std::vector<Expr> wrt{plan.x};
    wrt.insert(wrt.end(), plan.param_vars.begin(), plan.param_vars.end());
    const std::vector<Expr> dy = grad(plan.y, wrt);
    Expr tangent;
    Expr inner;
    for (std::size_t k = 0; k < wrt.size(); ++k) {
        const std::string& name = wrt[k].node().attrs().name;
        e.dots.push_back(var("_dot_" + name));
        e.gg.push_back(var("_gg_" + name));
        tangent = k == 0 ? e.dots[k] * dy[k] : tangent + e.dots[k] * dy[k];
        inner = k == 0 ? e.gg[k] * plan.grads[k] : inner + e.gg[k] * plan.grads[k];
    }
    e.tangent = simplify(tangent);
    std::vector<Expr> second_wrt = wrt;
    second_wrt.push_back(plan.grad_output);
    e.second = simplify(grad(inner, second_wrt));
    return e;
}

// A pass of the module, and how its runtime reads the pass's pointers: inputs x, e (like x), pK (parameter K), qK
// (a tensor like parameter K); outputs e (like x), sK (a sum shaped as parameter K).
struct TorchPass {
    detail::ElementwisePass pass;
    std::string group;  // the kernels compiled together: "train" (forward, backward), "higher" (jvp, second)
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;

    void input(std::string variable, detail::ElementwiseKind kind, std::string token) {
        pass.inputs.push_back({std::move(variable), kind});
        inputs.push_back(std::move(token));
    }
    void output(Expr value, detail::ElementwiseKind kind, std::string token) {
        pass.outputs.push_back({std::move(value), kind});
        outputs.push_back(std::move(token));
    }
};

std::string python_tuple(const std::vector<std::string>& items) {
    if (items.empty()) return "()";
    if (items.size() == 1) return "(" + items[0] + ",)";
    return fmt::format("({})", fmt::join(items, ", "));
}

// The passes: forward and backward, forward mode and the second backward.
std::vector<TorchPass> native_passes(const detail::ExportPlan& plan, const NativeExpressions& e) {
    using detail::ElementwiseKind;
    std::vector<TorchPass> passes{{{"forward", {}, {}}, "train", {}, {}},
                                  {{"backward", {}, {}}, "train", {}, {}},
                                  {{"jvp", {}, {}}, "higher", {}, {}},
                                  {{"second", {}, {}}, "higher", {}, {}}};
    TorchPass& forward = passes[0];
    TorchPass& backward = passes[1];
    TorchPass& jvp = passes[2];
    TorchPass& second = passes[3];
    for (auto& p : passes) {
        p.input(plan.x.node().attrs().name, ElementwiseKind::element, "\"x\"");
        for (std::size_t k = 0; k < plan.params.size(); ++k) p.input(plan.params[k].name, parameter_kind(plan.params[k]), fmt::format("\"p{}\"", k));
    }
    backward.input("grad_output", ElementwiseKind::element, "\"e\"");
    second.input("grad_output", ElementwiseKind::element, "\"e\"");
    for (std::size_t k = 0; k < e.dots.size(); ++k) {
        const ElementwiseKind kind = k == 0 ? ElementwiseKind::element : parameter_kind(plan.params[k - 1]);
        const std::string token = k == 0 ? "\"e\"" : fmt::format("\"q{}\"", k - 1);
        jvp.input(e.dots[k].node().attrs().name, kind, token);
        second.input(e.gg[k].node().attrs().name, kind, token);
    }
    forward.output(plan.y, ElementwiseKind::element, "\"e\"");
    jvp.output(e.tangent, ElementwiseKind::element, "\"e\"");
    for (std::size_t k = 0; k < e.dots.size(); ++k) {
        const ElementwiseKind kind = k == 0 ? ElementwiseKind::element : parameter_kind(plan.params[k - 1]);
        const std::string token = k == 0 ? "\"e\"" : fmt::format("\"s{}\"", k - 1);
        backward.output(plan.grads[k], kind, token);
        second.output(e.second[k], kind, token);
    }
    second.output(e.second.back(), ElementwiseKind::element, "\"e\"");  // d/dgrad_output
    return passes;
}

// C++ text as a Python raw string literal.
std::string python_raw(const std::string& text, const char* what) {
    if (text.find("\"\"\"") != std::string::npos || text.ends_with("\\")) {
        throw ExportError(fmt::format("export to torch: the {} cannot be written as a Python raw string", what));
    }
    return "r\"\"\"" + text + "\"\"\"";
}

std::string python_list(const std::vector<std::string>& words) {
    std::vector<std::string> quoted;
    for (const auto& w : words) quoted.push_back(fmt::format("\"{}\"", w));
    return "[" + fmt::format("{}", fmt::join(quoted, ", ")) + "]";
}

// The module's native part: the kernels' description, the runtime (torch_native.py), the pure-torch formulas of
// forward mode and of the second backward (where grad mode is on, or the kernels cannot serve), the Functions and
// apply(). The kernels' C++ source comes last in the file (native_kernels_text).
std::string native_section(const detail::ExportPlan& plan, const ExportOptions& options, const TorchSpeller& speller,
                           const std::vector<std::string>& inputs, const NativeExpressions& e, std::span<const TorchPass> passes) {
    const std::string& x = options.input;
    const std::string& name = options.name;
    std::vector<std::string> params(inputs.begin() + 1, inputs.end());
    std::vector<std::string> quoted_params;
    std::vector<std::string> kinds;
    for (const auto& p : plan.params) {
        quoted_params.push_back(fmt::format("\"{}\"", p.name));
        kinds.push_back(parameter_kind(p) == detail::ElementwiseKind::scalar ? "\"scalar\"" : "\"indexed\"");
    }
    std::vector<std::string> flags = detail::native_flags();
    flags.push_back("-pthread");
    flags.push_back("-fopenmp-simd");

    std::string out = "# ---- the native kernels (their C++ source is at the end of this file) ----\n\n";
    out += fmt::format("_NAME = \"{}\"\n_VERSION = \"{}\"\n", name, version);
    out += fmt::format("_COMPILER = \"{}\"  # the compiler that built symgrad\n", detail::native_compiler());
    out += fmt::format("_FLAGS = {}\n", python_list(flags));
    out += fmt::format("_ISA_FLAGS = {{\"avx512\": {}, \"avx2\": {}}}\n", python_list(detail::native_isa_flags("avx512")),
                       python_list(detail::native_isa_flags("avx2")));
    out += fmt::format("_PARAMETERS = {}\n_KINDS = {}\n", python_tuple(quoted_params), python_tuple(kinds));
    out += "# pass: (group, inputs, outputs); x, e: like x; pK: parameter K; qK: like parameter K; sK: the sum for parameter K\n";
    out += "_PASSES = {\n";
    for (const TorchPass& p : passes) {
        out += fmt::format("    \"{}\": (\"{}\", {}, {}),\n", p.pass.name, p.group, python_tuple(p.inputs), python_tuple(p.outputs));
    }
    out += "}\n\n\n";
    out += torch_native_text;
    out += "\n\n";

    // The pure-torch formulas of the native-only passes.
    const std::string args = fmt::format("{}", fmt::join(inputs, ", "));
    std::vector<std::string> dot_names;
    std::vector<std::string> gg_names;
    for (std::size_t k = 0; k < e.dots.size(); ++k) {
        dot_names.push_back(e.dots[k].node().attrs().name);
        gg_names.push_back(e.gg[k].node().attrs().name);
    }
    {
        const Expr roots[] = {e.tangent};
        const auto code = detail::straight_line(roots, "_t", python_leaf, speller);
        out += fmt::format("def _{}_jvp({}, {}):\n", name, args, fmt::join(dot_names, ", "));
        out += "    \"\"\"Forward mode in torch operations: the derivative of y along the tangents.\"\"\"\n";
        append_lines(out, code, "    ");
        out += fmt::format("    return _like({}, {})\n\n\n", code.results[0], x);
    }
    {
        const auto code = detail::straight_line(e.second, "_t", python_leaf, speller);
        out += fmt::format("def _{}_second({}, grad_output, {}):\n", name, args, fmt::join(gg_names, ", "));
        out += "    \"\"\"The backward's backward in differentiable torch operations: the gradients of\n";
        out += "    <backward's outputs, their adjoints _gg_*> with respect to the backward's inputs.\"\"\"\n";
        append_lines(out, code, "    ");
        std::vector<std::string> returned{fmt::format("_like({}, {})", code.results[0], x)};
        for (std::size_t k = 0; k < params.size(); ++k) {
            returned.push_back(fmt::format("_sum_like({}, {}, {})", code.results[k + 1], params[k], x));
        }
        returned.push_back(fmt::format("_like({}, {})", code.results.back(), x));
        out += fmt::format("    return {}\n\n\n", fmt::join(returned, ", "));
    }
    const std::string param_tuple = python_tuple(params);
    // The backward as a Function of its own: its backward is the second derivative.
    out += fmt::format("class _{}Backward(torch.autograd.Function):\n", name);
    out += fmt::format("    \"\"\"The backward of {}NativeFunction as a Function, so that it can be differentiated again.\"\"\"\n\n", name);
    out += "    @staticmethod\n";
    out += fmt::format("    def forward(ctx, {}, grad_output):\n", args);
    out += fmt::format("        ctx.save_for_backward({}, grad_output)\n", args);
    out += fmt::format("        return tuple(_run(\"backward\", {}, {}, (grad_output,)))\n\n", x, param_tuple);
    out += "    @staticmethod\n";
    out += fmt::format("    def backward(ctx, {}):\n", fmt::join(gg_names, ", "));
    out += fmt::format("        {}, grad_output = ctx.saved_tensors\n", args);
    out += fmt::format("        if not torch.is_grad_enabled() and _serves(\"higher\", {}):\n", x);
    out += fmt::format("            return tuple(_run(\"second\", {}, {}, (grad_output, {})))\n", x, param_tuple, fmt::join(gg_names, ", "));
    out += "        # create_graph=True (third derivatives): differentiable operations\n";
    out += fmt::format("        return _{}_second({}, grad_output, {})\n\n\n", name, args, fmt::join(gg_names, ", "));

    out += fmt::format("class {}NativeFunction(torch.autograd.Function):\n", name);
    out += fmt::format("    \"\"\"{}NativeFunction({}): y = {} in symgrad's fused kernels.\n\n", name, args, plan.formula);
    out += "    x must be a contiguous float32 or float64 CPU tensor, and each parameter have x's dtype and either one value\n";
    out += "    or values along a block of x's axes (apply() checks this and falls back to the pure-torch Function).\"\"\"\n\n";
    out += "    @staticmethod\n";
    out += fmt::format("    def forward(ctx, {}):\n", args);
    out += fmt::format("        ctx.save_for_backward({})\n", args);
    out += "        if hasattr(ctx, \"save_for_forward\"):  # PyTorch 1.13 and later: forward mode\n";
    out += fmt::format("            ctx.save_for_forward({})\n", args);
    out += fmt::format("        return _run(\"forward\", {}, {}, ())[0]\n\n", x, param_tuple);
    out += "    @staticmethod\n";
    out += "    def backward(ctx, grad_output):\n";
    out += fmt::format("        {}, = ctx.saved_tensors\n", args);
    out += "        if torch.is_grad_enabled():  # create_graph=True: a backward that can be differentiated again\n";
    out += fmt::format("            return _{}Backward.apply({}, grad_output)\n", name, args);
    out += fmt::format("        return tuple(_run(\"backward\", {}, {}, (grad_output,)))\n\n", x, param_tuple);
    out += "    @staticmethod\n";
    out += fmt::format("    def jvp(ctx, {}):\n", fmt::join(dot_names, ", "));
    out += fmt::format("        {}, = ctx.saved_tensors\n", args);
    out += fmt::format("        if _serves(\"higher\", {}):\n", x);
    out += fmt::format("            return _run(\"jvp\", {}, {}, ({}))[0]\n", x, param_tuple, fmt::format("{}{}", fmt::join(dot_names, ", "), dot_names.size() == 1 ? "," : ""));
    out += fmt::format("        return _{}_jvp({}, {})\n\n\n", name, args, fmt::join(dot_names, ", "));

    out += fmt::format("def apply({}):\n", args);
    out += fmt::format("    \"\"\"y = {}: {}NativeFunction where the kernels can serve the call, else {}Function (with one\n", plan.formula,
                       name, name);
    out += "    warning per reason). The parameters broadcast against x as the module passes them.\"\"\"\n";
    out += fmt::format("    if {}.numel() == 0:\n", x);
    out += fmt::format("        return {}Function.apply({})\n", name, args);
    out += fmt::format("    _reason = _refusal({}, {})\n", x, param_tuple);
    out += "    if _reason:\n";
    out += fmt::format("        _warn_once(_reason + \"; {}Function runs instead\")\n", name);
    out += "        _STATS[\"fallback\"] += 1\n";
    out += fmt::format("        return {}Function.apply({})\n", name, args);
    out += "    _STATS[\"native\"] += 1\n";
    out += fmt::format("    return {}NativeFunction.apply({})\n\n\n", name, args);
    return out;
}

// The kernels' C++ source, at the end of the module: the prelude (symgrad's scalar kernels) and each group's passes.
std::string native_kernels_text(std::span<const TorchPass> passes) {
    std::string out = "\n\n# ---- the kernels' C++ source: symgrad's scalar kernels, then each group's passes ----\n\n";
    out += fmt::format("_PRELUDE = {}\n\n", python_raw("#include <cstddef>\n" + std::string(detail::native_prelude()), "kernels' prelude"));
    out += "_KERNELS = {\n";
    for (const char* group : {"train", "higher"}) {
        std::vector<detail::ElementwisePass> members;
        for (const TorchPass& p : passes) {
            if (p.group == group) members.push_back(p.pass);
        }
        out += fmt::format("    \"{}\": {},\n", group, python_raw(detail::elementwise_source(members), "kernels"));
    }
    out += "}\n";
    return out;
}
}  // namespace

std::string export_torch(std::string_view expression, const ExportOptions& options) {
    check_name(options.name, "the name");
    check_name(options.input, "the input");
    for (const auto& p : options.params) check_name(p.name, "the parameter");
    const detail::ExportPlan plan = detail::make_export_plan(expression, options);
    const std::string& x = options.input;
    const std::string function = options.name + "Function";
    const std::string forward_name = "_" + options.name + "_forward";
    std::vector<std::string> params;
    for (const auto& p : plan.params) params.push_back(p.name);
    std::vector<std::string> inputs{x};
    inputs.insert(inputs.end(), params.begin(), params.end());
    auto is_policy = [&](nn::Policy policy) {
        return std::any_of(plan.params.begin(), plan.params.end(), [&](const nn::ParamSpec& p) { return p.policy == policy; });
    };
    const bool needs_per_unit = is_policy(nn::Policy::per_unit);
    const bool needs_per_channel = is_policy(nn::Policy::per_channel);
    const bool needs_units = needs_per_unit || needs_per_channel;
    const TorchSpeller speller(x);

    std::string out;
    out += fmt::format("# {}: an activation exported by symgrad {}.\n#\n#   y = {}\n#\n", options.name, version, plan.formula);
    out +=
        "# Its gradients, as symgrad derived and simplified them (grad_output is the adjoint of y; dNAME is what the\n"
        "# backward returns for NAME, before the sum over the axes the parameter was broadcast along):\n#\n";
    out += detail::comment_lines(plan.gradient_formulas, "#   ");
    out += "#\n";
    if (plan.params.empty()) out += "# No parameters.\n";
    for (const auto& p : plan.params) out += fmt::format("# Parameter {}: {}, initially {}.\n", p.name, policy_text(p), p.init.describe());
    if (!options.command.empty()) out += fmt::format("#\n# Produced by: {}\n", options.command);
    if (options.native) {
        out += fmt::format(
            "#\n# Native: {0} (and apply()) run symgrad's fused kernels: one pass over the elements for the forward,\n"
            "# one for the backward (the input's gradient and every parameter's sum), one for the backward's own backward\n"
            "# (gradgradcheck, Hessian-vector products) and one for forward mode (jvp), each compiled on first use into\n"
            "# symgrad's kernel cache. They save only the inputs, and run on torch.get_num_threads() threads. Where they\n"
            "# cannot serve (no compiler, a CUDA or non-contiguous tensor, a dtype other than float32 and float64), {1}\n"
            "# runs instead, with one warning. Under torch.jit.script the module runs the forward expression.\n",
            options.name + "NativeFunction", function);
    } else {
        out +=
            "#\n# The backward is written with differentiable torch operations, so it can be differentiated again (double\n"
            "# backward, gradgradcheck, Hessian-vector products). It saves only its inputs and recomputes the intermediates.\n"
            "# Under torch.jit.script the module runs the forward expression and TorchScript's autograd differentiates it.\n";
    }
    if (options.native) {
        out +=
            "import ctypes\nimport hashlib\nimport math\nimport os\nimport platform\nimport secrets\nimport shutil\n"
            "import subprocess\nimport sys\nimport tempfile\nimport threading\nimport types\nimport warnings\n\n"
            "import torch\nimport torch.nn.functional as F\n\n";
        out += fmt::format("__all__ = [\"{}\", \"{}NativeFunction\", \"{}\", \"apply\", \"native_status\"]\n\n\n", function,
                           options.name, options.name);
    } else {
        out += "import math\n\nimport torch\nimport torch.nn.functional as F\n\n";
        out += fmt::format("__all__ = [\"{}\", \"{}\"]\n\n\n", function, options.name);
    }

    out += module_helpers(plan);

    // The forward expression, scriptable.
    {
        const Expr roots[] = {plan.y};
        const auto code = detail::straight_line(roots, "_t", python_leaf, speller);
        std::vector<std::string> typed;
        for (const auto& name : inputs) typed.push_back(name + ": torch.Tensor");
        out += fmt::format("def {}({}) -> torch.Tensor:\n", forward_name, fmt::join(typed, ", "));
        out += fmt::format("    \"\"\"y = {}, elementwise; the parameters broadcast against {}.\"\"\"\n", plan.formula, x);
        append_lines(out, code, "    ");
        const std::string result = output_text(plan.y, x, code.results[0]);
        out += fmt::format("    return {}\n\n\n", result);
    }

    // The autograd Function.
    out += fmt::format("class {}(torch.autograd.Function):\n", function);
    out += fmt::format("    \"\"\"{}({}): forward y = {}; backward from symgrad's gradient.\"\"\"\n\n", function, fmt::join(inputs, ", "),
                       plan.formula);
    out += "    @staticmethod\n";
    out += fmt::format("    def forward(ctx, {}):\n", fmt::join(inputs, ", "));
    out += fmt::format("        ctx.save_for_backward({})\n", fmt::join(inputs, ", "));
    {
        // forward runs in no-grad mode: buffers are reused (the same arithmetic as the forward function above)
        const Expr roots[] = {plan.y};
        InPlaceWriter writer(roots, {x}, speller);
        const auto [lines, results] = writer.write();
        for (const auto& line : lines) out += "        " + line + "\n";
        const std::string result = output_text(plan.y, x, results[0]);
        out += fmt::format("        return {}\n\n", result);
    }
    out += "    @staticmethod\n";
    out += "    def backward(ctx, grad_output):\n";
    out += fmt::format("        {}, = ctx.saved_tensors\n", fmt::join(inputs, ", "));
    auto returns = [&](const std::vector<std::string>& results, const std::string& indent) {
        std::string text;
        std::vector<std::string> returned;
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            const std::string& target = inputs[k];
            const Expr& g = plan.grads[k];
            std::string value = results[k];
            if (g.op() == Op::constant) {
                value = g.node().scalar_value() == 0 ? fmt::format("torch.zeros_like({})", target)
                                                     : fmt::format("torch.full_like({}, {})", target, value);
            } else {
                value = fmt::format("_sum_to({}, {})", value, target);
            }
            text += fmt::format("{}grad_{} = {}\n", indent, target, value);
            returned.push_back("grad_" + target);
        }
        return text + fmt::format("{}return {}\n", indent, fmt::join(returned, ", "));
    };
    {
        out +=
            "        if torch.is_grad_enabled():\n"
            "            # create_graph=True: differentiable operations, so the gradient can be differentiated again\n";
        const auto code = detail::straight_line(plan.grads, "_t", python_leaf, speller);
        append_lines(out, code, "            ");
        out += returns(code.results, "            ");
        out += "        # the same gradient, reusing buffers\n";
        InPlaceWriter writer(plan.grads, {x, "grad_output"}, speller);
        const auto [lines, results] = writer.write();
        for (const auto& line : lines) out += "        " + line + "\n";
        out += returns(results, "        ") + "\n\n";
    }

    out +=
        "def _sum_to(gradient: torch.Tensor, like: torch.Tensor) -> torch.Tensor:\n"
        "    \"\"\"The gradient summed over the axes along which `like` was broadcast.\"\"\"\n"
        "    return gradient if gradient.shape == like.shape else gradient.sum_to_size(like.shape)\n\n\n";
    if (needs_per_unit) {
        out +=
            "def _per_unit(p: torch.Tensor, x: torch.Tensor, name: str) -> torch.Tensor:\n"
            "    \"\"\"A per-unit parameter [U]: one value per feature of the last axis of x ([B, U], [B, T, U]).\"\"\"\n"
            "    if x.dim() < 2 or x.shape[-1] != p.shape[0]:\n"
            "        raise ValueError(\"parameter \" + name + \" has \" + str(p.shape[0]) + \" units, but the input has shape \"\n"
            "                         + str(list(x.shape)) + \"; its last axis must have that many\")\n"
            "    return p\n\n\n";
    }
    if (needs_per_channel) {
        out +=
            "def _per_channel(p: torch.Tensor, x: torch.Tensor, name: str) -> torch.Tensor:\n"
            "    \"\"\"A per-channel parameter [C] as [C, 1, ...], to broadcast over dim 1 of x ([B, C, H, W]), as nn.PReLU.\"\"\"\n"
            "    if x.dim() < 2 or x.shape[1] != p.shape[0]:\n"
            "        raise ValueError(\"parameter \" + name + \" has \" + str(p.shape[0]) + \" channels, but the input has shape \"\n"
            "                         + str(list(x.shape)) + \"; dim 1 must have that many\")\n"
            "    return p.reshape([p.shape[0]] + [1] * (x.dim() - 2))\n\n\n";
    }

    // (--native: the forward-mode and second-order expressions, derived once for the Functions and the kernels)
    const NativeExpressions native = options.native ? native_expressions(plan) : NativeExpressions{};
    const std::vector<TorchPass> passes = options.native ? native_passes(plan, native) : std::vector<TorchPass>{};
    if (options.native) out += native_section(plan, options, speller, inputs, native, passes);

    // The module.
    out += fmt::format("class {}(torch.nn.Module):\n", options.name);
    out += fmt::format("    \"\"\"y = {}\n\n", plan.formula);
    if (needs_units) {
        out += needs_per_channel
            ? "    units: the size of the input's last axis (per-unit parameters) or of its dim 1 (per-channel ones).\n"
            : "    units: the size of the input's last axis (the features of [B, U] or [B, T, U]).\n";
    }
    for (const auto& p : plan.params) out += fmt::format("    {}: {}, initially {}.\n", p.name, policy_text(p), p.init.describe());
    out += "    \"\"\"\n\n";
    out += needs_units ? "    def __init__(self, units: int):\n" : "    def __init__(self):\n";
    out += "        super().__init__()\n";
    if (needs_units) out += "        self.units = units\n";
    for (const auto& p : plan.params) out += fmt::format("        self.{} = torch.nn.Parameter({})\n", p.name, init_code(p));
    out += fmt::format("\n    def forward(self, {}: torch.Tensor) -> torch.Tensor:\n", x);
    std::vector<std::string> call{x};
    for (const auto& p : plan.params) {
        if (p.policy == nn::Policy::per_unit || p.policy == nn::Policy::per_channel) {
            out += fmt::format("        {} = {}(self.{}, {}, \"{}\")\n", p.name,
                               p.policy == nn::Policy::per_unit ? "_per_unit" : "_per_channel", p.name, x, p.name);
        } else {
            out += fmt::format("        {} = self.{}\n", p.name, p.name);
        }
        call.push_back(p.name);
    }
    out += "        if torch.jit.is_scripting():\n";
    out += fmt::format("            return {}({})\n", forward_name, fmt::join(call, ", "));
    out += fmt::format("        return self._function({})\n\n", fmt::join(call, ", "));
    std::vector<std::string> typed_call;
    for (const auto& c : call) typed_call.push_back(c + ": torch.Tensor");
    out += "    @torch.jit.unused\n";
    out += fmt::format("    def _function(self, {}) -> torch.Tensor:\n", fmt::join(typed_call, ", "));
    out += fmt::format("        return {}({})\n", options.native ? "apply" : function + ".apply", fmt::join(call, ", "));
    if (needs_units) {
        out += "\n    def extra_repr(self) -> str:\n";
        out += "        return \"units=\" + str(self.units)\n";
    }
    if (options.native) {
        out += "\n    def __prepare_scriptable__(self):\n";
        out += "        \"\"\"Called once by torch.jit.script: the kernels cannot run in TorchScript (a Function cannot be scripted).\"\"\"\n";
        out += fmt::format("        warnings.warn(\"{}: under torch.jit.script the native kernels do not run; TorchScript runs the forward \"\n"
                           "                      \"expression and differentiates it\", RuntimeWarning)\n",
                           options.name);
        out += "        return self\n";
        out += native_kernels_text(passes);
    }
    return out;
}

}  // namespace symgrad
