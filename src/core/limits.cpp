#include "core/limits.h"

#include <limits>

#include "core/environment.h"
#include "core/text/cat.h"

namespace loom {
namespace {

int64_t from_env(const char* name, int64_t fallback) {
  return env_int(cat("LOOM_LIMIT_", name).c_str(), fallback, 1, std::numeric_limits<int64_t>::max());
}

Limits read_limits() {
  Limits l;
  l.config_depth = from_env("CONFIG_DEPTH", l.config_depth);
  l.config_nodes = from_env("CONFIG_NODES", l.config_nodes);
  l.config_bytes = from_env("CONFIG_BYTES", l.config_bytes);
  l.pickle_depth = from_env("PICKLE_DEPTH", l.pickle_depth);
  l.pickle_objects = from_env("PICKLE_OBJECTS", l.pickle_objects);
  l.image_pixels = from_env("IMAGE_PIXELS", l.image_pixels);
  l.grid_chunk = from_env("GRID_CHUNK", l.grid_chunk);
  return l;
}

}  // namespace

const Limits& limits() {
  static const Limits l = read_limits();
  return l;
}

std::string raise_limit_hint(const char* name) { return cat("set LOOM_LIMIT_", name, " to raise the limit"); }

}  // namespace loom
