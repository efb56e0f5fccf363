#!/usr/bin/env bash
# symgrad for 64-bit ARM, from an x86-64 Debian 12 machine: installs Debian's cross compiler, the arm64 -dev packages
# (multiarch) and qemu-user, builds in build/aarch64 (Release, generic kernels only) and runs the tests under
# qemu-aarch64. Not part of CI: about 4.5 minutes to build and 3 to test on two cores, and 76 arm64 packages.
#   bash tools/cross_aarch64.sh [ctest options, e.g. -R test_compile]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/packages.sh
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "adding the arm64 architecture to dpkg (multiarch)"
  if ((EUID == 0)); then dpkg --add-architecture arm64; else sudo dpkg --add-architecture arm64; fi
fi
# The header-only dependencies (CLI11, nlohmann-json, Catch2) are the build machine's; the libraries are arm64's.
install_missing cmake ninja-build g++-aarch64-linux-gnu qemu-user libcli11-dev nlohmann-json3-dev catch2 git \
  libfmt-dev:arm64 libboost-dev:arm64 libopenblas-serial-dev:arm64 librapidcheck-dev:arm64
cmake -S . -B build/aarch64 -G Ninja -D CMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -D CMAKE_BUILD_TYPE=Release \
  -D SYMGRAD_BUILD_BENCH=OFF
cmake --build build/aarch64
cd build/aarch64
# Left out: the tests that start the symgrad tool from a program of the build machine (fork/exec, bash, Python, a
# find_package build), which cannot run an arm64 binary without binfmt_misc, and example 7, which builds a patched
# copy for the build machine. The unit tests, the demo and examples 1-6 run under qemu-aarch64.
ctest --output-on-failure -j 2 \
  -E '^(test_cli|test_export|install_and_find_package|docs_activations_current|docs_commands|export_torch|example_07_add_a_primitive|example_09_export_to_pytorch)$' "$@"
