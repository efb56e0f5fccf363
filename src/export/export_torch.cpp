// export_torch: a Python file with a torch.autograd.Function and an nn.Module for an elementwise activation.
#include <cmath>

#include "export/export_plan.hpp"
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
    "int", "str", "super", "len", "tuple", "list", "range", "print", "object", "isinstance", "bool"};

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
            std::vector<std::string> args;
            for (std::size_t k = 0; k < node.arity(); ++k) args.push_back(arg(k).text);
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
    out +=
        "#\n# The backward is written with differentiable torch operations, so it can be differentiated again (double\n"
        "# backward, gradgradcheck, Hessian-vector products). It saves only its inputs and recomputes the intermediates.\n"
        "# Under torch.jit.script the module runs the forward expression and TorchScript's autograd differentiates it.\n";
    out += "import math\n\nimport torch\nimport torch.nn.functional as F\n\n";
    out += fmt::format("__all__ = [\"{}\", \"{}\"]\n\n\n", function, options.name);

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
    out += fmt::format("        return {}.apply({})\n", function, fmt::join(call, ", "));
    if (needs_units) {
        out += "\n    def extra_repr(self) -> str:\n";
        out += "        return \"units=\" + str(self.units)\n";
    }
    return out;
}

}  // namespace symgrad
