#include "sweep/axis_values.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>

#include "core/config/config_node.h"
#include "core/error.h"
#include "core/text/cat.h"

namespace loom::sweep {

namespace {

struct SyntaxError {
  std::string message;
};

// Splits at commas outside quotes, brackets, braces and parentheses.
std::vector<std::string> split_top_level(const std::string& text) {
  std::vector<std::string> parts(1);
  std::string closers;
  char quote = 0;
  for (char c : text) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '[' || c == '{' || c == '(') {
      closers.push_back(c == '[' ? ']' : c == '{' ? '}' : ')');
    } else if (c == ']' || c == '}' || c == ')') {
      if (closers.empty() || closers.back() != c) throw SyntaxError{cat("unbalanced '", std::string(1, c), "'")};
      closers.pop_back();
    } else if (c == ',' && closers.empty()) {
      parts.emplace_back();
      continue;
    }
    parts.back().push_back(c);
  }
  if (quote) throw SyntaxError{cat("unclosed quote ", std::string(1, quote))};
  if (!closers.empty()) throw SyntaxError{cat("missing '", std::string(1, closers.back()), "'")};
  return parts;
}

std::string trim(const std::string& s) {
  size_t begin = s.find_first_not_of(" \t"), end = s.find_last_not_of(" \t");
  return begin == std::string::npos ? "" : s.substr(begin, end - begin + 1);
}

// `name(args)` at the top level: the function's name, or nullopt for a plain value.
std::optional<std::string> function_name(const std::string& value) {
  size_t open = value.find('(');
  if (open == std::string::npos || open == 0 || value.back() != ')') return std::nullopt;
  for (size_t i = 0; i < open; ++i)
    if (!std::isalnum(static_cast<unsigned char>(value[i])) && value[i] != '_') return std::nullopt;
  return value.substr(0, open);
}

AxisValue plain_value(const std::string& text) {
  std::string label = text;
  if (label.size() >= 2 && (label.front() == '\'' || label.front() == '"') && label.back() == label.front())
    label = label.substr(1, label.size() - 2);
  return {text, label};
}

std::optional<double> number(const std::string& s, bool& integral) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  integral = integral && s.find_first_of(".eE") == std::string::npos;
  return v;
}

std::string shortest(double v) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, end);
}

// Hydra's range: start, start + step, ... while below stop (above it for a negative step).
std::vector<AxisValue> expand_range(const std::vector<std::string>& args) {
  if (args.size() < 2 || args.size() > 3) throw SyntaxError{"range takes (start, stop) or (start, stop, step)"};
  bool integral = true;
  std::vector<double> v;
  for (const auto& a : args) {
    auto n = number(trim(a), integral);
    if (!n) throw SyntaxError{cat("range: '", trim(a), "' is not a number")};
    v.push_back(*n);
  }
  const double start = v[0], stop = v[1], step = v.size() == 3 ? v[2] : 1.0;
  if (step == 0) throw SyntaxError{"range: the step is 0"};
  const double span = (stop - start) / step;
  const auto count = span <= 0 ? 0 : static_cast<int64_t>(std::ceil(span - 1e-9));
  if (count > 100000) throw SyntaxError{cat("range: ", count, " values (more than 100000)")};
  std::vector<AxisValue> values;
  for (int64_t i = 0; i < count; ++i) {
    const double x = start + static_cast<double>(i) * step;
    std::string text = integral ? std::to_string(static_cast<int64_t>(std::llround(x))) : shortest(x);
    values.push_back({text, text});
  }
  return values;
}

}  // namespace

bool is_sweep_value(const std::string& value) {
  try {
    if (split_top_level(value).size() > 1) return true;
  } catch (const SyntaxError&) {
    return true;  // let parse_axis_values report it
  }
  auto name = function_name(trim(value));
  return name && (*name == "range" || *name == "choice");
}

std::vector<AxisValue> parse_axis_values(const std::string& key, const std::string& value) {
  const std::string assignment = cat(key, "=", value);
  try {
    std::vector<AxisValue> values;
    const std::vector<std::string> parts = split_top_level(value);
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string part = trim(parts[i]);
      if (part.empty()) throw SyntaxError{cat("value ", i + 1, " of ", parts.size(), " is empty")};
      auto name = function_name(part);
      if (!name) {
        values.push_back(plain_value(part));
        continue;
      }
      const std::string inner = part.substr(name->size() + 1, part.size() - name->size() - 2);
      if (*name == "range") {
        for (auto& v : expand_range(split_top_level(inner))) values.push_back(std::move(v));
      } else if (*name == "choice") {
        for (auto& v : parse_axis_values(key, inner)) values.push_back(std::move(v));
      } else {
        throw SyntaxError{cat("unknown sweep function '", *name, "' (range and choice are supported)")};
      }
    }
    if (values.empty()) throw SyntaxError{"no values (an empty range?)"};
    return values;
  } catch (const SyntaxError& e) {
    throw UserError(cat("sweep axis '", assignment, "': ", e.message));
  }
}

AxisValue axis_value(const ConfigNode& node) {
  AxisValue v{to_flow_yaml(node), node.is_scalar() ? node.scalar() : to_flow_yaml(node)};
  return v;
}

}  // namespace loom::sweep
