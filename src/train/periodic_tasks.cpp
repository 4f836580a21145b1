#include "train/periodic_tasks.h"

#include <set>

#include <c10/core/GradMode.h>
#include <torch/nn/module.h>

#include "core/config/config_error.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "train/rng_state.h"

namespace loom {

PeriodicTasks::PeriodicTasks(Recipe& recipe, const TrainSetup& setup, int64_t eval_every, int64_t sample_every,
                             bool main_rank) {
  tasks_.push_back({"evaluate", eval_every, true, [&recipe](const EvalContext& context) {
                      Scalars metrics = recipe.evaluate(context);
                      std::string line = join(metrics, "  ", [](const auto& m) { return cat(m.first, " ", m.second); });
                      LOOM_INFO("eval at step ", context.step, ": ", line.empty() ? "(no metrics)" : line);
                      return metrics;
                    }});
  tasks_.push_back({"samples", sample_every, true, [&recipe, main_rank](const EvalContext& context) {
                      if (main_rank) recipe.write_samples(context);
                      return Scalars{};
                    }});
  std::set<std::string> names{"evaluate", "samples", "checkpoint"};
  for (const auto& task : setup.tasks) {
    if (!names.insert(task.name).second) throw ConfigError(cat("recipe task '", task.name, "': the name is taken"));
    if (task.every < 0) throw ConfigError(cat("recipe task '", task.name, "': every must be >= 0, got ", task.every));
    tasks_.push_back(task);
  }
}

bool PeriodicTasks::task_due(const PeriodicTask& task, int64_t step, bool last) const {
  if (last) return task.at_end;
  return task.every > 0 && step % task.every == 0;
}

bool PeriodicTasks::due(int64_t step, bool last) const {
  for (const auto& task : tasks_)
    if (task_due(task, step, last)) return true;
  return false;
}

PeriodicTasks::Outcome PeriodicTasks::run(int64_t step, bool last, const EvalContext& context, TrainSetup& setup,
                                          MultiWriter* writer) const {
  Outcome out;
  if (!due(step, last)) return out;
  // Tasks may draw random numbers (latents, noise; samples on rank 0 only); the training streams
  // continue as if they had not, so the cadence of periodic work never changes training.
  const weights::NamedTensors rng = capture_rng_state();
  for (auto& [name, module] : setup.modules) module->eval();
  {
    c10::NoGradGuard no_grad;
    for (const auto& task : tasks_) {
      if (!task_due(task, step, last)) continue;
      Scalars metrics = task.run(context);
      out.evaluated = out.evaluated || task.name == "evaluate";
      if (writer && !metrics.empty()) writer->add_scalars(step, metrics);
      out.metrics.insert(out.metrics.end(), metrics.begin(), metrics.end());
    }
  }
  for (auto& [name, module] : setup.modules) module->train();
  restore_rng_state(rng);
  if (writer) writer->flush();
  return out;
}

}  // namespace loom
