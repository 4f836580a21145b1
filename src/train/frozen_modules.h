#pragma once
// Frozen modules (train/recipe.h FrozenModule): building one, the trainer's enforcement of what frozen
// means, and the record a checkpoint keeps of them instead of their weights.
#include <map>
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "train/recipe.h"

namespace loom {

// Loads `weight_file` strictly into `module` ("" keeps the weights it was built with), moves it to
// `device`, puts it in eval mode and turns off requires_grad. UserError naming `key` (the config key
// that gave the file, e.g. "recipe.teacher") and the file when it is missing or does not match.
FrozenModule freeze_module(std::shared_ptr<torch::nn::Module> module, const std::string& weight_file,
                           c10::Device device, const std::string& key = "");

// Makes every frozen module of the setup frozen (eval mode, no requires_grad; idempotent) and checks
// that no phase trains one of its parameters and that no module is both frozen and checkpointed.
void enforce_frozen(TrainSetup& setup);

// What a checkpoint records of a frozen module: where its weights came from and a hash of them.
struct FrozenRecord {
  std::string source;
  std::string hash;  // CRC32C of every parameter and buffer in name order, as 8 hex digits
};
std::map<std::string, FrozenRecord> frozen_records(const TrainSetup& setup);

// Resuming: the frozen modules (`current`, frozen_records of this run) must be those the checkpoint
// was trained with (`recorded`). UserError naming the module, both sources and the checkpoint otherwise.
void check_frozen_records(const std::map<std::string, FrozenRecord>& current,
                          const std::map<std::string, FrozenRecord>& recorded, const std::string& checkpoint);

}  // namespace loom
