#include "train/training_state.h"

#include <sstream>
#include <typeinfo>

#include <c10/util/Type.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <nlohmann/json.hpp>

#include "core/text/join.h"

#include "train/rng_state.h"

namespace loom {

namespace {

const char* const kModulePrefix = "module.";
const char* const kEmaPrefix = "ema.";
const char* const kOptimizerPrefix = "optimizer.";

void append_state(weights::NamedTensors& out, const std::string& prefix, const torch::nn::Module& module) {
  for (auto& [key, tensor] : weights::state_dict(module)) out.emplace_back(prefix + key, tensor.detach().cpu());
}

void load_state(torch::nn::Module& module, const std::string& prefix, const LoadedCheckpoint& checkpoint) {
  weights::LoadOptions options;
  options.key_map = [&prefix](const std::string& key) -> std::optional<std::string> {
    if (!key.starts_with(prefix)) return std::nullopt;
    return key.substr(prefix.size());
  };
  weights::load_into(module, checkpoint.contents.tensors, options, (checkpoint.path / "tensors.safetensors").string());
}

}  // namespace

std::string TrainCounters::to_json() const {
  nlohmann::json j;
  j["step"] = step;
  j["images_seen"] = images_seen;
  j["nan_skipped"] = nan_skipped;
  j["loader"] = {{"epoch", loader.epoch}, {"batch", loader.batch}};
  j["world_size"] = world_size;
  j["batch_size"] = batch_size;
  j["loss_scales"] = loss_scales;
  j["recipe"] = recipe;
  for (const auto& [name, record] : frozen) j["frozen"][name] = {{"source", record.source}, {"hash", record.hash}};
  j["optimizers"] = optimizers;
  return j.dump(2);
}

TrainCounters TrainCounters::from_json(const std::string& json, const std::string& source) {
  try {
    auto j = nlohmann::json::parse(json);
    TrainCounters c;
    c.step = j.at("step").get<int64_t>();
    c.images_seen = j.at("images_seen").get<int64_t>();
    c.nan_skipped = j.at("nan_skipped").get<int64_t>();
    c.loader.epoch = j.at("loader").at("epoch").get<int64_t>();
    c.loader.batch = j.at("loader").at("batch").get<int64_t>();
    c.world_size = j.value("world_size", int64_t{1});
    c.batch_size = j.value("batch_size", int64_t{0});
    c.loss_scales = j.at("loss_scales").get<std::map<std::string, std::vector<double>>>();
    c.recipe = j.at("recipe").get<std::map<std::string, double>>();
    if (j.contains("frozen"))
      for (const auto& [name, record] : j.at("frozen").items())
        c.frozen[name] = {record.at("source").get<std::string>(), record.at("hash").get<std::string>()};
    if (j.contains("optimizers")) c.optimizers = j.at("optimizers").get<std::map<std::string, std::string>>();
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw UserError(cat(source, ": state.json: ", e.what()));
  }
}

data::LoaderPosition rescale_loader_position(const data::LoaderPosition& position, int64_t old_samples_per_batch,
                                             int64_t samples_per_batch) {
  const int64_t consumed = position.batch * old_samples_per_batch;
  if (consumed % samples_per_batch != 0)
    throw UserError(cat("cannot resume: ", consumed, " samples of epoch ", position.epoch,
                        " were consumed in batches of ", old_samples_per_batch, ", which batches of ",
                        samples_per_batch,
                        " (batch size x world size) cannot continue exactly; resume at an epoch boundary or keep the "
                        "global batch a divisor"));
  return {position.epoch, consumed / samples_per_batch};
}

std::string optimizer_signature(const torch::optim::Optimizer& optimizer) {
  std::vector<std::string> groups;
  for (const auto& group : optimizer.param_groups()) groups.push_back(std::to_string(group.params().size()));
  return cat(c10::demangle(typeid(optimizer).name()), " [", join(groups, ", "), "]");
}

CheckpointContents pack_checkpoint(const TrainSetup& setup, const TrainCounters& counters,
                                   const std::string& config_yaml) {
  CheckpointContents contents;
  TrainCounters recorded = counters;
  for (const auto& [name, slot] : setup.optimizers) recorded.optimizers[name] = optimizer_signature(*slot.optimizer);
  for (const auto& [name, module] : setup.modules)
    append_state(contents.tensors, cat(kModulePrefix, name, "."), *module);
  for (const auto& [name, pair] : setup.ema) append_state(contents.tensors, cat(kEmaPrefix, name, "."), *pair.target);
  for (auto& entry : capture_rng_state()) contents.tensors.push_back(std::move(entry));
  for (const auto& [name, slot] : setup.optimizers) {
    torch::serialize::OutputArchive archive;
    slot.optimizer->save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    contents.blobs[kOptimizerPrefix + name] = bytes.str();
  }
  contents.blobs["config.yaml"] = config_yaml;
  contents.state_json = recorded.to_json();
  return contents;
}

void restore_modules(const TrainSetup& setup, const LoadedCheckpoint& checkpoint) {
  try {
    for (const auto& [name, module] : setup.modules) load_state(*module, cat(kModulePrefix, name, "."), checkpoint);
    for (const auto& [name, pair] : setup.ema) load_state(*pair.target, cat(kEmaPrefix, name, "."), checkpoint);
  } catch (const UserError& e) {
    throw CheckpointMismatch(cat("the config's model differs from the one that wrote ", checkpoint.path.string(), " (",
                                 e.what(), "); use the config it was trained with"));
  }
}

void restore_optimizers_and_rng(const TrainSetup& setup, const LoadedCheckpoint& checkpoint,
                                const TrainCounters& saved) {
  for (const auto& [name, slot] : setup.optimizers) {
    auto blob = checkpoint.contents.blobs.find(kOptimizerPrefix + name);
    auto recorded = saved.optimizers.find(name);
    const std::string now = optimizer_signature(*slot.optimizer);
    // Checkpoints from before the record was kept are trusted to match.
    const std::string before = blob == checkpoint.contents.blobs.end() ? "absent"
                               : recorded != saved.optimizers.end()    ? recorded->second
                                                                       : now;
    if (before != now)
      throw CheckpointMismatch(cat("cannot resume from ", checkpoint.path.string(), ": optimizer '", name, "' is ", now,
                                   " now but ", before,
                                   " in the checkpoint; resume with the optimizer it was trained with, or start a "
                                   "new run"));
    try {
      std::istringstream bytes(blob->second);
      torch::serialize::InputArchive archive;
      archive.load_from(bytes);
      slot.optimizer->load(archive);
    } catch (const c10::Error& e) {
      throw UserError(cat(checkpoint.path.string(), ": the state of optimizer '", name,
                          "' cannot be read: ", e.what_without_backtrace()));
    }
  }
  restore_rng_state(checkpoint.contents.tensors);
}

}  // namespace loom
