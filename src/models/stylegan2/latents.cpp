#include "models/stylegan2/latents.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/one_hot.h>
#include <ATen/ops/stack.h>

#include "core/error.h"
#include "core/random/numpy_random.h"
#include "core/text/cat.h"

namespace loom {

at::Tensor z_from_seeds(const std::vector<int64_t>& seeds, int64_t z_dim) {
  std::vector<at::Tensor> rows;
  for (int64_t seed : seeds) {
    if (seed < 0 || seed > 0xFFFFFFFFll) throw UserError(cat("seed ", seed, " is outside 0..4294967295"));
    std::vector<double> z = numpy_legacy_randn(static_cast<uint32_t>(seed), z_dim);
    rows.push_back(at::from_blob(z.data(), {z_dim}, at::kDouble).to(at::kFloat));
  }
  return at::stack(rows);
}

at::Tensor mix_styles(const at::Tensor& ws_rows, const at::Tensor& ws_columns, const std::vector<int64_t>& styles) {
  const int64_t num_ws = ws_rows.size(1);
  std::vector<at::Tensor> out;
  for (int64_t r = 0; r < ws_rows.size(0); ++r)
    for (int64_t c = 0; c < ws_columns.size(0); ++c) {
      at::Tensor w = ws_rows[r].clone();
      for (int64_t s : styles) {
        if (s < 0 || s >= num_ws) throw UserError(cat("style layer ", s, " is outside 0..", num_ws - 1));
        w[s] = ws_columns[c][s];
      }
      out.push_back(w);
    }
  return at::stack(out);
}

at::Tensor class_vectors(const at::Tensor& classes, int64_t c_dim, const std::string& what) {
  const at::Tensor index = classes.to(at::kLong);
  if (index.numel() > 0 && (index.min().item<int64_t>() < 0 || index.max().item<int64_t>() >= c_dim))
    throw UserError(cat(what, ": class index outside 0..", c_dim - 1, " (model.c_dim is ", c_dim, ")"));
  return at::one_hot(index, c_dim).to(at::kFloat);
}

SeedGenerator seed_generator(GeneratorImpl& generator) {
  return {generator.mapping.get(), [&generator](const at::Tensor& ws, NoiseMode noise_mode) {
            return generator.synthesis->forward(ws, noise_mode);
          }};
}

at::Tensor images_from_seeds(const SeedGenerator& generator, const std::vector<int64_t>& seeds,
                             const at::Tensor& labels, const GenerateOptions& options, c10::Device device,
                             int64_t chunk) {
  std::vector<at::Tensor> images;
  for (size_t i = 0; i < seeds.size(); i += static_cast<size_t>(chunk)) {
    const size_t end = std::min(seeds.size(), i + static_cast<size_t>(chunk));
    const std::vector<int64_t> part(seeds.begin() + static_cast<std::ptrdiff_t>(i),
                                    seeds.begin() + static_cast<std::ptrdiff_t>(end));
    at::Tensor c = labels.defined()
                       ? labels.narrow(0, static_cast<int64_t>(i), static_cast<int64_t>(end - i)).to(device)
                       : at::Tensor();
    const at::Tensor z = z_from_seeds(part, generator.mapping->options().z_dim).to(device);
    const at::Tensor ws = generator.mapping->forward(z, c, options.truncation_psi, options.truncation_cutoff);
    images.push_back(generator.synthesize(ws, options.noise_mode).cpu());
  }
  return at::cat(images);
}

std::vector<int64_t> parse_index_list(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  size_t start = 0;
  try {
    while (start <= text.size()) {
      size_t end = text.find(',', start);
      std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
      size_t dash = part.find('-', 1);
      if (dash == std::string::npos) {
        size_t used = 0;
        out.push_back(std::stoll(part, &used));
        if (used != part.size()) throw std::invalid_argument(part);
      } else {
        const int64_t a = std::stoll(part.substr(0, dash)), b = std::stoll(part.substr(dash + 1));
        if (b < a) throw std::invalid_argument(part);
        if (b - a >= 1000000) throw std::invalid_argument(part);
        for (int64_t i = a; i <= b; ++i) out.push_back(i);
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
  } catch (const std::exception&) {
    throw UserError(cat(what, ": '", text, "' is not a list like 0-15 or 1,5,9-12 (ranges under a million)"));
  }
  if (out.empty()) throw UserError(cat(what, ": empty list"));
  if (out.size() > 1000000) throw UserError(cat(what, ": more than a million entries"));
  return out;
}

}  // namespace loom
