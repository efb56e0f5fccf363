#!/usr/bin/env python3
"""symgrad's forward mode, gradient overrides and anomaly mode against PyTorch's own (issue 17).

Every case goes through `symgrad eval` (float64) and through hand-written PyTorch on the same values:
  forward mode     "tangents" -> "tangent_output"  vs  torch.autograd.forward_ad (dual numbers), also
                   forward-over-reverse (jvp of diff(e, x)) vs forward_ad over autograd.grad(create_graph=True)
  overrides        stop_gradient / custom_grad gradients  vs  .detach() and a custom autograd.Function
  anomaly mode     eval --detect-anomaly (exit 3, JSON)  vs  torch.autograd.detect_anomaly(): both stop on the
                   traps, neither on a finite case; where they differ (symgrad also stops at an infinity and in
                   the forward pass, names the rule where PyTorch names the backward function, and where()'s
                   gradient has no NaN to find) the difference is asserted, as docs/semantics.md describes it.
Exit 0 when all agree, 1 with a report, 77 (CTest: skipped) without torch.

  python3 tests/export/check_torch_autodiff.py build/release/symgrad
"""
import json
import math
import subprocess
import sys
import warnings

try:
    import torch
    import torch.autograd.forward_ad as fwAD
except ImportError:
    print("torch is not installed: skipped (Debian: apt-get install python3-torch)")
    sys.exit(77)

torch.set_default_dtype(torch.float64)
SYMGRAD = sys.argv[1]
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def symgrad_eval(request, *options):
    """(exit status, the JSON answer, stderr) of `symgrad eval [options] -`."""
    done = subprocess.run([SYMGRAD, "eval", *options, "-"], input=json.dumps(request), capture_output=True, text=True,
                          timeout=60)
    try:
        answer = json.loads(done.stdout) if done.stdout.strip() else None
    except json.JSONDecodeError:
        answer = None
    return done.returncode, answer, done.stderr


def tensor_json(t):
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def as_tensor(j):
    return torch.tensor(j["data"], dtype=torch.float64).reshape(j["shape"])


def close(a, b, tol=1e-12):
    """Equal within tol relative to the larger magnitude (NaN equals NaN)."""
    if a.shape != b.shape:
        return False
    both_nan = torch.isnan(a) & torch.isnan(b)
    scale = torch.maximum(a.abs(), b.abs()).clamp(min=1.0)
    return bool((both_nan | ((a - b).abs() <= tol * scale)).all())


gen = torch.Generator().manual_seed(17)


def randn(*shape):
    return torch.randn(tuple(shape), generator=gen)


