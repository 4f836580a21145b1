#pragma once
// A resolved configuration tree as JSON, for tools outside Loom (the weights-and-metadata export beside
// an ONNX file): maps in file order, lists, and scalars typed as YAML reads them — a quoted value is a
// string; unquoted true/false, null/~, integers and decimal numbers are JSON booleans, null and numbers;
// anything else is a string.
#include <nlohmann/json_fwd.hpp>

#include "core/config/config_node.h"

namespace loom {

nlohmann::ordered_json config_to_json(const ConfigNode& node);

}  // namespace loom
