#!/usr/bin/env python3
"""The torch export against PyTorch itself (Debian's python3-torch).

For every built-in activation with parameters, and every activation the docs use: `symgrad export --to torch` writes
the module, and in float64 on [B, U] and [B, C, H, W] inputs with random parameters
  - its output equals the same expression composed from torch operations (written here by hand),
  - its first derivatives (input and every parameter, for a random grad_output) equal torch autograd's on that
    composition, and so do its second derivatives (the gradient of <first derivatives, v>),
  - torch.autograd.gradcheck and gradgradcheck pass on the exported Function,
  - torch.jit.script compiles the module, and the scripted module gives the same output.
Exit status 0 when all pass, 1 with a report otherwise, 77 (CTest: skipped) when torch is not installed.

  python3 tests/export/check_torch_export.py build/release/symgrad /tmp/export_check
"""
import importlib.util
import math
import os
import subprocess
import sys
import traceback

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed: skipped (Debian: apt-get install python3-torch)")
    sys.exit(77)

torch.manual_seed(20261127)

SQRT1_2 = 1.0 / math.sqrt(2.0)


def pade(numerator, denominator, sum_of_abs=False):
    def f(x, **p):
        num = sum(p[f"a{j}"] * x ** j for j in range(numerator + 1))
        if sum_of_abs:
            den = 1 + sum(torch.abs(p[f"b{k}"] * x ** k) for k in range(1, denominator + 1))
        else:
            den = 1 + torch.abs(sum(p[f"b{k}"] * x ** k for k in range(1, denominator + 1)))
        return num / den
    return f


def pade_case(name, function, m, n, sum_of_abs=False):
    names = [f"a{j}" for j in range(m + 1)] + [f"b{k}" for k in range(1, n + 1)]
    expression = f"{function}(x, {m}, {n}, {', '.join(names)})"
    return (name, expression, {p: ("shared", 0.0, (-0.8, 0.8)) for p in names}, pade(m, n, sum_of_abs))


UNIT = (0.5, 1.5)

