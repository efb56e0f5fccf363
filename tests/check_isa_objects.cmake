# The rule of src/exec/kernels_isa.hpp, read off the object files of the wider kernel sets: each defines one external
# symbol, its table getter (so no weak, unique or COMDAT copy of an inline function or template instance that the
# linker could keep in place of the baseline one), and has no static initialiser (nothing of it runs at load time).
#   cmake -D NM=nm -D READELF=readelf -D OBJDUMP=objdump -D SETS=avx2,avx512 -D OBJECTS=a.o,b.o [-D SANITIZE=ON] \
#         -P check_isa_objects.cmake
# Under the sanitizers, AddressSanitizer adds a constructor to every file that registers its globals; it is the
# only initialiser allowed there, and it must use no vector register (the sanitizer build runs on the developer's
# and CI's own CPU, never under emulation).
string(REPLACE "," ";" SETS "${SETS}")
string(REPLACE "," ";" OBJECTS "${OBJECTS}")
list(LENGTH SETS set_count)
list(LENGTH OBJECTS object_count)
if(NOT set_count EQUAL object_count OR set_count EQUAL 0)
  message(FATAL_ERROR "check_isa_objects: SETS (${SETS}) and OBJECTS (${OBJECTS}) must pair up")
endif()
set(failures 0)
math(EXPR last "${set_count} - 1")
foreach(i RANGE ${last})
  list(GET SETS ${i} isa)
  list(GET OBJECTS ${i} object)
  execute_process(COMMAND ${NM} --defined-only --extern-only --format=posix ${object}
                  OUTPUT_VARIABLE defined RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "check_isa_objects: ${NM} failed on ${object}")
  endif()
  string(STRIP "${defined}" defined)
  string(REPLACE "\n" ";" defined "${defined}")
  list(LENGTH defined defined_count)
  list(JOIN defined "\n  " defined_lines)
  # nm -P prints "NAME TYPE VALUE SIZE"; the getter is symgrad::detail::kernel_set_<isa>(CpuVerified<...>), type T.
  string(LENGTH "kernel_set_${isa}" name_length)
  if(NOT defined_count EQUAL 1 OR NOT defined MATCHES "^_ZN7symgrad6detail${name_length}kernel_set_${isa}E[^ ]* T ")
    message(SEND_ERROR "${isa}: ${object} must define exactly one external symbol, kernel_set_${isa}, in .text; it defines:\n  "
                       "${defined_lines}")
    math(EXPR failures "${failures} + 1")
  endif()
  execute_process(COMMAND ${READELF} --section-headers --wide ${object} OUTPUT_VARIABLE sections)
  foreach(section .init_array .ctors .preinit_array)
    string(FIND "${sections}" " ${section}" at)
    if(at GREATER -1)
      if(SANITIZE)
        # g++'s AddressSanitizer constructor (_sub_I_00099_*, in .text.startup) calls __asan_init and registers the
        # file's globals: allowed, provided it touches no vector register.
        execute_process(COMMAND ${OBJDUMP} --disassemble --section=.text.startup ${object} OUTPUT_VARIABLE constructor)
        string(REGEX MATCHALL "\n[0-9a-f]+ <[^>]+>:" functions "${constructor}")
        list(FILTER functions EXCLUDE REGEX "<_sub_I_00099_[0-9]+>:")
        if(functions OR NOT constructor MATCHES "_sub_I_00099_" OR constructor MATCHES "%[xyz]mm|%k[0-7]")
          message(SEND_ERROR "${isa}: ${object} has a ${section} section that is not AddressSanitizer's, or it uses vector registers")
          math(EXPR failures "${failures} + 1")
        endif()
      else()
        message(SEND_ERROR "${isa}: ${object} has a static initialiser (${section}): code built for ${isa} would run at load time")
        math(EXPR failures "${failures} + 1")
      endif()
    endif()
  endforeach()
  if(failures EQUAL 0)
    message(STATUS "${isa}: only kernel_set_${isa} is defined, and nothing runs at load time")
  endif()
endforeach()
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} problem(s): see src/exec/kernels_isa.hpp for the rule")
endif()
