#pragma once
// Learning-rate schedules: a multiplier of the base learning rate as a function of the optimizer step.
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config_schema.h"

namespace loom {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double factor(int64_t step) const = 0;
};

struct ConstantScheduleOptions {
  std::string name = "constant";
  int64_t warmup_steps = 0;  // linear ramp from 0 to 1 over these steps

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("warmup_steps", warmup_steps, {.help = "linear warm-up steps", .min = 0});
  }
};

struct CosineScheduleOptions {
  std::string name = "warmup_cosine";
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;
  double final_factor = 0.0;  // the multiplier reached at total_steps

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("warmup_steps", warmup_steps, {.help = "linear warm-up steps", .min = 0});
    v("total_steps", total_steps, {.help = "steps until the cosine reaches final_factor", .min = 1, .required = true});
    v("final_factor", final_factor, {.help = "final multiplier of the base lr", .min = 0.0, .max = 1.0});
  }
};

struct StepScheduleOptions {
  std::string name = "step";
  std::vector<int64_t> milestones;  // steps at which the lr is multiplied by gamma
  double gamma = 0.1;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("milestones", milestones, {.help = "steps where the lr decays", .min = 0, .required = true});
    v("gamma", gamma, {.help = "decay factor at each milestone", .min = 0.0});
  }
};

class ConstantSchedule : public Schedule {
 public:
  explicit ConstantSchedule(ConstantScheduleOptions o) : o_(std::move(o)) {}
  double factor(int64_t step) const override;

 private:
  ConstantScheduleOptions o_;
};

class CosineSchedule : public Schedule {
 public:
  explicit CosineSchedule(CosineScheduleOptions o);
  double factor(int64_t step) const override;

 private:
  CosineScheduleOptions o_;
};

class StepSchedule : public Schedule {
 public:
  explicit StepSchedule(StepScheduleOptions o) : o_(std::move(o)) {}
  double factor(int64_t step) const override;

 private:
  StepScheduleOptions o_;
};

}  // namespace loom
