#!/usr/bin/env bash
# The command-line tool and the example programs, end to end, on an emulated CPU (CTest haswell_cli_and_examples,
# nehalem_cli_and_examples; tests/CMakeLists.txt):
#   bash tests/emulated_cli.sh QEMU CPU EXPECTED_ISAS BIN_DIR EXAMPLES_DIR [SKIPPED_EXAMPLES]
# SKIPPED_EXAMPLES (comma-separated) are not run on this CPU (tests/CMakeLists.txt says why).
# Each command runs under `QEMU -cpu CPU`; a SIGILL (exit 132) or any other failure fails the test. Where the
# answer cannot depend on the kernel set (every set gives the reference's bits), the emulated output must be the
# same bytes as the same command run natively, on whatever set this machine picks (float64 values: within 1e-13,
# see close() below). Training goes through OpenBLAS, which chooses its own kernels by CPU and may round
# differently: there only the exit status and the form of the output are checked.
set -uo pipefail
qemu=$1 cpu=$2 expected_isas=$3 bin=$4 examples=$5 skipped=",${6:-},"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
failures=0
export SYMGRAD_ISA=  # the CPU's own choice, whatever the caller's environment says

emulated() { "$qemu" -cpu "$cpu" "$@"; }

fail() {
  echo "FAIL  $*"
  failures=$((failures + 1))
}

# run NAME COMMAND...: runs the command emulated, keeps its output in NAME.emulated, fails on a non-zero exit.
run() {
  local name=$1
  shift
  local start=$SECONDS
  emulated "$@" >"$name.emulated" 2>"$name.stderr"
  local status=$?
  if ((status != 0)); then
    fail "$name: exit status $status under -cpu $cpu: $*"
    sed 's/^/      /' "$name.stderr" | grep -v "TCG doesn't support" | tail -5
    return 1
  fi
  echo "ok    $name ($((SECONDS - start)) s)"
}

# same NAME COMMAND...: as run, and the output must be the native run's, byte for byte.
same() {
  local name=$1
  shift
  run "$name" "$@" || return
  "$@" >"$name.native" 2>/dev/null
  if ! cmp -s "$name.native" "$name.emulated"; then
    fail "$name: the output under -cpu $cpu differs from the native one: $*"
    diff "$name.native" "$name.emulated" | head -10 | cut -c1-300 | sed 's/^/      /'
  fi
}

# close NAME COMMAND...: as run, and every number of the output within 1e-13 (relative) of the native run's. For
# float64, whose exp, log, tanh, ... are the C library's: glibc picks its code by CPU (with FMA or without), and
# the two may round differently in the last bit; the engine and the reference evaluator of one machine agree.
close() {
  local name=$1
  shift
  run "$name" "$@" || return
  "$@" >"$name.native" 2>/dev/null
  if ! command -v python3 >/dev/null; then
    echo "      (no python3: $name is checked by its exit status only)"
  elif ! python3 "$here/json_close.py" "$name.native" "$name.emulated" 1e-13 >"$name.compared"; then
    fail "$name: the output under -cpu $cpu is not within 1e-13 of the native one: $(cat "$name.compared")"
  else
    sed 's/^/      /' "$name.compared"
  fi
}

# expect NAME PATTERN: the emulated output of NAME has a line matching PATTERN (grep -E).
expect() {
  grep -qE -- "$2" "$1.emulated" || fail "$1: no line matching '$2' in its output under -cpu $cpu"
}

# The CPU's kernel set is the one expected: a wider one would have died with SIGILL, a narrower one would leave
# a set untested.
run version "$bin/symgrad" --version && expect version "^kernels: ${expected_isas%%,*} \(this CPU runs: ${expected_isas//,/, };"

