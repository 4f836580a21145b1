#pragma once
// `loom generate CONFIG ckpt=PATH [key=value ...]`: image grids from a StyleGAN2 generator — the EMA
// generator of a Loom checkpoint or run folder, or a weight file (NVlabs layout as written by
// scripts/convert_stylegan2.py or `loom export-weights`, optionally prefixed G_ema./G.; rosinality layout
// mapped on load). The config's `model:` section is completed from the one the source records (its
// metadata or run config), and a key that contradicts it is an error (exit 2); with a source that
// records one, the config needs no model section at all.
//   seeds=0-15 psi=0.7 cutoff=-1 noise=const class=K columns=N out=grid.png
//   mix_rows=85,100 mix_cols=55,821 mix_styles=0-6 out=mix.png   (style-mixing grid, NVlabs style)
// z for seed s is np.random.RandomState(s).randn(z_dim), as NVlabs' generate.py draws it.
#include <string>
#include <vector>

namespace loom::cli {

int generate(const std::string& config_path, const std::vector<std::string>& arguments);

}  // namespace loom::cli
