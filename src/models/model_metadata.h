#pragma once
// The model section a weight file was made with. A state dict holds tensors, not the values that only
// change what they compute (StyleGAN2's conv_clamp, mapping lr multiplier, num_fp16_res ...), so those
// travel beside it: Loom's weight files and scripts/convert_stylegan2.py's carry the `model:` section in
// the safetensors metadata ("loom.model", YAML; JSON is YAML too), Loom checkpoints carry the run's
// resolved config, and older converted files NVlabs-named keys. Readers complete the config's section
// from the file's and refuse a config that contradicts it (reconcile_model_section).
#include <filesystem>
#include <optional>
#include <string>

#include "core/config/config_node.h"
#include "core/io/weights.h"

namespace loom {

struct LoadedCheckpoint;

inline constexpr const char* kModelMetadataKey = "loom.model";
inline constexpr const char* kArchitectureMetadataKey = "loom.architecture";

// A digest of what in `section` decides what its weights compute: every value but those its family
// lists as free (below), as sorted "key.path=value" lines (numbers spelt one way: integers as such,
// others as printf's %.17g; lists as [a,b]), hashed with 64-bit FNV-1a, as 16 hex digits.
// scripts/convert_open_clip.py computes the same over the section it records, so a file's record and
// its fingerprint check each other.
std::string architecture_fingerprint(const ConfigNode& section);

// The section with every field of its family's options written out, defaults included and an unset
// optional as null, so a reader tells "the default" from "not recorded". Families without an entry in
// model_metadata.cpp's table come back as given. Validates the section (ConfigError naming `path`).
ConfigNode resolved_model_section(const ConfigNode& section, const std::string& path);

// {"loom.model": the YAML of resolved_model_section(model_section), "loom.architecture": its fingerprint}.
weights::Metadata model_metadata(const ConfigNode& model_section);

// From "loom.model", else from a converted StyleGAN2 file's NVlabs-named keys; nullopt when the
// metadata records neither. UserError naming `file` when the record is malformed or does not match
// the "loom.architecture" fingerprint beside it.
std::optional<ConfigNode> model_section_from_metadata(const weights::Metadata& metadata, const std::string& file);

// The resolved section `key` of the run config a Loom checkpoint carries; nullopt when it has none.
std::optional<ConfigNode> model_section_of_checkpoint(const LoadedCheckpoint& checkpoint,
                                                      const std::string& key = "model");

// What a weight source records about its model: a .safetensors file's metadata, or a run or
// checkpoint folder's config. nullopt for other files (.pt, .bin) and files without a record.
std::optional<ConfigNode> read_model_section(const std::filesystem::path& source);

// The config's section completed from the file's: keys the config does not set are taken from the
// file, keys only the config has stay. A key set to a different value is a ConfigError naming the key
// path (e.g. "model.conv_clamp"), the file and both values, unless its family lists it as not changing
// what the weights compute (training-only or numerics: stylegan2's freeze_d_layers, w_avg_beta,
// num_fp16_res), where the config's value stays. Numbers compare by value (256 == 256.0).
ConfigNode reconcile_model_section(const ConfigNode& config_section, const std::string& config_path_key,
                                   const ConfigNode& file_section, const std::string& file);

}  // namespace loom
