#include "data/synthetic/scenes.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/scalar_tensor.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "core/error.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "data/random.h"
#include "data/synthetic/generated_folder.h"

namespace loom::data {

namespace fs = std::filesystem;

namespace {

std::string stamp_text(const SyntheticScenesOptions& o) {
  return cat("synthetic_scenes v1 size=", o.size, " seed=", o.world.seed, " split=", o.world.split,
             " image_size=", o.world.image_size, " max_objects=", o.world.max_objects,
             " heldout_fraction=", o.world.heldout_fraction, " heldout_seed=", o.world.heldout_seed,
             " novel_shapes=", join(o.world.novel_shapes, ","), " label=", o.label, " caption=", o.caption, "\n");
}

}  // namespace

SyntheticScenes::SyntheticScenes(const SyntheticScenesOptions& options, const std::string& path)
    : world_(options.world, path),
      size_(options.size),
      kind_(class_kind(options.label)),
      random_caption_(options.caption == "random"),
      box_collate_(options.box_collate == "pad" ? RaggedCollate::pad : RaggedCollate::list),
      transforms_(Transforms::from_config(options.transforms, path + ".transforms")) {}

Sample SyntheticScenes::get(int64_t index, std::mt19937_64& rng) const {
  Scene scene = world_.render(index);
  const int64_t count = static_cast<int64_t>(scene.objects.size());
  Targets targets;
  targets.boxes = at::empty({count, 4}, at::kFloat);
  at::Tensor labels = at::empty({count}, at::kLong);
  auto b = targets.boxes.accessor<float, 2>();
  auto l = labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < count; ++i) {
    const SceneObject& object = scene.objects[static_cast<size_t>(i)];
    for (int k = 0; k < 4; ++k) b[i][k] = object.box[static_cast<size_t>(k)];
    l[i] = object_label(object, kind_);
  }
  targets.attributes["labels"] = labels;
  const auto caption = random_caption_ ? uniform_int(rng, 0, static_cast<int64_t>(scene.captions.size()) - 1) : 0;
  Sample s;
  s.tensors["image"] = transforms_(scene.image, targets, rng);
  s.tensors["label"] = at::scalar_tensor(scene_label(scene, kind_), at::kLong);
  add_targets(s, targets, "gt_", box_collate_, -1);
  // The fixed layout: the objects left after the transforms, then -1 rows.
  const int64_t slots = world_.options().max_objects, kept = targets.size();
  at::Tensor boxes = at::full({slots, 4}, -1.0f, at::kFloat), box_labels = at::full({slots}, -1, at::kLong);
  if (kept > 0) {
    boxes.slice(0, 0, kept).copy_(targets.boxes);
    box_labels.slice(0, 0, kept).copy_(targets.attributes.at("labels"));
  }
  s.tensors["boxes"] = boxes;
  s.tensors["box_labels"] = box_labels;
  s.text["caption"] = scene.captions[static_cast<size_t>(caption)];
  return s;
}

std::string SyntheticScenes::describe() const {
  const auto& o = world_.options();
  return cat("synthetic_scenes ", o.split, " (", size_, " scenes of ", o.image_size, "px, up to ", o.max_objects,
             " objects, ", world_.split_pairs().size(), " shape-colour pairs, seed ", o.seed, ")");
}

void materialize_scenes(const std::string& dir, const SyntheticScenesOptions& options) {
  const std::string stamp = stamp_text(options);
  if (generated_folder_ready(dir, stamp)) return;
  const SceneWorld world(options.world, "materialize_scenes");
  const ClassKind kind = class_kind(options.label);
  LOOM_INFO("generating ", options.size, " synthetic scenes (", options.world.split, ", ", options.world.image_size,
            "px) in ", dir);
  generate_folder(dir, stamp, [&](const fs::path& tmp) {
    fs::create_directories(tmp / "images");
    std::ofstream jsonl(tmp / "captions.jsonl"), tsv(tmp / "captions.tsv");
    tsv << "filepath\tcaption\n";
    for (int64_t i = 0; i < options.size; ++i) {
      Scene scene = world.render(i);
      char name[32];
      std::snprintf(name, sizeof name, "images/%05lld.png", static_cast<long long>(i));
      cv::Mat bgr;
      cv::cvtColor(scene.image, bgr, cv::COLOR_RGB2BGR);
      write_generated_png(tmp / name, bgr);
      // Not the loader's generator (there is none here): the caption is fixed by (seed, index).
      std::mt19937_64 rng(mix_seed({static_cast<uint64_t>(options.world.seed), static_cast<uint64_t>(i), 0x63617074}));
      const auto caption =
          options.caption == "random" ? uniform_int(rng, 0, static_cast<int64_t>(scene.captions.size()) - 1) : 0;
      nlohmann::json boxes = nlohmann::json::array(), box_labels = nlohmann::json::array();
      for (const auto& o : scene.objects) {
        boxes.push_back({o.box[0], o.box[1], o.box[2], o.box[3]});
        box_labels.push_back(object_label(o, kind));
      }
      const std::string& text = scene.captions[static_cast<size_t>(caption)];
      nlohmann::json row = {{"filepath", name},
                            {"caption", text},
                            {"captions", scene.captions},
                            {"label", scene_label(scene, kind)},
                            {"boxes", boxes},
                            {"box_labels", box_labels},
                            {"background", scene_backgrounds()[static_cast<size_t>(scene.background)]}};
      jsonl << row.dump() << "\n";
      tsv << name << "\t" << text << "\n";
    }
    // Closed here, since closing flushes: a full disk may show only then.
    jsonl.close();
    tsv.close();
    for (const auto& [stream, file] : {std::pair{&jsonl, "captions.jsonl"}, std::pair{&tsv, "captions.tsv"}})
      if (!*stream) throw UserError(cat("cannot write ", (tmp / file).string(), " (", std::strerror(errno), ")"));
  });
}

}  // namespace loom::data
