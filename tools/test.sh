#!/usr/bin/env bash
# The tests on a fresh Debian machine, in one command (what CI runs: .ci/run calls this): installs what is missing,
# the optional packages included, then configures, builds and runs the test suite in Release (with the runs under
# emulated CPUs), and once more under AddressSanitizer and UndefinedBehaviorSanitizer.
#   bash tools/test.sh            everything
#   bash tools/test.sh --release  the Release suite only (about 12 of the 22 minutes a fresh clone took on two cores,
#                                 2026-12-04: Release build 6.4, its tests 5.8, sanitizers build 7.9, their tests 2.0)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/packages.sh
install_missing "${SYMGRAD_REQUIRED_PACKAGES[@]}" "${SYMGRAD_OPTIONAL_PACKAGES[@]}"

echo "== tests (Release) =="
cmake --workflow --preset test
if [[ "${1:-}" == "--release" ]]; then
  exit 0
fi
echo "== tests under ASan + UBSan =="
cmake --workflow --preset sanitize
