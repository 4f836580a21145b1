#pragma once
// The lpips package's VGG heads, re-saved by scripts/convert_lpips.py once per test binary run into a
// scratch folder of their own (no case's scratch folder wipes them): what the recipe tests' LPIPS
// losses and distances load.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "core/text/cat.h"
#include "support/test_env.h"

namespace loom::test {

inline std::string lpips_heads() {
  static std::string made;
  if (!made.empty()) return made;
  const std::string out = (scratch("lpips_heads") / "lpips_vgg.safetensors").string();
  const std::string find = cat(python(), " -c \"import lpips, os; print(os.path.join(os.path.dirname(lpips.__file__), ",
                               "'weights', 'v0.1', 'vgg.pth'))\"");
  const std::string command =
      cat(python(), " ", (source_dir() / "scripts" / "convert_lpips.py").string(), " heads \"$(", find, ")\" ", out);
  REQUIRE(std::system(command.c_str()) == 0);
  made = out;
  return made;
}

}  // namespace loom::test
