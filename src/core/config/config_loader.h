#pragma once
// Loading a run configuration: YAML files with `_base_` inheritance (one path or a list, relative to
// the including file; bases merge in order, then the file itself on top) and command-line overrides
// `a.b.c=value` (value parsed as YAML: scalars, [lists], {maps}; list elements by index: `a.0=1`).
#include <string>
#include <vector>

#include "core/config/config_node.h"

namespace loom {

// Parses one YAML document (no _base_ handling); `file` is used for origins and errors.
ConfigNode parse_yaml(const std::string& text, const std::string& file);

ConfigNode load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Applies one `a.b.c=value` override to a tree.
void apply_override(ConfigNode& root, const std::string& assignment);

}  // namespace loom
