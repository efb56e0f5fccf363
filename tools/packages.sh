# The Debian packages symgrad needs, in one place: sourced by tools/demo.sh, tools/test.sh and (through test.sh)
# .ci/run. `install_missing NAME...` installs those of the named packages that are not installed yet.

# To build the library, the tool, the examples and the tests (git: the test of example 7 applies its patch).
SYMGRAD_REQUIRED_PACKAGES=(cmake ninja-build g++ libfmt-dev libboost-graph-dev libcli11-dev nlohmann-json3-dev
  libopenblas-serial-dev catch2 librapidcheck-dev git)
# Optional; each is skipped, and says so, without its package:
#   graphviz       symgrad graph --format svg/png (and the test that renders one)
#   python3-torch  the PyTorch export's tests, example 9, the docs' python3 commands
#   qemu-user      the tests under emulated CPUs (an AVX2 one without AVX-512, and one with neither)
#   chromium       the test of symgrad lesson in a real browser (headless)
SYMGRAD_OPTIONAL_PACKAGES=(graphviz python3-torch qemu-user chromium)

install_missing() {
  local missing=()
  local package
  for package in "$@"; do
    # (with another architecture's copy installed too, dpkg wants the name qualified with this one's)
    dpkg -s "$package" >/dev/null 2>&1 || dpkg -s "$package:$(dpkg --print-architecture)" >/dev/null 2>&1 ||
      missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
      echo "symgrad: these packages are missing and this script is not root (and there is no sudo): ${missing[*]}" >&2
      echo "  as root: apt-get install -y ${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  echo "installing: ${missing[*]}"
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}
