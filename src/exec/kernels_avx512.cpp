// The avx512 kernel set (flags: CMakeLists.txt).
#define SYMGRAD_ISA avx512
#include "exec/kernels_isa.inc"
