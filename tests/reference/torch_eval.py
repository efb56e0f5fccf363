#!/usr/bin/env python3
"""Reference answers for `symgrad eval` from PyTorch autograd (Debian's python3-torch), float64.

For each activation: a request (symgrad's expression, values for x of shape [5, 4] and for its parameters,
per-unit [4] or shared [], a random grad_output) and PyTorch's output and vector-Jacobian products. Cases
written with diff(...) are second derivatives: PyTorch differentiates its own first derivative
(create_graph=True). tests/test_cli.cpp pipes each request through `symgrad eval` and compares.

Regenerate (and commit the result):  /usr/bin/python3 tests/reference/torch_eval.py > tests/reference/torch_eval.json
"""
import json
import math

import torch
import torch.nn.functional as F

torch.manual_seed(20261127)
B, U = 5, 4
SQRT1_2 = 1.0 / math.sqrt(2.0)


def per_unit(lo, hi):
    return ("unit", lo, hi)


def shared(lo, hi):
    return ("shared", lo, hi)


# name, symgrad expression, torch function of (x, **params), parameter specs, order (1, or 2 for diff(., x))
CASES = [
    ("swish_beta", "x * sigmoid(beta * x)", lambda x, beta: x * torch.sigmoid(beta * x), {"beta": per_unit(0.5, 2)}, 1),
    ("seed", "p1 * sigmoid(p2 * x + b1) + b2", lambda x, p1, p2, b1, b2: p1 * torch.sigmoid(p2 * x + b1) + b2,
     {"p1": per_unit(0.5, 1.5), "p2": per_unit(0.5, 1.5), "b1": per_unit(-0.5, 0.5), "b2": per_unit(-0.5, 0.5)}, 1),
    ("pade_5_4", "(a0 + a1*x + a2*x^2 + a3*x^3 + a4*x^4 + a5*x^5) / (1 + abs(b1*x + b2*x^2 + b3*x^3 + b4*x^4))",
     lambda x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4: (a0 + a1 * x + a2 * x ** 2 + a3 * x ** 3 + a4 * x ** 4 + a5 * x ** 5)
     / (1 + torch.abs(b1 * x + b2 * x ** 2 + b3 * x ** 3 + b4 * x ** 4)),
     {k: shared(-0.5, 0.5) for k in ["a0", "a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4"]}, 1),
    ("prelu", "max(x, 0) + a * min(x, 0)", lambda x, a: torch.maximum(x, torch.zeros_like(x)) + a * torch.minimum(x, torch.zeros_like(x)),
     {"a": per_unit(0.1, 0.4)}, 1),
    ("prelu_where", "where(x > 0, x, a * x)", lambda x, a: torch.where(x > 0, x, a * x), {"a": shared(0.1, 0.4)}, 1),
    ("elu", "where(x > 0, x, alpha * expm1(x))", lambda x, alpha: torch.where(x > 0, x, alpha * torch.expm1(x)),
     {"alpha": shared(0.5, 1.5)}, 1),
    ("gelu_erf", "0.5 * x * (1 + erf(x * 0.7071067811865476))", lambda x: 0.5 * x * (1 + torch.erf(x * SQRT1_2)), {}, 1),
    ("gelu_tanh", "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))",
     lambda x: 0.5 * x * (1 + torch.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))), {}, 1),
    ("mish", "x * tanh(softplus(x))", lambda x: x * torch.tanh(F.softplus(x)), {}, 1),
    ("softplus_beta", "softplus(beta * x) / beta", lambda x, beta: F.softplus(beta * x) / beta, {"beta": per_unit(0.5, 3)}, 1),
    ("snake", "x + sin(a * x)^2 / a", lambda x, a: x + torch.sin(a * x) ** 2 / a, {"a": per_unit(0.5, 2)}, 1),
    ("scaled_tanh", "alpha * tanh(beta * x)", lambda x, alpha, beta: alpha * torch.tanh(beta * x),
     {"alpha": shared(0.5, 2), "beta": shared(0.5, 2)}, 1),
    ("softsign", "x / (1 + abs(x))", lambda x: x / (1 + torch.abs(x)), {}, 1),
    ("gaussian", "exp(-(x^2) / (2 * sigma^2))", lambda x, sigma: torch.exp(-(x ** 2) / (2 * sigma ** 2)), {"sigma": shared(0.5, 2)}, 1),
    ("hardtanh", "clamp(x, lo, hi)", lambda x, lo, hi: torch.clamp(x, min=lo, max=hi), {"lo": shared(-1.2, -0.8), "hi": shared(0.8, 1.2)}, 1),
    ("celu", "max(x, 0) + min(0, alpha * expm1(x / alpha))",
     lambda x, alpha: torch.maximum(x, torch.zeros_like(x)) + torch.minimum(torch.zeros_like(x), alpha * torch.expm1(x / alpha)),
     {"alpha": per_unit(0.5, 1.5)}, 1),
    ("selu", "1.0507009873554805 * where(x > 0, x, 1.6732632423543772 * expm1(x))",
     lambda x: 1.0507009873554805 * torch.where(x > 0, x, 1.6732632423543772 * torch.expm1(x)), {}, 1),
    ("logsigmoid", "-softplus(-x)", lambda x: -F.softplus(-x), {}, 1),
    ("sinc_scaled", "where(x != 0, sin(a * x) / x, a)", lambda x, a: torch.where(x != 0, torch.sin(a * x) / x, a.expand_as(x)),
     {"a": per_unit(0.5, 2)}, 1),
    ("acon_c", "(p1 - p2) * x * sigmoid(beta * (p1 - p2) * x) + p2 * x",
     lambda x, p1, p2, beta: (p1 - p2) * x * torch.sigmoid(beta * (p1 - p2) * x) + p2 * x,
     {"p1": per_unit(0.5, 1.5), "p2": per_unit(-0.5, 0.5), "beta": per_unit(0.5, 2)}, 1),
    ("smooth_abs", "sqrt(x^2 + eps)", lambda x, eps: torch.sqrt(x ** 2 + eps), {"eps": shared(0.01, 0.1)}, 1),
    ("inverse_sqrt_unit", "x * (1 + alpha * x^2) ^ (-0.5)", lambda x, alpha: x * (1 + alpha * x ** 2) ** (-0.5), {"alpha": per_unit(0.5, 2)}, 1),
    ("log_cosh", "log(cos(x * 0.3)) + log1p(x^2)", lambda x: torch.log(torch.cos(x * 0.3)) + torch.log1p(x ** 2), {}, 1),
    ("centered_swish", "x * sigmoid(beta * x) - mean(x * sigmoid(beta * x), 1, 0)",
     lambda x, beta: x * torch.sigmoid(beta * x) - torch.mean(x * torch.sigmoid(beta * x)), {"beta": shared(0.5, 2)}, 1),
    ("swish_beta'", "diff(x * sigmoid(beta * x), x)", lambda x, beta: x * torch.sigmoid(beta * x), {"beta": per_unit(0.5, 2)}, 2),
    ("scaled_tanh'", "diff(alpha * tanh(a * x), x)", lambda x, alpha, a: alpha * torch.tanh(a * x),
     {"alpha": shared(0.5, 2), "a": per_unit(0.5, 2)}, 2),
    ("seed'", "diff(p1 * sigmoid(p2 * x + b1) + b2, x)", lambda x, p1, p2, b1, b2: p1 * torch.sigmoid(p2 * x + b1) + b2,
     {"p1": per_unit(0.5, 1.5), "p2": per_unit(0.5, 1.5), "b1": per_unit(-0.5, 0.5), "b2": per_unit(-0.5, 0.5)}, 2),
    ("mish'", "diff(x * tanh(softplus(x)), x)", lambda x: x * torch.tanh(F.softplus(x)), {}, 2),
    ("snake'", "diff(x + sin(a * x)^2 / a, x)", lambda x, a: x + torch.sin(a * x) ** 2 / a, {"a": per_unit(0.5, 2)}, 2),
]


