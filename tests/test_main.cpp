#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstdlib>

// The native backend's kernels compiled by the tests go to the build tree, not to the user's ~/.cache (a test
// that needs another cache sets its own).
namespace {
const bool test_cache_directory_set = [] { return setenv("SYMGRAD_CACHE_DIR", SYMGRAD_TEST_CACHE_DIR, 0) == 0; }();
}