# name, expression, {parameter: (policy, initial value, range of the random values)}, torch composition
CASES = [
    ("LeakyReLU", "leaky_relu(x, slope)", {"slope": ("shared", 0.01, (0.01, 0.3))},
     lambda x, slope: torch.where(x > 0, x, slope * x)),
    ("PReLU", "prelu(x, a)", {"a": ("per-unit", 0.25, (0.05, 0.4))}, lambda x, a: torch.where(x > 0, x, a * x)),
    ("ELU", "elu(x, alpha)", {"alpha": ("shared", 1.0, UNIT)}, lambda x, alpha: torch.where(x > 0, x, alpha * torch.expm1(x))),
    ("CELU", "celu(x, alpha)", {"alpha": ("per-unit", 1.0, UNIT)},
     lambda x, alpha: torch.where(x > 0, x, alpha * torch.expm1(x / alpha))),
    ("Swish", "swish(x, beta)", {"beta": ("per-unit", 1.0, UNIT)}, lambda x, beta: x * torch.sigmoid(beta * x)),
    ("Softplus", "softplus(x, beta)", {"beta": ("shared", 1.0, UNIT)}, lambda x, beta: F.softplus(beta * x) / beta),
    ("Hardtanh", "hardtanh(x, lo, hi)", {"lo": ("shared", -1.0, (-1.5, -0.5)), "hi": ("shared", 1.0, (0.5, 1.5))},
     lambda x, lo, hi: torch.where(x <= lo, lo.expand_as(x), torch.where(x >= hi, hi.expand_as(x), x))),
    ("Snake", "snake(x, a)", {"a": ("per-unit", 1.0, UNIT)}, lambda x, a: x + torch.sin(a * x) ** 2 / a),
    ("Gaussian", "gaussian(x, sigma)", {"sigma": ("per-unit", 1.0, UNIT)}, lambda x, sigma: torch.exp(-0.5 * (x / sigma) ** 2)),
    ("AconC", "acon_c(x, p1, p2, beta)",
     {"p1": ("per-unit", 1.0, UNIT), "p2": ("per-unit", 0.0, (-0.5, 0.5)), "beta": ("shared", 1.0, UNIT)},
     lambda x, p1, p2, beta: (p1 - p2) * x * torch.sigmoid(beta * (p1 - p2) * x) + p2 * x),
    ("SReLU", "srelu(x, tl, al, tr, ar)",
     {"tl": ("per-unit", -0.5, (-1.5, -0.5)), "al": ("per-unit", 0.1, (0.05, 0.3)), "tr": ("per-unit", 1.0, (0.5, 1.5)),
      "ar": ("per-unit", 1.0, (0.5, 2.0))},
     lambda x, tl, al, tr, ar: torch.where(x >= tr, tr + ar * (x - tr), torch.where(x <= tl, tl + al * (x - tl), x))),
    ("APL", "apl(x, a1, b1, a2, b2)",
     {"a1": ("per-unit", 0.2, (-0.5, 0.5)), "b1": ("per-unit", -1.0, (-1.0, 0.0)), "a2": ("per-unit", -0.2, (-0.5, 0.5)),
      "b2": ("per-unit", 1.0, (0.0, 1.0))},
     lambda x, a1, b1, a2, b2: torch.relu(x) + a1 * torch.relu(b1 - x) + a2 * torch.relu(b2 - x)),
    pade_case("PAU", "pau", 5, 4),
    pade_case("PAUSumAbs", "pau_sum_abs", 3, 2, sum_of_abs=True),
    # the activations of the docs (README, docs/parameter_shapes.md, docs/cli.md, docs/export.md)
    ("SwishBeta", "x * sigmoid(beta * x)", {"beta": ("per-unit", 1.0, UNIT)}, lambda x, beta: x * torch.sigmoid(beta * x)),
    ("Seed", "p1 * sigmoid(p2 * x + b1) + b2",
     {"p1": ("per-unit", 1.0, UNIT), "p2": ("per-unit", 1.0, UNIT), "b1": ("per-unit", 0.0, (-0.5, 0.5)),
      "b2": ("per-unit", 0.0, (-0.5, 0.5))},
     lambda x, p1, p2, b1, b2: p1 * torch.sigmoid(p2 * x + b1) + b2),
    ("Pade22", "(a0 + a1*x + a2*x^2) / (1 + abs(b1*x + b2*x^2))",
     {n: ("shared", 0.0, (-0.8, 0.8)) for n in ["a0", "a1", "a2", "b1", "b2"]},
     lambda x, a0, a1, a2, b1, b2: (a0 + a1 * x + a2 * x ** 2) / (1 + torch.abs(b1 * x + b2 * x ** 2))),
    ("GELU", "gelu(x)", {}, lambda x: 0.5 * x * (1 + torch.erf(x * SQRT1_2))),
    ("Mish", "mish(x)", {}, lambda x: x * torch.tanh(F.softplus(x))),
]

UNITS = 5
# per-unit follows the last axis (as symgrad's parameter_shape and NumPy broadcasting); per-channel follows dim 1
# (as torch.nn.PReLU). Each case runs with each, on 2-D, 3-D and 4-D inputs.
SHAPES = {"per-unit": [(6, UNITS), (3, 2, UNITS), (3, 2, 4, UNITS)],
          "per-channel": [(6, UNITS), (3, UNITS, 2), (3, UNITS, 2, 4)]}


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def broadcast(p, policy, x):
    return p.reshape([-1] + [1] * (x.dim() - 2)) if policy == "per-channel" else p


def close(a, b, what, failures):
    if a is None or b is None:
        a = torch.zeros(()) if a is None else a
        b = torch.zeros(()) if b is None else b
    if a.shape != b.shape and a.numel() != 1 and b.numel() != 1:
        failures.append(f"{what}: shape {list(a.shape)} != {list(b.shape)}")
        return
    if not torch.allclose(a.double(), b.double(), rtol=1e-10, atol=1e-12, equal_nan=True):
        worst = (a.double() - b.double()).abs().max().item()
        failures.append(f"{what}: differs by up to {worst:.3e}")


