#pragma once
// Dataset `image_folder`: every image file under a root, sorted by path. With class subfolders
// (root/<class>/...), each image is labelled with its folder's index among the sorted class names.
#include <string>
#include <vector>

#include "core/config/config_node.h"
#include "data/dataset.h"
#include "data/transforms.h"

namespace loom::data {

struct ImageFolderOptions {
  std::string name = "image_folder";
  std::string root;
  std::string class_subfolders = "auto";
  std::vector<std::string> extensions{"jpg", "jpeg", "png", "bmp", "webp"};
  ConfigNode transforms;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("root", root, {.help = "folder of images (or of class subfolders of images)", .required = true});
    v("class_subfolders", class_subfolders,
      {.help = "label images by their subfolder (auto: when root has subfolders)",
       .choices = {"auto", "true", "false"}});
    v("extensions", extensions, {.help = "file extensions read, case-insensitive"});
    v("transforms", transforms, {.help = "augmentation list (see data/transforms.h)"});
  }
};

// Samples: tensors {"image": float [3, H, W], "label": int64 [] (with classes)}, text {"path"}.
class ImageFolder : public Dataset {
 public:
  // `path` is the options' key in the config (for error messages). Throws UserError for a missing or
  // empty root, ConfigError for bad transforms.
  explicit ImageFolder(const ImageFolderOptions& options, const std::string& path = "dataset");

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Sample get(int64_t index, std::mt19937_64& rng) const override;
  std::string describe() const override;
  std::vector<std::string> classes() const override { return classes_; }
  const std::string& file(int64_t index) const { return files_.at(static_cast<size_t>(index)); }

 private:
  std::string root_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;  // parallel to files_ when there are classes
  std::vector<std::string> classes_;
  Transforms transforms_;
};

}  // namespace loom::data
