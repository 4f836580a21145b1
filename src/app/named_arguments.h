#pragma once
// `key=value` arguments of the subcommands: those that take only a few named values (export-weights,
// sweep table, sweep task), and those whose own values sit among config overrides (generate, stylize,
// embed, export).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loom::cli {

// Each argument as key -> value. UserError "<command>: unknown argument 'x' (give a=, b=)" with a
// did-you-mean for one that is not `key=value` or whose key is not in `known`.
std::map<std::string, std::string> named_arguments(const std::vector<std::string>& arguments,
                                                   const std::vector<std::string>& known, const std::string& command);

// Assigns each argument whose key is in `own` to its string (a key without '=' gets ""); every other
// argument is a config override and goes to `overrides`, in order.
void split_arguments(const std::vector<std::string>& arguments, const std::map<std::string, std::string*>& own,
                     std::vector<std::string>& overrides);

// `value` as a whole number or a decimal number, all of it; UserError "<command>: key=value is not a
// number" otherwise.
int64_t integer_argument(const std::string& command, const std::string& key, const std::string& value);
double decimal_argument(const std::string& command, const std::string& key, const std::string& value);

}  // namespace loom::cli