def check_case(symgrad, workdir, name, expression, params, reference):
    failures = []
    path = os.path.join(workdir, f"{name.lower()}.py")
    command = [symgrad, "export", expression, "--to", "torch", "--name", name, "-o", path]
    for p, (policy, init, _) in params.items():
        command += ["--param", f"{p}={policy}:{init}"]
    subprocess.run(command, check=True)
    module = load(path, name.lower())
    cls = getattr(module, name)
    function = getattr(module, name + "Function")
    needs_units = any(policy in ("per-unit", "per-channel") for policy, _, _ in params.values())
    kind = "per-channel" if any(policy == "per-channel" for policy, _, _ in params.values()) else "per-unit"
    for shape in SHAPES[kind]:
        m = cls(UNITS) if needs_units else cls()
        m = m.double()
        with torch.no_grad():
            for p, (policy, _, (lo, hi)) in params.items():
                getattr(m, p).uniform_(lo, hi)
        x = (2 * torch.randn(shape, dtype=torch.float64)).requires_grad_()
        ps = [getattr(m, p) for p in params]
        where = f"{name} {expression} on {list(shape)}"
        y = m(x)
        y_ref = reference(x, **{p: broadcast(t, params[p][0], x) for p, t in zip(params, ps)})
        close(y, y_ref, f"{where}: y", failures)
        g = torch.randn_like(y)
        inputs = [x] + ps
        first = torch.autograd.grad(y, inputs, g, create_graph=True)
        first_ref = torch.autograd.grad(y_ref, inputs, g, create_graph=True)
        for t, a, b in zip(["x"] + list(params), first, first_ref):
            close(a, b, f"{where}: d/d{t}", failures)
        # without create_graph the backward takes its buffer-reusing path: the same numbers
        plain = torch.autograd.grad(m(x), inputs, g)
        for t, a, b in zip(["x"] + list(params), plain, first_ref):
            close(a, b, f"{where}: d/d{t} without create_graph", failures)
        vs = [torch.randn_like(a) for a in first]
        s = sum((a * v).sum() for a, v in zip(first, vs))
        s_ref = sum((a * v).sum() for a, v in zip(first_ref, vs))
        # a piecewise-linear activation's first derivatives may not depend on anything: its second ones are zero
        second = torch.autograd.grad(s, inputs, allow_unused=True) if s.requires_grad else [None] * len(inputs)
        second_ref = torch.autograd.grad(s_ref, inputs, allow_unused=True) if s_ref.requires_grad else [None] * len(inputs)
        for t, a, b in zip(["x"] + list(params), second, second_ref):
            close(a, b, f"{where}: second derivative, d/d{t} of <first, v>", failures)
        scripted = torch.jit.script(m)
        close(scripted(x), y_ref, f"{where}: torch.jit.script", failures)
    # gradcheck and gradgradcheck on the Function itself, with parameters shaped as the module passes them
    x = torch.randn(4, UNITS, dtype=torch.float64, requires_grad=True)
    args = [x]
    for p, (policy, _, (lo, hi)) in params.items():
        shape = (UNITS,) if policy in ("per-unit", "per-channel") else ()
        args.append(torch.empty(shape, dtype=torch.float64).uniform_(lo, hi).requires_grad_())
    if not torch.autograd.gradcheck(function.apply, args, raise_exception=False):
        failures.append(f"{name}: gradcheck fails")
    if not torch.autograd.gradgradcheck(function.apply, args, raise_exception=False):
        failures.append(f"{name}: gradgradcheck fails")
    return failures


def main():
    symgrad, workdir = sys.argv[1], sys.argv[2]
    os.makedirs(workdir, exist_ok=True)
    failures = []
    # Each case with per-unit parameters runs again with them per channel.
    cases = list(CASES)
    for name, expression, params, reference in CASES:
        if any(policy == "per-unit" for policy, _, _ in params.values()):
            per_channel = {p: ("per-channel" if policy == "per-unit" else policy, init, r) for p, (policy, init, r) in params.items()}
            cases.append((name + "PerChannel", expression, per_channel, reference))
    for name, expression, params, reference in cases:
        try:
            found = check_case(symgrad, workdir, name, expression, params, reference)
        except Exception:  # a file that does not import or run is a failure to report, not a crash
            found = [f"{name}: {traceback.format_exc()}"]
        print(f"{'FAIL' if found else 'ok  '} {name:<10} {expression}")
        failures += found
    for f in failures:
        print("  " + f)
    print(f"{len(cases)} activations and policies, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
