#include "app/generate.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>

#include <ATen/ops/cat.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>

#include "app/named_arguments.h"
#include "core/config/config_loader.h"
#include "core/limits.h"
#include "core/text/cat.h"
#include "data/image_grid.h"
#include "data/image_io.h"
#include "models/pretrained_image_generator.h"
#include "train/run_config.h"

namespace loom::cli {
namespace {

struct GenerateArguments {
  std::string checkpoint, out = "grid.png", noise = "const", device = "auto";
  std::string seeds = "0-15", mix_rows, mix_cols, mix_styles = "0-6";
  double psi = 1.0;
  int64_t cutoff = -1, class_index = -1, columns = 0;
};

// Splits generate's own key=value arguments from config overrides.
GenerateArguments parse_arguments(const std::vector<std::string>& arguments, std::vector<std::string>& overrides) {
  GenerateArguments a;
  std::string psi = cat(a.psi), cutoff = cat(a.cutoff), class_index = cat(a.class_index), columns = cat(a.columns);
  split_arguments(arguments,
                  {{"ckpt", &a.checkpoint},
                   {"out", &a.out},
                   {"noise", &a.noise},
                   {"device", &a.device},
                   {"seeds", &a.seeds},
                   {"mix_rows", &a.mix_rows},
                   {"mix_cols", &a.mix_cols},
                   {"mix_styles", &a.mix_styles},
                   {"psi", &psi},
                   {"cutoff", &cutoff},
                   {"class", &class_index},
                   {"columns", &columns}},
                  overrides);
  a.psi = decimal_argument("loom generate", "psi", psi);
  a.cutoff = integer_argument("loom generate", "cutoff", cutoff);
  a.class_index = integer_argument("loom generate", "class", class_index);
  a.columns = integer_argument("loom generate", "columns", columns);
  if (a.checkpoint.empty())
    throw UserError("loom generate needs ckpt=PATH (a run folder, a checkpoint, or a weight file)");
  return a;
}

at::Tensor labels(int64_t c_dim, int64_t n, int64_t class_index, c10::Device device) {
  if (c_dim == 0) {
    if (class_index >= 0) throw UserError("loom generate: class= given, but the generator is unconditional");
    return {};
  }
  if (class_index < 0 || class_index >= c_dim)
    throw UserError(cat("loom generate: the generator is conditional: give class=0..", c_dim - 1));
  return class_vectors(at::full({n}, class_index, at::kLong), c_dim, "loom generate class=").to(device);
}

}  // namespace

int generate(const std::string& config_path, const std::vector<std::string>& arguments) {
  std::vector<std::string> overrides;
  const GenerateArguments a = parse_arguments(arguments, overrides);
  const ConfigNode config = load_config(config_path, overrides);
  const PretrainedImageGenerator g = load_pretrained_image_generator(a.checkpoint, config.find("model"), "model");
  const c10::Device device = pick_device(a.device);
  g.module->to(device);
  g.module->eval();
  c10::NoGradGuard no_grad;
  const NoiseMode noise = parse_noise_mode(a.noise);
  const int64_t z_dim = g.seeds.mapping->options().z_dim;
  const auto start = std::chrono::steady_clock::now();
  // The grid is one PNG: refused up front when it would exceed what Loom reads back, then drawn in
  // bounded batches.
  const int64_t chunk = limits().grid_chunk;
  auto check_grid = [&](int64_t cells) {
    const int64_t pixels = g.resolution * g.resolution;
    if (cells > limits().image_pixels / pixels)
      throw UserError(cat("loom generate: a grid of ", cells, " images of ", g.resolution, "x", g.resolution,
                          " has more than ", limits().image_pixels, " pixels; ask for fewer seeds or ",
                          raise_limit_hint("IMAGE_PIXELS")));
  };
  at::Tensor grid;
  int64_t images = 0;
  if (!a.mix_rows.empty() || !a.mix_cols.empty()) {
    const auto rows = parse_index_list(a.mix_rows, "mix_rows"), cols = parse_index_list(a.mix_cols, "mix_cols");
    check_grid((static_cast<int64_t>(rows.size()) + 1) * (static_cast<int64_t>(cols.size()) + 1));
    auto ws_of = [&](const std::vector<int64_t>& seeds) {
      at::Tensor z = z_from_seeds(seeds, z_dim).to(device);
      return g.seeds.mapping->forward(z, labels(g.c_dim, z.size(0), a.class_index, device), a.psi, a.cutoff);
    };
    auto synthesize = [&](const at::Tensor& ws) {
      std::vector<at::Tensor> parts;
      for (int64_t i = 0; i < ws.size(0); i += chunk)
        parts.push_back(g.seeds.synthesize(ws.narrow(0, i, std::min(chunk, ws.size(0) - i)), noise).cpu());
      return at::cat(parts);
    };
    const at::Tensor row_ws = ws_of(rows), col_ws = ws_of(cols);
    const at::Tensor mixed = synthesize(mix_styles(row_ws, col_ws, parse_index_list(a.mix_styles, "mix_styles")));
    // NVlabs' layout: a blank corner, the column sources across the top, each row source at its left.
    const at::Tensor tops = synthesize(col_ws), lefts = synthesize(row_ws);
    std::vector<at::Tensor> cells{at::zeros_like(tops[0]).fill_(-1)};
    for (int64_t c = 0; c < tops.size(0); ++c) cells.push_back(tops[c]);
    for (int64_t r = 0; r < lefts.size(0); ++r) {
      cells.push_back(lefts[r]);
      for (int64_t c = 0; c < tops.size(0); ++c) cells.push_back(mixed[r * tops.size(0) + c]);
    }
    grid = data::image_grid(at::stack(cells), tops.size(0) + 1);
    images = mixed.size(0) + tops.size(0) + lefts.size(0);
  } else {
    const auto seeds = parse_index_list(a.seeds, "seeds");
    check_grid(static_cast<int64_t>(seeds.size()));
    const at::Tensor all =
        images_from_seeds(g.seeds, seeds, labels(g.c_dim, static_cast<int64_t>(seeds.size()), a.class_index, c10::kCPU),
                          {.truncation_psi = a.psi, .truncation_cutoff = a.cutoff, .noise_mode = noise}, device, chunk);
    grid = data::image_grid(all, a.columns);
    images = all.size(0);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  data::write_png(a.out, grid);
  std::cout << "loaded " << g.tensors_loaded << " tensors from " << a.checkpoint << "\n"
            << "wrote " << a.out << " (" << images << " images of " << g.resolution << "x" << g.resolution << " on "
            << device.str() << ", " << static_cast<double>(images) / seconds << " images/s)\n";
  return 0;
}

}  // namespace loom::cli
