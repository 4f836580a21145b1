#include "train/optim/schedules.h"

#include <cmath>
#include <numbers>

#include "core/registry/registries.h"
#include "train/optim/register.h"

namespace loom {
namespace {

// Step s of a warm-up of length w runs at (s + 1) / w, so the first update already moves the weights.
double warmup(int64_t step, int64_t warmup_steps) {
  return step < warmup_steps ? static_cast<double>(step + 1) / static_cast<double>(warmup_steps) : 1.0;
}

}  // namespace

double ConstantSchedule::factor(int64_t step) const { return warmup(step, o_.warmup_steps); }

CosineSchedule::CosineSchedule(CosineScheduleOptions o) : o_(std::move(o)) {
  if (o_.warmup_steps >= o_.total_steps)
    throw ConfigError(
        cat("schedule: warmup_steps (", o_.warmup_steps, ") must be smaller than total_steps (", o_.total_steps, ")"));
}

double CosineSchedule::factor(int64_t step) const {
  if (step < o_.warmup_steps) return warmup(step, o_.warmup_steps);
  double progress = std::min(
      1.0, static_cast<double>(step - o_.warmup_steps) / static_cast<double>(o_.total_steps - o_.warmup_steps));
  return o_.final_factor + (1.0 - o_.final_factor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

double StepSchedule::factor(int64_t step) const {
  double f = 1.0;
  for (int64_t m : o_.milestones)
    if (step >= m) f *= o_.gamma;
  return f;
}

void register_schedules() {
  schedule_registry().add(
      "constant",
      [](const ConfigNode& n, const std::string& path) {
        return std::make_shared<ConstantSchedule>(read_config<ConstantScheduleOptions>(n, path));
      },
      "constant lr after an optional linear warm-up");
  schedule_registry().add(
      "warmup_cosine",
      [](const ConfigNode& n, const std::string& path) {
        return std::make_shared<CosineSchedule>(read_config<CosineScheduleOptions>(n, path));
      },
      "linear warm-up, then cosine decay to final_factor at total_steps");
  schedule_registry().add(
      "step",
      [](const ConfigNode& n, const std::string& path) {
        return std::make_shared<StepSchedule>(read_config<StepScheduleOptions>(n, path));
      },
      "multiply the lr by gamma at each milestone");
}

}  // namespace loom
