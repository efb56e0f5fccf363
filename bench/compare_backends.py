#!/usr/bin/env python3
"""symgrad's two backends side by side with the hand-written loops (issue 15).

For each round, each activation runs `symgrad bench --json` with the native backend and with the interpreter
(alternating, so both see the same machine state), and the round runs bench/hand_exact (symgrad's semantics
written by hand) and bench/hand_fused (fast-math) once. Figures are medians over rounds of each run's own
median; "of bound" is the bandwidth bound measured in the same bench run. Run from the repository root after
building the release preset:

    python3 bench/compare_backends.py [--rounds 5] [--threads 1 2] [--shape 4096,1024] [--json results.json]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import time

PAU_POWERS = "(a0 + a1*x + a2*x^2 + a3*x^3 + a4*x^4 + a5*x^5) / (1 + abs(b1*x + b2*x^2 + b3*x^3 + b4*x^4))"
PAU_HORNER = "(a0 + x*(a1 + x*(a2 + x*(a3 + x*(a4 + x*a5))))) / (1 + abs(x*(b1 + x*(b2 + x*(b3 + x*b4)))))"
# name, expression, per-unit parameters (the others are shared scalars), the hand-written loops' row name
ACTIVATIONS = [
    ("swish_beta", "x * sigmoid(beta * x)", ["beta"], "swish_beta"),
    ("PAU (5,4) with x^k", PAU_POWERS, [], "PAU (5,4)"),
    ("PAU (5,4) Horner", PAU_HORNER, [], "PAU (5,4)"),
    ("seed", "p1 * sigmoid(p2 * x + b1) + b2", ["p1", "p2", "b1", "b2"], None),
    ("PReLU composed", "max(x, 0) + a * min(x, 0)", ["a"], None),
    ("GELU (tanh) composed", "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))", [], None),
]


def bench(symgrad, expr, per_unit, shape, threads, backend):
    units = shape.split(",")[-1]
    cmd = [symgrad, "bench", expr, "--shape", f"x={shape}", "--threads", str(threads), "--backend", backend, "--json"]
    for name in per_unit:
        cmd += ["--shape", f"{name}={units}"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def hand(binary):
    """{row name: fwd+bwd ms} from a hand-written loop program's table."""
    rows = {}
    out = subprocess.run([binary], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.rsplit(None, 3)
        if len(parts) == 4:
            try:
                rows[parts[0].strip()] = float(parts[3])
            except ValueError:
                pass
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--symgrad", default="build/release/symgrad")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shape", default="4096,1024")
    parser.add_argument("--json")
    args = parser.parse_args()
    bench_dir = os.path.join(os.path.dirname(args.symgrad), "bench")
    print(f"# {platform.node()}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}; x [{args.shape}], float32, "
          f"forward + backward, medians of {args.rounds} rounds")
    hand_exact, hand_fast = [], []
    results = {}
    for _ in range(args.rounds):
        hand_exact.append(hand(os.path.join(bench_dir, "hand_exact")))
        hand_fast.append(hand(os.path.join(bench_dir, "hand_fused")))
        for threads in args.threads:
            for name, expr, per_unit, _ in ACTIVATIONS:
                for backend in ("native", "interpreter"):
                    r = bench(args.symgrad, expr, per_unit, args.shape, threads, backend)
                    results.setdefault((name, threads, backend), []).append(r)
    med = lambda rows, key: statistics.median(r[key] for r in rows)
    print(f"{'activation':<22} {'thr':>3} {'native ms':>10} {'of bound':>8} {'interp. ms':>10} {'of bound':>8} {'speedup':>7} "
          f"{'hand exact':>10} {'native/hand':>11} {'fast-math':>9} {'cold ms':>8} {'warm ms':>8}")
    table = []
    for threads in args.threads:
        for name, _, _, hand_row in ACTIVATIONS:
            n = results[(name, threads, "native")]
            i = results[(name, threads, "interpreter")]
            exact = statistics.median(h[hand_row] for h in hand_exact) if hand_row and threads == 1 else None
            fast = statistics.median(h[hand_row] for h in hand_fast) if hand_row and threads == 1 else None
            row = {"activation": name, "threads": threads, "native_ms": med(n, "fwd_bwd_ms"), "native_bound": med(n, "bound_fraction"),
                   "interpreter_ms": med(i, "fwd_bwd_ms"), "interpreter_bound": med(i, "bound_fraction"),
                   "speedup": statistics.median(b["fwd_bwd_ms"] / a["fwd_bwd_ms"] for a, b in zip(n, i)),
                   "hand_exact_ms": exact, "hand_fast_ms": fast, "cold_ms": med(n, "compile_cold_ms"), "warm_ms": med(n, "compile_warm_ms"),
                   "backend": n[0]["backend"]}
            table.append(row)
            ratio = f"{exact / row['native_ms']:>11.2f}" if exact else f"{'':>11}"
            print(f"{name:<22} {threads:>3} {row['native_ms']:>10.2f} {row['native_bound']:>8.2f} {row['interpreter_ms']:>10.2f} "
                  f"{row['interpreter_bound']:>8.2f} {row['speedup']:>6.2f}x {exact if exact else '':>10} {ratio} {fast if fast else '':>9} "
                  f"{row['cold_ms']:>8.0f} {row['warm_ms']:>8.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()
