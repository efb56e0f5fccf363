// The generic kernel set (flags: CMakeLists.txt).
#define SYMGRAD_ISA generic
#include "exec/kernels_isa.inc"
