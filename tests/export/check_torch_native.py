#!/usr/bin/env python3
"""The torch export with --native (fused kernels called through ctypes) against PyTorch itself.

For swish_beta, the seed activation, PAU (5,4), PReLU, Snake and GELU (tanh), with per-unit parameters on [B, U]
and per-channel ones on [B, C, H, W] (shared ones on both), in float32 and float64:
  - the output, the first derivatives (input and every parameter) and the second derivatives (the gradient of
    <first derivatives, v>) equal those of the same activation composed in eager PyTorch, and the kernels served
    every call (native_status());
  - gradcheck and gradgradcheck pass on the native Function; forward-mode AD (dual numbers) gives the tangent
    torch.autograd.functional.jvp gives on the composition;
  - a module trained for a few steps learns what the pure-torch export learns.
Then the fallbacks (a non-contiguous input, another dtype, another device, no compiler, a compiler that fails,
SYMGRAD_JIT=0, torch.jit.script: the pure-torch Function runs, with one warning, and gives the same numbers) and the
cache's failure modes (an unwritable cache, a damaged entry, a foreign entry).
Exit status 0 when all pass, 1 with a report otherwise, 77 (CTest: skipped) when torch is not installed.

  python3 tests/export/check_torch_native.py build/release/symgrad /tmp/native_check
"""
import glob
import hashlib
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import traceback
import warnings

try:
    import torch
    import torch.autograd.forward_ad as fwAD
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed: skipped (Debian: apt-get install python3-torch)")
    sys.exit(77)

torch.manual_seed(20261204)
UNIT = (0.5, 1.5)
PAU = ["a0", "a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4"]


def pau(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4):
    return (a0 + a1 * x + a2 * x ** 2 + a3 * x ** 3 + a4 * x ** 4 + a5 * x ** 5) / (
        1 + torch.abs(b1 * x + b2 * x ** 2 + b3 * x ** 3 + b4 * x ** 4))


# name, expression, {parameter: (policy, initial value, range of the random values)}, torch composition
CASES = [
    ("SwishBeta", "x * sigmoid(beta * x)", {"beta": ("per-unit", 1.0, UNIT)}, lambda x, beta: x * torch.sigmoid(beta * x)),
    ("Seed", "p1 * sigmoid(p2 * x + b1) + b2",
     {"p1": ("per-unit", 1.0, UNIT), "p2": ("per-unit", 1.0, UNIT), "b1": ("per-unit", 0.0, (-0.5, 0.5)),
      "b2": ("per-unit", 0.0, (-0.5, 0.5))},
     lambda x, p1, p2, b1, b2: p1 * torch.sigmoid(p2 * x + b1) + b2),
    ("PAU", "pau(x, 5, 4, " + ", ".join(PAU) + ")", {p: ("shared", 0.0, (-0.8, 0.8)) for p in PAU}, pau),
    ("PReLU", "prelu(x, a)", {"a": ("per-unit", 0.25, (0.05, 0.4))}, lambda x, a: torch.where(x > 0, x, a * x)),
    ("Snake", "snake(x, a)", {"a": ("per-unit", 1.0, UNIT)}, lambda x, a: x + torch.sin(a * x) ** 2 / a),
    ("GELUTanh", "gelu_tanh(x)", {}, lambda x: F.gelu(x, approximate="tanh")),
]
SHAPES = {"per-unit": (6, 5), "per-channel": (3, 5, 4, 2)}
UNITS = 5
# Relative and absolute tolerances against the composition (different operations, so different rounding).
TOLERANCE = {torch.float64: (1e-9, 1e-11), torch.float32: (2e-4, 2e-5)}


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export(symgrad, workdir, name, expression, params, native=True, suffix=""):
    path = os.path.join(workdir, f"{name.lower()}{suffix}{'_native' if native else ''}.py")
    command = [symgrad, "export", expression, "--to", "torch", "--name", name, "-o", path] + (["--native"] if native else [])
    for p, (policy, init, _) in params.items():
        command += ["--param", f"{p}={policy}:{init}"]
    subprocess.run(command, check=True)
    return path


