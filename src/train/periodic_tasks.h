#pragma once
// The trainer's list of periodic work (train/recipe.h PeriodicTask): evaluation, samples and the
// recipe's own tasks, each at its cadence, run together in eval mode between steps.
#include <cstdint>
#include <vector>

#include "train/recipe.h"

namespace loom {

class MultiWriter;

class PeriodicTasks {
 public:
  // The trainer's evaluation (train.eval_every) and samples (train.sample_every, rank 0 only), then the
  // recipe's tasks in their order. Throws ConfigError for a duplicate name or a negative cadence.
  PeriodicTasks(Recipe& recipe, const TrainSetup& setup, int64_t eval_every, int64_t sample_every, bool main_rank);

  // Whether any task is due after `step` steps (`last`: after the last step, where at_end counts).
  bool due(int64_t step, bool last) const;
  // Runs the due tasks with every module of `setup` in eval mode and gradients off, then back in train
  // mode; the random streams continue afterwards as if nothing had run. Returns their metrics (also
  // written to `writer` on rank 0) and whether the evaluation was among them.
  struct Outcome {
    Scalars metrics;
    bool evaluated = false;
  };
  Outcome run(int64_t step, bool last, const EvalContext& context, TrainSetup& setup, MultiWriter* writer) const;

  const std::vector<PeriodicTask>& tasks() const { return tasks_; }

 private:
  bool task_due(const PeriodicTask& task, int64_t step, bool last) const;
  std::vector<PeriodicTask> tasks_;
};

}  // namespace loom
