// The `loom` command line. Exit codes: 0 success (also a run stopped by SIGINT/SIGTERM after writing
// its checkpoint), 1 internal error (a bug: please report), 2 user error (bad config, command line, or
// input file; the message says which and where), 3 training diverged (non-finite loss, nan_policy stop),
// 4 a sweep finished with failed jobs (it lists them).
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <c10/util/Exception.h>
#include <CLI/CLI.hpp>

#include "app/cli_commands.h"
#include "app/export_onnx.h"
#include "app/export_weights.h"
#include "app/generate.h"
#include "app/image_text_commands.h"
#include "app/register_all.h"
#include "app/stylize.h"
#include "app/sweep_command.h"
#include "core/error.h"
#include "core/log.h"
#include "train/trainer.h"

namespace {

constexpr int kUserError = 2;
constexpr int kDiverged = 3;

struct ConfigArgs {
  std::string path;
  std::vector<std::string> overrides;
};

CLI::App* config_command(CLI::App& app, const char* name, const char* help, ConfigArgs& args) {
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("config", args.path, "YAML config file")->required()->check(CLI::ExistingFile);
  sub->add_option("overrides", args.overrides, "key.path=value overrides (YAML values)");
  return sub;
}

}  // namespace

int main(int argc, char** argv) {
  loom::register_all();  // every command reads configs that name registered components
  CLI::App app{"Loom: training and distillation of vision and vision-language models"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug | info | warn | error");

  ConfigArgs config_args, info_args, train_args, eval_args, generate_args, embed_args, stylize_args, onnx_args;
  CLI::App* train =
      config_command(app, "train", "Train the config's recipe (resume=auto continues the newest run)", train_args);
  CLI::App* eval = config_command(
      app, "eval",
      "Evaluate a checkpoint: loom eval CONFIG ckpt=PATH [key=value ...]; a model-only config (an image-text "
      "model: section) takes eval.zero_shot.root=FOLDER eval.retrieval.table=FILE [device=...]",
      eval_args);
  CLI::App* embed = config_command(
      app, "embed",
      "Image and text embeddings of an image-text model: loom embed CONFIG ckpt=PATH images=FOLDER|TABLE "
      "[texts=FILE] out=FILE.npy|FILE.safetensors [normalize=true batch_size=64 workers=2 device=auto]",
      embed_args);
  CLI::App* generate = config_command(
      app, "generate",
      "Image grids from a generator: loom generate CONFIG ckpt=PATH seeds=0-15 psi=0.7 noise=const out=grid.png "
      "(style mixing: mix_rows=.. mix_cols=.. mix_styles=0-6)",
      generate_args);
  CLI::App* stylize = config_command(
      app, "stylize",
      "Photographs through a fine-tuned stylizer: loom stylize FEWSHOT_CONFIG ckpt=RUN input=PHOTO|FOLDER out=DIR "
      "[align=ffhq|mediapipe|none faces=largest|all batch=8 device=auto]",
      stylize_args);
  CLI::App* onnx_export = config_command(
      app, "export",
      "A trained model as ONNX: loom export CONFIG ckpt=RUN what=stylizer|generator|clip_image|clip_text "
      "format=onnx out=FILE [batch=dynamic|1 noise=const|none input=ws|z psi=1 cutoff=-1 normalize=true|false]",
      onnx_args);
  CLI::App* config =
      config_command(app, "config", "Print the resolved config (bases and overrides applied)", config_args);
  CLI::App* info = config_command(
      app, "info", "Parameters and multiply-accumulates per top-level module of the config's model", info_args);
  std::string export_checkpoint;
  std::vector<std::string> export_arguments;
  CLI::App* export_command =
      app.add_subcommand("export-weights",
                         "A run's module as a weight file that records its model section: loom export-weights CKPT "
                         "out=FILE.safetensors [module=ema.G|G|D|ema.G,D] [section=model]");
  export_command->add_option("checkpoint", export_checkpoint, "run folder or checkpoint folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  export_command->add_option("arguments", export_arguments, "out=FILE.safetensors module=NAME section=KEY");
  std::vector<std::string> sweep_arguments;
  bool dry_run = false;
  CLI::App* sweep = app.add_subcommand(
      "sweep",
      "Ablation sweeps, resumable job by job: loom sweep FILE key=v1,v2 other=range(1,4) seed=0,1,2 "
      "[sweep.jobs=2 sweep.name=NAME sweep.launcher=local|slurm] [--dry-run]; FILE is a sweep file "
      "(configs/sweeps/) or a training config. Results: loom sweep table SWEEP_DIR [metric=NAME mode=min|max]. "
      "SLURM array task: loom sweep task SWEEP_DIR");
  sweep->add_option("arguments", sweep_arguments, "FILE and key=value(s), or table|task SWEEP_DIR ...")->required();
  sweep->add_flag("--dry-run", dry_run, "write the manifest and print one loom train command per job; run nothing");
  CLI::App* list = app.add_subcommand(
      "list", "List every registry: models, recipes, datasets, losses, optimizers, schedules, metrics");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kUserError;
  }

  try {
    loom::log::set_level(loom::log::parse_level(log_level));
    if (*config) return loom::cli::print_config(config_args.path, config_args.overrides);
    if (*info) return loom::cli::model_info(info_args.path, info_args.overrides);
    if (*list) return loom::cli::list_registries();
    if (*train) return loom::cli::train(train_args.path, train_args.overrides);
    if (*eval) return loom::cli::evaluate(eval_args.path, eval_args.overrides);
    if (*generate) return loom::cli::generate(generate_args.path, generate_args.overrides);
    if (*stylize) return loom::cli::stylize(stylize_args.path, stylize_args.overrides);
    if (*embed) return loom::cli::embed(embed_args.path, embed_args.overrides);
    if (*onnx_export) return loom::cli::export_model(onnx_args.path, onnx_args.overrides);
    if (*export_command) return loom::cli::export_weights(export_checkpoint, export_arguments);
    if (*sweep) return loom::cli::sweep(sweep_arguments, dry_run);
  } catch (const loom::TrainingDiverged& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kDiverged;
  } catch (const loom::UserError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kUserError;
  } catch (const c10::Error& e) {
    std::cerr << "internal error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