def close(a, b, what, failures, dtype=torch.float64):
    a = torch.zeros(()) if a is None else a
    b = torch.zeros(()) if b is None else b
    if a.shape != b.shape and a.numel() != 1 and b.numel() != 1:
        failures.append(f"{what}: shape {list(a.shape)} != {list(b.shape)}")
        return
    rtol, atol = TOLERANCE[dtype]
    scale = max(1.0, b.double().abs().max().item()) if b.numel() else 1.0
    if not torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol * scale, equal_nan=True):
        worst = (a.double() - b.double()).abs().max().item()
        failures.append(f"{what}: differs by up to {worst:.3e}")


def per_channel(params):
    return {p: ("per-channel" if policy == "per-unit" else policy, init, r) for p, (policy, init, r) in params.items()}


def check_values(path, name, params, reference, dtype, failures):
    """Output, first and second derivatives against the composition; the kernels served every call."""
    module = load(path, f"{name.lower()}_{str(dtype)[6:]}_{os.path.basename(path)[:-3]}")
    policies = {policy for policy, _, _ in params.values()}
    shapes = [SHAPES["per-channel"]] if "per-channel" in policies else [SHAPES["per-unit"]]
    if policies <= {"shared"}:
        shapes = [SHAPES["per-unit"], SHAPES["per-channel"]]
    for shape in shapes:
        m = module.__dict__[name](UNITS) if "units" in module.__dict__[name].__init__.__code__.co_varnames else module.__dict__[name]()
        m = m.to(dtype)
        with torch.no_grad():
            for p, (_, _, (lo, hi)) in params.items():
                getattr(m, p).uniform_(lo, hi)
        x = (2 * torch.randn(shape, dtype=dtype)).requires_grad_()
        ps = [getattr(m, p) for p in params]
        where = f"{name} {str(dtype)[6:]} on {list(shape)}"

        def composed():
            return reference(x, **{p: (t.reshape([-1] + [1] * (x.dim() - 2)) if params[p][0] == "per-channel" else t)
                                   for p, t in zip(params, ps)})

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback here
            y = m(x)
            y_ref = composed()
            close(y, y_ref, f"{where}: y", failures, dtype)
            g = torch.randn_like(y)
            inputs = [x] + ps
            first = torch.autograd.grad(y, inputs, g, create_graph=True)
            first_ref = torch.autograd.grad(y_ref, inputs, g, create_graph=True)
            names = ["x"] + list(params)
            for t, a, b in zip(names, first, first_ref):
                close(a, b, f"{where}: d/d{t}", failures, dtype)
            plain = torch.autograd.grad(m(x), inputs, g)  # the backward's own kernel (no create_graph)
            for t, a, b in zip(names, plain, first_ref):
                close(a, b, f"{where}: d/d{t} without create_graph", failures, dtype)
            vs = [torch.randn_like(a) for a in first]
            s = sum((a * v).sum() for a, v in zip(first, vs))
            s_ref = sum((a * v).sum() for a, v in zip(first_ref, vs))
            second = torch.autograd.grad(s, inputs, allow_unused=True, retain_graph=True)
            second_ref = (torch.autograd.grad(s_ref, inputs, allow_unused=True, retain_graph=True) if s_ref.requires_grad
                          else [None] * len(inputs))
            for t, a, b in zip(names, second, second_ref):
                close(a, b, f"{where}: second derivative, d/d{t} of <first, v>", failures, dtype)
            # gradients of the second derivatives (create_graph twice): the backward's backward in torch operations
            third = torch.autograd.grad(s, [x], create_graph=True)[0]
            third_ref = torch.autograd.grad(s_ref, [x], create_graph=True, allow_unused=True)[0] if s_ref.requires_grad else None
            if third.requires_grad and third_ref is not None and third_ref.requires_grad:
                close(torch.autograd.grad(third.sum(), [x])[0], torch.autograd.grad(third_ref.sum(), [x])[0],
                      f"{where}: third derivative", failures, dtype)
            # forward mode: dual numbers through the native Function
            tangents = [torch.randn_like(t) for t in inputs]
            with fwAD.dual_level():
                duals = [fwAD.make_dual(t.detach(), v) for t, v in zip(inputs, tangents)]
                out = module.apply(duals[0], *[(d.reshape([-1] + [1] * (x.dim() - 2)) if params[p][0] == "per-channel" else d)
                                              for p, d in zip(params, duals[1:])])
                tangent = fwAD.unpack_dual(out).tangent

            def composed_of(xx, *pp):
                return reference(xx, **{p: (t.reshape([-1] + [1] * (xx.dim() - 2)) if params[p][0] == "per-channel" else t)
                                        for p, t in zip(params, pp)})

            _, tangent_ref = torch.autograd.functional.jvp(composed_of, tuple(t.detach() for t in inputs), tuple(tangents))
            close(tangent, tangent_ref, f"{where}: forward-mode tangent", failures, dtype)
    status = module.native_status()
    if status["fallback"] != 0 or status["native"] == 0:
        failures.append(f"{name} {dtype}: the kernels did not serve every call: {status}")
    return module


