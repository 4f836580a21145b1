#include "train/recipe.h"

#include <stdexcept>

#include <torch/nn/module.h>

#include "core/error.h"
#include "core/io/weights.h"
#include "core/log.h"
#include "core/text/cat.h"

namespace loom {

LossOutput::LossOutput(at::Tensor loss, TensorFigures figures)
    : losses{{"loss", std::move(loss)}}, figures(std::move(figures)) {}

LossOutput::LossOutput(TensorFigures named_losses, TensorFigures figures)
    : losses(std::move(named_losses)), figures(std::move(figures)) {
  if (losses.empty()) throw std::logic_error("LossOutput: no losses");
}

at::Tensor LossOutput::total() const {
  // Added one by one, not stacked: under autocast the parts may have different dtypes.
  at::Tensor sum = losses.front().second;
  for (size_t i = 1; i < losses.size(); ++i) sum = sum + losses[i].second;
  return sum;
}

bool Phase::due(int64_t step) const {
  if (step < start || (stop >= 0 && step >= stop) || step % interval != 0) return false;
  return !when || when(step);
}

void Recipe::load_weight_file(const TrainSetup& setup, const std::filesystem::path& path) {
  auto model = setup.modules.find("model");
  if (model == setup.modules.end())
    throw UserError(cat(path.string(), ": a weight file loads into the recipe's 'model', and this recipe has none"));
  LOOM_INFO(weights::load_file(*model->second, path.string()).summary());
  if (auto ema = setup.ema.find("model"); ema != setup.ema.end())
    weights::load_file(*ema->second.target, path.string());
}

}  // namespace loom
