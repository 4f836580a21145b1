#pragma once
// `loom sweep`: expand, run and resume an ablation sweep (sweep/), and aggregate its results.
//   loom sweep FILE [key=v1,v2 | key=range(a,b) | seed=0,1,2 | key=value | sweep.option=value ...] [--dry-run]
//   loom sweep table SWEEP_DIR [metric=NAME] [mode=min|max]
//   loom sweep task SWEEP_DIR [index=K] [max_requeues=N]      (the body of a SLURM array task)
#include <string>
#include <vector>

namespace loom::cli {

// Exit code of a sweep that finished with failed jobs (its summary lists them).
inline constexpr int kSweepFailed = 4;

int sweep(const std::vector<std::string>& arguments, bool dry_run);

}  // namespace loom::cli