def check_function(module, name, params, failures):
    """gradcheck and gradgradcheck on the native Function, in float64, parameters as the module passes them."""
    x = torch.randn(4, UNITS, dtype=torch.float64, requires_grad=True)
    args = [x]
    for p, (policy, _, (lo, hi)) in params.items():
        shape = (UNITS,) if policy in ("per-unit", "per-channel") else ()
        args.append(torch.empty(shape, dtype=torch.float64).uniform_(lo, hi).requires_grad_())
    function = getattr(module, name + "NativeFunction")
    if not torch.autograd.gradcheck(function.apply, args, raise_exception=False, check_forward_ad=True):
        failures.append(f"{name}: gradcheck (with forward AD) fails")
    if not torch.autograd.gradgradcheck(function.apply, args, raise_exception=False):
        failures.append(f"{name}: gradgradcheck fails")


def check_training(symgrad, workdir, failures):
    """A few SGD steps of a small network with the activation: the native module learns what the pure-torch one does."""
    name, expression, params, _ = CASES[1]  # the seed activation, four per-unit parameters
    results = []
    for native in (True, False):
        module = load(export(symgrad, workdir, name, expression, params, native, "_train"), f"train_{native}")
        torch.manual_seed(7)
        net = torch.nn.Sequential(torch.nn.Linear(3, 16), module.Seed(16), torch.nn.Linear(16, 1)).double()
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        data = torch.randn(64, 3, dtype=torch.float64)
        target = torch.sin(data.sum(1, keepdim=True))
        losses = []
        for _ in range(20):
            opt.zero_grad()
            loss = ((net(data) - target) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        results.append((losses, [p.detach().clone() for p in net.parameters()]))
    (native_losses, native_params), (torch_losses, torch_params) = results
    if not native_losses[-1] < native_losses[0]:
        failures.append(f"training: the loss did not fall ({native_losses[0]:.4f} -> {native_losses[-1]:.4f})")
    for a, b in zip(native_losses, torch_losses):
        if not math.isclose(a, b, rel_tol=1e-9):
            failures.append(f"training: losses differ ({a!r} native, {b!r} pure torch)")
            break
    for a, b in zip(native_params, torch_params):
        close(a, b, "training: parameters after 20 steps", failures)


def check_threads(symgrad, workdir, failures):
    """torch.get_num_threads() threads: the same outputs as one thread, and the parameters' sums to rounding; on
    tensors large enough for every layout: runs along a row of units (repeated when short), runs of one channel's
    positions, and a channel's few positions spread into a row (and repeated)."""
    name, expression, params, reference = CASES[1]
    for params_, shape in ((params, (512, 192)), (per_channel(params), (4, 12, 48, 40)), (per_channel(params), (64, 12, 4, 8)),
                           (per_channel(params), (1024, 4, 2, 4))):
        path = export(symgrad, workdir, name, expression, params_, True, "_threads" + str(len(shape)))
        module = load(path, f"threads_{'_'.join(map(str, shape))}")
        m = module.Seed(shape[1] if len(shape) == 4 else shape[-1])
        with torch.no_grad():
            for p in m.parameters():
                p.uniform_(0.5, 1.5)
        x = torch.randn(shape, requires_grad=True)
        g = torch.randn(shape)
        results = []
        threads = torch.get_num_threads()
        for count in (1, 3):
            torch.set_num_threads(count)
            y = m(x)
            results.append([y] + list(torch.autograd.grad(y, [x] + list(m.parameters()), g)))
        torch.set_num_threads(threads)
        where = f"threads on {list(shape)}"
        for k, (a, b) in enumerate(zip(*results)):
            if k < 2 and not torch.equal(a, b):
                failures.append(f"{where}: {'y' if k == 0 else 'dx'} differs between 1 and 3 threads")
            close(a, b, f"{where}: output {k}, 1 against 3 threads", failures, torch.float32)
        ps = [p.reshape([-1] + [1] * (x.dim() - 2)) if len(shape) == 4 else p for p in m.parameters()]
        y_ref = reference(x, *ps)
        close(results[1][0], y_ref, f"{where}: y", failures, torch.float32)
        for k, (a, b) in enumerate(zip(results[1][1:], torch.autograd.grad(y_ref, [x] + list(m.parameters()), g))):
            close(a, b, f"{where}: gradient {k}", failures, torch.float32)


def check_shapes(symgrad, workdir, failures):
    """A mix of policies on [B, T, U]: per unit, a fixed [T, U] shape, shared; the parameters broadcast along several
    axes; forward mode with a tangent on x only; and the native Function called directly with what it cannot take."""
    params = {"beta": ("per-unit", 1.0, UNIT), "w": ("[4,5]", 0.5, (-1.0, 1.0)), "c": ("shared", 0.1, (-0.5, 0.5))}
    path = export(symgrad, workdir, "Mix", "x * sigmoid(beta * x) + w * x^2 + c", params, True, "_shapes")
    module = load(path, "shapes")
    m = module.Mix(5).double()
    with torch.no_grad():
        for p, (_, _, (lo, hi)) in params.items():
            getattr(m, p).uniform_(lo, hi)
    for shape in ((3, 4, 5), (2, 3, 4, 5)):
        x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
        where = f"Mix on {list(shape)}"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = m(x)
        y_ref = x * torch.sigmoid(m.beta * x) + m.w * x ** 2 + m.c
        close(y, y_ref, f"{where}: y", failures)
        g = torch.randn_like(y)
        inputs = [x, m.beta, m.w, m.c]
        for name, a, b in zip(["x", "beta", "w", "c"], torch.autograd.grad(y, inputs, g), torch.autograd.grad(y_ref, inputs, g)):
            close(a, b, f"{where}: d/d{name}", failures)
        tangent = torch.randn_like(x)
        with fwAD.dual_level():
            out = module.apply(fwAD.make_dual(x.detach(), tangent), m.beta.detach(), m.w.detach(), m.c.detach())
            got = fwAD.unpack_dual(out).tangent
        _, want = torch.autograd.functional.jvp(lambda t: t * torch.sigmoid(m.beta * t) + m.w * t ** 2 + m.c, x.detach(), tangent)
        close(got, want, f"{where}: forward-mode tangent of x alone", failures)
    if module.native_status()["fallback"] != 0:
        failures.append(f"Mix: a call fell back: {module.native_status()}")
    # the native Function itself, given what only the pure-torch one takes: an error that says so, never a crash
    function = module.MixNativeFunction.apply
    ps = (m.beta.detach(), m.w.detach(), m.c.detach())
    for what, x in (("non-contiguous", torch.randn(5, 4, 3, dtype=torch.float64).permute(2, 1, 0)),
                    ("expanded", torch.randn(1, 4, 5, dtype=torch.float64).expand(1000, 4, 5)),
                    ("float16", torch.randn(3, 4, 5).half()), ("int64", torch.ones(3, 4, 5, dtype=torch.int64))):
        try:
            function(x, *ps)
            failures.append(f"MixNativeFunction on a {what} input: no error")
        except ValueError as error:
            if "MixNativeFunction cannot take" not in str(error):
                failures.append(f"MixNativeFunction on a {what} input: {error}")
    empty = torch.zeros(0, 4, 5, dtype=torch.float64, requires_grad=True)
    y = function(empty, *ps)
    if y.shape != empty.shape:
        failures.append(f"MixNativeFunction on an empty input: shape {list(y.shape)}")


def check_isas(symgrad, workdir, failures):
    """The kernel sets other CPUs get (SYMGRAD_ISA, as the engine): the same outputs, bit for bit, and a set this CPU
    cannot run or an unknown one is a fallback with the reason."""
    name, expression, params, _ = CASES[1]
    path = export(symgrad, workdir, name, expression, params, True, "_isas")
    x = torch.randn(64, UNITS, dtype=torch.float32, requires_grad=True)
    g = torch.randn(64, UNITS)
    with open("/proc/cpuinfo") as info:
        flags = next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    sets = ["generic"] + (["avx2"] if {"avx2", "fma", "bmi1", "bmi2"} <= set(flags) else [])
    sets += ["avx512"] if "avx2" in sets and {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"} <= set(flags) else []
    results = {}
    saved = os.environ.get("SYMGRAD_ISA")
    try:
        for isa in sets + ["avx512" if "avx512" not in sets else "sse9", "sse9"]:
            os.environ["SYMGRAD_ISA"] = isa
            module = load(path, f"isas_{isa}")
            m = module.Seed(UNITS)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                y = m(x)
                grads = torch.autograd.grad(y, [x] + list(m.parameters()), g)
            if isa in sets:
                if module.native_status()["native"] != 1 or caught:
                    failures.append(f"SYMGRAD_ISA={isa}: {module.native_status()}, {[str(w.message) for w in caught]}")
                results[isa] = [y.detach()] + list(grads)
            elif module.native_status()["fallback"] != 1 or not any(f"SYMGRAD_ISA={isa}" in str(w.message) for w in caught):
                failures.append(f"SYMGRAD_ISA={isa} (not this CPU's): expected a fallback with the reason, got "
                                f"{module.native_status()}, {[str(w.message) for w in caught]}")
    finally:
        if saved is None:
            os.environ.pop("SYMGRAD_ISA", None)
        else:
            os.environ["SYMGRAD_ISA"] = saved
    for isa, values in results.items():
        for k, (a, b) in enumerate(zip(values[:2], results["generic"][:2])):
            if not torch.equal(a, b):
                failures.append(f"SYMGRAD_ISA={isa}: {'y' if k == 0 else 'dx'} differs from the generic set's")
        for a, b in zip(values[2:], results["generic"][2:]):
            close(a, b, f"SYMGRAD_ISA={isa}: parameter gradient against the generic set's", failures, torch.float32)


def check_loads(symgrad, workdir, failures):
    """A module loaded again and again in one process reuses the loaded kernels: no descriptor, no mapping more."""
    name, expression, params, _ = CASES[0]
    path = export(symgrad, workdir, name, expression, params, True, "_loads")
    x = torch.randn(6, UNITS)
    load(path, "loads_first").SwishBeta(UNITS)(x)
    before = len(os.listdir("/proc/self/fd"))
    for k in range(30):
        module = load(path, f"loads_{k}")
        module.SwishBeta(UNITS)(x)
        if module.native_status()["native"] != 1:
            failures.append(f"loads: load {k} did not run natively: {module.native_status()}")
            break
    after = len(os.listdir("/proc/self/fd"))
    if after > before + 2:
        failures.append(f"loads: 30 loads of the module opened {after - before} descriptors")


def fallback_calls(module, name, x, params, expect_warning, what, failures, fresh_warnings=True):
    """Calls the module twice on x; the pure-torch Function must serve both, with one warning, and give its numbers."""
    m = module.__dict__[name](UNITS).to(x.dtype).to(x.device)
    before = module.native_status()["fallback"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y1 = m(x)
        y2 = m(x)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    if module.native_status()["fallback"] != before + 2:
        failures.append(f"fallback {what}: the pure-torch Function did not serve ({module.native_status()})")
    if len(messages) != 1 or expect_warning not in messages[0]:
        failures.append(f"fallback {what}: expected one warning with '{expect_warning}', got {messages}")
    if x.device.type == "cpu":
        reference = getattr(module, name + "Function").apply(x, m.beta)
        close(y1, reference, f"fallback {what}: y", failures, torch.float64)
        close(y2, reference, f"fallback {what}: y (second call)", failures, torch.float64)


def check_fallbacks(symgrad, workdir, failures):
    name, expression, params, _ = CASES[0]
    path = export(symgrad, workdir, name, expression, params, True, "_fallback")
    x = torch.randn(UNITS, 6, dtype=torch.float64).t()  # [6, 5], not contiguous
    fallback_calls(load(path, "fb_noncontig"), name, x, params, "non-contiguous", "non-contiguous input", failures)
    fallback_calls(load(path, "fb_bf16"), name, torch.randn(6, UNITS).to(torch.bfloat16), params, "bfloat16", "bfloat16", failures)
    fallback_calls(load(path, "fb_meta"), name, torch.randn(6, UNITS, device="meta"), params, "a meta tensor", "another device",
                   failures)
    for variable, value, expect in (("SYMGRAD_CXX", "/nonexistent/c++", "no C++ compiler"),
                                    ("SYMGRAD_CXX", "false", "the compile of the native kernels failed"),
                                    ("SYMGRAD_CXX", "true", "wrote no object"),
                                    ("SYMGRAD_JIT", "0", "SYMGRAD_JIT=0")):
        saved = os.environ.get(variable)
        os.environ[variable] = value
        try:
            module = load(path, f"fb_{variable}_{len(value)}")
            fallback_calls(module, name, torch.randn(6, UNITS, dtype=torch.float64), params, expect, f"{variable}={value}", failures)
            # the backward too: the same gradients as the pure-torch Function
            m = module.SwishBeta(UNITS).double()
            x = torch.randn(6, UNITS, dtype=torch.float64, requires_grad=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = torch.autograd.grad(m(x).sum(), [x, m.beta])
            want = torch.autograd.grad(module.SwishBetaFunction.apply(x, m.beta).sum(), [x, m.beta])
            for a, b in zip(got, want):
                close(a, b, f"fallback {variable}={value}: gradient", failures)
        finally:
            if saved is None:
                del os.environ[variable]
            else:
                os.environ[variable] = saved
    failed = glob.glob(os.path.join(os.environ["SYMGRAD_CACHE_DIR"], "symgrad-failed-*.cpp"))
    if not failed:
        failures.append("a failed compile kept no source (symgrad-failed-*.cpp) to report")
    for f in failed:
        os.unlink(f)
    # torch.jit.script: TorchScript runs the forward expression, with a warning
    module = load(path, "fb_script")
    x = torch.randn(6, UNITS, dtype=torch.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scripted = torch.jit.script(module.SwishBeta(UNITS).double())
        y = scripted(x)
        scripted(x)
    scripting = [str(w.message) for w in caught if "torch.jit.script" in str(w.message)]
    if len(scripting) != 1:
        failures.append(f"torch.jit.script: expected one warning, got {[str(w.message) for w in caught]}")
    close(y, x * torch.sigmoid(x), "torch.jit.script: y", failures)


def check_cache(symgrad, workdir, failures):
    name, expression, params, _ = CASES[0]
    path = export(symgrad, workdir, name, expression, params, True, "_cache")
    cache = os.path.join(workdir, "cache_modes")
    shutil.rmtree(cache, ignore_errors=True)
    saved = os.environ["SYMGRAD_CACHE_DIR"]
    os.environ["SYMGRAD_CACHE_DIR"] = cache
    try:
        def fresh(tag):
            """A new process loads the module and calls it once: its native_status() and warnings."""
            code = ("import importlib.util, json, sys, warnings\nimport torch\n"
                    f"spec = importlib.util.spec_from_file_location('m', {path!r})\n"
                    "module = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(module)\n"
                    "x = torch.linspace(-3, 3, 30, dtype=torch.float64).reshape(6, 5)\n"
                    "with warnings.catch_warnings(record=True) as caught:\n"
                    "    warnings.simplefilter('always')\n"
                    "    y = module.SwishBeta(5).double()(x)\n"
                    "error = (y - x * torch.sigmoid(x)).abs().max().item()\n"
                    "print(json.dumps([module.native_status(), [str(w.message) for w in caught], error]))\n")
            run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"cache {tag}: the process failed: {run.stderr[-2000:]}")
                return {"compiled": -1, "from_cache": -1, "native": -1}, []
            status, messages, error = json.loads(run.stdout)
            if error > 1e-15:
                failures.append(f"cache {tag}: y differs by {error}")
            return status, messages

        status, messages = fresh("first")
        entries = glob.glob(os.path.join(cache, "*.kernel"))
        if status["compiled"] != 1 or len(entries) != 1 or messages:
            failures.append(f"cache: the first use should compile once and store one entry: {status}, {entries}, {messages}")
        status, _ = fresh("warm")
        if status["from_cache"] != 1 or status["compiled"] != 0:
            failures.append(f"cache: the second module should load from the cache: {status}")
        if entries:
            data = open(entries[0], "rb").read()
            with open(entries[0], "wb") as f:  # damaged: a byte of the object flipped
                f.write(data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:])
            status, _ = fresh("damaged")
            if status["compiled"] != 1 or status["from_cache"] != 0:
                failures.append(f"cache: a damaged entry must be compiled again, not loaded: {status}")
            status, _ = fresh("repaired")
            if status["from_cache"] != 1:
                failures.append(f"cache: the damaged entry was not replaced by a whole one: {status}")
            data = open(entries[0], "rb").read()
            with open(entries[0], "wb") as f:  # foreign: another key under this name
                f.write(data.replace(b"symgrad-torch ", b"symgrad-torcH ", 1))
            status, _ = fresh("foreign")
            if status["compiled"] != 1:
                failures.append(f"cache: an entry with another key must not be loaded: {status}")
            with open(entries[0], "wb") as f:  # truncated
                f.write(data[: len(data) // 2])
            status, _ = fresh("truncated")
            if status["compiled"] != 1:
                failures.append(f"cache: a truncated entry must not be loaded: {status}")
            # whole, with its key and a right checksum, but an object that does not load: compiled again, replaced
            data = open(entries[0], "rb").read()
            magic_end = data.index(b"\n") + 1
            header_end = data.index(b"\n", magic_end) + 1
            key_size = int(data[magic_end:header_end].split(b" ")[0])
            bogus = b"not a shared object"
            header = f"{key_size} {len(bogus)} {hashlib.sha256(bogus).hexdigest()}\n".encode()
            with open(entries[0], "wb") as f:
                f.write(data[:magic_end] + header + data[header_end:header_end + key_size] + bogus)
            status, messages = fresh("unloadable")
            if status["compiled"] != 1 or status["native"] != 1 or messages:
                failures.append(f"cache: an entry whose object does not load must be compiled again: {status}, {messages}")
            status, _ = fresh("after unloadable")
            if status["from_cache"] != 1:
                failures.append(f"cache: the entry that did not load was not replaced: {status}")
        if glob.glob(os.path.join(cache, "symgrad-tmp-*")):
            failures.append(f"cache: temporaries left behind: {glob.glob(os.path.join(cache, 'symgrad-tmp-*'))}")
        # unwritable: the cache directory cannot be made (a file where its parent should be)
        blocker = os.path.join(workdir, "not_a_directory")
        open(blocker, "w").close()
        os.environ["SYMGRAD_CACHE_DIR"] = os.path.join(blocker, "cache")
        status, messages = fresh("unwritable")
        if status["compiled"] != 1 or status["native"] != 1 or len(messages) != 1 or "not writable" not in messages[0]:
            failures.append(f"cache: an unwritable cache should still compile and serve, with one warning: {status}, {messages}")
    finally:
        os.environ["SYMGRAD_CACHE_DIR"] = saved


def main():
    symgrad, workdir = sys.argv[1], sys.argv[2]
    os.makedirs(workdir, exist_ok=True)
    os.environ["SYMGRAD_CACHE_DIR"] = os.path.join(workdir, "cache")
    failures = []
    cases = list(CASES)
    for name, expression, params, reference in CASES:
        if any(policy == "per-unit" for policy, _, _ in params.values()):
            cases.append((name + "PerChannel", expression, per_channel(params), reference))
    for name, expression, params, reference in cases:
        found = []
        try:
            path = export(symgrad, workdir, name, expression, params)
            for dtype in (torch.float64, torch.float32):
                module = check_values(path, name, params, reference, dtype, found)
            check_function(module, name, params, found)
        except Exception:  # a file that does not import or run is a failure to report, not a crash
            found.append(f"{name}: {traceback.format_exc()}")
        print(f"{'FAIL' if found else 'ok  '} {name:<18} {expression}", flush=True)
        failures += found
    checks = (("shapes", check_shapes), ("threads", check_threads), ("instruction sets", check_isas), ("training", check_training), ("loads", check_loads),
              ("fallbacks", check_fallbacks), ("cache", check_cache))
    for title, check in checks:
        found = []
        try:
            check(symgrad, workdir, found)
        except Exception:
            found.append(f"{title}: {traceback.format_exc()}")
        print(f"{'FAIL' if found else 'ok  '} {title}", flush=True)
        failures += found
    for f in failures:
        print("  " + f)
    print(f"{len(cases)} activations and policies, {len(checks)} more checks, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
