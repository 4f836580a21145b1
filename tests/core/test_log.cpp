#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "support/test_env.h"

TEST_CASE("the log facade writes to a file in the run directory, honouring the level") {
  auto dir = loom::test::scratch("log");
  std::string path = (dir / "run" / "log.txt").string();
  loom::log::set_file(path);
  loom::log::set_level(loom::log::Level::info);
  LOOM_DEBUG("hidden ", 1);
  LOOM_INFO("step ", 7, " loss ", 0.25);
  LOOM_WARN("careful");
  loom::log::flush();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK_THAT(text.str(),
             Catch::Contains("step 7 loss 0.25") && Catch::Contains("careful") && !Catch::Contains("hidden"));
  CHECK(loom::log::parse_level("warn") == loom::log::Level::warn);
  CHECK_THROWS_AS(loom::log::parse_level("loud"), loom::UserError);
}
