#pragma once
// `loom sweep table`: the final and best value of every metric of every job (from each run's
// metrics.jsonl), as Markdown and CSV with one column per swept key, sorted by the chosen metric; mean ±
// std over the seed repeats; the metric against the step for every job and a bar chart per axis (PNG).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sweep/manifest.h"

namespace loom::sweep {

struct MetricTrace {
  std::vector<std::pair<int64_t, double>> points;  // (step, value) in step order
  double final = 0;
  double best = 0;
  int64_t best_step = 0;
};

struct JobResult {
  const Job* job = nullptr;
  JobState state = JobState::pending;
  std::map<std::string, MetricTrace> metrics;
};

struct SweepResults {
  std::vector<std::string> keys;  // swept keys, in first-seen order (the seed key last)
  std::string metric;             // what rows are sorted by
  bool minimize = false;
  std::vector<JobResult> jobs;  // in manifest order (the tables sort them)
};

// Lower is better for losses, distances and error rates (names with loss, fid, kid, lpips, error, mse,
// l1, l2, distance), higher for everything else: the direction `mode` "" picks.
bool lower_is_better(const std::string& metric);

// A run's metrics.jsonl as traces. Lines a resume wrote again (steps after its checkpoint that an
// earlier attempt had logged) replace the earlier ones; an unreadable line is skipped.
std::map<std::string, MetricTrace> read_metrics(const std::filesystem::path& jsonl);

// Every job of the manifest with its metrics. `metric` "" = the manifest's, else the first evaluation
// metric found; UserError when a metric is named that no job logged.
SweepResults collect_results(const Manifest& manifest, const SweepLayout& layout, std::string metric,
                             const std::string& mode);

std::string markdown_tables(const SweepResults& results);
std::string csv_table(const SweepResults& results);

// results.md, results.csv, plots/<metric>_curves.png and plots/<metric>_by_<key>.png in the sweep folder;
// returns the paths written.
std::vector<std::filesystem::path> write_results(const SweepResults& results, const SweepLayout& layout);

}  // namespace loom::sweep
