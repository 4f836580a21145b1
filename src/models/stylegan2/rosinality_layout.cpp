#include "models/stylegan2/rosinality_layout.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "core/error.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "nn/upfirdn2d.h"

namespace loom {
namespace {

// "prefix<digits>.rest" → (digits, rest); nullopt when `key` does not start so.
std::optional<std::pair<int, std::string>> indexed(const std::string& key, const std::string& prefix) {
  if (key.rfind(prefix, 0) != 0) return std::nullopt;
  std::size_t i = prefix.size(), j = i;
  while (j < key.size() && std::isdigit(static_cast<unsigned char>(key[j]))) ++j;
  if (j == i || j - i > 6) return std::nullopt;
  int n = std::stoi(key.substr(i, j - i));
  if (j == key.size()) return std::make_pair(n, std::string());
  if (key[j] != '.') return std::nullopt;
  return std::make_pair(n, key.substr(j + 1));
}

// NVlabs' resample_filter: outer([1,3,3,1]) normalised to sum 1.
at::Tensor fir_filter(at::ScalarType dtype) { return nn::make_resample_filter().to(dtype); }

std::string shape_of(const at::Tensor& t) { return cat(t.sizes()); }

class Mapper {
 public:
  explicit Mapper(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw UserError(cat(source_.empty() ? "" : source_ + ": ", "rosinality generator key ", key, ": ", what));
  }

  void put(const std::string& name, const at::Tensor& t) {
    if (!out_.emplace(name, t.contiguous()).second) throw UserError(cat(where(), "two rosinality keys map to ", name));
  }

  // Rosinality's FIR kernels are dropped; they must be the standard one (× gain) NVlabs' buffers assume.
  void check_kernel(const std::string& key, const at::Tensor& t, double gain) const {
    if (t.dim() != 2 || t.size(0) != 4 || t.size(1) != 4 ||
        !at::allclose(t.to(at::kDouble).cpu(), fir_filter(at::kDouble) * gain, 0, 1e-6))
      fail(key, "is not the standard [1,3,3,1] blur kernel; only blur_kernel=[1,3,3,1] converts");
  }

  // One StyledConv (`is_rgb` false) or ToRGB layer field `rest` of rosinality key `key` → NVlabs `layer`.
  void layer_field(const std::string& key, const std::string& layer, const std::string& rest, const at::Tensor& t,
                   bool is_rgb, bool has_kernel) {
    if (rest == "conv.weight") {
      if (t.dim() != 5 || t.size(0) != 1) fail(key, cat("expected shape [1, O, I, k, k], got ", shape_of(t)));
      put(layer + ".weight", t[0]);
    } else if (rest == "conv.modulation.weight") {
      put(layer + ".affine.weight", t);
    } else if (rest == "conv.modulation.bias") {
      put(layer + ".affine.bias", t);
    } else if (!is_rgb && rest == "noise.weight") {
      if (t.numel() != 1) fail(key, cat("expected one value, got shape ", shape_of(t)));
      put(layer + ".noise_strength", t.reshape({}));
    } else if (!is_rgb && rest == "activate.bias") {
      put(layer + ".bias", t);
    } else if (is_rgb && rest == "bias") {
      put(layer + ".bias", t.reshape({-1}));
    } else if (has_kernel && rest == (is_rgb ? "upsample.kernel" : "conv.blur.kernel")) {
      check_kernel(key, t, 4.0);  // ×4: the upsampling gain
    } else {
      fail(key, "unexpected in a rosinality generator");
    }
  }

