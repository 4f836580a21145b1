#include "app/named_arguments.h"

#include <algorithm>
#include <exception>
#include <type_traits>

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

void split_arguments(const std::vector<std::string>& arguments, const std::map<std::string, std::string*>& own,
                     std::vector<std::string>& overrides) {
  for (const auto& argument : arguments) {
    const size_t eq = argument.find('=');
    const auto it = own.find(argument.substr(0, eq));
    if (it == own.end())
      overrides.push_back(argument);
    else
      *it->second = eq == std::string::npos ? "" : argument.substr(eq + 1);
  }
}

namespace {

template <class T>
T number_argument(const std::string& command, const std::string& key, const std::string& value) {
  size_t used = 0;
  T parsed{};
  try {
    if constexpr (std::is_same_v<T, double>)
      parsed = std::stod(value, &used);
    else
      parsed = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (value.empty() || used != value.size()) throw UserError(cat(command, ": ", key, "=", value, " is not a number"));
  return parsed;
}

}  // namespace

int64_t integer_argument(const std::string& command, const std::string& key, const std::string& value) {
  return number_argument<int64_t>(command, key, value);
}

double decimal_argument(const std::string& command, const std::string& key, const std::string& value) {
  return number_argument<double>(command, key, value);
}

}  // namespace loom::cli
