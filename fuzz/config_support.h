#pragma once
// The config targets' shared property: to_yaml of a tree loads back to the same tree (the resolved
// config.yaml of a run must train the same run again). A difference aborts with the text.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/config/config_node.h"

namespace loom::fuzz {

// Same kinds, texts, order; a plain scalar may come back quoted (to_yaml quotes what must not be
// read as plain), never the reverse: a quoted "1" stays a string.
inline bool same_tree(const ConfigNode& a, const ConfigNode& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ConfigNode::Kind::null:
      return true;
    case ConfigNode::Kind::scalar:
      return a.scalar() == b.scalar() && (!a.quoted() || b.quoted());
    case ConfigNode::Kind::list:
      if (a.items().size() != b.items().size()) return false;
      for (size_t i = 0; i < a.items().size(); ++i)
        if (!same_tree(a.items()[i], b.items()[i])) return false;
      return true;
    case ConfigNode::Kind::map:
      if (a.entries().size() != b.entries().size()) return false;
      for (size_t i = 0; i < a.entries().size(); ++i)
        if (a.entries()[i].first != b.entries()[i].first || !same_tree(a.entries()[i].second, b.entries()[i].second))
          return false;
      return true;
  }
  return false;
}

// LOOM_FUZZ_ROUND_TRIP=0 turns the check off (to look past a known round-trip defect).
inline void check_round_trip(const ConfigNode& tree) {
  static const bool enabled = [] {
    const char* e = std::getenv("LOOM_FUZZ_ROUND_TRIP");
    return !(e && std::string(e) == "0");
  }();
  const std::string yaml = to_yaml(tree);
  (void)to_flow_yaml(tree);
  if (!enabled) return;
  std::string why;
  try {
    const ConfigNode back = parse_yaml(yaml, "to_yaml output");
    // An empty config is written as nothing, which load_config reads as an empty mapping again.
    if (same_tree(tree, back) || (tree.is_map() && tree.entries().empty() && back.is_null())) return;
    why = "it loads back as a different tree";
  } catch (const ConfigError& e) {
    why = std::string("it does not load back: ") + e.what();
  }
  std::fprintf(stderr, "config round trip failed: %s\n--- to_yaml ---\n%s--- end ---\n", why.c_str(), yaml.c_str());
  std::abort();
}

}  // namespace loom::fuzz
