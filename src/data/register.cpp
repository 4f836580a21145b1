#include "data/register.h"

#include "core/config/config_schema.h"
#include "core/registry/registries.h"
#include "data/caption_table.h"
#include "data/image_folder.h"
#include "data/synthetic/scenes.h"
#include "data/synthetic/shapes.h"

namespace loom::data {

// Factories get the dataset section; errors name its keys under "dataset".
void register_datasets() {
  dataset_registry().add(
      "image_folder",
      [](const ConfigNode& node) { return std::make_shared<ImageFolder>(read_config<ImageFolderOptions>(node, "dataset")); },
      "images under a folder, labelled by class subfolder when there are any");
  dataset_registry().add(
      "caption_table",
      [](const ConfigNode& node) { return std::make_shared<CaptionTable>(read_config<CaptionTableOptions>(node, "dataset")); },
      "image-caption pairs listed in a CSV, TSV or JSONL table");
  dataset_registry().add(
      "synthetic_shapes",
      [](const ConfigNode& node) {
        return std::make_shared<SyntheticShapes>(read_config<SyntheticShapesOptions>(node, "dataset"));
      },
      "generated images of 10 kinds of coloured shape (quickstart; written once under root)");
  dataset_registry().add(
      "synthetic_scenes",
      [](const ConfigNode& node) {
        return std::make_shared<SyntheticScenes>(read_config<SyntheticScenesOptions>(node, "dataset"));
      },
      "generated scenes of coloured shapes with captions, boxes and held-out shape-colour pairs (rendered on the fly)");
}

}  // namespace loom::data
