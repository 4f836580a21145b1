#include "app/image_text_commands.h"

#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <c10/core/GradMode.h>
#include <nlohmann/json.hpp>

#include "app/named_arguments.h"
#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/config/config_schema.h"
#include "core/io/atomic_file.h"
#include "core/io/file_system.h"
#include "core/io/npy.h"
#include "core/io/weights.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "data/caption_table.h"
#include "data/image_folder.h"
#include "eval/eval_pass.h"
#include "eval/image_text_evaluation.h"
#include "eval/model_inputs.h"
#include "models/clip/pretrained_image_text_model.h"
#include "train/run_config.h"

namespace loom::cli {
namespace {

namespace fs = std::filesystem;

PretrainedImageTextModel load_model(const ConfigNode& config, const std::string& checkpoint, c10::Device device) {
  PretrainedImageTextModel loaded = load_pretrained_image_text_model(checkpoint, config.find("model"), "model");
  loaded.model->to(device);
  LOOM_INFO("loaded ", loaded.tensors_loaded, " tensors from ", loaded.source, " (architecture ", loaded.fingerprint,
            ")");
  return loaded;
}

struct EmbedArguments {
  std::string checkpoint, images, texts, out, device = "auto", path_column = "filepath", caption_column = "caption";
  bool normalize = true;
  int64_t batch_size = 64, workers = 2;
};

int64_t positive_integer(const std::string& key, const std::string& value) {
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (value.empty() || used != value.size() || n < 1)
    throw UserError(cat("loom embed: ", key, "=", value, " is not a positive integer"));
  return n;
}

// Splits embed's own key=value arguments from config overrides.
EmbedArguments parse_embed_arguments(const std::vector<std::string>& arguments, std::vector<std::string>& overrides) {
  EmbedArguments a;
  std::string normalize = a.normalize ? "true" : "false", batch_size = cat(a.batch_size), workers = cat(a.workers);
  split_arguments(arguments,
                  {{"ckpt", &a.checkpoint},
                   {"images", &a.images},
                   {"texts", &a.texts},
                   {"out", &a.out},
                   {"device", &a.device},
                   {"path_column", &a.path_column},
                   {"caption_column", &a.caption_column},
                   {"normalize", &normalize},
                   {"batch_size", &batch_size},
                   {"workers", &workers}},
                  overrides);
  if (normalize != "true" && normalize != "false")
    throw UserError(cat("loom embed: normalize=", normalize, " is not true or false"));
  a.normalize = normalize == "true";
  a.batch_size = positive_integer("batch_size", batch_size);
  a.workers = positive_integer("workers", workers);
  if (a.checkpoint.empty()) throw UserError("loom embed needs ckpt=PATH (a weight file, a run or checkpoint folder)");
  if (a.images.empty() && a.texts.empty()) throw UserError("loom embed needs images=FOLDER|TABLE and/or texts=FILE");
  const std::string extension = fs::path(a.out).extension().string();
  if (extension != ".npy" && extension != ".safetensors")
    throw UserError(cat("loom embed needs out=FILE.npy or out=FILE.safetensors (got out=", a.out, ")"));
  return a;
}

// One text per line (UTF-8; a final newline, \r\n endings and blank lines are not texts).
std::vector<std::string> read_texts(const std::string& file) {
  std::string why;
  const std::optional<std::string> content = read_file(file, &why);
  if (!content) throw UserError(cat("loom embed: texts=", file, ": ", why));
  std::vector<std::string> texts;
  for (size_t start = 0; start < content->size();) {
    size_t end = std::min(content->find('\n', start), content->size());
    std::string line = content->substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) texts.push_back(std::move(line));
    start = end + 1;
  }
  if (texts.empty()) throw UserError(cat("loom embed: texts=", file, " holds no text (one per line)"));
  return texts;
}

struct Embedded {
  at::Tensor images = at::empty({0}), texts = at::empty({0});
  std::vector<std::string> image_names, text_list;
  nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
  int64_t truncated = 0;
};

// Images of a folder (every image under it) or of a table (its image column; its captions become the
// texts when no texts= file is given).
void embed_images(ImageTextModel& model, const EmbedArguments& a, c10::Device device, bool take_captions,
                  Embedded& out) {
  const ConfigNode transforms = eval::preprocess_transforms(model);
  std::shared_ptr<const data::Dataset> set;
  if (fs::is_directory(a.images)) {
    data::ImageFolderOptions folder;
    folder.root = a.images;
    folder.class_subfolders = "false";
    folder.transforms = transforms;
    set = std::make_shared<data::ImageFolder>(folder, "images");
  } else {
    data::CaptionTableOptions table;
    table.path = a.images;
    table.path_column = a.path_column;
    table.caption_column = a.caption_column;
    table.transforms = transforms;
    set = std::make_shared<data::CaptionTable>(table, "images");
  }
  std::shared_ptr<const data::TextTokenizer> tokenizer;  // made for captions only: images need none
  std::vector<at::Tensor> images, captions;
  std::set<int64_t> seen;
  int64_t batches = 0;
  eval::for_each_eval_batch(set, {.batch_size = a.batch_size, .workers = a.workers, .max_bad_fraction = 1.0}, device,
                            [&](const data::Batch& batch) {
                              images.push_back(model.encode_image(batch.at("image"), a.normalize).to(at::kFloat).cpu());
                              const auto& paths = batch.text.at("path");
                              out.image_names.insert(out.image_names.end(), paths.begin(), paths.end());
                              seen.insert(batch.indices.begin(), batch.indices.end());
                              if (auto c = batch.text.find("caption"); take_captions && c != batch.text.end()) {
                                if (!tokenizer)
                                  tokenizer = eval::make_text_tokenizer(model.tokenizer(), "model.text.tokenizer");
                                at::Tensor tokens =
                                    tokenizer->tokenize(c->second, model.context_length(), &out.truncated).to(device);
                                captions.push_back(model.encode_text(tokens, a.normalize).to(at::kFloat).cpu());
                                out.text_list.insert(out.text_list.end(), c->second.begin(), c->second.end());
                              }
                              if (++batches % 10 == 0)
                                LOOM_INFO("embedded ", seen.size(), " / ", set->size(), " images");
                            });
  // The loader logs and counts unreadable images; reading them once more names each with its reason.
  for (int64_t i = 0; i < set->size(); ++i) {
    if (seen.count(i)) continue;
    std::mt19937_64 rng(0);
    try {
      set->get(i, rng);
      out.skipped.push_back({{"index", i}, {"reason", "unreadable in the pass"}});
    } catch (const data::BadSample& e) {
      out.skipped.push_back({{"path", e.path}, {"reason", e.what()}});
    }
  }
  if (images.empty()) throw UserError(cat("loom embed: images=", a.images, ": no image could be read"));
  out.images = at::cat(images);
  if (!captions.empty()) out.texts = at::cat(captions);
}

void embed_texts(ImageTextModel& model, const EmbedArguments& a, c10::Device device, Embedded& out) {
  out.text_list = read_texts(a.texts);
  const auto tokenizer = eval::make_text_tokenizer(model.tokenizer(), "model.text.tokenizer");
  std::vector<at::Tensor> parts;
  for (size_t start = 0; start < out.text_list.size(); start += static_cast<size_t>(a.batch_size)) {
    const size_t end = std::min(out.text_list.size(), start + static_cast<size_t>(a.batch_size));
    std::vector<std::string> chunk(out.text_list.begin() + static_cast<std::ptrdiff_t>(start),
                                   out.text_list.begin() + static_cast<std::ptrdiff_t>(end));
    at::Tensor tokens = tokenizer->tokenize(chunk, model.context_length(), &out.truncated).to(device);
    parts.push_back(model.encode_text(tokens, a.normalize).to(at::kFloat).cpu());
  }
  out.texts = at::cat(parts);
}

// .safetensors: one file, tensors image_embeddings / text_embeddings, the lists in its metadata.
// .npy: STEM.image.npy, STEM.text.npy and STEM.json (the lists) beside each other.
std::vector<std::string> write_embeddings(const EmbedArguments& a, const PretrainedImageTextModel& loaded,
                                          const Embedded& e) {
  nlohmann::ordered_json manifest{{"model", loaded.source},        {"architecture", loaded.fingerprint},
                                  {"normalized", a.normalize},     {"images", e.image_names},
                                  {"texts", e.text_list},          {"skipped", e.skipped},
                                  {"truncated_texts", e.truncated}};
  const fs::path out(a.out);
  std::vector<std::string> written;
  if (out.extension() == ".safetensors") {
    weights::NamedTensors tensors;
    if (e.images.dim() == 2) tensors.emplace_back("image_embeddings", e.images);
    if (e.texts.dim() == 2) tensors.emplace_back("text_embeddings", e.texts);
    weights::Metadata metadata;
    for (const auto& [key, value] : manifest.items()) metadata["loom.embed." + key] = value.dump();
    weights::write(out.string(), tensors, metadata);
    written.push_back(out.string());
    return written;
  }
  const fs::path stem = out.parent_path() / out.stem();
  auto beside = [&](const std::string& suffix) { return fs::path(stem.string() + suffix); };
  if (e.images.dim() == 2) {
    write_npy(beside(".image.npy"), e.images);
    written.push_back(beside(".image.npy").string());
  }
  if (e.texts.dim() == 2) {
    write_npy(beside(".text.npy"), e.texts);
    written.push_back(beside(".text.npy").string());
  }
  write_file_atomically(beside(".json"), manifest.dump(1) + "\n");
  written.push_back(beside(".json").string());
  return written;
}

}  // namespace

