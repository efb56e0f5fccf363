#!/usr/bin/env python3
"""symgrad's fused engine against PyTorch eager, side by side, on the composed activations of issue 4.

For each activation and thread count, rounds alternate between `symgrad bench --json` (its own medians) and a
PyTorch eager forward + backward timed here (the same shapes, float32, gradients of x and of every parameter,
an output gradient dy of y's shape). The figures are medians over rounds; the ratio is the median of the
per-round ratios. Run from the repository root after building the release preset:

    /usr/bin/python3 bench/compare_torch.py [--symgrad build/release/symgrad] [--rounds 5] [--threads 1 2]
                                            [--shape 4096,1024] [--json results.json]
    /usr/bin/python3 bench/compare_torch.py --mlp [--threads 1 2]    # one MLP training step (issue 5)
    /usr/bin/python3 bench/compare_torch.py --export [--threads 1 2] # symgrad's exported modules vs eager (issues 7, 16)

PyTorch is Debian's python3-torch (1.13 here). Its intra-op threads are set with torch.set_num_threads.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

# name, symgrad expression, PyTorch function of (x, params), parameter names and whether each is per-unit ([U]).
ACTIVATIONS = [
    ("swish_beta", "x * sigmoid(beta * x)",
     lambda x, p: x * torch.sigmoid(p["beta"] * x), [("beta", True)]),
    ("PAU (5,4) with x^k",
     "(a0 + a1*x + a2*x^2 + a3*x^3 + a4*x^4 + a5*x^5) / (1 + abs(b1*x + b2*x^2 + b3*x^3 + b4*x^4))",
     lambda x, p: (p["a0"] + p["a1"] * x + p["a2"] * x ** 2 + p["a3"] * x ** 3 + p["a4"] * x ** 4 + p["a5"] * x ** 5)
     / (1 + torch.abs(p["b1"] * x + p["b2"] * x ** 2 + p["b3"] * x ** 3 + p["b4"] * x ** 4)),
     [(n, False) for n in ("a0", "a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4")]),
    ("PAU (5,4)",
     "(a0 + x*(a1 + x*(a2 + x*(a3 + x*(a4 + x*a5))))) / (1 + abs(x*(b1 + x*(b2 + x*(b3 + x*b4)))))",
     lambda x, p: (p["a0"] + x * (p["a1"] + x * (p["a2"] + x * (p["a3"] + x * (p["a4"] + x * p["a5"])))))
     / (1 + torch.abs(x * (p["b1"] + x * (p["b2"] + x * (p["b3"] + x * p["b4"]))))),
     [(n, False) for n in ("a0", "a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4")]),
    ("seed", "p1 * sigmoid(p2 * x + b1) + b2",
     lambda x, p: p["p1"] * torch.sigmoid(p["p2"] * x + p["b1"]) + p["b2"],
     [("p1", True), ("p2", True), ("b1", True), ("b2", True)]),
    ("PReLU composed", "max(x, 0) + a * min(x, 0)",
     lambda x, p: torch.clamp(x, min=0) + p["a"] * torch.clamp(x, max=0), [("a", True)]),
    ("GELU (tanh) composed", "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))",
     lambda x, p: 0.5 * x * (1 + torch.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))), []),
    # PyTorch's own fused kernel (hand-written, no parameter) against the same expression composed in symgrad.
    ("SiLU vs F.silu", "x * sigmoid(x)", lambda x, p: torch.nn.functional.silu(x), []),
]


def torch_fwd_bwd_ms(fn, shape, params, threads, repeat):
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    units = shape[-1]
    x = (torch.rand(shape, generator=g) * 4 - 2).requires_grad_(True)
    p = {n: (torch.rand([units] if per_unit else [], generator=g) * 4 - 2).requires_grad_(True) for n, per_unit in params}
    dy = torch.rand(shape, generator=g) * 2 - 1
    leaves = [x] + list(p.values())
    times = []
    for r in range(repeat + 2):
        for t in leaves:
            t.grad = None
        start = time.perf_counter()
        y = fn(x, p)
        y.backward(dy)
        elapsed = (time.perf_counter() - start) * 1e3
        if r >= 2:  # two warm-up runs
            times.append(elapsed)
    return statistics.median(times)


def torch_mlp_step_ms(threads, steps):
    """784-256-256-10, per-unit swish_beta, batch 256, cross-entropy, SGD: one step, median."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Swish(torch.nn.Module):
        def __init__(self, units):
            super().__init__()
            self.beta = torch.nn.Parameter(torch.ones(units))

        def forward(self, x):
            return x * torch.sigmoid(self.beta * x)

    model = torch.nn.Sequential(torch.nn.Linear(784, 256), Swish(256), torch.nn.Linear(256, 256), Swish(256), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(256, 784)
    y = torch.arange(256) % 10
    times = []
    for r in range(steps + 5):
        start = time.perf_counter()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if r >= 5:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def compare_mlp(args):
    binary = os.path.join(os.path.dirname(args.symgrad), "bench", "bench_mlp")
    print(f"# {platform.node()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {time.strftime('%Y-%m-%d %H:%M')}")
    print("# one training step: 784-256-256-10 MLP, per-unit swish_beta, batch 256, cross-entropy, SGD; float32;")
    print("# PyTorch with torch.set_num_threads and OPENBLAS_NUM_THREADS both set to the thread count")
    print(f"{'threads':>7} {'symgrad step':>13} {'(program)':>10} {'PyTorch eager':>14} {'speedup':>8}")
    for threads in args.threads:
        ours, theirs, ratios = [], [], []
        for _ in range(args.rounds):
            s = json.loads(subprocess.run([binary, str(threads), "50"], check=True, capture_output=True, text=True).stdout)
            # In its own process, so that OpenBLAS (which PyTorch calls for the products, and which ignores
            # torch.set_num_threads) starts with the same number of threads.
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
            t = float(subprocess.run([sys.executable, __file__, "--torch-mlp-step", str(threads)], check=True, capture_output=True, text=True,
                                     env=env).stdout)
            ours.append(s)
            theirs.append(t)
            ratios.append(t / s["step_ms"])
        print(f"{threads:>7} {statistics.median(s['step_ms'] for s in ours):>11.3f}ms {statistics.median(s['run_ms'] for s in ours):>8.3f}ms "
              f"{statistics.median(theirs):>12.3f}ms {statistics.median(ratios):>7.2f}x", flush=True)


# name, the expression exported, its --param specs, and the same activation composed in eager PyTorch
EXPORTED = [
    ("swish_beta", "x * sigmoid(beta * x)", ["beta=per-unit:1.0"], lambda x, p: x * torch.sigmoid(p["beta"] * x)),
    ("seed", "p1 * sigmoid(p2 * x + b1) + b2", ["p1=per-unit:1", "p2=per-unit:1", "b1=per-unit:0", "b2=per-unit:0"],
     lambda x, p: p["p1"] * torch.sigmoid(p["p2"] * x + p["b1"]) + p["b2"]),
    ("PAU (5,4)", "pau(x, 5, 4, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4)",
     [f"{n}=shared:{v}" for n, v in zip(["a0", "a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4"],
                                         [0.0637, 0.505, 0.9895, 0.8072, 0.2746, 0.0352, 0.0, 1.5984, 0.0, 0.0697])],
     lambda x, p: (p["a0"] + x * (p["a1"] + x * (p["a2"] + x * (p["a3"] + x * (p["a4"] + x * p["a5"])))))
     / (1 + torch.abs(x * (p["b1"] + x * (p["b2"] + x * (p["b3"] + x * p["b4"])))))),
    ("PReLU", "prelu(x, a)", ["a=per-unit:0.25"], lambda x, p: torch.where(x > 0, x, p["a"] * x)),
    ("snake", "snake(x, a)", ["a=per-unit:1"], lambda x, p: x + torch.sin(p["a"] * x) ** 2 / p["a"]),
    ("GELU (tanh)", "gelu_tanh(x)", [], lambda x, p: F.gelu(x, approximate="tanh")),
]


def saved_bytes(run):
    """Bytes of the distinct tensors autograd saves for the backward while run() builds the graph."""
    seen = {}

    def pack(t):
        seen[(t.data_ptr(), t.numel())] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = run()
    return out, sum(seen.values())


def load_module(path, name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_ms(path, cache, first_call):
    """Milliseconds a fresh python3 takes to import the module at path above importing torch (and, with
    first_call, to run the first forward, which compiles the kernels when the cache has none)."""
    code = ("import sys, time, importlib.util\nimport torch\nstart = time.perf_counter()\n"
            f"spec = importlib.util.spec_from_file_location('act', {path!r})\n"
            "module = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(module)\n"
            + ("m = module.Act(8) if 'units' in module.Act.__init__.__code__.co_varnames else module.Act()\n"
               "m(torch.randn(4, 8))\n" if first_call else "")
            + "print((time.perf_counter() - start) * 1e3)\n")
    env = dict(os.environ, SYMGRAD_CACHE_DIR=cache)
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env).stdout)


