#include "core/config/config_loader.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "core/config/config_error.h"
#include "core/limits.h"
#include "core/text/cat.h"

namespace fs = std::filesystem;

namespace loom {
namespace {

// yaml-cpp resolves aliases to shared nodes, so a self-referencing alias (`a: &x [*x]`) is a cycle and a
// few hundred bytes of nested aliases expand to billions of nodes: depth and node count are bounded.
struct Conversion {
  const std::string& file;
  int64_t nodes = 0;
};

ConfigNode convert(const YAML::Node& y, Conversion& c, int64_t depth) {
  const std::string& file = c.file;
  Origin origin{file, y.Mark().line + 1};
  if (depth > limits().config_depth)
    throw ConfigError(cat(origin.str(), ": the config nests deeper than ", limits().config_depth,
                          " levels (a YAML alias that refers to itself?); ", raise_limit_hint("CONFIG_DEPTH")));
  if (++c.nodes > limits().config_nodes)
    throw ConfigError(cat(file, ": the config expands to more than ", limits().config_nodes,
                          " values (YAML aliases nested into each other?); ", raise_limit_hint("CONFIG_NODES")));
  switch (y.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: {
      ConfigNode n;
      n.set_origin(origin);
      return n;
    }
    case YAML::NodeType::Scalar:
      // yaml-cpp tags plain scalars "?" and quoted ones "!".
      return ConfigNode::make_scalar(y.Scalar(), origin, y.Tag() == "!");
    case YAML::NodeType::Sequence: {
      ConfigNode n = ConfigNode::make_list(origin);
      for (const auto& item : y) n.push_back(convert(item, c, depth + 1));
      return n;
    }
    case YAML::NodeType::Map: {
      ConfigNode n = ConfigNode::make_map(origin);
      for (const auto& kv : y) {
        if (!kv.first.IsScalar())
          throw ConfigError(cat(Origin{file, kv.first.Mark().line + 1}.str(), ": mapping keys must be plain strings"));
        std::string key = kv.first.Scalar();
        if (n.find(key))
          throw ConfigError(cat(Origin{file, kv.first.Mark().line + 1}.str(), ": duplicate key '", key, "'"));
        n.set(key, convert(kv.second, c, depth + 1));
      }
      return n;
    }
  }
  return {};
}

// Only regular files: a folder reads as empty, and /dev/zero or a FIFO never ends.
std::string read_file(const fs::path& path, const std::string& wanted_by) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw ConfigError(cat(wanted_by, "config file '", path.string(), "' is ",
                          fs::is_directory(path, ec) ? "a folder" : "not a regular file", ", not a YAML file"));
  const auto size = fs::file_size(path, ec);
  if (!ec && size > static_cast<uintmax_t>(limits().config_bytes))
    throw ConfigError(cat(wanted_by, "config file '", path.string(), "' has ", size, " bytes, more than ",
                          limits().config_bytes, "; ", raise_limit_hint("CONFIG_BYTES")));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  if (!in || !(s << in.rdbuf()) || in.bad())
    throw ConfigError(cat(wanted_by, "cannot read config file '", path.string(), "'"));
  return s.str();
}

std::vector<std::string> base_paths(const ConfigNode& base) {
  std::vector<std::string> out;
  auto add = [&](const ConfigNode& n) {
    if (!n.is_scalar())
      throw ConfigError(cat(n.origin().str(), ": _base_ must be a path or a list of paths, got ", n.brief()));
    if (n.scalar().empty()) throw ConfigError(cat(n.origin().str(), ": _base_ names an empty path"));
    out.push_back(n.scalar());
  };
  if (base.is_list())
    for (const auto& item : base.items()) add(item);
  else if (!base.is_null())
    add(base);
  return out;
}

ConfigNode load_recursive(const fs::path& path, std::vector<fs::path>& chain, const std::string& wanted_by) {
  // error_code forms: a name too long or a looping symlink is the user's error, not an exception.
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  if (ec) throw ConfigError(cat(wanted_by, "config file '", path.string(), "': ", ec.message()));
  if (!exists) throw ConfigError(cat(wanted_by, "config file '", path.string(), "' does not exist"));
  fs::path canonical = fs::canonical(path, ec);
  if (ec) throw ConfigError(cat(wanted_by, "config file '", path.string(), "': ", ec.message()));
  for (const auto& p : chain) {
    if (p == canonical) {
      std::string cycle;
      for (const auto& q : chain) cycle += q.filename().string() + " -> ";
      throw ConfigError(cat(path.string(), ": _base_ cycle: ", cycle, canonical.filename().string()));
    }
  }
  chain.push_back(canonical);

  ConfigNode own = parse_yaml(read_file(path, wanted_by), path.string());
  if (!own.is_map() && !own.is_null())
    throw ConfigError(cat(path.string(), ": the top level of a config must be a mapping, got ", own.brief()));
  ConfigNode result = ConfigNode::make_map(Origin{path.string(), 1});
  if (const ConfigNode* base = own.find("_base_")) {
    for (const std::string& rel : base_paths(*base)) {
      fs::path base_path = fs::path(rel).is_absolute() ? fs::path(rel) : path.parent_path() / rel;
      result.merge_from(load_recursive(base_path, chain, base->origin().str() + ": _base_: "));
    }
    own.erase("_base_");
  }
  if (own.is_map()) result.merge_from(own);
  chain.pop_back();
  return result;
}

// Where a second document starts, from an event-only parse (aliases are not expanded, nothing is
// built). Not LoadAll: yaml-cpp 0.7 reports endless empty documents after a flow collection or a
// quoted scalar followed by more text (`[1],[2]`), and LoadAll collects them until memory runs out.
std::optional<YAML::Mark> second_document(const std::string& text) {
  struct DocumentStarts : YAML::EventHandler {
    std::vector<YAML::Mark> marks;
    void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } starts;
  std::istringstream in(text);
  YAML::Parser parser(in);
  while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
  }
  if (starts.marks.size() < 2) return std::nullopt;
  return starts.marks[1];
}

}  // namespace

