#include "models/model_metadata.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <vector>

#include "core/config/config_loader.h"
#include "core/config/config_schema.h"
#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "models/blazestylegan/blazestylegan_options.h"
#include "models/classifier/convnet.h"
#include "models/clip/clip.h"
#include "models/clip/siglip.h"
#include "models/stylegan2/nvlabs_metadata.h"
#include "models/stylegan2/stylegan2_options.h"

namespace loom {

namespace {

namespace fs = std::filesystem;

// Writes every field of an options struct, an unset optional as null (ConfigWriter leaves those out).
class CompleteWriter {
 public:
  explicit CompleteWriter(ConfigNode& node) : node_(node) {}

  template <class T>
  void operator()(const char* key, const T& value, const FieldSpec& = {}) {
    node_.set(key, to_node(value));
  }

  template <class T>
  static ConfigNode to_node(const T& value) {
    if constexpr (config_detail::is_optional<T>::value) {
      if (value) return to_node(*value);
      ConfigNode null;
      null.set_origin(Origin{"defaults", 0});
      return null;
    } else if constexpr (config_detail::Visitable<T>) {
      ConfigNode map = ConfigNode::make_map(Origin{"defaults", 0});
      CompleteWriter writer(map);
      T copy = value;  // visit() is not const
      copy.visit(writer);
      return map;
    } else {
      return config_detail::ConfigWriter::to_node(value);
    }
  }

 private:
  ConfigNode& node_;
};

// Read (and validated, where the family has a validate()) as the model factory would.
template <class Options>
ConfigNode resolve(const ConfigNode& section, const std::string& path) {
  const auto options = read_config<Options>(section, path);
  if constexpr (requires { validate(options, section, path); }) validate(options, section, path);
  return CompleteWriter::to_node(options);
}

// What Loom knows of each model family's section. A family missing here is recorded and compared as
// its config gives it (so a key a config leaves at its default is not checked).
struct ModelFamily {
  const char* name;
  ConfigNode (*resolve)(const ConfigNode& section, const std::string& path);
  // Keys that do not change what the weights compute (training-only, numerics, initialisation): the
  // file's value fills them in, a config may set another.
  std::set<std::string> free_keys;
};

const ModelFamily* family_of(const ConfigNode& section) {
  static const std::vector<ModelFamily> families{
      {"stylegan2",
       resolve<StyleGan2Options>,
       {"w_avg_beta", "freeze_d_layers", "num_fp16_res", "mbstd_group_size"}},  // NVlabs resumes with any group
      {"blazestylegan", resolve<BlazeStyleGanOptions>, {"w_avg_beta"}},
      {"convnet", resolve<ConvNetOptions>, {}},
      // Preprocessing and the tokenizer's file are the user's to change; the tokenizer's kind is not.
      {"clip",
       resolve<ClipOptions>,
       {"init_logit_scale", "init_logit_bias", "preprocess.mean", "preprocess.std", "preprocess.interpolation",
        "preprocess.resize_mode", "preprocess.fill_color", "text.tokenizer.path"}},
      {"siglip",
       resolve<SigLipModelOptions>,
       {"init_logit_scale", "init_logit_bias", "preprocess.mean", "preprocess.std", "preprocess.interpolation",
        "preprocess.resize_mode", "preprocess.fill_color", "text.tokenizer.path"}}};
  const ConfigNode* name = section.is_map() ? section.find("name") : nullptr;
  if (!name || !name->is_scalar()) return nullptr;
  for (const auto& family : families)
    if (name->scalar() == family.name) return &family;
  return nullptr;
}

// A value as a config would spell it, for messages.
std::string render(const ConfigNode& node) {
  if (node.is_null()) return "null";
  if (node.is_scalar()) return node.scalar();
  if (node.is_list()) return cat("[", join(node.items(), ", ", render), "]");
  return cat("{", join(node.entries(), ", ", [](const auto& e) { return cat(e.first, ": ", render(e.second)); }), "}");
}

bool as_number(const ConfigNode& node, double& out) {
  if (!node.is_scalar() || node.quoted() || node.scalar().empty()) return false;
  char* end = nullptr;
  out = std::strtod(node.scalar().c_str(), &end);
  return *end == '\0';
}

bool same_value(const ConfigNode& a, const ConfigNode& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ConfigNode::Kind::null:
      return true;
    case ConfigNode::Kind::scalar: {
      double x = 0, y = 0;
      if (as_number(a, x) && as_number(b, y)) return x == y;
      return a.scalar() == b.scalar();
    }
    case ConfigNode::Kind::list:
      if (a.items().size() != b.items().size()) return false;
      for (size_t i = 0; i < a.items().size(); ++i)
        if (!same_value(a.items()[i], b.items()[i])) return false;
      return true;
    case ConfigNode::Kind::map:
      if (a.entries().size() != b.entries().size()) return false;
      for (const auto& [key, value] : a.entries()) {
        const ConfigNode* other = b.find(key);
        if (!other || !same_value(value, *other)) return false;
      }
      return true;
  }
  return false;
}

// Completes `config` from `file` key by key; `relative` is the key path below the model section.
void reconcile_into(ConfigNode& config, const ConfigNode& file, const std::string& path, const std::string& relative,
                    const std::set<std::string>& free_keys, const std::string& file_name) {
  for (const auto& [key, file_value] : file.entries()) {
    const std::string key_path = cat(path, ".", key), sub = relative.empty() ? key : cat(relative, ".", key);
    ConfigNode* mine = config.find(key);
    if (!mine) {
      config.set(key, file_value);
    } else if (mine->is_map() && file_value.is_map()) {
      reconcile_into(*mine, file_value, key_path, sub, free_keys, file_name);
    } else if (same_value(*mine, file_value)) {
      continue;
    } else if (free_keys.count(sub)) {
      LOOM_INFO(key_path, ": the config's ", render(*mine), " replaces the ", render(file_value), " ", file_name,
                " was made with");
    } else {
      fail_config(*mine, key_path,
                  cat("the config gives ", render(*mine), ", but ", file_name, " was made with ", render(file_value),
                      " (leave the key out to take the file's value, or use weights made with ", render(*mine), ")"));
    }
  }
}

// Values taken from `given` keep their origin (file and line); defaults say whose defaults they are.
void copy_origins(ConfigNode& resolved, const ConfigNode& given) {
  resolved.set_origin(given.origin());
  for (const auto& [key, value] : resolved.entries()) {
    ConfigNode& node = *resolved.find(key);
    const ConfigNode* source = given.is_map() ? given.find(key) : nullptr;
    if (source && node.is_map())
      copy_origins(node, *source);
    else
      node.set_origin_recursive(source ? source->origin() : Origin{cat(given.origin().file, " (defaults)"), 0});
  }
}

// Appends the canonical "key.path=value" lines of `node` (see architecture_fingerprint).
void canonical_lines(const ConfigNode& node, const std::string& key, const std::set<std::string>& free_keys,
                     std::vector<std::string>& lines) {
  if (free_keys.count(key)) return;
  if (node.is_map()) {
    for (const auto& [name, value] : node.entries())
      canonical_lines(value, key.empty() ? name : cat(key, ".", name), free_keys, lines);
    return;
  }
  std::function<std::string(const ConfigNode&)> value = [&](const ConfigNode& n) -> std::string {
    if (n.is_null()) return "null";
    if (n.is_list()) return cat("[", join(n.items(), ",", value), "]");
    if (n.is_map()) return render(n);
    double x = 0;
    if (!as_number(n, x)) return n.scalar();
    char text[40];
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9007199254740992.0)
      std::snprintf(text, sizeof text, "%lld", static_cast<long long>(x));
    else
      std::snprintf(text, sizeof text, "%.17g", x);
    return text;
  };
  lines.push_back(cat(key, "=", value(node)));
}

}  // namespace

