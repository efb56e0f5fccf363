#!/usr/bin/env bash
# One test under an emulated CPU (CTest haswell_*, nehalem_*; tests/CMakeLists.txt):
#   bash tests/emulated_run.sh QEMU CPU EXPECTED_ISAS SYMGRAD [--direct] -- COMMAND...
# runs COMMAND under `QEMU -cpu CPU` (with --direct, as it is: emulated_cli.sh emulates each command itself), unless
# this machine's own CPU runs the same kernel sets as the emulated one (an AVX2 machine without AVX-512 is a Haswell
# to symgrad): then the test's native run covers that path already, and this one exits 77 (CTest: skipped), saying
# so. SYMGRAD (the tool) tells which sets this CPU runs.
set -uo pipefail
qemu=$1 cpu=$2 expected_isas=$3 symgrad=$4
shift 4
direct=0
[[ "${1:-}" == "--direct" ]] && direct=1 && shift
[[ "${1:-}" == "--" ]] && shift
host_isas=$("$symgrad" --version | sed -n 's/.*this CPU runs: \([^;)]*\).*/\1/p' | tr -d ' ')
if [[ "$host_isas" == "$expected_isas" ]]; then
  echo "skipped: this CPU runs the kernel sets of -cpu $cpu ($expected_isas), so the native run of this test is that CPU's"
  exit 77
fi
if ((direct)); then
  "$@"
else
  "$qemu" -cpu "$cpu" "$@"
fi
status=$?
# Catch2 exits with the number of failed test cases: 77 of them must not read as "skipped".
((status == 77)) && status=1
exit $status