ConfigNode parse_yaml(const std::string& text, const std::string& file) {
  try {
    // Load alone would silently drop every document after the first.
    if (auto second = second_document(text))
      throw ConfigError(cat(file, ":", second->line + 1, ": text after the end of the first YAML document (a '---' ",
                            "or a stray ',' after a [list] or a quoted value); a config is one document (use _base_ ",
                            "to combine files)"));
    Conversion conversion{file};
    return convert(YAML::Load(text), conversion, 0);
  } catch (const YAML::Exception& e) {
    throw ConfigError(cat(file, ":", e.mark.line + 1, ":", e.mark.column + 1, ": malformed YAML: ", e.msg));
  }
}

void apply_override(ConfigNode& root, const std::string& assignment) {
  const std::string where = cat("override '", assignment, "'");
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) throw ConfigError(cat(where, ": expected key.path=value"));
  const std::string key_path = assignment.substr(0, eq);
  ConfigNode value = parse_yaml(assignment.substr(eq + 1), where);
  // Origins inside the parsed value would name a line of the one-line override; name the override.
  value.set_origin_recursive(Origin{where, 0});

  ConfigNode* node = &root;
  std::string walked;
  std::istringstream parts(key_path);
  std::vector<std::string> keys;
  for (std::string part; std::getline(parts, part, '.');) {
    if (part.empty()) throw ConfigError(cat(where, ": empty key in '", key_path, "'"));
    keys.push_back(part);
  }
  if (static_cast<int64_t>(keys.size()) > limits().config_depth)
    throw ConfigError(cat(where, ": the key path has ", keys.size(), " parts, more than the ", limits().config_depth,
                          " levels a config may nest; ", raise_limit_hint("CONFIG_DEPTH")));
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    walked += (walked.empty() ? "" : ".") + key;
    bool last = i + 1 == keys.size();
    if (node->is_list()) {
      size_t index = 0;
      try {
        size_t used = 0;
        index = std::stoul(key, &used);
        if (used != key.size()) throw std::invalid_argument(key);
      } catch (const std::exception&) {
        throw ConfigError(cat(where, ": '", walked, "' indexes a list; expected a number"));
      }
      if (index >= node->items().size())
        throw ConfigError(
            cat(where, ": '", walked, "' is past the end of the list (", node->items().size(), " items)"));
      node = &node->item(index);
      if (last) node->merge_from(value);
      continue;
    }
    if (!node->is_map()) {
      if (!node->is_null())
        throw ConfigError(cat(where, ": '", walked, "' goes inside ", node->brief(), " which is not a mapping"));
      *node = ConfigNode::make_map(Origin{where, 0});
    }
    ConfigNode* child = node->find(key);
    if (last) {
      if (child && child->is_map() && value.is_map())
        child->merge_from(value);
      else
        node->set(key, value);
      return;
    }
    node = child ? child : &node->set(key, ConfigNode::make_map(Origin{where, 0}));
  }
}

ConfigNode load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::vector<fs::path> chain;
  ConfigNode root = load_recursive(path, chain, "");
  for (const auto& o : overrides) apply_override(root, o);
  return root;
}

}  // namespace loom
