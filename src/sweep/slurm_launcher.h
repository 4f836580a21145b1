#pragma once
// A sweep on SLURM: one job array whose task i runs manifest row i (SLURM_ARRAY_TASK_ID), so nothing but
// the sweep folder has to be shared. Each task gets USR1 `signal_delay_s` before its time limit, stops
// its job (which checkpoints) and requeues itself; the requeued task resumes the job where it stopped.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "sweep/manifest.h"
#include "sweep/sweep_spec.h"

namespace loom::sweep {

// "0-3,5,7-8": manifest rows as a SLURM array index list.
std::string array_indices(const std::vector<int64_t>& rows);

// Writes <sweep>/slurm/array-<time>.sbatch for `rows` and returns its path.
std::filesystem::path write_array_script(const Manifest& manifest, const SweepLayout& layout,
                                         const SweepOptions& options, const std::vector<int64_t>& rows);

// The array task: runs row `index` (default SLURM_ARRAY_TASK_ID) unless it is done. On USR1 it stops the
// job and calls `scontrol requeue` for itself, at most `max_requeues` times. Returns the exit code: 0 for
// a done or requeued job, the job's own code for a failed one.
int run_array_task(const SweepLayout& layout, std::optional<int64_t> index, int64_t max_requeues, std::ostream& out);

}  // namespace loom::sweep