def compare_export(args):
    """The modules `symgrad export --to torch` writes (--native: fused kernels; without: torch operations) against the
    same activation composed in eager PyTorch."""
    import shutil
    import tempfile
    shape = [int(d) for d in args.shape.split(",")]
    units = shape[1]
    workdir = tempfile.mkdtemp()
    cache = os.path.join(workdir, "cache")
    os.environ["SYMGRAD_CACHE_DIR"] = cache
    print(f"# {platform.node()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"# x {shape} float32, forward + backward (gradients of x and every parameter), medians of {args.rounds} rounds "
          f"of {args.repeat}; speedup: eager / native (median of per-round ratios); saved: the bytes autograd keeps "
          "for the backward")
    print(f"{'activation':<12} {'thr':>3} {'native':>9} {'torch ops':>10} {'eager':>9} {'speedup':>8} {'saved (native)':>15} "
          f"{'saved (eager)':>14} {'compile':>8} {'import':>7}")
    for name, expr, specs, fn in EXPORTED:
        if args.only and args.only not in name:
            continue
        modules = {}
        for variant in ("native", "ops"):
            path = os.path.join(workdir, f"act_{variant}.py")
            command = [args.symgrad, "export", expr, "--to", "torch", "--name", "Act", "-o", path]
            command += ["--native"] if variant == "native" else []
            for spec in specs:
                command += ["--param", spec]
            subprocess.run(command, check=True)
            module = load_module(path, f"act_{variant}_{abs(hash(name))}")
            modules[variant] = module.Act(units) if "units" in module.Act.__init__.__code__.co_varnames else module.Act()
        # The first compile and a warm import, each in a fresh process.
        shutil.rmtree(cache, ignore_errors=True)
        native_path = os.path.join(workdir, "act_native.py")
        compile_ms = import_ms(native_path, cache, True) - import_ms(os.path.join(workdir, "act_ops.py"), cache, True)
        warm_import_ms = statistics.median(import_ms(native_path, cache, False) for _ in range(3))
        params = {n: p for n, p in modules["native"].named_parameters()}
        with torch.no_grad():
            for n, p in modules["ops"].named_parameters():
                p.copy_(params[n])
        g = torch.Generator().manual_seed(0)
        x = (torch.rand(shape, generator=g) * 4 - 2).requires_grad_(True)
        dy = torch.rand(shape, generator=g) * 2 - 1

        def eager():
            return fn(x, {n: (p.reshape(1, -1) if p.dim() == 1 else p) for n, p in params.items()})

        def timed(run):
            times = []
            for r in range(args.repeat + 2):
                for t in [x] + list(params.values()):
                    t.grad = None
                start = time.perf_counter()
                run().backward(dy)
                if r >= 2:
                    times.append((time.perf_counter() - start) * 1e3)
            return statistics.median(times)

        _, saved_native = saved_bytes(lambda: modules["native"](x))
        _, saved_eager = saved_bytes(eager)
        for threads in args.threads:
            torch.set_num_threads(threads)
            native, ops, theirs, ratios = [], [], [], []
            for _ in range(args.rounds):
                a = timed(lambda: modules["native"](x))
                o = timed(lambda: modules["ops"](x))
                b = timed(eager)
                native.append(a)
                ops.append(o)
                theirs.append(b)
                ratios.append(b / a)
            print(f"{name:<12} {threads:>3} {statistics.median(native):>7.2f}ms {statistics.median(ops):>8.2f}ms "
                  f"{statistics.median(theirs):>7.2f}ms {statistics.median(ratios):>7.2f}x {saved_native / 2**20:>11.1f} MiB "
                  f"{saved_eager / 2**20:>10.1f} MiB {compile_ms / 1e3:>7.2f}s {warm_import_ms:>5.1f}ms", flush=True)


