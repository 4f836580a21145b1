#include "core/config/config_schema.h"

#include <algorithm>
#include <cctype>

#include "core/text/did_you_mean.h"
#include "core/text/join.h"

namespace loom {

void fail_config(const ConfigNode& node, const std::string& path, const std::string& message) {
  std::string where = node.origin().str();
  throw ConfigError(cat(where.empty() ? "" : where + ": ", path.empty() ? "" : path + ": ", message));
}

}  // namespace loom

namespace loom::config_detail {

void fail(const ConfigNode& node, const std::string& path, const std::string& message) {
  fail_config(node, path, message);
}

std::string child_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

ConfigReader::ConfigReader(const ConfigNode& node, std::string path) : node_(node), path_(std::move(path)) {}

void ConfigReader::finish() const {
  if (!node_.is_map()) return;
  for (const auto& [key, value] : node_.entries()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    fail(value, "",
         cat("unknown key '", child_path(path_, key), "'", did_you_mean(key, known_, path_.empty() ? "" : path_ + "."),
             " (valid keys here: ", known_.empty() ? "none" : join(known_, ", "), ")"));
  }
}

bool parse_bool(const ConfigNode& node, const std::string& path) {
  if (node.is_scalar() && !node.quoted()) {
    std::string s = node.scalar();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  fail(node, path, cat("expected true or false, got ", node.brief()));
}

long long parse_integer(const ConfigNode& node, const std::string& path) {
  if (node.is_scalar() && !node.quoted()) {
    const std::string& s = node.scalar();
    long long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
    // Accept integral values written in float notation (1e6, 2.0): common in configs.
    char* stop = nullptr;
    double d = std::strtod(s.c_str(), &stop);
    if (!s.empty() && *stop == '\0' && std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18)
      return static_cast<long long>(d);
  }
  fail(node, path, cat("expected an integer, got ", node.brief()));
}

double parse_double(const ConfigNode& node, const std::string& path) {
  if (node.is_scalar() && !node.quoted()) {
    const std::string& s = node.scalar();
    if (s == ".inf" || s == "+.inf" || s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-.inf" || s == "-inf") return -std::numeric_limits<double>::infinity();
    if (s == ".nan" || s == "nan") return std::numeric_limits<double>::quiet_NaN();
    char* stop = nullptr;
    double d = std::strtod(s.c_str(), &stop);
    if (!s.empty() && *stop == '\0') return d;
  }
  fail(node, path, cat("expected a number, got ", node.brief()));
}

std::string format_double(double value) {
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  if (std::isnan(value)) return ".nan";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);  // shortest round-trip form
  std::string s(buffer, end);
  // Keep a float a float when read back by YAML tools (1 -> 1.0).
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

void check_range(const ConfigNode& node, const std::string& path, double value, const FieldSpec& spec) {
  if ((spec.min && !(value >= *spec.min)) || (spec.max && !(value <= *spec.max))) {
    std::string range = spec.min && spec.max ? cat("in [", *spec.min, ", ", *spec.max, "]")
                        : spec.min           ? cat(">= ", *spec.min)
                                             : cat("<= ", *spec.max);
    fail(node, path, cat("value ", node.brief(), " is out of range: must be ", range));
  }
}

void check_choice(const ConfigNode& node, const std::string& path, const std::string& value, const FieldSpec& spec) {
  if (spec.choices.empty() || std::find(spec.choices.begin(), spec.choices.end(), value) != spec.choices.end()) return;
  fail(node, path, cat("'", value, "' is not one of ", join(spec.choices, ", "), did_you_mean(value, spec.choices)));
}

}  // namespace loom::config_detail
