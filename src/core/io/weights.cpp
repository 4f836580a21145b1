#include "core/io/weights.h"

#include <torch/nn/module.h>
#include <torch/utils.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/io/file_system.h"
#include "core/io/safetensors.h"
#include "core/io/torch_save.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom::weights {
namespace fs = std::filesystem;

NamedTensors read(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw UserError(cat("Cannot read weights file ", path, ": it does not exist or is not a regular file."));
  std::array<char, 4> magic{};
  std::ifstream(path, std::ios::binary).read(magic.data(), magic.size());
  const std::string head(magic.data(), magic.size());
  if (head == std::string("PK\x03\x04", 4)) return read_torch_save(path);
  // A pickle starting with torch's magic number: the pre-zip torch.save format (PyTorch < 1.6).
  if (head == "\x80\x02\x8a\x0a")
    throw UserError(cat("Cannot read weights file ", path, ": it uses the legacy (PyTorch < 1.6) torch.save format; ",
                        "load it in Python and save it again with torch.save or safetensors."));
  return read_safetensors(path).tensors;
}

void write(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  const std::string ext = fs::path(path).extension().string();
  const bool safetensors = ext == ".safetensors";
  if (!safetensors && ext != ".pt" && ext != ".pth" && ext != ".bin")
    throw UserError(cat("Cannot write weights file ", path, ": the extension '", ext,
                        "' names no known format (use .safetensors, .pt, .pth or .bin)."));
  if (!safetensors && !metadata.empty())
    throw UserError(cat("Cannot write weights file ", path, ": only .safetensors files hold metadata."));

  write_durably(path, [&](std::ostream& out) {
    if (safetensors)
      write_safetensors(out, tensors, metadata, path);
    else
      write_torch_save(out, tensors, path);
  });
}

NamedTensors state_dict(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    if (item.value().defined()) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    if (item.value().defined()) out.emplace_back(item.key(), item.value());
  return out;
}

namespace {

void append_list(std::string& out, const char* label, const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 20;  // keeps a message about a wrong file readable
  if (names.empty()) return;
  if (!out.empty()) out += "; ";
  out += cat(label, " (", names.size(), "): ");
  out += join(std::span(names).first(std::min(names.size(), kShown)), ", ");
  if (names.size() > kShown) out += cat(", and ", names.size() - kShown, " more");
}

}  // namespace

std::string LoadReport::summary() const {
  std::string out;
  append_list(out, "missing", missing);
  append_list(out, "unexpected", unexpected);
  append_list(out, "shape mismatch", shape_mismatched);
  return out.empty() ? cat("all ", loaded, " tensors matched") : out;
}

LoadReport load_into(torch::nn::Module& module, const NamedTensors& tensors, const LoadOptions& options,
                     const std::string& source) {
  const std::string from = source.empty() ? "" : cat(" from ", source);
  struct Source {
    std::string file_key;
    const at::Tensor* tensor;
  };
  std::unordered_map<std::string, Source> by_name;
  std::vector<std::string> file_order;
  for (const auto& [key, tensor] : tensors) {
    std::string name = key;
    if (options.key_map) {
      auto mapped = options.key_map(key);
      if (!mapped) continue;
      name = std::move(*mapped);
    }
    auto [it, inserted] = by_name.try_emplace(name, Source{key, &tensor});
    if (!inserted)
      throw UserError(cat("Cannot load weights", from, ": the keys '", it->second.file_key, "' and '", key,
                          "' both map to '", name, "'."));
    file_order.push_back(name);
  }

  LoadReport report;
  std::vector<std::pair<at::Tensor, const at::Tensor*>> copies;
  std::unordered_set<std::string> matched;
  for (const auto& [name, target] : state_dict(module)) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      report.missing.push_back(name);
      continue;
    }
    matched.insert(name);
    const at::Tensor& src = *it->second.tensor;
    if (src.sizes() != target.sizes())
      report.shape_mismatched.push_back(cat(name, ": file ", src.sizes(), " vs module ", target.sizes()));
    else
      copies.emplace_back(target, &src);
  }
  for (const auto& name : file_order) {
    if (matched.count(name)) continue;
    const std::string& key = by_name.at(name).file_key;
    report.unexpected.push_back(key == name ? name : cat(name, " (file key ", key, ")"));
  }

  if (options.strict && !report.ok())
    throw UserError(cat("Cannot load weights", from, " (strict): ", report.summary(), "."));
  {
    torch::NoGradGuard no_grad;
    for (auto& [target, src] : copies) target.copy_(*src);
  }
  report.loaded = copies.size();
  if (!report.ok()) LOOM_WARN("Loaded weights", from, " partially: ", report.summary());
  return report;
}

LoadReport load_file(torch::nn::Module& module, const std::string& path, const LoadOptions& options) {
  return load_into(module, read(path), options, path);
}

KeyMap prefix_key_map(std::vector<std::pair<std::string, std::string>> rules) {
  return [rules = std::move(rules)](const std::string& key) -> std::optional<std::string> {
    for (const auto& [from, to] : rules)
      if (key.starts_with(from)) return cat(to, key.substr(from.size()));
    return key;
  };
}

}  // namespace loom::weights
