#include "train/run_config.h"

#include <algorithm>

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/nn/module.h>
#include <torch/utils.h>

#include "core/config/config_error.h"
#include "core/environment.h"
#include "core/log.h"
#include "core/registry/registries.h"
#include "core/text/did_you_mean.h"
#include "core/text/join.h"
#include "train/distributed/gradient_reducer.h"

namespace loom {

// `auto` is cuda:<local rank> where CUDA exists: one GPU per rank.
c10::Device pick_device(const std::string& name, int64_t local_rank) {
  bool cuda = at::detail::getCUDAHooks().hasCUDA();
  if (name == "auto")
    return cuda ? c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank)) : c10::Device(c10::kCPU);
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw ConfigError(cat("train.device: '", name, "' is not a device (auto, cpu, cuda, cuda:N)"));
  }
  if (device.is_cuda() && !cuda)
    throw ConfigError(cat("train.device: '", name, "' requested but CUDA is not available"));
  return device;
}

RunConfig check_run_config(const ConfigNode& config) {
  RunConfig run;
  const ConfigNode* recipe = config.find("recipe");
  if (!recipe) throw ConfigError("the config has no 'recipe' section (e.g. recipe: {name: classify}); see `loom list`");
  run.recipe = recipe_registry().get(registered_name(recipe_registry(), *recipe, "recipe"))(config);
  const ConfigNode* train = config.find("train");
  run.train = read_config<TrainOptions>(train ? *train : ConfigNode{}, "train");
  const ConfigNode* output = config.find("output");
  run.output = read_config<OutputOptions>(output ? *output : ConfigNode{}, "output");
  if (const ConfigNode* resume = config.find("resume"))
    config_detail::ConfigReader::convert(*resume, "resume", run.resume, {});

  std::vector<std::string> known{"recipe", "train", "output", "resume"};
  for (const auto& s : run.recipe->sections()) known.push_back(s);
  for (const auto& [key, node] : config.entries()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    fail_config(node, key,
                cat("unknown top-level section", did_you_mean(key, known), " (valid here: ", join(known, ", "), ")"));
  }
  if ((run.train.steps > 0) == (run.train.epochs > 0))
    fail_config(train ? *train : config, "train", "give exactly one of steps and epochs");
  return run;
}

RunConfig read_run_config(const ConfigNode& config) {
  RunConfig run = check_run_config(config);
  run.launch = detect_launch_environment();
  run.device = pick_device(run.train.device, run.launch.local_rank);
  if (run.train.threads > 0) {
    // Each intra-op thread is an OpenMP thread started up front: 10^5 of them never finish starting.
    const int64_t cores = machine_cores();
    if (run.train.threads > cores) {
      LOOM_WARN("train.threads=", run.train.threads, ": this machine has ", cores, " cores; using ", cores);
      run.train.threads = cores;
    }
    at::set_num_threads(static_cast<int>(run.train.threads));
  }
  if (run.launch.world_size > 1) {
    run.group = ProcessGroup::create(run.launch, run.train.distributed);
    if (!run.main()) log::set_level(log::Level::warn);  // one readable log: rank 0's
    LOOM_INFO("data parallel: ", run.launch.world_size, " ranks (", run.launch.source, ", ", run.group->backend(), ")");
  }
  return run;
}

TrainSetup build_setup(RunConfig& run, const ConfigNode& config) {
  const auto seed = static_cast<uint64_t>(run.train.seed);
  torch::manual_seed(seed);
  TrainSetup setup = run.recipe->setup(RecipeContext{config, run.device, seed, run.group});
  for (auto& [name, pair] : setup.ema) pair.target->eval();
  if (run.group) {
    std::vector<at::Tensor> state;
    for (const auto& [name, module] : setup.modules) {
      for (const auto& p : module->parameters()) state.push_back(p);
      for (const auto& b : module->buffers()) state.push_back(b);
    }
    for (const auto& [name, pair] : setup.ema)
      for (const auto& p : pair.target->parameters()) state.push_back(p);
    broadcast_parameters(*run.group, state, 0);
    // Rank 0 keeps the single-process stream; the others get their own (dropout, latents, crops).
    if (!run.main()) torch::manual_seed(seed + 1000003ULL * static_cast<uint64_t>(run.launch.rank));
  }
  return setup;
}

}  // namespace loom
