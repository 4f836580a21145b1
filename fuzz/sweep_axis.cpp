// Sweep axis values in Hydra's syntax (`key=a,b`, range(...), choice(...), quotes and brackets):
// the input is one `key=value` (no '=': the whole input is the value of key `x`). Every value must then
// be something the config loader accepts or refuses cleanly as an override, and a value that
// is_sweep_value() calls fixed must parse to exactly one value.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/config/config_loader.h"
#include "core/config/config_node.h"
#include "fuzz_support.h"
#include "sweep/axis_values.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t eq = text.find('=');
  const std::string key = eq == std::string::npos ? "x" : text.substr(0, eq);
  const std::string value = eq == std::string::npos ? text : text.substr(eq + 1);
  const bool several = loom::sweep::is_sweep_value(value);
  loom::fuzz::expect_user_errors([&] {
    const auto values = loom::sweep::parse_axis_values(key, value);
    if (!several && values.size() != 1) {
      std::fprintf(stderr, "is_sweep_value says one value, parse_axis_values gives %zu\n", values.size());
      std::abort();
    }
    for (const auto& v : values) {
      loom::ConfigNode root = loom::ConfigNode::make_map({"sweep", 0});
      loom::fuzz::expect_user_errors([&] { loom::apply_override(root, key + "=" + v.text); });
    }
  });
  // A sweep file's YAML value as an axis value (flow text and label).
  loom::fuzz::expect_user_errors([&] { (void)loom::sweep::axis_value(loom::parse_yaml(value, "sweep.yaml")); });
  return 0;
}
