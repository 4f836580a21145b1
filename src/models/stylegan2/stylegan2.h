#pragma once
// The registered model `stylegan2`: generator `G` and discriminator `D` side by side, so `loom info`
// reports both and the recipe builds both from one `model:` section. Within each, names are NVlabs'.
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"
#include "models/stylegan2/discriminator.h"
#include "models/stylegan2/generator.h"
#include "models/stylegan2/stylegan2_options.h"

namespace loom {

class StyleGan2 : public Model {
 public:
  explicit StyleGan2(const StyleGan2Options& options);

  // For one sample: "G.mapping", "G.synthesis" (upsampling convs costed at their input resolution,
  // as NVlabs runs them, stride-2 transposed), "D".
  std::vector<std::pair<std::string, int64_t>> multiply_accumulates() const override;
  int info_depth() const override { return 2; }
  std::vector<std::string> info_notes() const override;
  const StyleGan2Options& options() const { return options_; }

  Generator G{nullptr};
  Discriminator D{nullptr};

 private:
  StyleGan2Options options_;
};

// Elements of the generator's constant noise maps (noise_const buffers), which some published counts
// include (BlazeStyleGAN's 33.17M teacher).
int64_t noise_constant_elements(const GeneratorImpl& generator);

void register_stylegan2_models();

}  // namespace loom
