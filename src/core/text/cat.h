#pragma once
// cat(a, b, c): concatenate anything streamable into a string. Torch-free, so the logging facade and
// torch TUs share it without either seeing the other's fmt.
#include <sstream>
#include <string>

namespace loom {

template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

}  // namespace loom
