#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "data/image_io.h"

namespace loom::data {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool hidden(const fs::path& p) { return p.filename().string().starts_with("."); }

// Image files below `dir` (recursively, hidden entries skipped), sorted so the order is the same everywhere.
std::vector<std::string> list_images(const fs::path& dir, const std::vector<std::string>& extensions) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    std::string ext = lower(it->path().extension().string());
    if (!ext.empty() && std::find(extensions.begin(), extensions.end(), ext.substr(1)) != extensions.end())
      out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

ImageFolder::ImageFolder(const ImageFolderOptions& options, const std::string& path)
    : root_(options.root), transforms_(Transforms::from_config(options.transforms, path + ".transforms")) {
  std::error_code ec;
  if (!fs::is_directory(root_, ec))
    throw UserError(cat(path, ".root: image folder '", root_, "' does not exist or is not a folder"));
  std::vector<std::string> extensions;
  for (const auto& e : options.extensions) extensions.push_back(lower(e.starts_with(".") ? e.substr(1) : e));

  std::vector<fs::path> subfolders;
  for (const auto& entry : fs::directory_iterator(root_))
    if (entry.is_directory() && !hidden(entry.path())) subfolders.push_back(entry.path());
  std::sort(subfolders.begin(), subfolders.end());
  bool by_class = options.class_subfolders == "true" || (options.class_subfolders == "auto" && !subfolders.empty());

  if (by_class) {
    for (const auto& dir : subfolders) {
      classes_.push_back(dir.filename().string());
      for (auto& file : list_images(dir, extensions)) {
        files_.push_back(std::move(file));
        labels_.push_back(static_cast<int64_t>(classes_.size()) - 1);
      }
    }
  } else {
    files_ = list_images(root_, extensions);
  }
  if (files_.empty()) {
    throw UserError(cat(path, ".root: no images (", join(extensions, ", "), ") in '", root_, "'",
                        by_class ? cat(" under its ", subfolders.size(), " class subfolders") : ""));
  }
}

Sample ImageFolder::get(int64_t index, std::mt19937_64& rng) const {
  const std::string& file = files_.at(static_cast<size_t>(index));
  Sample s;
  s.tensors["image"] = transforms_(read_image(file), rng);
  if (!labels_.empty()) s.tensors["label"] = at::scalar_tensor(labels_[static_cast<size_t>(index)], at::kLong);
  s.text["path"] = file;
  return s;
}

std::string ImageFolder::describe() const {
  return cat("image_folder ", root_, " (", files_.size(), " images",
             classes_.empty() ? "" : cat(", ", classes_.size(), " classes"), ")");
}

}  // namespace loom::data
