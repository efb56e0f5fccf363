#!/usr/bin/env python3
"""Every elementwise primitive and every built-in activation goes through `symgrad export --to torch` and runs.

For each: export with every parameter shared at its default, load the module, run it forward and backward in
float64 on an input with negative, zero and positive elements, and compare the output, the input's gradient and
each parameter's gradient with `symgrad eval` of the same expression at the same values (NaN equal to NaN).
check_torch_export.py compares a chosen set with hand-written PyTorch; this one makes sure no row is left out
(constant conditions, comparisons as outputs, sinc's where, ...). Exit 0 when all pass, 1 with a report,
77 (CTest: skipped) without torch.

  python3 tests/export/check_every_row.py build/release/symgrad /tmp/export_rows src/ops/table.hpp

The primitives are read off the table's rows (their heads: `{.op = Op::tanh, .name = "tanh", .arity = 1, .kind =
OpClass::elementwise`), so a new row is checked without a line here.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys

try:
    import torch
except ImportError:
    print("torch is not installed: skipped (Debian: apt-get install python3-torch)")
    sys.exit(77)

ROW_HEAD = re.compile(r'\{\.op = Op::\w+, \.name = "(\w+)", \.arity = (\d), \.kind = OpClass::elementwise')
# Short names the language gives some primitives besides their table names.
ALIASES = {"maximum": "max", "minimum": "min"}


def elementwise_rows(table_path):
    """(name, arity) of every elementwise row of src/ops/table.hpp."""
    with open(table_path) as f:
        rows = [(name, int(arity)) for name, arity in ROW_HEAD.findall(f.read())]
    if len(rows) < 30:
        sys.exit(f"found {len(rows)} elementwise rows in {table_path}: has the rows' layout changed?")
    return rows


# Activations that mix elements (export takes elementwise ones only, and says so).
NOT_ELEMENTWISE = {"softmax", "log_softmax"}
# Forms the issue found broken, and other shapes of conditions and outputs.
SPECIAL = [
    "sinc(x)",
    "where(1, x, 2 * x)",
    "where(0, x, 2 * x)",
    "where(1 > 2, x, 2 * x)",
    "x > 0",
    "where(x > 0, 1, 2) * x",
    "where(x, x, -x)",
    "clamp(x, -1, 1)",
    "x ^ 4",
    "x * (x > 0) + 0.1 * x * (x <= 0)",
    # gradient overrides inside other ops, and a step with its value at 0 a parameter of x
    "custom_grad(round(x), x) * x",
    "custom_grad(x > 0, sigmoid(4 * x))",
    "stop_gradient(x * x) * x",
    "heaviside(x, 0.5 * x + 0.5) * x",
]


def run(symgrad, *args, text=None):
    return subprocess.run([symgrad, *args], input=text, capture_output=True, text=True)


def cases(symgrad, table_path):
    for name, arity in elementwise_rows(table_path):
        if name == "where":
            continue  # its conditions are in SPECIAL
        for f in [name] + ([ALIASES[name]] if name in ALIASES else []):
            if arity == 1:
                yield f"{f}(x)", {}
            elif arity == 2:
                yield f"{f}(x, 0.75 * x + 0.5)", {}
                yield f"{f}(1.5, x)", {}
            else:
                yield f"{f}(x, -1 + 0 * x, 0.5 + 0.25 * x)", {}
    for e in SPECIAL:
        yield e, {}
    listed = json.loads(run(symgrad, "list", "--format", "json").stdout)
    for row in listed:
        if "..." in row["signature"]:
            continue  # variadic (apl, pade): check_torch_export.py writes them out
        # Optional arguments: once left out, once given (hardtanh(x), hardtanh(x, lo, hi)).
        signature = row["signature"]
        plain = re.sub(r"\[.*?\]", "", signature)
        full = signature.replace("[, ", ", ").replace("[", "").replace("]", "")
        for form in dict.fromkeys([plain, full]):
            names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", form)[2:]  # after the function and x
            params = {p["name"]: p["default"] for p in row["params"] if p["name"] in names}
            if row["name"] in NOT_ELEMENTWISE:
                continue
            yield form, params


def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tensor_json(t):
    return {"shape": list(t.shape), "data": [v if v == v and abs(v) != float("inf") else
                                             ("nan" if v != v else ("inf" if v > 0 else "-inf"))
                                             for v in t.flatten().tolist()]}


def from_json(j):
    data = [float(v) for v in j["data"]]
    return torch.tensor(data, dtype=torch.float64).reshape(j["shape"])


def evaluate(symgrad, request):
    """symgrad eval's answer to a request, or the reason there is none."""
    answer = run(symgrad, "eval", "-", text=json.dumps(request))
    if answer.returncode != 0:
        return None, f"eval failed: {answer.stderr.strip()}"
    return json.loads(answer.stdout), ""


