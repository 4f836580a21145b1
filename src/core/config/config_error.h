#pragma once
#include <string>

#include "core/error.h"

namespace loom {

class ConfigNode;

// A user error in a configuration; the message starts with "file:line: key.path: ...".
struct ConfigError : UserError {
  using UserError::UserError;
};

// Throws ConfigError "<node's file:line>: <path>: <message>" (path may be empty).
[[noreturn]] void fail_config(const ConfigNode& node, const std::string& path, const std::string& message);

}  // namespace loom
