// The avx2 kernel set (flags: CMakeLists.txt).
#define SYMGRAD_ISA avx2
#include "kernels_isa.inc"
