#include "app/named_arguments.h"

#include <algorithm>

#include "core/error.h"
#include "core/text/cat.h"
#include "core/text/did_you_mean.h"
#include "core/text/join.h"

namespace loom::cli {

std::map<std::string, std::string> named_arguments(const std::vector<std::string>& arguments,
                                                   const std::vector<std::string>& known, const std::string& command) {
  std::map<std::string, std::string> values;
  for (const auto& argument : arguments) {
    const size_t eq = argument.find('=');
    const std::string key = argument.substr(0, eq);
    if (eq == std::string::npos || std::find(known.begin(), known.end(), key) == known.end())
      throw UserError(cat(command, ": unknown argument '", argument, "' (give ",
                          join(known, ", ", [](const std::string& k) { return k + "="; }), ")",
                          did_you_mean(key, known)));
    values[key] = argument.substr(eq + 1);
  }
  return values;
}

}  // namespace loom::cli
