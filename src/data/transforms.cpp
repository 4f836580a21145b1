#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/config/config_schema.h"
#include "data/image_io.h"
#include "data/random.h"

namespace loom::data {

namespace {

using config_detail::fail;

const std::vector<std::string> kInterpolations = {"bilinear", "area", "nearest", "bicubic"};

int interpolation_flag(const std::string& name) {
  static const std::map<std::string, int> flags = {
      {"bilinear", cv::INTER_LINEAR}, {"area", cv::INTER_AREA}, {"nearest", cv::INTER_NEAREST}, {"bicubic", cv::INTER_CUBIC}};
  return flags.at(name);
}

// `size` is one integer (a square, or the shorter side) or [height, width].
cv::Size read_size(const ConfigNode& node, const std::string& path, bool allow_pair) {
  std::vector<int> hw;
  if (node.is_list()) {
    config_detail::ConfigReader::convert(node, path, hw, {.min = 1});
  } else {
    int s = 0;
    config_detail::ConfigReader::convert(node, path, s, {.min = 1});
    hw = {s};
  }
  if (hw.size() == 2 && !allow_pair) fail(node, path, "expected one integer here (the shorter side), not [height, width]");
  if (hw.size() != 1 && hw.size() != 2) fail(node, path, "expected an integer or [height, width]");
  return {hw.back(), hw.front()};
}

std::array<double, 2> read_range(const std::vector<double>& v, const ConfigNode& item, const std::string& path) {
  if (v.size() != 2 || v[0] > v[1]) fail(item, path, "expected [low, high] with low <= high");
  return {v[0], v[1]};
}

// Zero padding so that the image is at least `size`, split evenly around it (torchvision's center_crop).
cv::Mat pad_to(const cv::Mat& img, cv::Size size) {
  int dh = std::max(0, size.height - img.rows), dw = std::max(0, size.width - img.cols);
  if (dh == 0 && dw == 0) return img;
  cv::Mat out;
  cv::copyMakeBorder(img, out, dh / 2, (dh + 1) / 2, dw / 2, (dw + 1) / 2, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

struct ResizeOptions {
  std::string name;
  ConfigNode size;
  std::string mode = "shorter";
  std::string interpolation = "bilinear";
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size, {.help = "shorter side (mode shorter), or size / [height, width] (mode exact)", .required = true});
    v("mode", mode, {.help = "shorter: scale the shorter side to size; exact: resize to size", .choices = {"shorter", "exact"}});
    v("interpolation", interpolation, {.help = "resampling filter", .choices = kInterpolations});
  }
};

struct CenterCropOptions {
  std::string name;
  ConfigNode size;
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size, {.help = "crop size or [height, width]", .required = true});
  }
};

struct RandomCropOptions {
  std::string name;
  ConfigNode size;
  int padding = 0;
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size, {.help = "crop size or [height, width]", .required = true});
    v("padding", padding, {.help = "zero padding added on every side first", .min = 0});
  }
};

struct RandomResizedCropOptions {
  std::string name;
  ConfigNode size;
  std::vector<double> scale{0.08, 1.0};
  std::vector<double> ratio{3.0 / 4.0, 4.0 / 3.0};
  std::string interpolation = "bilinear";
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size, {.help = "output size or [height, width]", .required = true});
    v("scale", scale, {.help = "range of the crop's area fraction", .min = 0.0, .max = 1.0});
    v("ratio", ratio, {.help = "range of the crop's aspect ratio (width / height)", .min = 1e-6});
    v("interpolation", interpolation, {.help = "resampling filter", .choices = kInterpolations});
  }
};

struct FlipOptions {
  std::string name;
  double p = 0.5;
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("p", p, {.help = "probability of a horizontal flip", .min = 0.0, .max = 1.0});
  }
};

struct NormalizeOptions {
  std::string name;
  std::vector<double> mean{0.5, 0.5, 0.5};
  std::vector<double> std{0.5, 0.5, 0.5};
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("mean", mean, {.help = "per-channel mean (RGB, on the [0, 1] scale)"});
    v("std", std, {.help = "per-channel standard deviation", .min = 1e-12});
  }
};

Transforms::Step resize_step(const ConfigNode& item, const std::string& path) {
  auto o = read_config<ResizeOptions>(item, path);
  cv::Size size = read_size(o.size, path + ".size", o.mode == "exact");
  int flag = interpolation_flag(o.interpolation);
  if (o.mode == "exact")
    return [size, flag](const cv::Mat& img, std::mt19937_64&) {
      cv::Mat out;
      cv::resize(img, out, size, 0, 0, flag);
      return out;
    };
  int side = size.height;
  return [side, flag](const cv::Mat& img, std::mt19937_64&) {
    // As torchvision: the shorter side becomes `side`, the longer one side * long / short, truncated.
    int64_t h = img.rows, w = img.cols;
    cv::Size target = h <= w ? cv::Size(static_cast<int>(side * w / h), side) : cv::Size(side, static_cast<int>(side * h / w));
    if (target == img.size()) return img;
    cv::Mat out;
    cv::resize(img, out, target, 0, 0, flag);
    return out;
  };
}

Transforms::Step center_crop_step(const ConfigNode& item, const std::string& path) {
  auto o = read_config<CenterCropOptions>(item, path);
  cv::Size size = read_size(o.size, path + ".size", true);
  return [size](const cv::Mat& img, std::mt19937_64&) {
    cv::Mat padded = pad_to(img, size);
    // Python's round() (half to even), as torchvision computes the offsets.
    int top = static_cast<int>(std::nearbyint((padded.rows - size.height) / 2.0));
    int left = static_cast<int>(std::nearbyint((padded.cols - size.width) / 2.0));
    return padded(cv::Rect(left, top, size.width, size.height));
  };
}

