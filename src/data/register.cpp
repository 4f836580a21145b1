#include "data/register.h"

#include "core/config/config_schema.h"
#include "core/registry/registries.h"
#include "data/caption_table.h"
#include "data/image_folder.h"
#include "data/mixture.h"
#include "data/synthetic/faces.h"
#include "data/synthetic/scenes.h"
#include "data/synthetic/shapes.h"

namespace loom::data {

// Factories get the dataset section and its path ("data.val"), which errors name.
void register_datasets() {
  dataset_registry().add(
      "image_folder",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<ImageFolder>(read_config<ImageFolderOptions>(node, path), path);
      },
      "images under a folder, labelled by class subfolder when there are any");
  dataset_registry().add(
      "caption_table",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<CaptionTable>(read_config<CaptionTableOptions>(node, path), path);
      },
      "image-caption pairs listed in a CSV, TSV or JSONL table");
  dataset_registry().add(
      "synthetic_shapes",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<SyntheticShapes>(read_config<SyntheticShapesOptions>(node, path), path);
      },
      "generated images of 10 kinds of coloured shape (quickstart; written once under root)");
  dataset_registry().add(
      "synthetic_scenes",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<SyntheticScenes>(read_config<SyntheticScenesOptions>(node, path), path);
      },
      "generated scenes of coloured shapes with captions, boxes and held-out shape-colour pairs (rendered on the fly)");
  dataset_registry().add(
      "synthetic_faces",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<SyntheticFaces>(read_config<SyntheticFacesOptions>(node, path), path);
      },
      "generated faces with their exact 68 dlib landmarks, in the wild or aligned, optionally stylised");
  dataset_registry().add(
      "mixture", [](const ConfigNode& node, const std::string& path) { return make_mixture(node, path); },
      "samples drawn from several datasets by weight, each tagged with its source id");
}

}  // namespace loom::data