  std::map<std::string, at::Tensor> run(const std::map<std::string, at::Tensor>& state) {
    int max_rgb = -1, map_layers = 0;
    for (const auto& [key, t] : state) {
      if (auto m = indexed(key, "to_rgbs."); m && m->second == "conv.weight") max_rgb = std::max(max_rgb, m->first);
      if (auto m = indexed(key, "style."); m && m->second == "weight") map_layers = std::max(map_layers, m->first);
    }
    const int log2_res = max_rgb + 3 < 2 ? 2 : max_rgb + 3;
    const int resolution = 1 << log2_res;
    auto block = [](int k) { return cat("synthesis.b", 1 << (k + 3)); };  // k = log2(res) - 3

    std::optional<at::Tensor> latent_avg;
    for (const auto& [key, t] : state) {
      if (key == "latent_avg") {
        latent_avg = t.reshape({-1});
      } else if (key == "input.input") {
        if (t.dim() != 4 || t.size(0) != 1) fail(key, cat("expected shape [1, C, 4, 4], got ", shape_of(t)));
        put("synthesis.b4.const", t[0]);
      } else if (auto m = indexed(key, "style.")) {
        if (m->first < 1 || (m->second != "weight" && m->second != "bias"))
          fail(key, "unexpected in a rosinality generator");
        put(cat("mapping.fc", m->first - 1, ".", m->second), t);
      } else if (auto m = indexed(key, "noises.noise_"); m && m->second.empty()) {
        if (t.dim() != 4 || t.size(0) != 1 || t.size(1) != 1)
          fail(key, cat("expected shape [1, 1, H, W], got ", shape_of(t)));
        const int i = m->first;
        put(i == 0 ? "synthesis.b4.conv1.noise_const" : cat(block((i - 1) / 2), ".conv", (i - 1) % 2, ".noise_const"),
            t[0][0]);
      } else if (auto m = indexed(key, "convs.")) {
        layer_field(key, cat(block(m->first / 2), ".conv", m->first % 2), m->second, t, false, m->first % 2 == 0);
      } else if (auto m = indexed(key, "to_rgbs.")) {
        layer_field(key, cat(block(m->first), ".torgb"), m->second, t, true, true);
      } else if (key.rfind("conv1.", 0) == 0) {
        layer_field(key, "synthesis.b4.conv1", key.substr(6), t, false, false);
      } else if (key.rfind("to_rgb1.", 0) == 0) {
        layer_field(key, "synthesis.b4.torgb", key.substr(8), t, true, false);
      } else {
        fail(key, "unexpected in a rosinality generator");
      }
    }
    if (!out_.count("synthesis.b4.const")) throw UserError(cat(where(), "no input.input: not a rosinality generator"));
    if (!out_.count("mapping.fc0.weight"))
      throw UserError(cat(where(), "no style.1.weight: not a rosinality generator"));

    const at::Tensor& fc0 = out_.at("mapping.fc0.weight");
    put("mapping.w_avg", latent_avg ? *latent_avg : at::zeros({fc0.size(0)}, fc0.options()));
    const at::ScalarType dtype = out_.at("synthesis.b4.const").scalar_type();
    for (int r = 4; r <= resolution; r *= 2) {
      const std::string b = cat("synthesis.b", r);
      put(b + ".resample_filter", fir_filter(dtype));
      if (r > 4) put(b + ".conv0.resample_filter", fir_filter(dtype));
      put(b + ".conv1.resample_filter", fir_filter(dtype));
    }
    check_complete(resolution, map_layers);
    return std::move(out_);
  }

 private:
  std::string where() const { return source_.empty() ? "" : source_ + ": "; }

  // Every NVlabs key a `resolution` generator has must have come from some rosinality key.
  void check_complete(int resolution, int map_layers) const {
    std::vector<std::string> want;
    for (int i = 0; i < map_layers; ++i)
      want.insert(want.end(), {cat("mapping.fc", i, ".weight"), cat("mapping.fc", i, ".bias")});
    const std::vector<std::string> layer{"weight",        "bias",        "noise_strength",
                                         "affine.weight", "affine.bias", "noise_const"};
    for (int r = 4; r <= resolution; r *= 2) {
      const std::string b = cat("synthesis.b", r);
      for (const char* conv : {".conv0.", ".conv1."}) {
        if (r == 4 && std::string(conv) == ".conv0.") continue;
        for (const auto& p : layer) want.push_back(b + conv + p);
      }
      for (const char* p : {"weight", "bias", "affine.weight", "affine.bias"}) want.push_back(cat(b, ".torgb.", p));
    }
    std::vector<std::string> missing;
    for (const auto& k : want)
      if (!out_.count(k)) missing.push_back(k);
    if (!missing.empty()) {
      const std::string list = join(std::span(missing).first(std::min<std::size_t>(missing.size(), 6)), ", ");
      throw UserError(cat(where(), "incomplete rosinality generator (", resolution, "px): nothing maps to ", list,
                          missing.size() > 6 ? ", ..." : ""));
    }
  }

  std::string source_;
  std::map<std::string, at::Tensor> out_;
};

}  // namespace

bool is_rosinality_generator(const std::map<std::string, at::Tensor>& state) {
  return state.count("style.1.weight") && state.count("input.input");
}

std::map<std::string, at::Tensor> generator_from_rosinality(const std::map<std::string, at::Tensor>& state,
                                                            const std::string& source) {
  return Mapper(source).run(state);
}

}  // namespace loom
