#pragma once
// Weight files (safetensors and Python torch.save zip state dicts) and loading them into modules.
// Formats live in safetensors.h / torch_save.h; this is the format-agnostic entry point.
#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace torch::nn {
class Module;
}

namespace loom::weights {

// Name → tensor in file order (nested torch.save dicts are flattened with '.').
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
// safetensors "__metadata__": free-form string pairs.
using Metadata = std::map<std::string, std::string>;

// Detects the format by content: a zip (torch.save) or a safetensors header. Throws UserError.
NamedTensors read(const std::string& path);

// Format by extension: ".safetensors", or ".pt"/".pth"/".bin" (torch.save, loadable by Python's
// torch.load(weights_only=True)). Written durably (core/io/file_system.h), so readers never see a
// partial file. Metadata needs ".safetensors". Throws UserError.
void write(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

// Parameters, then buffers, with dotted names (undefined ones skipped). Tensors alias the module's.
NamedTensors state_dict(const torch::nn::Module& module);

struct LoadReport {
  std::vector<std::string> missing;           // in the module, not in the file
  std::vector<std::string> unexpected;        // in the file, not in the module
  std::vector<std::string> shape_mismatched;  // "name: file [a, b] vs module [c, d]"
  std::size_t loaded = 0;

  bool ok() const { return missing.empty() && unexpected.empty() && shape_mismatched.empty(); }
  std::string summary() const;
};

// Maps a file key to a module key; nullopt drops the key (it then never counts as unexpected).
using KeyMap = std::function<std::optional<std::string>(const std::string&)>;

struct LoadOptions {
  bool strict = true;  // any missing/unexpected/mismatched key → UserError, module untouched
  KeyMap key_map;      // applied to every file key before matching
};

// Copies matching tensors into the module's parameters and buffers (no grad, converted to their dtype
// and device). `source` names the file in messages.
LoadReport load_into(torch::nn::Module& module, const NamedTensors& tensors, const LoadOptions& options = {},
                     const std::string& source = "");

// Reads `path` and loads it into `module`.
LoadReport load_file(torch::nn::Module& module, const std::string& path, const LoadOptions& options = {});

// Rewrites the first matching prefix: prefix_key_map({{"module.", ""}, {"enc.", "encoder."}}).
KeyMap prefix_key_map(std::vector<std::pair<std::string, std::string>> rules);

}  // namespace loom::weights
