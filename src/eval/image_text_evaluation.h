#pragma once
// Evaluation of an image–text model (CLIP, SigLIP): zero-shot classification (class names × prompt
// templates) and image↔text retrieval recall@K, on a dataset a recipe gives (its data.val) and on the
// benchmark sources of the `eval:` section, which need nothing but the model: an image folder of class
// subfolders (eval.zero_shot.root) and an image–caption table (eval.retrieval.table), both read with the
// model's own preprocessing. So `loom eval MODEL.yaml ckpt=W eval.zero_shot.root=...` runs on a
// converter's `model:` section alone.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "core/config/config_schema.h"
#include "core/metrics/metrics_writer.h"
#include "data/dataset.h"
#include "models/clip/image_text_model.h"

namespace loom::eval {

struct ZeroShotSourceOptions {
  std::string root;     // root/<class>/<images>; empty: no such evaluation
  std::string classes;  // a file of class names, one per line, in the sorted order of the folders
  std::string name = "zero_shot_root";

  template <class V>
  void visit(V& v) {
    v("root", root, {.help = "image folder with one subfolder per class"});
    v("classes", classes,
      {.help = "file of class names, one per line, for the sorted subfolders (default: their names)"});
    v("name", name, {.help = "metric group: <prefix>/<name>/top1"});
  }
};

struct RetrievalSourceOptions {
  std::string table;  // .csv / .tsv / .jsonl of image paths and captions; empty: no such evaluation
  std::string path_column = "filepath";
  std::string caption_column = "caption";
  std::string image_root;
  std::string name = "retrieval_table";

  template <class V>
  void visit(V& v) {
    v("table", table, {.help = "image-caption table (.csv, .tsv, .jsonl) for retrieval recall@K"});
    v("path_column", path_column, {.help = "column holding image paths"});
    v("caption_column", caption_column, {.help = "column holding captions"});
    v("image_root", image_root, {.help = "folder relative image paths start from (default: the table's folder)"});
    v("name", name, {.help = "metric group: <prefix>/<name>/image_to_text_R@K"});
  }
};

// The `eval:` section.
struct ImageTextEvalOptions {
  std::vector<std::string> templates{"a photo of a {}.", "a {}.", "an image of a {}.", "a picture of a {}."};
  std::vector<int64_t> recall_at{1, 5, 10};
  int64_t batch_size = 256;
  int64_t workers = 2;
  int64_t max_samples = 0;  // 0 = the whole set (retrieval is O(N²) in memory)
  ZeroShotSourceOptions zero_shot;
  RetrievalSourceOptions retrieval;

  template <class V>
  void visit(V& v) {
    v("templates", templates, {.help = "zero-shot prompt templates; {} is the class name"});
    v("recall_at", recall_at, {.help = "K values of retrieval recall@K", .min = 1});
    v("batch_size", batch_size, {.help = "evaluation batch size", .min = 1});
    v("workers", workers, {.help = "decoding threads of evaluation", .min = 0});
    v("max_samples", max_samples, {.help = "evaluate on at most this many samples per set (0 = all)", .min = 0});
    v("zero_shot", zero_shot, {.help = "zero-shot classification on an image folder"});
    v("retrieval", retrieval, {.help = "retrieval on an image-caption table"});
  }
};

class ImageTextEvaluation {
 public:
  // Opens the sources the options name (UserError naming a missing folder or table); `val` may be null.
  ImageTextEvaluation(const ImageTextModel& model, ImageTextEvalOptions options,
                      std::shared_ptr<const data::Dataset> val, uint64_t seed);

  // Metrics named "<prefix>/...": on val, "<prefix>/image_to_text_R@K", "<prefix>/text_to_image_R@K"
  // (when it gives captions) and "<prefix>/zero_shot/top1|top5|chance" (when it has labels and classes);
  // on the sources, "<prefix>/<zero_shot.name>/top1|top5|chance" and "<prefix>/<retrieval.name>/...R@K".
  // Unreadable images are skipped and counted ("<prefix>/<name>/skipped" when there were any).
  Scalars run(ImageTextModel& model, c10::Device device, const std::string& prefix) const;
  bool empty() const { return !val_ && !zero_shot_ && !retrieval_; }

 private:
  // Retrieval recall as "<group>/..._R@K", zero-shot accuracy with `classes` as "<zero_shot_group>/topK".
  Scalars evaluate_set(ImageTextModel& model, const std::shared_ptr<const data::Dataset>& set,
                       const std::vector<std::string>& classes, const std::string& group,
                       const std::string& zero_shot_group, c10::Device device) const;

  ImageTextEvalOptions options_;
  std::shared_ptr<const data::Dataset> val_, zero_shot_, retrieval_;
  std::vector<std::string> zero_shot_classes_;
  uint64_t seed_;
};

}  // namespace loom::eval