Transforms::Step random_crop_step(const ConfigNode& item, const std::string& path) {
  auto o = read_config<RandomCropOptions>(item, path);
  cv::Size size = read_size(o.size, path + ".size", true);
  int padding = o.padding;
  return [size, padding](const cv::Mat& img, std::mt19937_64& rng) {
    cv::Mat padded = img;
    if (padding > 0) cv::copyMakeBorder(img, padded, padding, padding, padding, padding, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    padded = pad_to(padded, size);
    int top = static_cast<int>(uniform_int(rng, 0, padded.rows - size.height));
    int left = static_cast<int>(uniform_int(rng, 0, padded.cols - size.width));
    return padded(cv::Rect(left, top, size.width, size.height));
  };
}

Transforms::Step random_resized_crop_step(const ConfigNode& item, const std::string& path) {
  auto o = read_config<RandomResizedCropOptions>(item, path);
  cv::Size size = read_size(o.size, path + ".size", true);
  std::array<double, 2> scale = read_range(o.scale, item, path + ".scale");
  std::array<double, 2> ratio = read_range(o.ratio, item, path + ".ratio");
  int flag = interpolation_flag(o.interpolation);
  return [=](const cv::Mat& img, std::mt19937_64& rng) {
    CropBox box = random_resized_crop_box(img.rows, img.cols, scale, ratio, rng);
    cv::Mat out;
    cv::resize(img(cv::Rect(box.left, box.top, box.width, box.height)), out, size, 0, 0, flag);
    return out;
  };
}

Transforms::Step hflip_step(const ConfigNode& item, const std::string& path) {
  double p = read_config<FlipOptions>(item, path).p;
  return [p](const cv::Mat& img, std::mt19937_64& rng) {
    if (uniform01(rng) >= p) return img;
    cv::Mat out;
    cv::flip(img, out, 1);
    return out;
  };
}

using StepFactory = Transforms::Step (*)(const ConfigNode&, const std::string&);
const std::map<std::string, StepFactory>& step_factories() {
  static const std::map<std::string, StepFactory> factories = {
      {"resize", resize_step},           {"center_crop", center_crop_step}, {"random_crop", random_crop_step},
      {"random_resized_crop", random_resized_crop_step}, {"hflip", hflip_step}};
  return factories;
}

}  // namespace

CropBox random_resized_crop_box(int height, int width, std::array<double, 2> scale, std::array<double, 2> ratio,
                                std::mt19937_64& rng) {
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double target = area * uniform(rng, scale[0], scale[1]);
    double aspect = std::exp(uniform(rng, log_lo, log_hi));
    int w = static_cast<int>(std::lround(std::sqrt(target * aspect)));
    int h = static_cast<int>(std::lround(std::sqrt(target / aspect)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      int top = static_cast<int>(uniform_int(rng, 0, height - h));
      int left = static_cast<int>(uniform_int(rng, 0, width - w));
      return {top, left, h, w};
    }
  }
  // Fallback: the largest central crop whose aspect ratio is inside the range.
  double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < ratio[0]) {
    h = std::max(1, static_cast<int>(std::lround(w / ratio[0])));
  } else if (in_ratio > ratio[1]) {
    w = std::max(1, static_cast<int>(std::lround(h * ratio[1])));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

std::vector<std::string> Transforms::names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : step_factories()) out.push_back(name);
  out.push_back("normalize");
  std::sort(out.begin(), out.end());
  return out;
}

Transforms Transforms::from_config(const ConfigNode& list, const std::string& path) {
  Transforms t;
  if (list.is_null()) return t;
  if (!list.is_list()) fail(list, path, cat("expected a list of transforms, got ", list.brief()));
  const auto& items = list.items();
  for (size_t i = 0; i < items.size(); ++i) {
    const ConfigNode& item = items[i];
    std::string item_path = cat(path, "[", i, "]");
    if (!item.is_map()) fail(item, item_path, cat("expected a mapping with a name, got ", item.brief()));
    if (t.mean_) fail(item, item_path, "normalize must be the last transform");
    const ConfigNode* name_node = item.find("name");
    if (!name_node) fail(item, item_path + ".name", "missing required value");
    std::string name;
    config_detail::ConfigReader::convert(*name_node, item_path + ".name", name, {.choices = names()});
    if (name == "normalize") {
      auto o = read_config<NormalizeOptions>(item, item_path);
      if (o.mean.size() != 3 || o.std.size() != 3) fail(item, item_path, "mean and std need three values (R, G, B)");
      t.mean_ = std::array<double, 3>{o.mean[0], o.mean[1], o.mean[2]};
      t.std_ = std::array<double, 3>{o.std[0], o.std[1], o.std[2]};
    } else {
      t.steps_.push_back(step_factories().at(name)(item, item_path));
    }
  }
  return t;
}

cv::Mat Transforms::apply_geometry(const cv::Mat& rgb, std::mt19937_64& rng) const {
  cv::Mat img = rgb;
  for (const Step& step : steps_) img = step(img, rng);
  return img;
}

at::Tensor Transforms::operator()(const cv::Mat& rgb, std::mt19937_64& rng) const {
  cv::Mat img = apply_geometry(rgb, rng);
  return mean_ ? to_tensor(img, mean_->data(), std_->data()) : to_tensor(img);
}

}  // namespace loom::data