# Evaluation with gradients, float32 and float64: several blocks and a ragged tail, per-unit parameters.
# values NAME SHAPE COUNT LO HI SEED: a JSON value of COUNT numbers in [LO, HI] from a fixed sequence.
values() {
  awk -v name="$1" -v shape="$2" -v count="$3" -v lo="$4" -v hi="$5" -v seed="$6" 'BEGIN {
    srand(seed); printf "\"%s\": {\"shape\": [%s], \"data\": [", name, shape
    for (i = 0; i < count; i++) printf "%s%.9g", (i ? ", " : ""), lo + (hi - lo) * rand()
    printf "]}" }'
}
for dtype in float32 float64; do
  {
    echo "{\"expr\": \"p1 * sigmoid(p2 * x + b1) + b2 + softplus(x) * tanh(x) - log1p(exp(-abs(x))) + erf(x) / (1 + x^4)\","
    echo " \"dtype\": \"$dtype\", \"values\": {$(values x 67,33 2211 -6 6 3),"
    echo "  $(values p1 33 33 0.5 2 4), $(values p2 33 33 0.5 2 5), $(values b1 33 33 -1 1 6), $(values b2 33 33 -1 1 7)}}"
  } >request_$dtype.json
done
same eval_float32 "$bin/symgrad" eval request_float32.json
close eval_float64 "$bin/symgrad" eval request_float64.json

same grad "$bin/symgrad" grad 'x * sigmoid(beta * x)' --shape x=8,4 --shape beta=4
same check "$bin/symgrad" check 'p1 * sigmoid(p2 * x + b1) + b2' --shape x=8,4 --shape p1=4 --shape p2=4 --shape b1=4 --shape b2=4
same check_pau "$bin/symgrad" check 'pau(x, 5, 4, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4)' --shape x=40,3
same trace "$bin/symgrad" trace 'x * sigmoid(beta * x)' --at x=1.5 --at beta=2
same plot "$bin/symgrad" plot 'swish(x, beta)' --param beta=0.5,1,4
same export_torch "$bin/symgrad" export 'x * sigmoid(beta * x)' --to torch --name Swish --param beta=per-unit:1.0
same export_cpp "$bin/symgrad" export 'pau(x, 3, 2, a0, a1, a2, a3, b1, b2)' --to cpp --name pau --param a0=shared:0 \
  --param a1=shared:1 --param a2=shared:0.5 --param a3=shared:0.1 --param b1=shared:0.5 --param b2=shared:0.2
run bench "$bin/symgrad" bench 'x * sigmoid(beta * x)' --shape x=64,128 --shape beta=128 --repeat 3 --json &&
  expect bench "\"isa\":\"${expected_isas%%,*}\""
run train "$bin/symgrad" train --act swish_beta --data spirals --hidden 16,16 --epochs 3 -o model.safetensors &&
  expect train "^test accuracy: [0-9.]+%$"
run predict "$bin/symgrad" predict model.safetensors && expect predict "^test accuracy: [0-9.]+%$"
run train_float64 "$bin/symgrad" train --act 'p1 * sigmoid(p2 * x + b1) + b2' --param p1=per-unit:1 --param p2=per-unit:1 \
  --param b1=per-unit:0 --param b2=per-unit:0 --data two-moons --hidden 8 --epochs 2 --dtype float64 --threads 2 &&
  expect train_float64 "^test accuracy: [0-9.]+%$"

# The example programs that evaluate (each checks its own results and exits 1 when one is wrong).
for program in symgrad_demo readme_example 01_backprop_by_hand 02_parameter_shapes_question 03_shared_per_unit_per_channel \
  04_second_derivatives 05_fit_pade_to_gelu; do
  if [[ "$skipped" == *",$program,"* ]]; then
    echo "skip  $program (on this CPU; see tests/CMakeLists.txt)"
    continue
  fi
  run "$program" "$examples/$program"
done
run 06_compare_activations "$examples/06_compare_activations" xor 2 0

if ((failures)); then
  echo "$failures command(s) failed under -cpu $cpu"
  exit 1
fi
echo "every command ran under -cpu $cpu (kernels: ${expected_isas%%,*})"
