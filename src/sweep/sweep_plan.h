#pragma once
// From `loom sweep FILE key=values ...` to what runs: the expansion, every job's config checked as
// `loom train` checks it, and the comparison with what an earlier run of the same sweep recorded, all
// before anything is written or started.
#include <string>
#include <vector>

#include "sweep/manifest.h"
#include "sweep/sweep_spec.h"

namespace loom::sweep {

struct PlannedJob {
  const Job* job = nullptr;  // into SweepPlan::manifest.jobs
  JobStatus status;
  std::string config_yaml;  // resolved
};

struct SweepPlan {
  SweepSpec spec;
  SweepLayout layout;
  Manifest manifest;               // the earlier rows, then this expansion's new ones
  std::vector<PlannedJob> jobs;    // this expansion, in order
  std::vector<std::string> notes;  // what changed since the manifest was written (accepted)

  std::vector<const Job*> to_run() const;  // pending, interrupted and stale running ones; failed on request
};

// UserError / ConfigError for bad syntax, a config that `loom train` would refuse (naming the job and
// the key), or, unless sweep.accept_changes, a base config or binary that changed since the sweep began.
SweepPlan plan_sweep(const std::string& file, const std::vector<std::string>& arguments);

// The manifest, and each job's config.yaml, overrides.yaml and (for a new job) status.json: pending.
void write_plan(const SweepPlan& plan);

}  // namespace loom::sweep
