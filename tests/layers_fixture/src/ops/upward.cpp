// A lower layer (ops) including a higher one (exec), on purpose: CTest's layers_catch_upward expects
// tests/check_layers.cmake to refuse it.
#include "exec/planner.hpp"