def uniform(shape, lo, hi):
    return (lo + (hi - lo) * torch.rand(shape, dtype=torch.float64)).requires_grad_(True)


def tensor_json(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def main():
    cases = []
    for name, expr, fn, specs, order in CASES:
        x = uniform((B, U), -3, 3)
        params = {}
        for pname, (policy, lo, hi) in specs.items():
            params[pname] = uniform((U,) if policy == "unit" else (), lo, hi)
        inputs = [x] + list(params.values())
        y = fn(x, **params)
        if order == 2:
            (y,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        g = torch.randn(y.shape, dtype=torch.float64)
        grads = torch.autograd.grad(y, inputs, grad_outputs=g, allow_unused=True)
        names = ["x"] + list(params)
        request = {
            "expr": expr,
            "dtype": "float64",
            "values": {n: tensor_json(t) for n, t in zip(names, inputs)},
            "grad_output": tensor_json(g),
            "wrt": names,
        }
        expected = {
            "output": tensor_json(y),
            "grads": {n: tensor_json(d if d is not None else torch.zeros_like(t)) for n, t, d in zip(names, inputs, grads)},
        }
        cases.append({"name": name, "request": request, "expected": expected})
    print(json.dumps({"generator": f"tests/reference/torch_eval.py, torch {torch.__version__}", "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
