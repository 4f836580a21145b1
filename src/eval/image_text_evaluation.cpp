#include "eval/image_text_evaluation.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>

#include "core/error.h"
#include "core/io/file_system.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "data/caption_table.h"
#include "data/image_folder.h"
#include "eval/eval_pass.h"
#include "eval/model_inputs.h"
#include "eval/retrieval.h"
#include "eval/zero_shot.h"

namespace loom::eval {
namespace {

// Class names from a file, one per line (blank lines ignored), for `folders` sorted subfolders.
std::vector<std::string> read_class_names(const std::string& file, size_t folders) {
  std::string why;
  const std::optional<std::string> text = read_file(file, &why);
  if (!text) throw UserError(cat("eval.zero_shot.classes: ", file, ": ", why));
  std::vector<std::string> names;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) names.push_back(line);
    start = end + 1;
  }
  if (names.size() != folders)
    throw UserError(cat("eval.zero_shot.classes: ", file, " names ", names.size(), " classes, the folder has ", folders,
                        " class subfolders"));
  return names;
}

}  // namespace

ImageTextEvaluation::ImageTextEvaluation(const ImageTextModel& model, ImageTextEvalOptions options,
                                         std::shared_ptr<const data::Dataset> val, uint64_t seed)
    : options_(std::move(options)), val_(std::move(val)), seed_(seed) {
  const ConfigNode transforms = preprocess_transforms(model);
  if (!options_.zero_shot.root.empty()) {
    data::ImageFolderOptions folder;
    folder.root = options_.zero_shot.root;
    folder.class_subfolders = "true";
    folder.transforms = transforms;
    auto set = std::make_shared<data::ImageFolder>(folder, "eval.zero_shot");
    zero_shot_classes_ = options_.zero_shot.classes.empty()
                             ? set->classes()
                             : read_class_names(options_.zero_shot.classes, set->classes().size());
    zero_shot_ = std::move(set);
  }
  if (!options_.retrieval.table.empty()) {
    data::CaptionTableOptions table;
    table.path = options_.retrieval.table;
    table.path_column = options_.retrieval.path_column;
    table.caption_column = options_.retrieval.caption_column;
    table.image_root = options_.retrieval.image_root;
    table.transforms = transforms;
    retrieval_ = std::make_shared<data::CaptionTable>(table, "eval.retrieval");
  }
}

Scalars ImageTextEvaluation::evaluate_set(ImageTextModel& model, const std::shared_ptr<const data::Dataset>& set,
                                          const std::vector<std::string>& classes, const std::string& group,
                                          const std::string& zero_shot_group, c10::Device device) const {
  const auto tokenizer = make_text_tokenizer(model.tokenizer(), "model.text.tokenizer");
  int64_t truncated = 0;
  auto encode_texts = [&](const std::vector<std::string>& texts) {
    at::Tensor tokens = tokenizer->tokenize(texts, model.context_length(), &truncated).to(device);
    return model.encode_text(tokens, true).to(at::kFloat).cpu();
  };
  std::vector<at::Tensor> images, texts, labels;
  const EvalPass pass{.batch_size = options_.batch_size,
                      .workers = options_.workers,
                      .seed = seed_,
                      .limit = options_.max_samples,
                      .max_bad_fraction = 1.0};  // a benchmark counts unreadable images instead of stopping
  int64_t skipped = 0;
  for_each_eval_batch(
      set, pass, device,
      [&](const data::Batch& batch) {
        images.push_back(model.encode_image(batch.at("image"), true).to(at::kFloat).cpu());
        if (auto captions = batch.text.find("caption"); captions != batch.text.end())
          texts.push_back(encode_texts(captions->second));
        if (batch.tensors.count("label")) labels.push_back(batch.at("label").cpu());
      },
      &skipped);
  Scalars out;
  if (images.empty()) throw UserError(cat(set->describe(), ": no image could be read (", skipped, " skipped)"));
  const at::Tensor image = at::cat(images);
  if (!texts.empty()) {
    Scalars r = retrieval_recall(image, at::cat(texts), options_.recall_at, group);
    out.insert(out.end(), r.begin(), r.end());
  }
  if (!labels.empty() && !classes.empty()) {
    const at::Tensor classifier = zero_shot_classifier(encode_texts, classes, options_.templates);
    Scalars z = topk_accuracy(at::matmul(image, classifier.t()), at::cat(labels), {1, 5}, zero_shot_group);
    out.insert(out.end(), z.begin(), z.end());
    out.emplace_back(zero_shot_group + "/chance", 1.0 / static_cast<double>(classes.size()));
  }
  if (skipped) {
    LOOM_WARN(set->describe(), ": ", skipped, " unreadable images skipped");
    out.emplace_back(group + "/skipped", static_cast<double>(skipped));
  }
  if (truncated) LOOM_WARN(group, ": ", truncated, " texts longer than ", model.context_length(), " tokens were cut");
  return out;
}

Scalars ImageTextEvaluation::run(ImageTextModel& model, c10::Device device, const std::string& prefix) const {
  Scalars out;
  auto add = [&](Scalars more) { out.insert(out.end(), more.begin(), more.end()); };
  if (val_) add(evaluate_set(model, val_, val_->classes(), prefix, prefix + "/zero_shot", device));
  if (zero_shot_) {
    const std::string group = cat(prefix, "/", options_.zero_shot.name);
    add(evaluate_set(model, zero_shot_, zero_shot_classes_, group, group, device));
  }
  if (retrieval_) {
    const std::string group = cat(prefix, "/", options_.retrieval.name);
    add(evaluate_set(model, retrieval_, {}, group, group, device));
  }
  return out;
}

}  // namespace loom::eval
