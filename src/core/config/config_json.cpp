#include "core/config/config_json.h"

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace loom {

namespace {

template <class T>
bool parses_as(const std::string& text, T& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  return error == std::errc() && ptr == end;
}

nlohmann::ordered_json scalar_to_json(const ConfigNode& node) {
  const std::string& text = node.scalar();
  if (node.quoted()) return text;
  if (text == "true" || text == "false") return text == "true";
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  if (int64_t i = 0; parses_as(text, i)) return i;
  if (double d = 0; parses_as(text, d)) return d;
  return text;
}

}  // namespace

nlohmann::ordered_json config_to_json(const ConfigNode& node) {
  switch (node.kind()) {
    case ConfigNode::Kind::null:
      return nullptr;
    case ConfigNode::Kind::scalar:
      return scalar_to_json(node);
    case ConfigNode::Kind::list: {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const auto& item : node.items()) list.push_back(config_to_json(item));
      return list;
    }
    case ConfigNode::Kind::map: {
      nlohmann::ordered_json map = nlohmann::ordered_json::object();
      for (const auto& [key, value] : node.entries()) map[key] = config_to_json(value);
      return map;
    }
  }
  return nullptr;
}

}  // namespace loom
