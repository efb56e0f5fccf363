#!/usr/bin/env bash
# The main job on a fresh Debian machine, in one command: installs what is missing, builds the symgrad tool (Release)
# and trains a 2-64-64-3 MLP whose swish activation learns a beta per unit, on the built-in spirals.
#   bash tools/demo.sh [more options for symgrad train]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/packages.sh
install_missing "${SYMGRAD_REQUIRED_PACKAGES[@]}"
cmake --preset release
cmake --build --preset release --target symgrad
./build/release/symgrad --version
./build/release/symgrad train --act swish_beta --data spirals "$@"
