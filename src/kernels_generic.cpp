// The generic kernel set (flags: CMakeLists.txt).
#define SYMGRAD_ISA generic
#include "kernels_isa.inc"
