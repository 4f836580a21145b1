#include "core/environment.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom {

const char* env_value(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int64_t env_int(const char* name, int64_t fallback, int64_t min, int64_t max) {
  const char* v = env_value(name);
  if (!v) return fallback;
  int64_t value = 0;
  const char* end = v + std::char_traits<char>::length(v);
  auto [ptr, ec] = std::from_chars(v, end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max)
    throw UserError(cat("environment variable ", name, "=\"", v, "\" is not an integer in [", min, ", ", max, "]"));
  return value;
}

int64_t required_env_int(const char* name, const char* because, int64_t min, int64_t max) {
  if (!env_value(name)) throw UserError(cat("environment variable ", name, " is missing (", because, ")"));
  return env_int(name, 0, min, max);
}

bool env_bool(const char* name) {
  const char* v = env_value(name);
  if (!v) return false;
  std::string s = v;
  if (s == "True" || s == "true" || s == "1") return true;
  if (s == "False" || s == "false" || s == "0") return false;
  throw UserError(cat("environment variable ", name, "=\"", s, "\" is not True or False"));
}

int64_t machine_cores() { return std::max<int64_t>(1, std::thread::hardware_concurrency()); }

}  // namespace loom
