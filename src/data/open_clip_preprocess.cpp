#include "data/open_clip_preprocess.h"

#include <set>
#include <utility>

#include "core/config/config_error.h"
#include "core/config/config_schema.h"
#include "core/text/cat.h"

namespace loom::data {

namespace {

const Origin kOrigin{"open_clip preprocessing", 0};  // where errors about these transforms point

// One transform: a map with its name first, then the given keys.
template <class... KeyValues>
ConfigNode transform(const std::string& name, const KeyValues&... key_values) {
  ConfigNode map = ConfigNode::make_map(kOrigin);
  map.set("name", write_config(name));
  (map.set(key_values.first, key_values.second), ...);
  return map;
}

template <class T>
std::pair<std::string, ConfigNode> key(const std::string& k, const T& value) {
  return {k, write_config(value)};
}

}  // namespace

ConfigNode open_clip_transforms(int64_t image_size, const std::vector<double>& mean, const std::vector<double>& std,
                                const std::string& interpolation, const std::string& resize_mode, int64_t fill_color) {
  if (image_size < 1) throw ConfigError(cat("image_size: must be at least 1, got ", image_size));
  static const std::set<std::string> interpolations = {"bicubic", "bilinear", "random", "nearest", "lanczos"};
  if (!interpolations.count(interpolation))
    throw ConfigError(cat("interpolation: '", interpolation,
                          "' is none of open_clip's (bicubic, bilinear, random) nor PIL's nearest, lanczos"));
  if (resize_mode != "shortest" && resize_mode != "longest" && resize_mode != "squash")
    throw ConfigError(cat("resize_mode: '", resize_mode, "' is none of open_clip's (shortest, longest, squash)"));
  if (fill_color < 0 || fill_color > 255)
    throw ConfigError(cat("fill_color: must be a pixel value 0..255, got ", fill_color));
  // open_clip's eval transform resamples 'random' with BICUBIC.
  const std::string filter = interpolation == "random" ? "bicubic" : interpolation;

  ConfigNode list = ConfigNode::make_list(kOrigin);
  const auto resize = [&](const std::string& mode) {
    return transform("resize", key("size", image_size), key("mode", mode), key("interpolation", filter),
                     key("antialias", true));
  };
  if (resize_mode == "shortest") {
    list.push_back(resize("shorter"));
    list.push_back(transform("center_crop", key("size", image_size)));
  } else if (resize_mode == "longest") {
    list.push_back(resize("longest"));
    list.push_back(transform("center_crop", key("size", image_size), key("fill", fill_color)));
  } else {
    list.push_back(resize("exact"));
  }
  list.push_back(transform("normalize", key("mean", mean), key("std", std)));
  list.set_origin_recursive(kOrigin);
  return list;
}

}  // namespace loom::data
