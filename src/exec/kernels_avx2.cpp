// The avx2 kernel set (flags: CMakeLists.txt).
#define SYMGRAD_ISA avx2
#include "exec/kernels_isa.inc"