class Spike(torch.autograd.Function):
    """The spiking networks' surrogate as PyTorch users write it: the step forward, sigmoid(4x)'s derivative back."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(4 * x)
        return grad * 4 * s * (1 - s)


# (symgrad expression, PyTorch function of the same variables by name, {name: shape})
ELEMENTWISE = [
    ("x * sigmoid(beta * x)", lambda v: v["x"] * torch.sigmoid(v["beta"] * v["x"]), {"x": [2, 5], "beta": [5]}),
    ("0.5 * x * (1 + erf(x / sqrt(2)))", lambda v: 0.5 * v["x"] * (1 + torch.erf(v["x"] / math.sqrt(2))), {"x": [7]}),
    ("x + sin(a * x)^2 / a", lambda v: v["x"] + torch.sin(v["a"] * v["x"]) ** 2 / v["a"], {"x": [3, 4], "a": [4]}),
    ("(1 + 2 * x + 0.5 * x^2) / (1 + abs(b * x))", lambda v: (1 + 2 * v["x"] + 0.5 * v["x"] ** 2) / (1 + (v["b"] * v["x"]).abs()),
     {"x": [6], "b": []}),
    ("where(x > 0, x, alpha * (exp(x) - 1))",
     lambda v: torch.where(v["x"] > 0, v["x"], v["alpha"] * (torch.exp(v["x"]) - 1)), {"x": [8], "alpha": []}),
    ("x * tanh(softplus(x))", lambda v: v["x"] * torch.tanh(torch.nn.functional.softplus(v["x"])), {"x": [8]}),
    ("sum(x * w, 1)", lambda v: (v["x"] * v["w"]).sum(1), {"x": [3, 4], "w": [4]}),
    ("log_softmax(x)", lambda v: torch.log_softmax(v["x"], -1), {"x": [2, 5]}),
    # gradient overrides: detach() is stop_gradient; its tangent is zero in both
    ("stop_gradient(x * x) * x", lambda v: (v["x"] * v["x"]).detach() * v["x"], {"x": [6]}),
    ("custom_grad(round(x), x) * x", lambda v: (v["x"] + (torch.round(v["x"]) - v["x"]).detach()) * v["x"], {"x": [6]}),
]


def values_for(shapes, scale=1.5):
    v = {name: scale * randn(*shape) for name, shape in shapes.items()}
    if "a" in v:
        v["a"] = v["a"].abs() + 0.25  # Snake's frequency, away from its 0 / 0
    return v


def forward_mode():
    for expr, f, shapes in ELEMENTWISE:
        v = values_for(shapes)
        t = {name: randn(*shape) for name, shape in shapes.items()}
        rc, answer, err = symgrad_eval({"expr": expr, "dtype": "float64", "values": {k: tensor_json(x) for k, x in v.items()},
                                        "tangents": {k: tensor_json(x) for k, x in t.items()}})
        if rc != 0 or answer is None:
            check(False, f"forward mode: {expr}: symgrad eval failed: {err.strip()}")
            continue
        with fwAD.dual_level():
            y = f({k: fwAD.make_dual(v[k], t[k]) for k in v})
            value, tangent = fwAD.unpack_dual(y)
        check(close(as_tensor(answer["output"]), value), f"forward mode: {expr}: value == PyTorch's")
        check(close(as_tensor(answer["tangent_output"]), tangent),
              f"forward mode: {expr}: tangent_output == torch.autograd.forward_ad's tangent")


def forward_over_reverse():
    """jvp(diff(e, x), ...) against dual numbers through autograd.grad(create_graph=True): a Hessian-vector product."""
    for expr, f, shapes in ELEMENTWISE[:6]:
        v = values_for(shapes)
        t = {name: randn(*shape) for name, shape in shapes.items()}
        rc, answer, err = symgrad_eval({"expr": f"diff({expr}, x)", "dtype": "float64",
                                        "values": {k: tensor_json(x) for k, x in v.items()},
                                        "tangents": {k: tensor_json(x) for k, x in t.items()}})
        if rc != 0 or answer is None:
            check(False, f"forward over reverse: {expr}: symgrad eval failed: {err.strip()}")
            continue
        with fwAD.dual_level():
            duals = {k: fwAD.make_dual(v[k], t[k]) for k in v}
            x = duals["x"].requires_grad_()
            (g,) = torch.autograd.grad(f({**duals, "x": x}).sum(), x, create_graph=True)
            value, tangent = fwAD.unpack_dual(g)
        check(close(as_tensor(answer["output"]), value.detach()) and close(as_tensor(answer["tangent_output"]), tangent.detach()),
              f"forward over reverse: diff({expr}, x) and its tangent == forward_ad over autograd.grad")


# (symgrad expression, PyTorch function of x, the values of x): gradients of sum(e) with respect to x
OVERRIDES = [
    ("stop_gradient(x * x) * x", lambda x: (x * x).detach() * x),
    ("custom_grad(round(x), x)", lambda x: x + (torch.round(x) - x).detach()),
    ("custom_grad(round(x), x) * x", lambda x: (x + (torch.round(x) - x).detach()) * x),
    ("custom_grad(x > 0, sigmoid(4 * x))", lambda x: Spike.apply(x)),
    ("custom_grad(heaviside(x, 0.5), sigmoid(4 * x)) * x", lambda x: Spike.apply(x) * x),
]


def overrides():
    x = torch.tensor([-2.5, -1.5, -0.5, -0.2, 0.3, 0.5, 1.5, 2.7])
    for expr, f in OVERRIDES:
        rc, answer, err = symgrad_eval({"expr": expr, "dtype": "float64", "values": {"x": tensor_json(x)}, "wrt": ["x"]})
        if rc != 0 or answer is None:
            check(False, f"overrides: {expr}: symgrad eval failed: {err.strip()}")
            continue
        xt = x.clone().requires_grad_()
        y = f(xt)
        (g,) = torch.autograd.grad(y.sum(), xt)
        check(close(as_tensor(answer["output"]), y.detach()) and close(as_tensor(answer["grads"]["x"]), g),
              f"overrides: {expr}: value and gradient == PyTorch's (detach / autograd.Function)")


def torch_anomaly(f, v):
    """The backward function PyTorch's detect_anomaly names for sum(f(v)), or None when it raises nothing."""
    leaves = {k: x.clone().requires_grad_() for k, x in v.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its warnings print this script's stack
        with torch.autograd.detect_anomaly():
            try:
                y = f(leaves).sum()
                torch.autograd.grad(y, list(leaves.values()), allow_unused=True)
            except RuntimeError as e:
                message = str(e)
                # "Function 'SqrtBackward0' returned nan values in its 0th output."
                return message.split("'")[1] if "'" in message else message
    return None


# (expression, PyTorch function, values, what symgrad says: None, or (pass, rule_of or expression), what PyTorch names)
ANOMALIES = [
    # the product-mask trap: the output is NaN, but PyTorch checks only what backward functions return, and the
    # backward of (x > 0) * log(x) is 0 / x there: PyTorch finds nothing
    ("(x > 0) * log(x)", lambda v: (v["x"] > 0) * torch.log(v["x"]), {"x": [-1.0, 0.5, 2.0]}, ("forward", "log(x)"), None),
    # sqrt(-1) in the forward pass; PyTorch's first NaN is the product's backward (the adjoint times sqrt(x))
    ("x * sqrt(x)", lambda v: v["x"] * torch.sqrt(v["x"]), {"x": [-1.0, 0.5, 2.0]}, ("forward", "sqrt(x)"), "MulBackward0"),
    # sqrt at 0 inside a kink: the sqrt rule makes inf, which PyTorch does not check; the next step's inf * 0 is its NaN
    ("sqrt(x * x)", lambda v: torch.sqrt(v["x"] * v["x"]), {"x": [-1.0, 0.0, 2.0]}, ("backward", "sqrt(x * x)"), "MulBackward0"),
    # Snake at a = 0: 0 / 0 forward; PyTorch's first NaN is in the backward of the division
    ("x + sin(a * x)^2 / a", lambda v: v["x"] + torch.sin(v["a"] * v["x"]) ** 2 / v["a"],
     {"x": [-1.0, 0.5, 2.0], "a": 0.0}, ("forward", "sin(a * x) ^ 2 / a"), "DivBackward0"),
    # where() selects: symgrad's gradient of the unselected branch is exactly 0, PyTorch's is 0 * NaN
    ("where(x > 0, sqrt(x), 0)", lambda v: torch.where(v["x"] > 0, torch.sqrt(v["x"]), torch.zeros(())),
     {"x": [-1.0, 0.0, 2.0]}, None, "SqrtBackward0"),
    # nothing wrong: neither stops
    ("x * sigmoid(beta * x)", lambda v: v["x"] * torch.sigmoid(v["beta"] * v["x"]), {"x": [-3.0, 0.0, 4.0], "beta": 1.5},
     None, None),
]


def anomalies():
    for expr, f, raw, ours, theirs in ANOMALIES:
        v = {k: torch.tensor(x) for k, x in raw.items()}
        rc, answer, err = symgrad_eval({"expr": expr, "dtype": "float64", "values": {k: tensor_json(x) for k, x in v.items()},
                                        "wrt": list(v)}, "--detect-anomaly")
        named = torch_anomaly(f, v)
        check(named == theirs, f"anomaly: {expr}: torch.autograd.detect_anomaly names {named!r} (expected {theirs!r})")
        if ours is None:
            check(rc == 0 and answer is not None and "error" not in answer, f"anomaly: {expr}: symgrad finds nothing (exit {rc})")
            if theirs is not None and answer is not None and "grads" in answer:
                g = as_tensor(answer["grads"]["x"])
                check(bool(torch.isfinite(g).all()), f"anomaly: {expr}: symgrad's gradient is finite where PyTorch's has NaN")
            continue
        pass_, where = ours
        ok = rc == 3 and answer is not None and answer.get("error") == "anomaly" and answer.get("pass") == pass_
        found = answer.get("rule_of" if pass_ == "backward" else "expression") if answer else None
        check(ok and found == where, f"anomaly: {expr}: symgrad stops in the {pass_} pass at {found!r} (expected {where!r}, exit {rc})")
        if pass_ == "backward" and answer:
            check(answer.get("rule", "").startswith("d/du sqrt(u)"), f"anomaly: {expr}: symgrad names the rule: {answer.get('rule')!r}")


forward_mode()
forward_over_reverse()
overrides()
anomalies()
if failures:
    print(f"\n{len(failures)} check(s) failed")
    sys.exit(1)
print("\nall agree with PyTorch")
