// Catch2's main, compiled once per flavour and shared by the test executables. For tests of libloom it
// registers every family first, as the `loom` binary does, so tests can read any config.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#ifdef LOOM_TEST_REGISTER_ALL
#include "app/register_all.h"
#endif

int main(int argc, char* argv[]) {
#ifdef LOOM_TEST_REGISTER_ALL
  loom::register_all();
#endif
  return Catch::Session().run(argc, argv);
}
