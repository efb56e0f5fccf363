# Example 7 as a user would follow it: a copy of the source tree, examples/07_add_a_primitive/add_asinh.patch
# applied, then the table's tests (which cover the new row without new test code), PyTorch's reference numbers and
# the example's own program, built and run; then the new primitive's C++ and PyTorch exports, compiled and run. Run
# by CTest with -D SOURCE_DIR=... -D WORK_DIR=... -D GENERATOR=... -D BUILD_TYPE=... -D CXX=... [-D PYTHON=...]
file(REMOVE_RECURSE "${WORK_DIR}")
function(run)
  cmake_parse_arguments(PARSE_ARGV 0 R "" "WORKING_DIRECTORY" "")
  execute_process(COMMAND ${R_UNPARSED_ARGUMENTS} WORKING_DIRECTORY "${R_WORKING_DIRECTORY}" RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()
file(COPY "${SOURCE_DIR}/" DESTINATION "${WORK_DIR}/source" PATTERN ".git" EXCLUDE PATTERN "build" EXCLUDE)
# The copy lies inside the build tree, often inside a git checkout: git must not take it for part of that.
run("${CMAKE_COMMAND}" -E env "GIT_CEILING_DIRECTORIES=${WORK_DIR}" git apply "${SOURCE_DIR}/examples/07_add_a_primitive/add_asinh.patch"
    WORKING_DIRECTORY "${WORK_DIR}/source")
# A unity build without debug information: the copy is built once and thrown away (137 s of CI's two cores became
# about half that).
run("${CMAKE_COMMAND}" -S "${WORK_DIR}/source" -B "${WORK_DIR}/build" -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
    -DCMAKE_UNITY_BUILD=ON "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g0")
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build" --target test_ops_table test_torch_reference 07_check_asinh)
run("${WORK_DIR}/build/tests/test_ops_table")
run("${WORK_DIR}/build/tests/test_torch_reference")
file(MAKE_DIRECTORY "${WORK_DIR}/exported")
run("${WORK_DIR}/build/examples/07_check_asinh" "${WORK_DIR}/exported")
# The new primitive exports: the C++ header compiled and run against the C library, the PyTorch module against
# eager PyTorch (when the Python given has torch; without it the script says so and exits 77).
run("${CXX}" -std=c++17 -O1 -I "${WORK_DIR}/exported" "${SOURCE_DIR}/tests/add_primitive_exported.cpp" -o "${WORK_DIR}/exported/use_header")
run("${WORK_DIR}/exported/use_header")
if(NOT PYTHON AND EXISTS /usr/bin/python3)
  set(PYTHON /usr/bin/python3)  # Debian's python3-torch is a package of the system's Python
endif()
if(PYTHON)
  execute_process(COMMAND "${PYTHON}" "${SOURCE_DIR}/tests/add_primitive_exported.py" "${WORK_DIR}/exported" RESULT_VARIABLE result)
  if(NOT result EQUAL 0 AND NOT result EQUAL 77)
    message(FATAL_ERROR "the PyTorch export of asinh failed (${result})")
  endif()
endif()
