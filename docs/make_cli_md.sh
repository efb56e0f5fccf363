#!/usr/bin/env bash
# Writes docs/cli.md from the symgrad tool's real output:  bash docs/make_cli_md.sh > docs/cli.md
# (after cmake --build --preset release). Every example below is run, so the page matches the code.
set -euo pipefail
S=${SYMGRAD:-./build/release/symgrad}

cat <<'TEXT'
# The `symgrad` command-line tool

```
symgrad SUBCOMMAND [OPTIONS]    (symgrad --help, symgrad SUBCOMMAND --help)
```

Exit status, the same for every subcommand:

| status | meaning |
|---|---|
| 0 | success: everything asked for was done and written |
| 2 | bad input or a failed write: usage, expression, shape, JSON, a file that cannot be read or written, output that did not reach stdout (a full disk, `> /dev/full`); one line on stderr, `symgrad: error: ...`, naming the problem |
| 1 | `check` found a gradient that disagrees with finite differences; otherwise an internal error (a bug: please report it) |
| 3 | `--detect-anomaly` (`eval`, `check`, `train`) found a NaN or an infinity that is not in the inputs; the report on stderr names the subexpression or derivative rule that made it (docs/semantics.md), and `eval` writes it as a JSON object on stdout |

Every error, the option parser's included, starts `symgrad: error:`. A misspelt subcommand, option, activation
name, function or variable gets the nearest known one (`symgrad grad EXPR --shap x=3`: "symgrad grad has no option
'--shap' (did you mean '--shape'?)"; `train --act swsh`: "(did you mean 'swish'?)"), and a missing expression gets
the subcommand's example.
Messages quote at most about 60 bytes of what you typed, cut between UTF-8 characters. Files are written as
checkpoints are: to a temporary file beside the target, synced, then renamed over it, so a failed or
interrupted write (a full disk, SIGINT) leaves the old file intact and no temporary behind; a device or pipe
(`-o /dev/stdout`) is written in place. Output paths are checked before the work starts. `--threads` takes
0 (one per hardware thread) to 1024 in every subcommand. Variables are scalars unless `--shape NAME=D0,D1,...`
says otherwise (`--shape a=` is a scalar too). The expressions are in the language of docs/language.md.
This page is written by `docs/make_cli_md.sh` from the tool's real output.

## Values and parameters: one syntax

Every option that gives a variable something is `NAME=...`, and names it once: a name given twice in one option
(`--at x=1 --at x=2`, `--param beta=... --param beta=...`, `--shape`) is an error everywhere. What goes right of
`=` is one of these:

| option | in | right of `=` | example |
|---|---|---|---|
| `--at` | `trace`, `lesson`, `graph` | the variable's values, row-major, as many as `--shape` gives it | `--at x=0.5`, `--at x=1,2,3 --shape x=3` |
| `--param` | `plot` | values of a scalar parameter, one curve each | `--param beta=1.5`, `--param beta=0.5,1,2` |
| `--param` | `train`, `export` | `POLICY:INIT`, a layer's parameter: its shape policy and initial value; `INIT` alone is shared | `--param beta=1.5`, `--param beta=per-unit:1`, `--param a=[64]:normal(0,0.1)` |
| `--shape` | `grad`, `check`, `graph`, `trace`, `lesson`, `bench`, `kernel` | the dimensions (none for a scalar) | `--shape x=32,4`, `--shape a=` |

So `--param beta=1.5` means the same in `plot`, `train` and `export`: one value of `beta`, shared by every unit. A
policy where only values go (`plot --param beta=per-unit:1`, `--at beta=shared:2`), or several values where one
initial value goes (`train --param beta=0.5,1,2`), is refused with the form that fits. POLICY is `shared`,
`per-unit` (the last axis), `per-channel` (dim 1) or a shape like `[64]`; INIT is a number, `uniform(lo, hi)` or
`normal(mean, stddev)` (docs/parameter_shapes.md says which to choose).

## grad: the derivatives

```
symgrad grad EXPR [--wrt v,...] [--latex] [--raw] [--shape v=dims ...]
```

Prints the derivative of `sum(EXPR)` with respect to each variable (default: all, in order of appearance),
simplified (docs/performance.md), shared subexpressions as `let` bindings. `--raw` shows the gradient as the
reverse sweep builds it, before simplification.

```
TEXT
echo "\$ symgrad grad 'x * sigmoid(beta * x)'"; "$S" grad 'x * sigmoid(beta * x)'
echo; echo "\$ symgrad grad 'x * sigmoid(beta * x)' --raw"; "$S" grad 'x * sigmoid(beta * x)' --raw
echo; echo "\$ symgrad grad '0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))'"
"$S" grad '0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))'
cat <<'TEXT'
```

With tensors, per-unit parameters get per-unit gradients, summed over the batch:

```
TEXT
echo "\$ symgrad grad 'p1 * sigmoid(p2 * x + b1) + b2' --shape x=8,4 --shape p1=4 --shape p2=4 --shape b1=4 --shape b2=4"
"$S" grad 'p1 * sigmoid(p2 * x + b1) + b2' --shape x=8,4 --shape p1=4 --shape p2=4 --shape b1=4 --shape b2=4
cat <<'TEXT'
```

`--latex` prints the same as LaTeX:

```
TEXT
echo "\$ symgrad grad 'x * sigmoid(beta * x)' --latex"; "$S" grad 'x * sigmoid(beta * x)' --latex
cat <<'TEXT'
```

## check: finite differences, both orders

```
symgrad check EXPR [--shape v=dims ...] [--seed N] [--range LO:HI] [--detect-anomaly]
```

Draws each variable uniformly from `[LO, HI]` (default `[-2, 2]`) and runs `gradcheck` and `gradgradcheck` in
float64 (docs/guide.md): per variable the worst absolute and relative error, where, both values, PASS or FAIL.
The columns are derivatives of `sum(r * y)` for a random `r` (a line under each heading says so): a projection that
tests every element's adjoint, so for a scalar expression they are `r` times what `symgrad grad` prints, and the
point (printed for scalar variables) lets `symgrad trace --at` show the same derivative unprojected.
Exit status 1 when either fails.

```
TEXT
echo "\$ symgrad check 'x * sigmoid(beta * x)' --shape x=8,4 --shape beta=4"; "$S" check 'x * sigmoid(beta * x)' --shape x=8,4 --shape beta=4
cat <<'TEXT'
```

## graph: the expression graph

```
symgrad graph EXPR [--grad] [--at NAME=VALUE ...] [--format dot|svg|png] [-o FILE] [--shape v=dims ...]
```

Graphviz DOT by default. With `--grad` the gradients are drawn too: forward nodes blue, nodes of the
backward pass red. With `--at` every node shows its value (`data`), and with `--grad` too each node of the
expression its adjoint (`grad`: the derivative of the output's sum with respect to it), as micrograd draws
`data | grad`; up to 6 elements in full, more as their range. A legend says what the colours, the edges' numbers
(the operand's place) and the values mean. `svg` and `png` run Graphviz's `dot`; when it is not installed the
message says so (`apt-get install graphviz`) and `--format dot` still works.

```
TEXT
echo "\$ symgrad graph 'x * sigmoid(beta * x)'"; "$S" graph 'x * sigmoid(beta * x)'
cat <<'TEXT'
```

```sh
symgrad graph 'x * sigmoid(beta * x)' --grad --format svg -o swish_graph.svg
symgrad graph 'x * sigmoid(beta * x)' --at x=2 --at beta=0.5 --grad --format svg -o swish_values.svg
```

## trace: backprop, step by step

```
symgrad trace EXPR --at NAME=VALUE ... [--shape v=dims ...]
```

The teaching view: every node in evaluation order with its value; then the reverse sweep, one node at a
time, with the local derivative rule (the primitive table's own rule, written with the node names), the
incoming adjoint, and what it adds to each operand. Tensors take `--at NAME=V1,V2,...` (row-major) with
`--shape`, and the trace says where a broadcast gradient is summed.

```
TEXT
echo "\$ symgrad trace 'x * sigmoid(beta * x)' --at x=1.5 --at beta=2"; "$S" trace 'x * sigmoid(beta * x)' --at x=1.5 --at beta=2
echo '```'; echo; echo '```'
echo "\$ symgrad trace 'x * beta + b' --shape x=2,2 --shape beta=2 --at x=1,2,3,4 --at beta=10,20 --at b=1"
"$S" trace 'x * beta + b' --shape x=2,2 --shape beta=2 --at x=1,2,3,4 --at beta=10,20 --at b=1
cat <<'TEXT'
```

## lesson: backprop in a browser

```
symgrad lesson EXPR --at NAME=VALUE ... [--shape v=dims ...] [-o lesson.html] [--title TEXT]
```

Writes one self-contained HTML file (inline SVG, style and script; it fetches nothing) that steps through the
forward pass and the reverse sweep over the graph: buttons or the arrow keys step, each node shows `data` once
evaluated and `grad` as the sweep accumulates it, each chain-rule step shows the local derivative and the product
it adds, and `where` masks and sums over broadcast axes are steps of their own. `lesson.html#step=7` opens at step
7 (`&follow=i,j` marks one element of a tensor output in every value). The steps are `trace`'s. Needs Graphviz
(`dot`) to draw the graph; at most 120 nodes. docs/backprop.md shows it for the seed activation.

```sh
symgrad lesson 'x * sigmoid(beta * x)' --at x=2 --at beta=0.5 -o swish.html
```

## plot: f and df/dx

```
symgrad plot EXPR [--param NAME=V1,V2,...] [--range LO:HI] [--var x] [--points N] [-o FILE.svg]
```

An SVG with two panels, `f` and `df/dx`, over `[LO, HI]` (default `[-5, 5]`), one curve per combination of
parameter values (at most 8), with ticks and a legend. Every variable other than the plotted one needs a
`--param`. Non-finite values leave gaps, and so do jumps and poles (relu' at 0, `1 / x`): the step between two
samples is bisected down to the last bit of x, and a difference that does not shrink is left open instead of drawn
as a vertical line. docs/backprop.md shows ELU's derivative so.

```sh
symgrad plot 'x * sigmoid(beta * x)' --param beta=0.5,1,2 -o swish.svg
symgrad plot 'swish(x, beta)' --param beta=0.5,1,4 -o swish.svg      # the built-in activations work everywhere
symgrad plot '(a0 + a1*x + a2*x^2) / (1 + abs(b1*x + b2*x^2))' --param a0=0.1 --param a1=0.5 \
    --param a2=0.3 --param b1=0.2,1 --param b2=0.5 -o pade.svg
```

## eval: the machine-readable mode

```
symgrad eval FILE|- [--memory-limit GIB] [--detect-anomaly]
```

Reads one JSON request from FILE (or stdin with `-`) and writes one JSON answer to stdout.

Request:

| key | | meaning |
|---|---|---|
| `expr` | required | the expression |
| `dtype` | optional | `"float32"` (the default) or `"float64"` |
| `values` | | `{NAME: {"shape": [...], "data": [...]}}`: every variable of `expr` needs one; `data` is flat, row-major; scalars have shape `[]` |
| `grad_output` | optional | `{"shape": [...], "data": [...]}` of the output's shape (default: ones), the vector of the vector-Jacobian product |
| `wrt` | optional | names to differentiate with respect to (default: every name in `values`) |
| `tangents` | optional | `{NAME: {"shape": [...], "data": [...]}}`: forward mode; each named variable moves by its tangent (a shape that broadcasts to the variable's), and the answer gets `tangent_output` |

An unknown key is an error that suggests the nearest known one (`"grad_ouput"`: did you mean `"grad_output"`?),
as are a key given twice and a `wrt` name given twice. (A value for a name the expression does not use is
allowed: its gradient is zeros.) Non-finite numbers are the strings `"nan"`, `"inf"` and `"-inf"`, in the request and
in the answer.

Answer: `{"output": {"shape", "data"}, "grads": {NAME: {"shape", "data"}}}`, one gradient per `wrt` name with
that variable's shape (zeros where the output does not depend on it), and with `tangents` also `"tangent_output"`,
the output's directional derivative along them (the output's shape):

```
$ echo '{"expr": "x * sigmoid(beta * x)", "dtype": "float64", "wrt": [],
         "values": {"x": {"shape": [2], "data": [0, 1]}, "beta": {"shape": [], "data": [1]}},
         "tangents": {"beta": {"shape": [], "data": [1]}}}' | symgrad eval -
{"grads":{},"output":{"data":[0.0,0.7310585786300049],"shape":[2]},"tangent_output":{"data":[0.0,0.19661193324148185],"shape":[2]}}
```

```
TEXT
echo "\$ echo '{\"expr\": \"x * sigmoid(beta * x)\", \"dtype\": \"float64\","
echo "         \"values\": {\"x\": {\"shape\": [2, 2], \"data\": [0, 1, -1, 2]}, \"beta\": {\"shape\": [2], \"data\": [1, 0.5]}}}' | symgrad eval -"
echo '{"expr": "x * sigmoid(beta * x)", "dtype": "float64", "values": {"x": {"shape": [2, 2], "data": [0, 1, -1, 2]}, "beta": {"shape": [2], "data": [1, 0.5]}}}' | "$S" eval -
cat <<'TEXT'
```

Every malformed request ends with exit status 2 and a message that names the field (`values["x"].data[3]`):
invalid JSON, nesting deeper than 32 levels, a number too large for float64 (`1e999`: write `"inf"`), no
`expr`, a `data` length that does not match its shape, negative, fractional or absurd dimensions, an unknown
dtype, a `wrt` name without a value, a `grad_output` of the wrong shape, a tangent of a name without a value or of a
shape that does not broadcast to its variable's, a variable without a value, a
non-number in `data`, an expression error. `--memory-limit` bounds the request's text and the count of its
numbers as it is read, and the tensors before they are allocated. A request is refused before anything is allocated when evaluating it would hold more than
`--memory-limit` GiB (default 1) at once, intermediate values included:

```
$ symgrad eval big.json      # sum(x * y) with x of shape [100000, 1] and y of shape [1, 100000]
symgrad: error: evaluating this request would hold 37.3 GiB at once, past the memory limit of 1 GiB (--memory-limit to change it)
```

### Fuzzing eval

`tests/fuzz/eval_fuzzer.cpp` is a libFuzzer target that runs the command's own request reader and answer
writer (`src/cli/eval_request.cpp`) on each input, under a 1 MiB memory limit; anything but an answer that
parses as JSON or a clean refusal is a finding. It is built with the parser's fuzzer (docs/language.md,
"Fuzzing"); the suite replays its seeds (`tests/fuzz/eval_corpus`) and past findings
(`tests/fuzz/eval_regressions`) as `eval_fuzz_replay`, under the sanitizers in CI:

```sh
cmake --preset fuzz && cmake --build --preset fuzz
mkdir -p /tmp/eval_fuzz && cp tests/fuzz/eval_corpus/* /tmp/eval_fuzz/
./build/fuzz/eval_fuzzer /tmp/eval_fuzz -dict=tests/fuzz/eval.dict -max_total_time=600 -max_len=2048 -timeout=10 -rss_limit_mb=4096
```
TEXT
cat <<'TEXT'

## bench: how fast the fused engine runs an expression

```
symgrad bench EXPR [--shape v=dims ...] [--dtype float32|float64] [--threads N] [--repeat N] [--backend native|interpreter] [--json] [--memory-limit GIB]
```

Compiles the expression and the gradients of every variable (grad, simplify, plan: `compile`), then times two
programs over random inputs in [-2, 2]: **forward** (the expression) and **backward** (the gradients, given an
output gradient `dy` of the output's shape, as a training step runs them after the forward). Prints the medians
over the repetitions (by default as many as fit in about a second, 5 to 500) and compares forward + backward with
the **bandwidth bound**: the time to move the fewest bytes the two passes need (forward: read every variable,
write the output; backward: read every variable and `dy`, write every gradient) at the copy bandwidth measured in
the same run, with the same threads, on a buffer of the output's size. `--dtype` defaults to float32; `--threads`
to 1 (0: one per hardware thread). Variables without `--shape` are scalars. The programs run on the native backend
(docs/native.md: each fused region compiled to machine code), or on the interpreter with `--backend interpreter`;
the output says which, whether the kernels were compiled now or loaded from the kernel cache, and what a cold
compile and a warm load cost (timed on the side in a private cache directory, so both are always measured).

```
TEXT
echo "\$ symgrad bench 'x * sigmoid(beta * x)' --shape x=4096,1024 --shape beta=1024 --repeat 20"
"$S" bench 'x * sigmoid(beta * x)' --shape x=4096,1024 --shape beta=1024 --repeat 20
cat <<'TEXT'
```

With `--json` it prints one object: `expr`, `dtype`, `shape` (each variable's shape), `output_shape`, `threads`,
`isa` (the kernel set: avx512, avx2 or generic), `backend` (native or interpreter), `compile_cold_ms` and
`compile_warm_ms` (the native kernels of both programs compiled, then loaded from a cache; null for the
interpreter), `kernels_from_cache` (whether this run's came from your cache), `repeat`, `compile_ms`, `fwd_ms`, `bwd_ms`, `fwd_bwd_ms` (the
median of the per-repetition sums), `min_bytes`, `gbps` (min_bytes / fwd_bwd_ms), `copy_gbps`, `bound_ms` and
`bound_fraction` (bound_ms / fwd_bwd_ms). `bench/compare_torch.py` runs it beside PyTorch eager
(docs/performance.md).
TEXT
cat <<'TEXT'

## kernel: the C++ the native backend compiles

```
symgrad kernel EXPR [--shape v=dims ...] [--dtype float32|float64] [--full]
```

Prints the generated source of the expression's forward program and of its backward program (the gradients of
every variable given the output's gradient `dy`), as `bench` and a training step compile them: each fused region
is one function, one loop over the elements, and each line's comment is the expression it computes.
`K::` are symgrad's scalar kernels; `--full` prints each program's whole source, kernels included (it compiles as it
is). docs/native.md reads this example line by line.

```
TEXT
echo "\$ symgrad kernel 'x * sigmoid(beta * x)' --shape x=4096,1024 --shape beta=1024"
"$S" kernel 'x * sigmoid(beta * x)' --shape x=4096,1024 --shape beta=1024
cat <<'TEXT'
```

## cache: the native backend's compiled kernels

```
symgrad cache [--clear]
```

Shows the kernel cache's directory (`$SYMGRAD_CACHE_DIR`, else `$XDG_CACHE_HOME/symgrad`, else `~/.cache/symgrad`),
how many compiled kernels it holds and their size; `--clear` removes them (symgrad's files only). A kernel is
compiled once per program, compiler and CPU and loaded from here afterwards (docs/native.md, "The cache").

```
TEXT
echo "\$ symgrad cache"
"$S" cache | sed -e "s|$HOME|~|"
cat <<'TEXT'
```
TEXT
cat <<'TEXT'

## train: an MLP with a trainable activation

```
symgrad train [--act EXPR|NAME] [--param NAME=POLICY:INIT ...] [--data NAME|FILE.csv [--target COLUMN]] [--examples N] [--test-fraction F]
              [--hidden W1,W2,...] [--epochs N] [--batch N] [--optimizer sgd|adam|adamw] [--lr LR] [--momentum M]
              [--nesterov] [--weight-decay WD] [--clip NORM] [--schedule cosine|constant] [--weights kaiming|xavier]
              [--seed N] [--threads N] [--detect-anomaly]
              [--dtype float32|float64] [-o FILE] [--resume FILE] [--plot CURVES.svg] [--boundary REGIONS.svg]
```

Generates a built-in dataset (`two-moons`, `spirals` (default; three arms of two turns), `circles`, `xor`,
`height-weight`: height and weight -> sex), or reads a CSV file (`--data FILE.csv --target COLUMN`: a header row,
numeric feature columns, the class column named by `--target`; a malformed line is an error naming its line;
when every label reads as a number the classes are numbers, so `1` and `1.0` are one class, otherwise words;
a `nan` label is an error with its line), holds out a test set (`--test-fraction`, default 0.2), standardizes the
features on the training set, and trains an MLP (`--hidden`, default `64,64`) whose activation is `--act`: a
TEXT
# The names --act takes, as the tool lists them when it is given an unknown one.
names=$({ "$S" train --act no_such_activation 2>&1 || true; } | sed -n 's/.*the built-in ones are \(.*\) (or write an expression in x)$/\1/p')
[[ -n "$names" ]] || { echo "make_cli_md.sh: could not read the activation names" >&2; exit 1; }
echo "built-in name ($(echo "$names" | sed 's/\([a-z0-9_][a-z0-9_]*\)/`\1`/g')) or an" | fold -s -w 116 | sed 's/ $//'
cat <<'TEXT'
expression in `x` whose other variables are parameters given by `--param NAME=POLICY:INIT`. POLICY is `per-unit`
(one per unit of the layer: the last axis), `per-channel` (dim 1; the same for an MLP's `[B, U]` layers),
`shared` (one for the layer) or a shape such as `[64]` that must broadcast against
one example; a shape that includes the batch axis is refused. INIT is a number, `uniform(lo, hi)` or
`normal(mean, stddev)`; INIT alone (`--param beta=0.5`) is shared, for a built-in activation's parameter too
(`--act prelu --param a=0.1` is one slope for the layer, as `torch.nn.PReLU()`; the syntax every subcommand shares
is at the top of this page). `--param` also re-initializes a built-in activation's parameters (`--act prelu --param
a=per-unit:0.1`). Each hidden layer has its own activation parameters; weight decay is not applied to them.

Cross-entropy loss; Adam with learning rate 0.01 falling to 0.0001 along a cosine (`--schedule constant` keeps it);
batches of 64; 300 epochs. The training step (forward, loss, every gradient) is compiled once per batch size and
run on the fused engine. On a terminal a live line shows the epoch, the loss, the test accuracy and the speed;
otherwise about twenty plain lines. At the end: the test accuracy and, for each layer's activation parameters,
their initial value and the mean, spread, minimum and maximum they learned. One thread and the same seed give the
same numbers on every run (on one machine: BLAS kernels differ between CPUs).

`--plot FILE.svg` draws the training loss and the test accuracy per epoch; `--boundary FILE.svg` (data of two
features) colours the plane by the class the model predicts, in the features' own units, with the test examples on
top (misclassified ones ringed).

`-o FILE` saves the model in the safetensors format (docs/architecture.md): the parameters, the optimizer's state,
and as metadata the recipe (activation, its parameter specs, layer widths, dataset, seed, the standardization).
The file is written to a temporary file, flushed and renamed, so an interrupted save never leaves a broken one.
`--resume FILE` continues a saved model's training up to `--epochs` epochs in all, with the model and data of the
file (so `--act`, `--param`, `--hidden`, `--data`, `--examples`, `--test-fraction`, `--seed` and `--dtype` are
refused beside it) and its optimizer's state: three epochs, then three more, give the same bits as six at once
(with `--schedule constant`; the cosine schedule is planned over `--epochs`).

```
TEXT
echo "\$ symgrad train --act swish_beta --data spirals"
"$S" train --act swish_beta --data spirals | grep -v -E "^epoch +(30|45|60|75|90|105|120|135|150|165|180|195|210|225|240|255|270)/" \
  | sed -E 's/  [0-9]+ examples\/s/  (speed) examples\/s/; s/^training time: .*/training time: (about a second)/; s/^(epoch  15\/300.*)$/\1\n.../'
cat <<'TEXT'
```
TEXT
cat <<'TEXT'

## predict: evaluate a saved model

```
symgrad predict FILE [--data NAME] [--examples N] [--seed N] [--threads N]
```

Builds the model of a file saved by `symgrad train -o FILE`, loads its parameters, and prints its accuracy on the
held-out test set of its training (regenerated from the recipe), or on `--examples` new examples of `--data`
(default: the training dataset, with the training seed + 1). A truncated or corrupt file, or one whose tensors do
not fit its model, is an error that says which (exit status 2).

```
TEXT
echo "\$ symgrad train --data two-moons --hidden 16 --epochs 50 -o moons.safetensors && symgrad predict moons.safetensors"
tmp=$(mktemp -d)
"$S" train --data two-moons --hidden 16 --epochs 50 -o "$tmp/moons.safetensors" > /dev/null
"$S" predict "$tmp/moons.safetensors" | sed "s|$tmp/||"
rm -rf "$tmp"
cat <<'TEXT'
```
TEXT

cat <<'TEXT'

## list: the built-in activations

```
symgrad list [NAME] [--format text|markdown|json]
```

Every built-in activation (docs/activations.md) with its signature, its formula in the expression language and in
LaTeX, its parameters (default value, whether it is usually learned per unit, shared, or fixed) and its PyTorch
equivalent. With a NAME, that one only; an unknown name is an error that lists the known ones.

```
TEXT
echo "\$ symgrad list swish"; "$S" list swish
echo; echo "\$ symgrad list pau"; "$S" list pau
cat <<'TEXT'
```
TEXT

cat <<'TEXT'

## export: a PyTorch module or a C++ header

```
symgrad export EXPR --to torch|cpp [--native] [--name NAME] [--param NAME=POLICY:INIT ...] [--input x] [-o FILE]
```

Writes the activation and its simplified gradient as source code (docs/export.md): for `torch`, a Python file with
a `torch.autograd.Function` (its backward is symgrad's gradient, differentiable again) and an `nn.Module` owning the
parameters with their policies' shapes; with `--native`, the Function's forward, backward, double backward and
forward mode are symgrad's fused kernels, compiled on first use into the kernel cache (the torch operations remain,
as the fallback); for `cpp`, a self-contained C++17 header with fused forward and backward loops. Every variable but
the input needs a `--param`. Only elementwise expressions can be exported.

```
TEXT
echo "\$ symgrad export 'swish(x, beta)' --to cpp --name swish --param beta=per-unit:1.0 | sed -n '/inline T value/,/^}  \/\/ namespace detail/p'"
"$S" export 'swish(x, beta)' --to cpp --name swish --param beta=per-unit:1.0 | sed -n '/inline T value/,/^}  \/\/ namespace detail/p'
echo; echo "\$ symgrad export 'swish(x, beta)' --to cpp --native --name swish --param beta=per-unit:1.0"
"$S" export 'swish(x, beta)' --to cpp --native --name swish --param beta=per-unit:1.0 2>&1 || true
echo; echo "\$ symgrad export 'x * sigmoid(gamma * x)' --to torch"
"$S" export 'x * sigmoid(gamma * x)' --to torch 2>&1 || true
cat <<'TEXT'
```
TEXT