def same(a, b):
    a = a.detach().to(torch.float64)
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True)


def check(symgrad, workdir, number, expression, params):
    path = os.path.join(workdir, f"row_{number}.py")
    args = ["export", expression, "--to", "torch", "--name", "Row", "-o", path]
    for name, default in params.items():
        args += ["--param", f"{name}=shared:{default!r}"]
    exported = run(symgrad, *args)
    if exported.returncode != 0:
        return f"export failed: {exported.stderr.strip()}"
    x = torch.tensor([[-2.5, -1.0, -0.25, 0.0], [0.25, 0.5, 1.0, 3.0]], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([[0.5, -1.0, 2.0, 1.5], [1.0, -0.5, 0.25, 3.0]], dtype=torch.float64)
    module = load(path).Row().double()
    with torch.no_grad():  # created in float32: set to the defaults exactly, as eval reads them
        for name, default in params.items():
            getattr(module, name).fill_(default)
    y = module(x)
    if y.dtype != torch.float64:
        return f"the output is {y.dtype}, not the input's float64"
    if y.requires_grad:
        y.backward(g)
    request = {"expr": expression, "dtype": "float64", "values": {"x": tensor_json(x.detach())},
               "grad_output": tensor_json(g)}
    for name, default in params.items():
        request["values"][name] = {"shape": [], "data": [default]}
    answer, failed = evaluate(symgrad, request)
    if failed:
        return failed
    problems = []
    if not same(y, from_json(answer["output"])):
        problems.append(f"output {y.tolist()} != eval's {answer['output']['data']}")
    x_grad = x.grad if x.grad is not None else torch.zeros_like(x)
    if not same(x_grad, from_json(answer["grads"]["x"])):
        problems.append(f"d/dx {x_grad.tolist()} != eval's {answer['grads']['x']['data']}")
    for name in params:
        p = getattr(module, name)
        p_grad = p.grad if p.grad is not None else torch.zeros_like(p)
        if not same(p_grad, from_json(answer["grads"][name])):
            problems.append(f"d/d{name} {p_grad.tolist()} != eval's {answer['grads'][name]['data']}")
    return "; ".join(problems)


# Kinks, compared with PyTorch's own functions and their autograd at the kink itself (docs/semantics.md).
KINKS = [
    ("relu(x)", lambda x: torch.relu(x), [0.0]),
    ("maximum(x, 0)", lambda x: torch.maximum(x, torch.zeros_like(x)), [0.0]),
    ("abs(x)", torch.abs, [0.0]),
    ("hardswish(x)", torch.nn.functional.hardswish, [-3.0, 3.0]),
    ("hardsigmoid(x)", torch.nn.functional.hardsigmoid, [-3.0, 3.0]),
    ("hardtanh(x)", torch.nn.functional.hardtanh, [-1.0, 1.0]),
    ("clamp(x, -1, 1)", lambda x: torch.clamp(x, -1.0, 1.0), [-1.0, 1.0]),
    ("leaky_relu(x, 0.01)", lambda x: torch.nn.functional.leaky_relu(x, 0.01), [0.0]),
    ("elu(x, 1)", lambda x: torch.nn.functional.elu(x, 1.0), [0.0]),
]


def check_kink(symgrad, expression, reference, points):
    x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    y = reference(x)
    y.sum().backward()
    request = {"expr": expression, "dtype": "float64", "values": {"x": tensor_json(x.detach())}}
    answer, failed = evaluate(symgrad, request)
    if failed:
        return failed
    problems = []
    if not same(y, from_json(answer["output"])):
        problems.append(f"value at {points}: torch {y.tolist()}, symgrad {answer['output']['data']}")
    if not same(x.grad, from_json(answer["grads"]["x"])):
        problems.append(f"derivative at {points}: torch {x.grad.tolist()}, symgrad {answer['grads']['x']['data']}")
    return "; ".join(problems)


def main():
    symgrad, workdir, table_path = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(workdir, exist_ok=True)
    torch.set_num_threads(1)
    failures = []
    count = 0
    for number, (expression, params) in enumerate(cases(symgrad, table_path)):
        count += 1
        try:
            problem = check(symgrad, workdir, number, expression, params)
        except Exception as e:  # the generated module itself failed
            problem = f"{type(e).__name__}: {e}"
        if problem:
            failures.append(f"{expression}: {problem}")
    for expression, reference, points in KINKS:
        count += 1
        problem = check_kink(symgrad, expression, reference, points)
        if problem:
            failures.append(f"{expression} (kink): {problem}")
    for f in failures:
        print(f)
    print(f"{count} expressions exported and run, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
