#pragma once
// A sweep's folder and what it records before anything runs:
//
//   <root>/<name>/manifest.json        every job ever expanded into it (rows never move: a SLURM array
//                                      index stays the same job), the base config and binary hashes
//   <root>/<name>/jobs/<id>/config.yaml    the job's resolved config
//                          overrides.yaml  its overrides
//                          status.json     pending | running | done | failed | interrupted, exit code, times
//                          job.log         what the job printed, attempt after attempt
//                          run/            the trainer's run folder (metrics, TensorBoard, checkpoints)
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sweep/expansion.h"

namespace loom::sweep {

struct SweepLayout {
  std::filesystem::path root;
  std::filesystem::path manifest() const { return root / "manifest.json"; }
  std::filesystem::path jobs() const { return root / "jobs"; }
  std::filesystem::path job(const std::string& id) const { return jobs() / id; }
  std::filesystem::path config(const std::string& id) const { return job(id) / "config.yaml"; }
  std::filesystem::path overrides(const std::string& id) const { return job(id) / "overrides.yaml"; }
  std::filesystem::path status(const std::string& id) const { return job(id) / "status.json"; }
  std::filesystem::path log(const std::string& id) const { return job(id) / "job.log"; }
  std::filesystem::path lock(const std::string& id) const { return job(id) / ".lock"; }
  std::filesystem::path run(const std::string& id) const { return job(id) / "run"; }
  std::filesystem::path slurm() const { return root / "slurm"; }
};

struct Manifest {
  std::string name;
  std::string config;              // absolute path of the base training config
  std::vector<std::string> fixed;  // overrides of every job
  std::string config_hash;         // of the resolved base config with the fixed overrides
  std::string binary;              // the loom that expanded the sweep
  std::string binary_hash;
  std::string metric, mode;  // what the results table sorts by
  int64_t ranks = 1;
  std::string torchrun;
  std::vector<Job> jobs;  // row i is SLURM array index i

  const Job* find(const std::string& id) const;
};

// UserError naming the file when it is missing or not a manifest.
Manifest read_manifest(const std::filesystem::path& path);
void write_manifest(const std::filesystem::path& path, const Manifest& manifest);

enum class JobState { pending, running, done, failed, interrupted };
const char* state_name(JobState state);

struct JobStatus {
  JobState state = JobState::pending;
  std::optional<int> exit_code;
  std::string started, finished;  // local time, ISO 8601
  double seconds = 0;             // of the last attempt
  int64_t attempts = 0;
  int64_t requeues = 0;
  int64_t pid = 0;
  std::string host;
};

// Pending when the file does not exist; UserError naming it when it cannot be read.
JobStatus read_status(const std::filesystem::path& path);
void write_status(const std::filesystem::path& path, const JobStatus& status);

// Eight hex digits (CRC32C) of some text or of a file's bytes; "" for a file that cannot be read.
std::string hash_text(const std::string& text);
std::string hash_file(const std::filesystem::path& path);
std::string local_time_now();

}  // namespace loom::sweep
