// AugmentPipe against tests/python/augment_reference.py, an independent plain-torch implementation of
// the NVlabs pipe drawing the same random numbers (same seed, same order, CPU generator): whole-pipe
// outputs must agree to float64 rounding, which checks the draw order, the gates, the matrices, the
// padding and the filters together.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <map>
#include <string>

#include "core/io/weights.h"
#include "core/text/cat.h"
#include "nn/augment_pipe.h"
#include "support/test_env.h"

namespace {

struct Case {
  std::string name;
  loom::nn::AugmentPipeOptions options;
  double p;
  std::vector<int64_t> shape;
  uint64_t seed;
};

std::vector<double> multipliers(const loom::nn::AugmentMultipliers& m) {
  return {m.xflip, m.rotate90,   m.xint,     m.scale,    m.rotate, m.aniso,
          m.xfrac, m.brightness, m.contrast, m.lumaflip, m.hue,    m.saturation};
}

}  // namespace

TEST_CASE("the pipe matches the independent Python reference draw for draw", "[augment][python]") {
  // Named, not `{}` in the list below: GCC 12 at -O3 takes a braced default for an uninitialised string.
  const loom::nn::AugmentPipeOptions bgc;
  loom::nn::AugmentPipeOptions geom, color;
  geom.preset = "geom";
  color.preset = "color";
  color.xflip = 1.0;
  const std::vector<Case> cases{{"bgc_full", bgc, 1.0, {5, 3, 12, 16}, 101},
                                {"bgc_half", bgc, 0.5, {16, 3, 9, 9}, 102},
                                {"geom_grey", geom, 0.9, {4, 1, 10, 14}, 103},
                                {"color_flip", color, 0.7, {6, 3, 8, 8}, 104},
                                {"bgc_grey", bgc, 1.0, {4, 1, 8, 8}, 105}};
  const auto dir = loom::test::scratch("augment_parity");
  loom::weights::NamedTensors in;
  std::map<std::string, at::Tensor> ours;
  for (const Case& c : cases) {
    const at::Tensor x = at::randn(c.shape, at::make_generator<at::CPUGeneratorImpl>(c.seed), at::kDouble);
    loom::nn::AugmentPipe pipe(c.options);
    pipe->set_p(c.p);
    ours[c.name] = pipe->forward(x, at::make_generator<at::CPUGeneratorImpl>(c.seed + 1000));
    in.emplace_back(c.name + ".images", x);
    in.emplace_back(c.name + ".seed", at::tensor({static_cast<int64_t>(c.seed + 1000)}, at::kLong));
    in.emplace_back(c.name + ".p", at::tensor({static_cast<float>(c.p)}, at::kFloat));
    in.emplace_back(c.name + ".multipliers", at::tensor(multipliers(pipe->multipliers()), at::kDouble));
  }
  const std::string in_path = (dir / "in.safetensors").string(), out_path = (dir / "out.safetensors").string();
  loom::weights::write(in_path, in);
  REQUIRE(loom::test::run_python("augment_reference.py", loom::cat(in_path, " ", out_path)) == 0);
  std::map<std::string, at::Tensor> reference;
  for (auto& [name, t] : loom::weights::read(out_path)) reference[name] = t;
  for (const Case& c : cases) {
    INFO(c.name);
    const at::Tensor ref = reference.at(c.name + ".out");
    REQUIRE(ref.sizes() == ours[c.name].sizes());
    CHECK((ours[c.name] - ref).abs().max().item<double>() < 1e-9);
    CHECK((ours[c.name] - ref).abs().max().item<double>() <= 1e-9 * ref.abs().max().item<double>() + 1e-12);
  }
}
