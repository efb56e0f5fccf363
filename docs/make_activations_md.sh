#!/usr/bin/env bash
# Writes docs/activations.md from the catalog itself:  bash docs/make_activations_md.sh > docs/activations.md
# (after cmake --build --preset release). The test 'docs_activations_current' fails when the page is stale.
set -euo pipefail
S=${SYMGRAD:-./build/release/symgrad}

cat <<'TEXT'
# Built-in activations

Every activation below is a function of the expression language (`symgrad grad 'swish(x, beta)'`) and of the C++
API (`#include <symgrad/activations.hpp>`, `symgrad::swish(x, beta)`), and a name for `symgrad train --act` and
`nn::Activation::builtin` (all but softmax, log_softmax and pau_sum_abs; pau there is degree (5, 4) fitted to leaky
ReLU, apl has two hinges). Each is a composite of the primitives (docs/language.md), so its gradient, its
simplification and its fusion come from the primitive table: `symgrad grad`, `check`, `plot`, `trace` and `graph`
take them like any expression.

`symgrad list` prints this catalog (`symgrad list NAME` one entry, `--format json` for tools); this page is written
by `docs/make_activations_md.sh` from it.

## How they are checked

- Against PyTorch (`torch.nn.functional`, Debian's python3-torch 1.13) wherever PyTorch has the activation with the
  same parameter meaning: value, first and second derivative at 21+ points including |x| = 1000, 0 and the kinks, in
  float32 and float64, by the fused engine and the reference evaluator (`tests/test_activations.cpp`; the numbers
  come from `tests/reference/torch_activations.py` and are committed, so CI needs no torch).
- Every entry, with and without a PyTorch twin: float64 gradchecks of first and second order with per-unit
  parameters, and its catalog formula evaluated against the function.

Where symgrad differs from PyTorch, on purpose:

| where | PyTorch | symgrad | why |
|---|---|---|---|
| elu, selu, celu: y'' at x = 0 | 0 | the negative piece's (alpha, ...) | PyTorch's y'(0) is the negative piece's, its y''(0) the positive piece's; symgrad keeps to one piece |
| hardswish: y'' at x = -3, 3 | 0 | 1/3 | the same: PyTorch's y' there is the middle piece's |
| softplus(x, beta) above 20/beta | x, y' = 1, y'' = 0 | the smooth function | PyTorch switches to the line; the relative difference is below 2e-9 |
| mish: y'' at x = 1000 | NaN | 0 | PyTorch's double backward overflows |
| hardsigmoid: y' in float64 | 1/6 rounded to float32 | 1/6 | a float32 constant in PyTorch 1.13's float64 kernel |
| hardsigmoid: y'' | not implemented in 1.13 | 0 | it is piecewise linear |
| sinc | `torch.sinc` is sin(pi x)/(pi x) | sin(x)/x | the activation literature's sinc; `sinc(pi * x)` is PyTorch's |

## The activations

TEXT
"$S" list --format markdown
