#pragma once
#include <string>
#include <vector>

#include "core/error.h"

namespace loom {

// A user error in a configuration; the message starts with "file:line: key.path: ...".
struct ConfigError : UserError {
  using UserError::UserError;
};

// The candidate closest to `word` by edit distance, or "" when none is close enough to be a typo.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace loom
