#pragma once
// Dataset `synthetic_scenes`: the scene world (data/synthetic/scene_world.h) rendered on the fly, for
// CLIP-style training, zero-shot and retrieval evaluation and small detection experiments, and
// materialize_scenes(), which writes a fixed set of its scenes as an image-caption table.
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config_node.h"
#include "data/dataset.h"
#include "data/synthetic/scene_world.h"
#include "data/transforms.h"

namespace loom::data {

struct SyntheticScenesOptions {
  std::string name = "synthetic_scenes";
  int64_t size = 10000;
  SceneWorldOptions world;  // its keys sit beside these (seed, split, image_size, ...)
  std::string label = "shape";
  std::string caption = "random";
  ConfigNode transforms;
  std::string box_collate = "list";

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size,
      {.help = "scenes in the dataset (scene i is the same in every run with the same options)", .min = 1});
    world.visit(v);
    v("label", label,
      {.help = "what `label`, `box_labels` and classes() name", .choices = {"shape", "colour", "shape_colour"}});
    v("caption", caption,
      {.help = "random: a caption drawn per sample and epoch; first: always the most descriptive one",
       .choices = {"random", "first"}});
    v("transforms", transforms,
      {.help = "augmentation list (see data/transforms.h); boxes move with geometric steps, captions do not "
               "(a flipped scene's caption still says 'left')"});
    v("box_collate", box_collate,
      {.help = "how batches hold gt_boxes and gt_labels: list (a tensor per sample) or pad (stacked to the most "
               "objects, padded with -1, with gt_boxes_mask and gt_labels_mask)",
       .choices = {"list", "pad"}});
  }
};

// Samples: tensors {"image": float [3, H, W], "label": int64 [] (of the first object)}, ragged fields
// {"gt_boxes": float [K, 4] (x1, y1, x2, y2 in pixels of the transformed image, data/targets.h),
// "gt_labels": int64 [K]} collated by box_collate, text {"caption"}. The K objects are those the
// transforms left in the image (a crop drops boxes it leaves without area). Also the same boxes in a
// fixed layout, tensors "boxes": float [max_objects, 4] and "box_labels": int64 [max_objects], rows
// past the K objects -1: kept because they stack without a collate policy and tests and recipes that
// predate ragged fields read them. classes() are class_names(label kind).
class SyntheticScenes : public Dataset {
 public:
  // `path` is the options' key in the config, for error messages.
  explicit SyntheticScenes(const SyntheticScenesOptions& options, const std::string& path = "dataset");

  int64_t size() const override { return size_; }
  Sample get(int64_t index, std::mt19937_64& rng) const override;
  std::string describe() const override;
  std::vector<std::string> classes() const override { return class_names(kind_); }

  const SceneWorld& world() const { return world_; }
  ClassKind kind() const { return kind_; }

 private:
  SceneWorld world_;
  int64_t size_;
  ClassKind kind_;
  bool random_caption_;
  RaggedCollate box_collate_;
  Transforms transforms_;
};

// Writes scenes 0..size-1 of `options` (transforms ignored) under `dir`: images/NNNNN.png, captions.jsonl
// (one object a line: filepath, caption, captions, label, boxes, box_labels, background) and
// captions.tsv (filepath, caption), both readable by the caption_table dataset. The caption is the
// first or one drawn per scene from (seed, index). Written once: nothing is done when `dir` holds a
// complete folder for the same options; otherwise it is built in a temporary folder renamed into place.
void materialize_scenes(const std::string& dir, const SyntheticScenesOptions& options);

}  // namespace loom::data