int evaluate_image_text(const ConfigNode& config, const std::string& checkpoint, const std::string& device_name) {
  for (const auto& [key, value] : config.entries())
    if (key != "model" && key != "eval")
      fail_config(value, key,
                  "a config without a recipe is evaluated as a model: it may hold 'model' and 'eval' only (add "
                  "recipe: ... to evaluate a training config)");
  const c10::Device device = pick_device(device_name);
  PretrainedImageTextModel loaded = load_model(config, checkpoint, device);
  const ConfigNode* eval_section = config.find("eval");
  auto options =
      eval_section ? read_config<eval::ImageTextEvalOptions>(*eval_section, "eval") : eval::ImageTextEvalOptions{};
  eval::ImageTextEvaluation evaluation(*loaded.model, options, nullptr, 0);
  if (evaluation.empty())
    throw UserError(
        "loom eval: nothing to evaluate on; give eval.zero_shot.root=FOLDER (class subfolders) and/or "
        "eval.retrieval.table=FILE (image-caption table)");
  c10::NoGradGuard no_grad;
  for (const auto& [name, value] : evaluation.run(*loaded.model, device, "eval"))
    std::cout << name << " = " << value << "\n";
  return 0;
}

int embed(const std::string& config_path, const std::vector<std::string>& arguments) {
  std::vector<std::string> overrides;
  const EmbedArguments a = parse_embed_arguments(arguments, overrides);
  const ConfigNode config = load_config(config_path, overrides);
  const c10::Device device = pick_device(a.device);
  PretrainedImageTextModel loaded = load_model(config, a.checkpoint, device);
  c10::NoGradGuard no_grad;
  Embedded e;
  if (!a.images.empty()) embed_images(*loaded.model, a, device, a.texts.empty(), e);
  if (!a.texts.empty()) embed_texts(*loaded.model, a, device, e);
  const std::vector<std::string> written = write_embeddings(a, loaded, e);
  std::cout << "embedded " << e.image_names.size() << " images and " << e.text_list.size() << " texts ("
            << (a.normalize ? "L2-normalised" : "unnormalised") << ", dimension " << loaded.model->embed_dim() << ")\n";
  if (!e.skipped.empty()) {
    std::cout << "  unreadable images skipped: " << e.skipped.size() << "\n";
    for (const auto& s : e.skipped)
      std::cout << "    " << s.value("path", "") << ": " << s.at("reason").get<std::string>() << "\n";
  }
  if (e.truncated)
    std::cout << "  texts cut to " << loaded.model->context_length() << " tokens: " << e.truncated << "\n";
  for (const auto& file : written) std::cout << "  wrote " << file << "\n";
  return 0;
}

}  // namespace loom::cli
