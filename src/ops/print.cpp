// Infix text and LaTeX printers. Both render the print-form templates of the op table with one
// explicit work stack (no recursion), so a million-node chain prints in constant stack.
#include "symgrad/print.hpp"

#include <cmath>
#include <unordered_set>

namespace symgrad {

namespace {

enum class Style { text, latex };

constexpr std::size_t unlimited = static_cast<std::size_t>(-1);

struct Part {
    const Node* node = nullptr;  // an operand to print, or nullptr for literal text
    bool parens = false;
    std::string text;
};

int form_precedence(const PrintForm& form, Style style) {
    return style == Style::latex && form.latex_precedence != 0 ? form.latex_precedence : form.precedence;
}

bool is_negative_constant(const Node& node) {
    return node.is_scalar_constant() && std::signbit(node.scalar_value()) && !std::isnan(node.scalar_value());
}

// How tightly a node binds when printed in place (names and leaves are atoms; -2 binds like unary minus).
int precedence_of(const Node& node, Style style, bool printed_as_name) {
    if (printed_as_name) return atom_precedence;
    if (is_negative_constant(node)) return op_info(Op::neg).print.precedence;
    if (node.is_leaf()) return atom_precedence;
    return form_precedence(op_info(node.op()).print, style);
}

// Whether an operand at one edge of a template needs parentheses, given the template's binding.
// Enclosed operands (inside "f(...)", "\frac{..}") never do.
enum class Edge { left, right, enclosed };
bool needs_parens(int child, int parent, Assoc assoc, Edge edge) {
    switch (edge) {
    case Edge::enclosed: return false;
    case Edge::left: return assoc == Assoc::left ? child < parent : child <= parent;
    case Edge::right: return assoc == Assoc::left ? child <= parent : child < parent;
    }
    return false;
}

std::string number_text(double value, DType dtype, Style style) {
    std::string text = dtype == DType::float32 ? fmt::format("{}", static_cast<float>(value)) : fmt::format("{}", value);
    if (style == Style::text) return text;
    if (std::isinf(value)) return value > 0 ? "\\infty" : "-\\infty";
    if (std::isnan(value)) return "\\mathrm{NaN}";
    const auto e = text.find('e');
    if (e == std::string::npos) return text;
    // 1e-05 -> 1 \cdot 10^{-5}
    const std::string mantissa = text.substr(0, e);
    const int exponent = std::stoi(text.substr(e + 1));
    return fmt::format("{} \\cdot 10^{{{}}}", mantissa, exponent);
}

std::string constant_text(const Node& node, Style style) {
    const Tensor& value = node.attrs().value;
    if (value.rank() == 0) return number_text(value.get(0), value.dtype(), style);
    if (value.numel() <= 8) {
        std::string text = to_string(value);
        std::erase(text, '\n');
        return style == Style::latex ? fmt::format("\\mathtt{{{}}}", text) : text;
    }
    if (style == Style::latex) return fmt::format("\\mathrm{{const}}_{{{}}}", to_string(value.shape()));
    return fmt::format("constant<{} {}>", value.dtype(), value.shape());
}

std::string leaf_text(const Node& node, Style style) {
    if (node.op() == Op::variable) return style == Style::latex ? latex_name(node.attrs().name) : node.attrs().name;
    return constant_text(node, style);
}

// Splits a print template into literal text, operands and attribute text, deciding parentheses.
// `child_precedence` says how each operand binds.
template <class ChildPrecedence>
std::vector<Part> expand_template(Op op, std::span<const Expr> inputs, const Attrs& attrs, Style style, ChildPrecedence child_precedence) {
    const OpInfo& info = op_info(op);
    const std::string_view form = style == Style::text ? info.print.text : info.print.latex;
    const int precedence = form_precedence(info.print, style);
    std::vector<Part> parts;
    std::string literal;
    for (std::size_t i = 0; i < form.size(); ++i) {
        const bool placeholder = form[i] == '{' && i + 2 < form.size() && form[i + 2] == '}' &&
            (form[i + 1] == 'a' || (form[i + 1] >= '0' && form[i + 1] <= '2'));
        if (!placeholder) {
            literal += form[i];
            continue;
        }
        if (!literal.empty()) parts.push_back({nullptr, false, std::move(literal)});
        literal.clear();
        if (form[i + 1] == 'a') {
            parts.push_back({nullptr, false, info.attr_text ? info.attr_text(attrs, inputs) : ""});
        } else {
            const auto index = static_cast<std::size_t>(form[i + 1] - '0');
            const Edge edge = i == 0 ? Edge::left : (i + 3 == form.size() ? Edge::right : Edge::enclosed);
            const Node* child = inputs[index].get();
            parts.push_back({child, needs_parens(child_precedence(*child), precedence, info.print.assoc, edge), {}});
        }
        i += 2;
    }
    if (!literal.empty()) parts.push_back({nullptr, false, std::move(literal)});
    return parts;
}

class Printer {
public:
    Printer(Style style, std::size_t max_chars) : style_(style), max_chars_(max_chars) {}

