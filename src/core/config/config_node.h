#pragma once
// The resolved configuration tree. Every node remembers where its value came from (file and line, or
// the command-line override), so errors found long after loading still point at the right place.
#include <string>
#include <utility>
#include <vector>

namespace loom {

struct Origin {
  std::string file;         // a path, or "override 'a.b=1'" for command-line values
  int line = 0;             // 1-based; 0 when unknown
  std::string str() const;  // "file:line" / "file"
};

class ConfigNode {
 public:
  enum class Kind { null, scalar, list, map };

  ConfigNode() = default;
  static ConfigNode make_scalar(std::string value, Origin origin, bool quoted = false);
  static ConfigNode make_list(Origin origin);
  static ConfigNode make_map(Origin origin);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_scalar() const { return kind_ == Kind::scalar; }
  bool is_list() const { return kind_ == Kind::list; }
  bool is_map() const { return kind_ == Kind::map; }
  const Origin& origin() const { return origin_; }
  void set_origin(Origin origin) { origin_ = std::move(origin); }
  void set_origin_recursive(const Origin& origin);

  // Scalars. `quoted` records that YAML wrote the value in quotes (so "1" is a string, never a number).
  const std::string& scalar() const { return scalar_; }
  bool quoted() const { return quoted_; }

  // Lists.
  const std::vector<ConfigNode>& items() const { return items_; }
  void push_back(ConfigNode node) { items_.push_back(std::move(node)); }
  ConfigNode& item(size_t i) { return items_.at(i); }

  // Maps keep their keys in file order.
  const std::vector<std::pair<std::string, ConfigNode>>& entries() const { return entries_; }
  const ConfigNode* find(const std::string& key) const;
  ConfigNode* find(const std::string& key);
  // Inserts or replaces key; returns the stored node.
  ConfigNode& set(const std::string& key, ConfigNode value);
  bool erase(const std::string& key);

  // Deep merge: maps merge key by key, anything else replaces (the way _base_ and overrides apply).
  void merge_from(const ConfigNode& other);

  // One-line rendering of a scalar or short value for error messages.
  std::string brief() const;

 private:
  Kind kind_ = Kind::null;
  Origin origin_;
  std::string scalar_;
  bool quoted_ = false;
  std::vector<ConfigNode> items_;
  std::vector<std::pair<std::string, ConfigNode>> entries_;
};

// Emits the tree as YAML that loads back to the same tree (the resolved config of a run).
std::string to_yaml(const ConfigNode& node);
// The same on one line in flow style ("[1, 2]", "{a: 1}"): a value as a command-line override gives it.
std::string to_flow_yaml(const ConfigNode& node);

}  // namespace loom