def symgrad_bench(binary, expr, shape, params, threads):
    args = [binary, "bench", expr, "--shape", "x=" + ",".join(map(str, shape)), "--threads", str(threads), "--json"]
    for name, per_unit in params:
        args += ["--shape", f"{name}={shape[-1]}" if per_unit else f"{name}="]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symgrad", default="build/release/symgrad")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=15, help="PyTorch repetitions per round (median)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shape", default="4096,1024")
    parser.add_argument("--only", default="", help="run only activations whose name contains this")
    parser.add_argument("--json", default="", help="also write the results to this file")
    parser.add_argument("--mlp", action="store_true", help="compare one MLP training step instead (bench/bench_mlp)")
    parser.add_argument("--torch-mlp-step", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--export", action="store_true", help="time symgrad's exported torch modules against eager PyTorch")
    args = parser.parse_args()
    if args.export:
        compare_export(args)
        return
    if args.torch_mlp_step:
        print(torch_mlp_step_ms(args.torch_mlp_step, 50))
        return
    if args.mlp:
        compare_mlp(args)
        return
    shape = [int(d) for d in args.shape.split(",")]
    if not os.path.exists(args.symgrad):
        sys.exit(f"{args.symgrad} does not exist: build the release preset first")

    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"# x {shape}, float32, forward + backward, medians of {args.rounds} rounds")
    print(f"{'activation':<22} {'thr':>3} {'symgrad fwd':>11} {'fwd+bwd':>9} {'eager':>9} {'speedup':>8} {'bound':>7} "
          f"{'of bound':>8} {'compile':>8}")
    results = []
    for name, expr, fn, params in ACTIVATIONS:
        if args.only and args.only not in name:
            continue
        for threads in args.threads:
            ours, theirs, ratios = [], [], []
            for _ in range(args.rounds):
                s = symgrad_bench(args.symgrad, expr, shape, params, threads)
                t = torch_fwd_bwd_ms(fn, shape, params, threads, args.repeat)
                ours.append(s)
                theirs.append(t)
                ratios.append(t / s["fwd_bwd_ms"])
            row = {
                "activation": name, "expr": expr, "threads": threads, "shape": shape,
                "fwd_ms": statistics.median(s["fwd_ms"] for s in ours),
                "fwd_bwd_ms": statistics.median(s["fwd_bwd_ms"] for s in ours),
                "torch_eager_ms": statistics.median(theirs),
                "speedup": statistics.median(ratios),
                "bound_ms": statistics.median(s["bound_ms"] for s in ours),
                "bound_fraction": statistics.median(s["bound_fraction"] for s in ours),
                "compile_ms": statistics.median(s["compile_ms"] for s in ours),
                "isa": ours[0]["isa"],
                "backend": ours[0].get("backend", "interpreter"),
            }
            results.append(row)
            print(f"{name:<22} {threads:>3} {row['fwd_ms']:>9.3f}ms {row['fwd_bwd_ms']:>7.3f}ms {row['torch_eager_ms']:>7.3f}ms "
                  f"{row['speedup']:>7.2f}x {row['bound_ms']:>5.2f}ms {row['bound_fraction']:>8.2f} {row['compile_ms']:>6.2f}ms",
                  flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
