#include "core/config/config_node.h"

#include <algorithm>
#include <sstream>

#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom {

std::string Origin::str() const { return line > 0 ? file + ":" + std::to_string(line) : file; }

ConfigNode ConfigNode::make_scalar(std::string value, Origin origin, bool quoted) {
  ConfigNode n;
  n.kind_ = Kind::scalar;
  n.scalar_ = std::move(value);
  n.quoted_ = quoted;
  n.origin_ = std::move(origin);
  return n;
}

ConfigNode ConfigNode::make_list(Origin origin) {
  ConfigNode n;
  n.kind_ = Kind::list;
  n.origin_ = std::move(origin);
  return n;
}

ConfigNode ConfigNode::make_map(Origin origin) {
  ConfigNode n;
  n.kind_ = Kind::map;
  n.origin_ = std::move(origin);
  return n;
}

void ConfigNode::set_origin_recursive(const Origin& origin) {
  origin_ = origin;
  for (auto& item : items_) item.set_origin_recursive(origin);
  for (auto& entry : entries_) entry.second.set_origin_recursive(origin);
}

const ConfigNode* ConfigNode::find(const std::string& key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

ConfigNode* ConfigNode::find(const std::string& key) { return const_cast<ConfigNode*>(std::as_const(*this).find(key)); }

ConfigNode& ConfigNode::set(const std::string& key, ConfigNode value) {
  if (ConfigNode* existing = find(key)) return *existing = std::move(value);
  return entries_.emplace_back(key, std::move(value)).second;
}

bool ConfigNode::erase(const std::string& key) {
  return std::erase_if(entries_, [&](const auto& e) { return e.first == key; }) > 0;
}

void ConfigNode::merge_from(const ConfigNode& other) {
  if (!(is_map() && other.is_map())) {
    *this = other;
    return;
  }
  for (const auto& [key, value] : other.entries_) {
    if (ConfigNode* mine = find(key))
      mine->merge_from(value);
    else
      entries_.emplace_back(key, value);
  }
}

std::string ConfigNode::brief() const {
  switch (kind_) {
    case Kind::null:
      return "null";
    case Kind::scalar:
      return "'" + scalar_ + "'";
    case Kind::list:
      return "a list";
    case Kind::map:
      return "a mapping";
  }
  return "";
}

namespace {

// Plain YAML scalars (and keys) that would not read back as the same string need quotes.
bool needs_quotes(const std::string& s, bool quoted) {
  if (s.empty() || quoted) return true;
  if (s.find_first_of(":#{}[],&*!|>'\"%@`") != std::string::npos) return true;
  if (std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) return true;
  if (s.front() == ' ' || s.back() == ' ') return true;
  // "- x" and "? x" start block entries; "-10" and "-x" are plain scalars (and must stay numbers).
  if ((s.front() == '-' || s.front() == '?') && (s.size() == 1 || s[1] == ' ')) return true;
  return s == "null" || s == "Null" || s == "NULL" || s == "~";
}

// Double-quoted, with YAML's escapes for what a double-quoted scalar cannot hold literally.
std::string quote(const std::string& s) {
  static const char* const hex = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string scalar_text(const ConfigNode& n) {
  return needs_quotes(n.scalar(), n.quoted()) ? quote(n.scalar()) : n.scalar();
}
std::string key_text(const std::string& key) { return needs_quotes(key, false) ? quote(key) : key; }

// YAML caps implicit keys at 1024 characters; a longer one is written as an explicit "? key".
bool explicit_key(const std::string& text) { return text.size() > 1000; }

bool is_flow(const ConfigNode& n) {
  if (n.is_list())
    return std::all_of(n.items().begin(), n.items().end(), [](auto& i) { return i.is_scalar() || i.is_null(); });
  return n.is_scalar() || n.is_null() || (n.is_map() && n.entries().empty());
}

std::string flow(const ConfigNode& n) {
  if (n.is_null()) return "null";
  if (n.is_scalar()) return scalar_text(n);
  if (n.is_map())
    return cat("{",
               join(n.entries(), ", ",
                    [](const auto& entry) {
                      const std::string key = key_text(entry.first);
                      return cat(explicit_key(key) ? "? " : "", key, ": ", flow(entry.second));
                    }),
               "}");
  return cat("[", join(n.items(), ", ", flow), "]");
}

void emit(std::ostringstream& out, const ConfigNode& n, int indent) {
  const std::string pad(indent, ' ');
  if (n.is_map()) {
    for (const auto& [k, v] : n.entries()) {
      const std::string key = key_text(k);
      if (explicit_key(key))
        out << pad << "? " << key << "\n" << pad << ":";
      else
        out << pad << key << ":";
      if (is_flow(v)) {
        out << " " << flow(v) << "\n";
      } else {
        out << "\n";
        emit(out, v, indent + 2);
      }
    }
  } else if (n.is_list()) {
    for (const auto& item : n.items()) {
      if (is_flow(item)) {
        out << pad << "- " << flow(item) << "\n";
      } else {
        // "- " followed by the item's block, its first line on the dash's line.
        std::ostringstream inner;
        emit(inner, item, indent + 2);
        std::string block = inner.str();
        out << pad << "- " << block.substr(indent + 2);
      }
    }
  } else {
    out << pad << flow(n) << "\n";
  }
}

}  // namespace

std::string to_flow_yaml(const ConfigNode& node) { return flow(node); }

std::string to_yaml(const ConfigNode& node) {
  std::ostringstream out;
  emit(out, node, 0);
  return out.str();
}

}  // namespace loom
