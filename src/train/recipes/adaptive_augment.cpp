#include "train/recipes/adaptive_augment.h"

#include <vector>

#include "train/distributed/agreement.h"

namespace loom {

AdaptiveAugment::AdaptiveAugment(const nn::AugmentPipeOptions& pipe, const nn::AdaOptions& ada)
    : pipe_options_(pipe), ada_(ada) {}

void AdaptiveAugment::setup(TrainSetup& setup, c10::Device device, std::shared_ptr<ProcessGroup> group) {
  group_ = std::move(group);
  pipe_ = nn::AugmentPipe(pipe_options_);
  pipe_->to(device);
  pipe_->set_p(ada_.p());
  setup.modules["augment"] = pipe_.ptr();
}

at::Tensor AdaptiveAugment::operator()(const at::Tensor& images) {
  return ada_.p() > 0 ? pipe_->forward(images) : images;
}

void AdaptiveAugment::after_step(const StepInfo& info) {
  if (!ada_.due(info.step + 1)) return;
  if (group_) {
    std::vector<double> sums{ada_.sign_sum(), ada_.count()};
    sum_over_ranks(*group_, sums);
    ada_.set_accumulators(sums[0], sums[1]);
  }
  const int64_t images = info.images_seen - images_at_update_;
  ada_.update(images / ada_.options().interval);
  images_at_update_ = info.images_seen;
  pipe_->set_p(ada_.p());
}

std::map<std::string, double> AdaptiveAugment::counters() const {
  std::map<std::string, double> out{{"ada_images_at_update", static_cast<double>(images_at_update_)}};
  for (const auto& [key, value] : ada_.state()) out["ada_" + key] = value;
  return out;
}

void AdaptiveAugment::set_counters(const std::map<std::string, double>& counters) {
  std::map<std::string, double> state;
  for (const auto& [key, value] : counters) {
    if (key == "ada_images_at_update")
      images_at_update_ = static_cast<int64_t>(value);
    else if (key.starts_with("ada_"))
      state[key.substr(4)] = value;
  }
  ada_.restore(state);
  if (pipe_) pipe_->set_p(ada_.p());
}

}  // namespace loom
