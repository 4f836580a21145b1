#pragma once
// A sweep's jobs: the grid's cartesian product (last axis fastest), each crossed with the explicit list
// entries, the random draws and the seed repeats. The same spec always gives the same jobs in the same
// order, and each job's id is derived from its swept values, so a job keeps its folder when the sweep
// is run again or grown by new values.
#include <string>
#include <vector>

#include "sweep/sweep_spec.h"

namespace loom::sweep {

// How a job is named and tabulated: (column, label) pairs, the key itself for an axis and "variant"
// for a named list entry.
using Columns = std::vector<std::pair<std::string, std::string>>;
inline constexpr const char* kVariantColumn = "variant";

struct Job {
  std::string id;    // "optimizer.lr=0.001,train.seed=1" (made safe for a folder name)
  Assignment swept;  // key = value of every swept key, in axis order, the seed last
  Columns columns;
  std::vector<std::string> overrides() const;  // "key=text" of the swept keys
  const std::string* label(const std::string& column) const;
};

// UserError when no key is swept, a key is swept twice, or two jobs come out the same.
std::vector<Job> expand(const SweepSpec& spec);

// The id of a job: its columns as "column=label" joined by ',', characters outside [A-Za-z0-9._=,+-]
// replaced; a hash of the exact swept values is appended when anything was replaced or cut.
std::string job_id(const Columns& columns, const Assignment& swept);

}  // namespace loom::sweep
