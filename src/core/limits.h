#pragma once
// Bounds on what a parser or decoder may build from one input, so a small hostile or broken file (a
// YAML alias bomb, a deeply nested pickle, a 20000 x 20000 PNG) is refused with a message instead of
// exhausting the stack or the memory. Each has a default and an environment variable that overrides it,
// read once: LOOM_LIMIT_<NAME>, e.g. LOOM_LIMIT_IMAGE_PIXELS=400000000.
#include <cstdint>
#include <string>

namespace loom {

struct Limits {
  int64_t config_depth = 64;            // nesting of maps and lists in a config
  int64_t config_nodes = 1'000'000;     // nodes of one config file once aliases are expanded
  int64_t config_bytes = 16 << 20;      // size of one config file
  int64_t pickle_depth = 1000;          // nesting of a torch.save pickle (Python's own recursion limit)
  int64_t pickle_objects = 10'000'000;  // objects one pickle may create
  int64_t image_pixels = 178'956'970;   // pixels of one image, read from its header before decoding (PIL's)
  int64_t grid_chunk = 64;              // images synthesised per batch when a grid is drawn
};

const Limits& limits();

// "set LOOM_LIMIT_<NAME> to raise it": the hint every limit error ends with.
std::string raise_limit_hint(const char* name);

}  // namespace loom
