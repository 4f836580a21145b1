// z from seeds as NVlabs' scripts draw it: np.random.RandomState(seed).randn(n), compared with numpy.
#include <catch2/catch.hpp>

#include <sstream>

#include "core/random/numpy_random.h"
#include "support/test_env.h"

TEST_CASE("numpy_legacy_randn equals np.random.RandomState(seed).randn", "[stylegan2][seeds]") {
  const auto r = loom::test::run_command(loom::cat(
      loom::test::python(), " ", (loom::test::source_dir() / "tests/python/numpy_randn_reference.py").string(),
      " 513 0 1 42 4294967295"));
  REQUIRE(r.code == 0);
  std::istringstream lines(r.output);
  for (uint32_t seed : {0u, 1u, 42u, 4294967295u}) {
    const std::vector<double> mine = loom::numpy_legacy_randn(seed, 513);  // odd: the cached value too
    std::string line;
    REQUIRE(std::getline(lines, line));
    std::istringstream values(line);
    double worst = 0;
    for (double v : mine) {
      double ref;
      REQUIRE(values >> ref);
      worst = std::max(worst, std::abs(v - ref));
    }
    INFO("seed " << seed);
    CHECK(worst <= 1e-15);
  }
}
