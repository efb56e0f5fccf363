# Cross-compiling for 64-bit ARM Linux with Debian's g++-aarch64-linux-gnu and the arm64 (multiarch) -dev packages;
# CTest runs the tests under qemu-aarch64 (tools/cross_aarch64.sh does all of it):
#   cmake -S . -B build/aarch64 -G Ninja -D CMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# Debian's multiarch layout keeps arm64 libraries and their CMake packages in /usr/lib/aarch64-linux-gnu, which
# CMake searches for this CMAKE_LIBRARY_ARCHITECTURE; no sysroot is needed.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# The arm64 C library is the multiarch one (libc6:arm64), which the -dev packages pull in and qemu finds in /lib;
# "-L /usr/aarch64-linux-gnu" (the cross compiler's copy, an older build) mixed with it hangs a threaded test.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
