#pragma once
// Config nodes in tests: a section from YAML text, and a key's value as text.
#include <string>

#include <catch2/catch.hpp>

#include "core/config/config_loader.h"
#include "core/config/config_node.h"

namespace loom::test {

inline ConfigNode yaml_section(const std::string& text, const std::string& file = "config.yaml") {
  return parse_yaml(text, file);
}

// The scalar at `key` ("null" for a null), REQUIREd present.
inline std::string value_of(const ConfigNode& section, const std::string& key) {
  const ConfigNode* node = section.find(key);
  REQUIRE(node);
  return node->is_null() ? "null" : node->scalar();
}

}  // namespace loom::test
