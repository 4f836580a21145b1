#include "data/image_folder.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <utility>

#include "core/error.h"
#include "core/log.h"
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

// Image files below `dir` (recursively, hidden entries skipped), sorted so the order is the same
// everywhere. Symlinked folders are followed, each folder once: a link back up the tree is a loop.
std::vector<std::string> list_images(const fs::path& dir, const std::vector<std::string>& extensions,
                                     const std::string& key) {
  std::vector<std::string> out;
  std::set<std::pair<dev_t, ino_t>> folders;
  auto first_visit = [&folders](const fs::path& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) != 0 || folders.emplace(st.st_dev, st.st_ino).second;
  };
  first_visit(dir);
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    const bool is_folder = it->is_directory(entry_ec);
    if (hidden(it->path())) {
      if (is_folder) it.disable_recursion_pending();
      continue;
    }
    if (is_folder) {
      if (!first_visit(it->path())) {
        LOOM_WARN(key, ": skipping ", it->path().string(),
                  ": it leads back to a folder already listed (a symlink loop)");
        it.disable_recursion_pending();
      }
      continue;
    }
    if (!it->is_regular_file(entry_ec)) continue;
    std::string ext = lower(it->path().extension().string());
    if (!ext.empty() && std::find(extensions.begin(), extensions.end(), ext.substr(1)) != extensions.end())
      out.push_back(it->path().string());
  }
  if (ec) throw UserError(cat(key, ": cannot list the images under '", dir.string(), "': ", ec.message()));
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
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec))
    if (std::error_code e; it->is_directory(e) && !hidden(it->path())) subfolders.push_back(it->path());
  if (ec) throw UserError(cat(path, ".root: cannot list '", root_, "': ", ec.message()));
  std::sort(subfolders.begin(), subfolders.end());
  bool by_class = options.class_subfolders == "true" || (options.class_subfolders == "auto" && !subfolders.empty());

  if (by_class) {
    for (const auto& dir : subfolders) {
      classes_.push_back(dir.filename().string());
      for (auto& file : list_images(dir, extensions, path + ".root")) {
        files_.push_back(std::move(file));
        labels_.push_back(static_cast<int64_t>(classes_.size()) - 1);
      }
    }
  } else {
    files_ = list_images(root_, extensions, path + ".root");
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