    // Names every non-leaf node that the roots use more than once.
    void name_shared(std::span<const Expr> roots, const GraphIndex& index) {
        std::vector<std::uint32_t> uses(index.size(), 0);
        std::unordered_set<std::string> taken;
        for (std::size_t i = 0; i < index.size(); ++i) {
            for (auto operand : index.operands(i)) ++uses[operand];
            if (index.node(i)->op() == Op::variable) taken.insert(index.node(i)->attrs().name);
        }
        for (const auto& root : roots) ++uses[index.position(root.get())];
        std::size_t counter = 0;
        for (std::size_t i = 0; i < index.size(); ++i) {
            const Node* node = index.node(i);
            if (node->is_leaf() || uses[i] < 2) continue;
            std::string name;
            // A variable called t1 or t_1 takes the number away in both styles (LaTeX writes either as t_1).
            do {
                ++counter;
            } while (taken.contains(fmt::format("t{}", counter)) || taken.contains(fmt::format("t_{}", counter)));
            name = style_ == Style::latex ? fmt::format("t_{{{}}}", counter) : fmt::format("t{}", counter);
            name_ids_.try_emplace(node, static_cast<std::uint32_t>(names_.size()));
            names_.push_back(std::move(name));
            shared_.push_back(node);
        }
    }

    const std::vector<const Node*>& shared() const { return shared_; }
    const std::string& name_of(const Node* node) const { return names_[*name_ids_.find(node)]; }
    // The let name of node, or nullptr when it has none.
    const std::string* find_name(const Node* node) const {
        const std::uint32_t* id = name_ids_.find(node);
        return id != nullptr ? &names_[*id] : nullptr;
    }

    // Appends the expression of root (its definition, even when it has a let name).
    void emit(const Node* root, std::string& out) const {
        std::vector<Part> stack;
        stack.push_back({root, false, {}});
        bool at_root = true;
        while (!stack.empty()) {
            if (out.size() > max_chars_) {
                out.resize(max_chars_);
                out += "...";
                return;
            }
            Part part = std::move(stack.back());
            stack.pop_back();
            if (part.node == nullptr) {
                out += part.text;
                continue;
            }
            const Node& node = *part.node;
            const std::string* name = at_root ? nullptr : find_name(&node);
            at_root = false;
            if (name != nullptr) {
                out += *name;
                continue;
            }
            if (node.is_leaf()) {
                if (part.parens) out += open();
                out += leaf_text(node, style_);
                if (part.parens) out += close();
                continue;
            }
            auto parts =
                expand_template(node.op(), node.inputs(), node.attrs(), style_, [this](const Node& child) { return precedence(child); });
            if (part.parens) stack.push_back({nullptr, false, close()});
            for (auto it = parts.rbegin(); it != parts.rend(); ++it) stack.push_back(std::move(*it));
            if (part.parens) stack.push_back({nullptr, false, open()});
        }
    }

    // Appends a use of node: its let name when it has one, else its expression.
    void emit_use(const Node* node, std::string& out) const {
        if (const std::string* name = find_name(node)) {
            out += *name;
        } else {
            emit(node, out);
        }
    }

    int precedence(const Node& node) const { return precedence_of(node, style_, find_name(&node) != nullptr); }

private:
    std::string open() const { return style_ == Style::latex ? "\\left(" : "("; }
    std::string close() const { return style_ == Style::latex ? "\\right)" : ")"; }

