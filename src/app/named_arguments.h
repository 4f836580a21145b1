#pragma once
// `key=value` arguments of the subcommands that take a few named values (export-weights, sweep table,
// sweep task).
#include <map>
#include <string>
#include <vector>

namespace loom::cli {

// Each argument as key -> value. UserError "<command>: unknown argument 'x' (give a=, b=)" with a
// did-you-mean for one that is not `key=value` or whose key is not in `known`.
std::map<std::string, std::string> named_arguments(const std::vector<std::string>& arguments,
                                                   const std::vector<std::string>& known, const std::string& command);

}  // namespace loom::cli
