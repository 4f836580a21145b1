#pragma once
// The `loom` subcommands (the CLI in main.cpp parses the command line and dispatches here).
#include <string>
#include <vector>

namespace loom::cli {

// Prints the resolved config (bases merged, overrides applied) as YAML that can be run again as is.
int print_config(const std::string& path, const std::vector<std::string>& overrides);
// Prints every registry with its entries.
int list_registries();
// Builds the config's `model` and prints parameters and multiply–accumulates per top-level module.
int model_info(const std::string& path, const std::vector<std::string>& overrides);
// Trains the config and prints where the run's outputs are.
int train(const std::string& path, const std::vector<std::string>& overrides);
// Evaluates a checkpoint given as the override `ckpt=PATH` and prints the metrics. The config's `model`
// section is first completed from the one the checkpoint records (ConfigError on a contradiction).
int evaluate(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace loom::cli
