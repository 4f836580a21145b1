#pragma once
// Errors a user can fix (bad config, missing or corrupt file, bad data). The CLI prints their message
// as one paragraph and exits with code 2, without a stack dump; anything else is a bug (exit 1).
#include <stdexcept>
#include <string>

namespace loom {

struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace loom