std::string architecture_fingerprint(const ConfigNode& section) {
  const ModelFamily* family = family_of(section);
  std::vector<std::string> lines;
  canonical_lines(section, "", family ? family->free_keys : std::set<std::string>{}, lines);
  std::sort(lines.begin(), lines.end());
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const auto& line : lines)
    for (const char c : line + "\n") {
      hash ^= static_cast<unsigned char>(c);
      hash *= 0x100000001b3ULL;
    }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

ConfigNode resolved_model_section(const ConfigNode& section, const std::string& path) {
  const ModelFamily* family = family_of(section);
  if (!family) return section;
  ConfigNode resolved = family->resolve(section, path);
  copy_origins(resolved, section);
  return resolved;
}

weights::Metadata model_metadata(const ConfigNode& model_section) {
  const ConfigNode resolved = resolved_model_section(model_section, "model");
  return {{kModelMetadataKey, to_yaml(resolved)}, {kArchitectureMetadataKey, architecture_fingerprint(resolved)}};
}

std::optional<ConfigNode> model_section_from_metadata(const weights::Metadata& metadata, const std::string& file) {
  auto record = metadata.find(kModelMetadataKey);
  if (record == metadata.end()) return model_section_from_nvlabs_metadata(metadata, file);
  ConfigNode section = parse_yaml(record->second, cat(file, " metadata ", kModelMetadataKey));
  if (!section.is_map() || !section.find("name"))
    throw UserError(
        cat(file, ": metadata ", kModelMetadataKey, " is not a model section with a name (", render(section), ")"));
  if (auto recorded = metadata.find(kArchitectureMetadataKey); recorded != metadata.end())
    if (const std::string computed = architecture_fingerprint(section); recorded->second != computed)
      throw UserError(cat(file, ": metadata ", kArchitectureMetadataKey, " is ", recorded->second,
                          ", but the architecture its ", kModelMetadataKey, " record describes has fingerprint ",
                          computed, ": the metadata was edited or damaged; convert or export the weights again"));
  return section;
}

std::optional<ConfigNode> model_section_of_checkpoint(const LoadedCheckpoint& checkpoint, const std::string& key) {
  // The blob the trainer writes (train/training_state.h).
  auto config = checkpoint.contents.blobs.find("config.yaml");
  if (config == checkpoint.contents.blobs.end()) return std::nullopt;
  const ConfigNode root = parse_yaml(config->second, (checkpoint.path / "config.yaml").string());
  const ConfigNode* section = root.is_map() ? root.find(key) : nullptr;
  if (!section) return std::nullopt;
  return resolved_model_section(*section, key);
}

std::optional<ConfigNode> read_model_section(const fs::path& source) {
  if (fs::is_regular_file(source)) {
    if (source.extension() != ".safetensors") return std::nullopt;
    return model_section_from_metadata(weights::read_safetensors(source.string()).metadata, source.string());
  }
  return model_section_of_checkpoint(CheckpointStore::load(source));
}

ConfigNode reconcile_model_section(const ConfigNode& config_section, const std::string& config_path_key,
                                   const ConfigNode& file_section, const std::string& file) {
  ConfigNode out = config_section.is_map() ? config_section : ConfigNode::make_map(config_section.origin());
  const ModelFamily* family = family_of(file_section);
  reconcile_into(out, file_section, config_path_key, "", family ? family->free_keys : std::set<std::string>{}, file);
  return out;
}

}  // namespace loom