    Style style_;
    std::size_t max_chars_;
    detail::NodeMap<std::uint32_t> name_ids_;
    std::vector<std::string> names_;
    std::vector<const Node*> shared_;
};

std::string print_program(std::span<const Expr> outputs, std::span<const std::string> names, Style style) {
    Printer printer(style, unlimited);
    printer.name_shared(outputs, index_graph(outputs));
    std::string out;
    if (style == Style::text) {
        for (const Node* node : printer.shared()) {
            out += "let " + printer.name_of(node) + " = ";
            printer.emit(node, out);
            out += '\n';
        }
        for (std::size_t i = 0; i < outputs.size(); ++i) {
            if (i < names.size()) out += names[i] + " = ";
            printer.emit_use(outputs[i].get(), out);
            if (i + 1 < outputs.size()) out += '\n';
        }
        return out;
    }
    // LaTeX: one unnamed expression reads best as "expr, where t_1 = ..."; named outputs as an aligned block.
    if (names.empty() && outputs.size() == 1) {
        printer.emit_use(outputs[0].get(), out);
        const char* joiner = ", \\quad \\text{where } ";
        for (const Node* node : printer.shared()) {
            out += joiner;
            out += printer.name_of(node) + " = ";
            printer.emit(node, out);
            joiner = ", \\; ";
        }
        return out;
    }
    out += "\\begin{aligned}\n";
    for (const Node* node : printer.shared()) {
        out += printer.name_of(node) + " &= ";
        printer.emit(node, out);
        out += " \\\\\n";
    }
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        out += (i < names.size() ? latex_name(names[i]) : fmt::format("y_{{{}}}", i + 1)) + " &= ";
        printer.emit_use(outputs[i].get(), out);
        out += i + 1 < outputs.size() ? " \\\\\n" : "\n";
    }
    out += "\\end{aligned}";
    return out;
}

bool is_greek(std::string_view name) {
    static const std::unordered_set<std::string_view> greek = {
        "alpha", "beta",  "gamma", "delta", "epsilon", "zeta",  "eta", "theta",   "iota", "kappa", "lambda",
        "mu",    "nu",    "xi",    "pi",    "rho",     "sigma", "tau", "upsilon", "phi",  "chi",   "psi",
        "omega", "Gamma", "Delta", "Theta", "Lambda",  "Xi",    "Pi",  "Sigma",   "Phi",  "Psi",   "Omega"};
    return greek.contains(name);
}

std::string latex_word(std::string_view word) {
    if (is_greek(word)) return fmt::format("\\{}", word);
    if (word.size() == 1) return std::string(word);
    std::string escaped;
    for (char c : word) {
        if (c == '_')
            escaped += "\\_";
        else
            escaped += c;
    }
    return fmt::format("\\mathrm{{{}}}", escaped);
}

}  // namespace

std::string latex_name(std::string_view name) {
    if (!name.empty() && name[0] == '\\') return std::string(name);  // already LaTeX
    // Split "p1" into "p" and "1", "x_hat" into "x" and "hat": the tail becomes a subscript.
    std::size_t split = name.find('_');
    if (split == std::string_view::npos) {
        split = name.size();
        while (split > 0 && name[split - 1] >= '0' && name[split - 1] <= '9') --split;
        if (split == 0) split = name.size();
    }
    const std::string_view head = name.substr(0, split);
    std::string_view tail = name.substr(split);
    if (!tail.empty() && tail[0] == '_') tail.remove_prefix(1);
    std::string text = latex_word(head);
    if (!tail.empty()) {
        const bool digits = tail.find_first_not_of("0123456789") == std::string_view::npos;
        text += fmt::format("_{{{}}}", digits ? std::string(tail) : latex_word(tail));
    }
    return text;
}

std::string to_string(const Expr& e) { return print_program(std::span<const Expr>(&e, 1), {}, Style::text); }

std::string to_string(std::span<const Expr> outputs, std::span<const std::string> names) {
    return print_program(outputs, names, Style::text);
}

std::string to_inline_string(const Expr& e, std::size_t max_chars) {
    if (!e) return "<empty>";
    Printer printer(Style::text, max_chars);
    std::string out;
    printer.emit(e.get(), out);
    return out;
}

std::string to_latex(const Expr& e) { return print_program(std::span<const Expr>(&e, 1), {}, Style::latex); }

std::string to_latex(std::span<const Expr> outputs, std::span<const std::string> names) {
    return print_program(outputs, names, Style::latex);
}

std::string describe_call(Op op, std::span<const Expr> operands, const Attrs& attrs, std::size_t max_chars) {
    const std::size_t budget = std::max<std::size_t>(max_chars / std::max<std::size_t>(operands.size(), 1), 20);
    const auto parts =
        expand_template(op, operands, attrs, Style::text, [](const Node& child) { return precedence_of(child, Style::text, false); });
    std::string out;
    for (const auto& part : parts) {
        if (part.node == nullptr) {
            out += part.text;
            continue;
        }
        const std::string operand = to_inline_string(handle(part.node), budget);
        out += part.parens ? "(" + operand + ")" : operand;
    }
    return out;
}

}  // namespace symgrad
