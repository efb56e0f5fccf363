# Runs an example and checks it as a user would read it: exit status 0, and each expected line in its output.
#   cmake -D PROGRAM=path -D ARGS="a;b" -D EXPECT="regex1;regex2" [-D EMULATOR="qemu-aarch64"] -P run_example.cmake
# EMULATOR runs a cross-compiled program (CMAKE_CROSSCOMPILING_EMULATOR).
execute_process(COMMAND ${EMULATOR} "${PROGRAM}" ${ARGS} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${status}")
endif()
foreach(pattern IN LISTS EXPECT)
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "${PROGRAM}: the output lacks '${pattern}'")
  endif()
endforeach()
