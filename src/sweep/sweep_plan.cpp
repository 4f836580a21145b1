#include "sweep/sweep_plan.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "train/run_config.h"

namespace fs = std::filesystem;

namespace loom::sweep {

namespace {

std::string this_binary() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw UserError("loom sweep: cannot find its own binary (/proc/self/exe)");
  return exe.string();
}

std::string default_torchrun() {
  const char* python = std::getenv("LOOM_PYTHON");
  return python && *python ? cat(python, " -m torch.distributed.run") : "torchrun";
}

// The job's config as `loom train` resolves it, checked as deeply as sweep.check says: `setup` builds
// the recipe's models, data and optimizers on the CPU (every section is read, so a misspelt optimizer
// key fails here and not in the middle of the sweep), `config` only reads the trainer's own sections.
std::string resolved_config(const std::string& config, const std::vector<std::string>& overrides,
                            const std::string& what, const std::string& check) {
  try {
    ConfigNode node = load_config(config, overrides);
    RunConfig run = check_run_config(node);
    if (check == "setup") build_setup(run, node);
    return to_yaml(node);
  } catch (const UserError& e) {
    throw UserError(cat(what, ": ", e.what()));
  }
}

}  // namespace

std::vector<const Job*> SweepPlan::to_run() const {
  std::vector<const Job*> out;
  for (const auto& p : jobs)
    if (p.status.state != JobState::done && (p.status.state != JobState::failed || spec.options.rerun_failed))
      out.push_back(p.job);
  return out;
}

SweepPlan plan_sweep(const std::string& file, const std::vector<std::string>& arguments) {
  SweepPlan plan;
  plan.spec = read_sweep_spec(file, arguments);
  const SweepOptions& o = plan.spec.options;
  if (!fs::is_regular_file(plan.spec.config))
    throw UserError(cat(plan.spec.source, ": the base config '", plan.spec.config, "' is not a file"));
  std::vector<Job> expansion = expand(plan.spec);
  plan.layout.root = fs::path(o.root) / o.name;

  Manifest fresh;
  fresh.name = o.name;
  fresh.config = fs::absolute(plan.spec.config).lexically_normal().string();
  fresh.fixed = plan.spec.fixed;
  fresh.config_hash = hash_text(resolved_config(plan.spec.config, plan.spec.fixed, "the base config", "config"));
  fresh.binary = this_binary();
  fresh.binary_hash = hash_file(fresh.binary);
  fresh.metric = o.metric;
  fresh.mode = o.mode;
  fresh.ranks = o.ranks;
  fresh.torchrun = o.torchrun.empty() ? default_torchrun() : o.torchrun;

  plan.manifest = fresh;
  if (fs::exists(plan.layout.manifest())) {
    const Manifest old = read_manifest(plan.layout.manifest());
    std::vector<std::string> changes;
    if (old.config != fresh.config) changes.push_back(cat("base config ", old.config, " -> ", fresh.config));
    if (old.fixed != fresh.fixed)
      changes.push_back(cat("shared overrides [", join(old.fixed, " "), "] -> [", join(fresh.fixed, " "), "]"));
    else if (old.config_hash != fresh.config_hash)
      changes.push_back(cat("the base config's content (hash ", old.config_hash, " -> ", fresh.config_hash, ")"));
    if (old.binary_hash != fresh.binary_hash)
      changes.push_back(cat("the loom binary (hash ", old.binary_hash, " -> ", fresh.binary_hash, ")"));
    bool started = false;
    for (const auto& job : old.jobs) started = started || read_status(plan.layout.status(job.id)).attempts > 0;
    if (!changes.empty() && started && !o.accept_changes)
      throw UserError(cat("sweep ", plan.layout.root.string(), " changed since its jobs ran:\n  ",
                          join(changes, "\n  "),
                          "\nIts results would mix two versions. Use a new sweep.name, or sweep.accept_changes=true to "
                          "continue anyway."));
    plan.notes = changes;
    plan.manifest.jobs = old.jobs;
    if (o.metric.empty()) plan.manifest.metric = old.metric;
    if (o.mode.empty()) plan.manifest.mode = old.mode;
  }
  for (auto& job : expansion)
    if (!plan.manifest.find(job.id)) plan.manifest.jobs.push_back(job);

  // Setting up every job would log each model and optimizer: only warnings are of interest here.
  const log::Level level = log::level();
  log::set_level(std::max(level, log::Level::warn));
  struct Restore {
    log::Level level;
    ~Restore() { log::set_level(level); }
  } restore{level};
  for (const auto& job : expansion) {
    std::vector<std::string> all = plan.spec.fixed;
    for (const auto& o2 : job.overrides()) all.push_back(o2);
    PlannedJob p{plan.manifest.find(job.id), read_status(plan.layout.status(job.id)),
                 resolved_config(plan.spec.config, all, cat("sweep job ", job.id), o.check)};
    plan.jobs.push_back(std::move(p));
  }
  return plan;
}

void write_plan(const SweepPlan& plan) {
  write_manifest(plan.layout.manifest(), plan.manifest);
  for (const auto& p : plan.jobs) {
    write_file_atomically(plan.layout.config(p.job->id), p.config_yaml);
    std::string overrides = cat("# loom train ", plan.manifest.config, " with these overrides\n");
    auto item = [](const std::string& o) {
      return cat("- ", to_flow_yaml(ConfigNode::make_scalar(o, {}, true)), "\n");
    };
    for (const auto& o : plan.manifest.fixed) overrides += item(o);
    for (const auto& o : p.job->overrides()) overrides += item(o);
    write_file_atomically(plan.layout.overrides(p.job->id), overrides);
    if (!std::filesystem::exists(plan.layout.status(p.job->id))) write_status(plan.layout.status(p.job->id), p.status);
  }
}

}  // namespace loom::sweep
