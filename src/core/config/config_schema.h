#pragma once
// Options structs are their own schema. A component declares its fields once:
//
//   struct AdamOptions {
//     double lr = 1e-3;                       // defaults live in code
//     std::vector<double> betas{0.9, 0.999};
//     template <class V> void visit(V& v) {
//       v("lr", lr, {.help = "learning rate", .min = 0.0});
//       v("betas", betas, {.help = "Adam (beta1, beta2)", .min = 0.0, .max = 1.0});
//     }
//   };
//   AdamOptions o = read_config<AdamOptions>(node, "optimizer");   // parse + validate
//   ConfigNode n = write_config(o);                                 // resolved values, for printing
//
// Supported field types: bool, integers, floating point, std::string, std::vector<T>, std::optional<T>,
// std::map<std::string, T>, nested structs with visit(), and ConfigNode (a raw subtree, for sections
// whose schema depends on a registry name). Errors name the file, line and full key path.
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/config/config_error.h"
#include "core/config/config_node.h"
#include "core/text/cat.h"

namespace loom {

struct FieldSpec {
  const char* help = "";
  std::optional<double> min;  // inclusive bounds for numbers (each element of a list of numbers)
  std::optional<double> max;
  bool required = false;
  std::vector<std::string> choices;  // allowed values of a string
  std::size_t min_items = 0;         // of a list (a model's stage widths: one at least)
};

namespace config_detail {

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T>
struct is_string_map<std::map<std::string, T>> : std::true_type {};

class ConfigReader;
class ConfigWriter;
template <class T>
concept Visitable = requires(T t, ConfigReader& r) {
  t.visit(r);
};

[[noreturn]] void fail(const ConfigNode& node, const std::string& path, const std::string& message);
bool parse_bool(const ConfigNode& node, const std::string& path);
long long parse_integer(const ConfigNode& node, const std::string& path);
double parse_double(const ConfigNode& node, const std::string& path);
std::string format_double(double value);
void check_range(const ConfigNode& node, const std::string& path, double value, const FieldSpec& spec);
void check_choice(const ConfigNode& node, const std::string& path, const std::string& value, const FieldSpec& spec);

std::string child_path(const std::string& path, const std::string& key);

// Reads the fields of one mapping; remembers which keys were used so leftovers can be reported.
class ConfigReader {
 public:
  ConfigReader(const ConfigNode& node, std::string path);

  template <class T>
  void operator()(const char* key, T& value, const FieldSpec& spec = {}) {
    known_.emplace_back(key);
    const ConfigNode* child = node_.is_map() ? node_.find(key) : nullptr;
    if (!child) {
      if (spec.required) fail(node_, child_path(path_, key), "missing required value");
      return;
    }
    convert(*child, child_path(path_, key), value, spec);
  }

  // Unknown keys are errors, with the closest known key suggested.
  void finish() const;

  template <class T>
  static void convert(const ConfigNode& node, const std::string& path, T& value, const FieldSpec& spec) {
    if constexpr (std::is_same_v<T, ConfigNode>) {
      value = node;
    } else if constexpr (is_optional<T>::value) {
      if (node.is_null()) {
        value.reset();
      } else {
        typename T::value_type inner{};
        convert(node, path, inner, spec);
        value = std::move(inner);
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      value = parse_bool(node, path);
    } else if constexpr (std::is_integral_v<T>) {
      long long v = parse_integer(node, path);
      if (v < static_cast<long long>(std::numeric_limits<T>::lowest()) ||
          static_cast<unsigned long long>(v) > static_cast<unsigned long long>(std::numeric_limits<T>::max()))
        fail(node, path, cat(v, " does not fit this integer field"));
      check_range(node, path, static_cast<double>(v), spec);
      value = static_cast<T>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      double v = parse_double(node, path);
      check_range(node, path, v, spec);
      value = static_cast<T>(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!node.is_scalar()) fail(node, path, cat("expected a string, got ", node.brief()));
      check_choice(node, path, node.scalar(), spec);
      value = node.scalar();
    } else if constexpr (is_vector<T>::value) {
      if (!node.is_list()) fail(node, path, cat("expected a list, got ", node.brief()));
      if (node.items().size() < spec.min_items)
        fail(node, path,
             cat("needs at least ", spec.min_items, " item", spec.min_items == 1 ? "" : "s", ", got ",
                 node.items().size()));
      value.clear();
      for (size_t i = 0; i < node.items().size(); ++i) {
        typename T::value_type item{};
        convert(node.items()[i], cat(path, "[", i, "]"), item, spec);
        value.push_back(std::move(item));
      }
    } else if constexpr (is_string_map<T>::value) {
      if (!node.is_map()) fail(node, path, cat("expected a mapping, got ", node.brief()));
      value.clear();
      for (const auto& [k, v] : node.entries()) convert(v, child_path(path, k), value[k], spec);
    } else {
      static_assert(Visitable<T>, "config field type needs a visit() method");
      if (!node.is_map()) fail(node, path, cat("expected a mapping, got ", node.brief()));
      ConfigReader reader(node, path);
      value.visit(reader);
      reader.finish();
    }
  }

 private:
  const ConfigNode& node_;
  std::string path_;
  std::vector<std::string> known_;
};

// Turns an options struct back into a tree (defaults included).
class ConfigWriter {
 public:
  explicit ConfigWriter(ConfigNode& node) : node_(node) {}

  template <class T>
  void operator()(const char* key, const T& value, const FieldSpec& = {}) {
    if constexpr (is_optional<T>::value) {
      if (!value) return;
    }
    node_.set(key, to_node(value));
  }

  template <class T>
  static ConfigNode to_node(const T& value) {
    const Origin origin{"defaults", 0};
    if constexpr (std::is_same_v<T, ConfigNode>) {
      return value;
    } else if constexpr (is_optional<T>::value) {
      return value ? to_node(*value) : ConfigNode{};
    } else if constexpr (std::is_same_v<T, bool>) {
      return ConfigNode::make_scalar(value ? "true" : "false", origin);
    } else if constexpr (std::is_integral_v<T>) {
      return ConfigNode::make_scalar(std::to_string(value), origin);
    } else if constexpr (std::is_floating_point_v<T>) {
      return ConfigNode::make_scalar(format_double(static_cast<double>(value)), origin);
    } else if constexpr (std::is_same_v<T, std::string>) {
      return ConfigNode::make_scalar(value, origin, true);
    } else if constexpr (is_vector<T>::value) {
      ConfigNode list = ConfigNode::make_list(origin);
      for (const auto& item : value) list.push_back(to_node(item));
      return list;
    } else if constexpr (is_string_map<T>::value) {
      ConfigNode map = ConfigNode::make_map(origin);
      for (const auto& [k, v] : value) map.set(k, to_node(v));
      return map;
    } else {
      ConfigNode map = ConfigNode::make_map(origin);
      ConfigWriter writer(map);
      const_cast<T&>(value).visit(writer);
      return map;
    }
  }

 private:
  ConfigNode& node_;
};

}  // namespace config_detail

// Reads `node` (the subtree at `path`, e.g. "model") into T, validating every field.
template <class T>
T read_config(const ConfigNode& node, const std::string& path = "") {
  T value{};
  if (node.is_null()) {  // an absent or empty section means "all defaults", but required fields still count
    ConfigNode empty = ConfigNode::make_map(node.origin());
    config_detail::ConfigReader::convert(empty, path, value, {});
  } else {
    config_detail::ConfigReader::convert(node, path, value, {});
  }
  return value;
}

template <class T>
ConfigNode write_config(const T& value) {
  return config_detail::ConfigWriter::to_node(value);
}

}  // namespace loom
