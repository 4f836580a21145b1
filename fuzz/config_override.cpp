// Command-line overrides (`a.b.c=value`, the value parsed as YAML) applied to a config shaped like the
// shipped ones: each input line is one override, applied in order; the result must survive to_yaml.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config_support.h"
#include "core/config/config_loader.h"
#include "fuzz_support.h"

namespace {

// Maps, lists of scalars and of maps, nulls and quoted scalars, for overrides to walk into and replace.
constexpr const char* kBase = R"(recipe: {name: classify, ema: true}
model: {name: convnet, widths: [16, 32, 64], num_classes: 10}
data:
  train:
    name: synthetic_shapes
    transforms:
      - {name: random_resized_crop, size: 32, scale: [0.35, 1.0]}
      - {name: hflip, p: 0.5}
  val: {name: synthetic_shapes, split: val, transforms: []}
optimizer: {name: adamw, lr: 0.004, weight_decay: 0.05}
train: {steps: 2000, seed: 0, checkpoint: {best_metric: null}}
output: {name: "quickstart", root: runs}
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const loom::ConfigNode base = loom::parse_yaml(kBase, "base.yaml");
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    overrides.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  loom::ConfigNode root = base;
  loom::fuzz::expect_user_errors([&] {
    for (const auto& o : overrides) loom::apply_override(root, o);
  });
  // A refused override leaves the tree as the earlier ones made it: still a valid tree.
  loom::fuzz::check_round_trip(root);
  return 0;
}
