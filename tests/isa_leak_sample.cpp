// A wide kernel-set file that breaks the rule of src/exec/kernels_isa.hpp on purpose, never linked into anything: CTest
// isa_objects_catches_leaks runs tests/check_isa_objects.cmake on its object file and expects both complaints, so
// the check that guards the real kernel sets is known to fail when it should.
#include <cmath>

namespace symgrad::detail {

// Inline and template functions with external linkage, emitted out of line: weak symbols the linker could pick.
inline __attribute__((noinline)) double leaked_inline(double x) { return std::exp(x) * 2; }
template <class T> __attribute__((noinline)) T leaked_template(T x) { return x + 1; }

// A global initialised at load time: code of this file that would run before anyone asked the CPU.
int table_size = static_cast<int>(leaked_inline(1.0));

int kernel_set_avx512(int x) { return leaked_template(x) + table_size; }

}  // namespace symgrad::detail
